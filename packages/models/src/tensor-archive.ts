// A TensorArchive: the tensors of one or more weight files listed by name with their stored dtype, shape and byte
// position, loaded on demand straight from disk into each tensor's own buffer. The safetensors reader and the
// PyTorch checkpoint reader both produce one (from a file, a sharded model's index with its weight_map, or a directory
// holding either), so loaders and the converter read either the same way. Optionally each
// tensor is converted to a storage dtype as soon as it is read (quantize-on-load without holding the whole model in
// its stored dtype first).

import fs from "node:fs";
import path from "node:path";

import type { DType, Tensor } from "@infer-recipes/kernel";

import { ProgressCounter, readTensor, withOpenFile, type ProgressCallback } from "./binary-file.ts";
import { isObject, readJsonObject } from "./config-fields.ts";
import { ModelFileError } from "./errors.ts";
import { convertTensorDType, storageDTypeFor } from "./weight-dtypes.ts";

/** Where one tensor of an archive is. */
export interface TensorArchiveEntry {
  /** The tensor's name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  name: string;
  /** The dtype as stored, in safetensors spelling: "F32", "F16", "BF16" load; others ("I64", "F8_E4M3", ...) are listed
   *  but not loadable. */
  storedDType: string;
  /** Row-major shape, outermost first (e.g. [rows, columns]). */
  shape: number[];
  /** The file holding the bytes. */
  file: string;
  /** Absolute byte position of the first byte in `file`. */
  fileOffset: number;
  /** Bytes of the tensor's data. */
  byteLength: number;
}

/** The kernel dtype of each loadable stored dtype. */
const loadableDTypes: Readonly<Record<string, DType>> = { F32: "f32", F16: "f16", BF16: "bf16" };

/** What {@link TensorArchive.loadTensors} loads and how. */
export interface TensorArchiveLoadOptions {
  /** Load only these tensors (default: all). A name that is not in the archive is an error. */
  names?: readonly string[];
  /** Called as tensor bytes arrive: (bytesRead, totalBytes). */
  onProgress?: ProgressCallback;
  /** Convert each tensor as it is read: matrices to this dtype (storageDTypeFor), vectors to f32. */
  dtype?: DType;
}

/** Tensors of one or more files, listed up front and loaded on demand. */
export class TensorArchive {
  /** Tensor entries by name, in file order. */
  readonly tensors: ReadonlyMap<string, TensorArchiveEntry>;

  constructor(
    /** What was opened: a weight file, an index file or a directory. */
    readonly path: string,
    /** The files holding the tensors, in order. */
    readonly files: readonly string[],
    /** Format metadata of all files merged (safetensors "__metadata__"). */
    readonly metadata: Readonly<Record<string, string>>,
    tensors: Iterable<TensorArchiveEntry>,
  ) {
    this.tensors = new Map([...tensors].map((info) => [info.name, info]));
  }

  /** Whether the archive holds a tensor `name`. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Where tensor `name` is; a missing name is a ModelFileError. */
  info(name: string): TensorArchiveEntry {
    const info = this.tensors.get(name);
    if (info === undefined) throw new ModelFileError({ file: this.path, tensor: name }, `missing: the archive has ${this.tensors.size} tensors and none by this name`);
    return info;
  }

  /** The kernel dtype a tensor loads as; an unsupported stored dtype is an error naming the file and tensor. */
  dtypeOf(name: string): DType {
    const info = this.info(name);
    const dtype = loadableDTypes[info.storedDType];
    if (dtype === undefined) {
      throw new ModelFileError({ file: info.file, tensor: name }, `dtype ${info.storedDType} is not supported (supported: ${Object.keys(loadableDTypes).join(", ")})`);
    }
    return dtype;
  }

  /** Total bytes of the named tensors (default: all). */
  byteLength(names: readonly string[] = [...this.tensors.keys()]): number {
    return names.reduce((total, name) => total + this.info(name).byteLength, 0);
  }

  /** Reads one tensor: f32/f16/bf16, shape as stored. */
  loadTensor(name: string): Tensor {
    const dtype = this.dtypeOf(name);
    const info = this.info(name);
    return withOpenFile(info.file, (descriptor) => readTensor(descriptor, dtype, info.shape, info.fileOffset, { file: info.file, tensor: name }));
  }

  /** Reads many tensors, opening each file once and reporting progress in bytes. */
  loadTensors(options: TensorArchiveLoadOptions = {}): Map<string, Tensor> {
    const names = options.names ?? [...this.tensors.keys()];
    for (const name of names) this.dtypeOf(name); // fail before reading anything
    const progress = new ProgressCounter(this.byteLength(names), options.onProgress);
    const result = new Map<string, Tensor>();
    for (const file of this.files) {
      const inFile = names.filter((name) => this.info(name).file === file);
      if (inFile.length === 0) continue;
      withOpenFile(file, (descriptor) => {
        for (const name of inFile) {
          const info = this.info(name);
          const tensor = readTensor(descriptor, this.dtypeOf(name), info.shape, info.fileOffset, { file, tensor: name }, progress);
          const target = options.dtype === undefined ? undefined : storageDTypeFor(tensor.shape, options.dtype);
          result.set(name, target === undefined ? tensor : convertTensorDType(tensor, target));
        }
      });
    }
    return new Map(names.map((name) => [name, result.get(name)!]));
  }
}

/** What differs between weight formats when opening an archive: file names and how one file lists its tensors. */
export interface ArchiveLayout<A extends TensorArchive> {
  /** The index of a sharded model (e.g. model.safetensors.index.json), mapping tensor names to shard files. */
  indexFileName: string;
  /** How weight files are named, for messages (e.g. "*.safetensors"). */
  filePattern: string;
  /** Whether a file name (without directory) is one of this format's weight files. */
  isWeightFile(name: string): boolean;
  /** The tensors of one file (and its format metadata), without reading their data. */
  readEntries(file: string): {
    /** Where each tensor is. */
    tensors: TensorArchiveEntry[];
    /** The file's format metadata (safetensors "__metadata__"; empty for PyTorch). */
    metadata: Record<string, string>;
  };
  /** The format's archive over `files`, opened at `location` (a file, an index or a directory). */
  create(location: string, files: string[], metadata: Record<string, string>, tensors: Iterable<TensorArchiveEntry>): A;
}

function openIndex<A extends TensorArchive>(indexFile: string, layout: ArchiveLayout<A>): A {
  const index = readJsonObject(indexFile);
  const weightMap = index.weight_map;
  if (!isObject(weightMap)) throw new ModelFileError({ file: indexFile, field: "weight_map" }, "expected an object mapping tensor names to shard file names");
  const directory = path.dirname(indexFile);
  const shardNames = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string") throw new ModelFileError({ file: indexFile, field: `weight_map.${tensor}` }, `expected a shard file name, got ${JSON.stringify(shard)}`);
    shardNames.set(shard, [...(shardNames.get(shard) ?? []), tensor]);
  }
  const files: string[] = [];
  const metadata: Record<string, string> = {};
  const tensors: TensorArchiveEntry[] = [];
  for (const [shard, names] of shardNames) {
    const file = path.join(directory, shard);
    if (!fs.existsSync(file)) throw new ModelFileError({ file: indexFile, field: "weight_map" }, `lists shard ${shard} (for ${names.length} tensors, e.g. "${names[0]}") but ${file} does not exist`);
    const entries = layout.readEntries(file);
    const byName = new Map(entries.tensors.map((info) => [info.name, info]));
    for (const name of names) {
      const info = byName.get(name);
      if (info === undefined) throw new ModelFileError({ file, tensor: name }, `missing: ${path.basename(indexFile)} says this shard holds it but its header does not list it`);
      tensors.push(info);
    }
    files.push(file);
    Object.assign(metadata, entries.metadata);
  }
  return layout.create(indexFile, files, metadata, tensors);
}

function openFiles<A extends TensorArchive>(location: string, files: string[], layout: ArchiveLayout<A>): A {
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorArchiveEntry>();
  for (const file of files) {
    const entries = layout.readEntries(file);
    for (const info of entries.tensors) {
      const previous = tensors.get(info.name);
      if (previous !== undefined) throw new ModelFileError({ file, tensor: info.name }, `also stored in ${previous.file}; add a ${layout.indexFileName} to say which copy to use`);
      tensors.set(info.name, info);
    }
    Object.assign(metadata, entries.metadata);
  }
  return layout.create(location, files, metadata, tensors.values());
}

/** Opens weights without reading tensor data: a weight file, an index file, or a directory holding either. */
export function openArchive<A extends TensorArchive>(location: string, layout: ArchiveLayout<A>): A {
  if (!fs.existsSync(location)) throw new ModelFileError({ file: location }, "file not found");
  if (fs.statSync(location).isDirectory()) {
    const index = path.join(location, layout.indexFileName);
    if (fs.existsSync(index)) return openIndex(index, layout);
    const files = fs.readdirSync(location).filter(layout.isWeightFile).sort().map((name) => path.join(location, name));
    if (files.length === 0) throw new ModelFileError({ file: location }, `no ${layout.indexFileName} and no ${layout.filePattern} files in this directory`);
    return openFiles(location, files, layout);
  }
  if (location.endsWith(".json")) return openIndex(location, layout);
  return openFiles(location, [location], layout);
}
