// Reader for .safetensors weight files: a single file, a sharded model (model.safetensors.index.json with its
// weight_map), or a directory holding either. F32, F16 and BF16 tensors become kernel Tensors of dtype f32, f16 and
// bf16 exactly as stored; each tensor's bytes are read from disk straight into its own buffer.
//
// File layout: u64 little-endian N · N bytes of JSON header · data. The header maps each tensor name to
//   { dtype, shape, data_offsets: [begin, end] } (offsets relative to the end of the header), plus an optional
//   "__metadata__" object of string → string.

import fs from "node:fs";
import path from "node:path";

import type { DType, Tensor } from "@infer-recipes/kernel";

import { fileSizeOf, ProgressCounter, readExactly, readTensor, withOpenFile, type ProgressCallback } from "./binary-file.ts";
import { ModelFileError, shapeText } from "./errors.ts";
import { readJsonObject } from "./hf-config.ts";

/** The index file name of a sharded safetensors model. */
export const safetensorsIndexFileName = "model.safetensors.index.json";

/** The kernel dtype of each loadable safetensors dtype. */
const loadableDTypes: Readonly<Record<string, DType>> = { F32: "f32", F16: "f16", BF16: "bf16" };

/** Bytes per element of every safetensors dtype (for bounds checks, including the ones this reader cannot load). */
const elementBytes: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};

/** The spec's upper bound on the header, which also catches files that are not safetensors at all. */
const maximumHeaderBytes = 100_000_000;

/** One tensor of a safetensors file, as its header describes it. */
export interface SafetensorsTensorInfo {
  /** The tensor's name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  name: string;
  /** The dtype string as stored: "F32", "F16", "BF16" load; others ("I64", "F8_E4M3", ...) are listed but not loadable. */
  storedDType: string;
  /** Row-major shape, outermost first (e.g. [rows, columns]). */
  shape: number[];
  /** The .safetensors file holding the bytes. */
  file: string;
  /** Absolute byte position of the first byte in `file`. */
  fileOffset: number;
  /** Bytes of the tensor's data. */
  byteLength: number;
}

/** The parsed header of one .safetensors file. */
export interface SafetensorsHeader {
  /** The file's path. */
  file: string;
  /** "__metadata__" of the header ({} when absent). */
  metadata: Record<string, string>;
  /** Every tensor, in header order. */
  tensors: SafetensorsTensorInfo[];
  /** Absolute position of the data section (8 + header length). */
  dataOffset: number;
  /** Size of the file in bytes. */
  fileSize: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseTensorEntry(file: string, name: string, entry: unknown, dataOffset: number, dataBytes: number): SafetensorsTensorInfo {
  const fail = (problem: string): never => {
    throw new ModelFileError({ file, tensor: name }, problem);
  };
  if (!isObject(entry)) return fail(`header entry must be an object with dtype, shape and data_offsets, got ${JSON.stringify(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") return fail(`header field "dtype" must be a string, got ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) return fail(`header field "shape" must be a list of integers ≥ 0, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
    return fail(`header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataBytes) {
    fail(`data [${begin}, ${end}) lies past the end of the file: the data section holds ${dataBytes} bytes (file truncated?)`);
  }
  const size = elementBytes[dtype];
  if (size !== undefined) {
    // In BigInt: a corrupt shape's byte count can exceed 2^53 (where doubles turn to 4e+27-style approximations).
    const needed = (shape as number[]).reduce((product, length) => product * BigInt(length), BigInt(size));
    if (BigInt(end - begin) !== needed) {
      fail(`data_offsets [${begin}, ${end}) hold ${end - begin} bytes but ${dtype} ${shapeText(shape as number[])} needs ${needed} bytes`);
    }
  }
  return { name, storedDType: dtype, shape: [...(shape as number[])], file, fileOffset: dataOffset + begin, byteLength: end - begin };
}

/** Reads and checks the header of one .safetensors file (no tensor data). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  return withOpenFile(file, (descriptor) => {
    const fileSize = fileSizeOf(descriptor);
    if (fileSize < 8) throw new ModelFileError({ file }, `file is truncated: ${fileSize} bytes, a safetensors file starts with an 8-byte header length`);
    const lengthBytes = new Uint8Array(8);
    readExactly(descriptor, lengthBytes, 0, { file });
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(maximumHeaderBytes)) {
      throw new ModelFileError({ file }, `not a safetensors file: the first 8 bytes give a header length of ${headerLength} bytes (limit ${maximumHeaderBytes})`);
    }
    if (Number(headerLength) > fileSize - 8) {
      throw new ModelFileError({ file }, `file is truncated: the header needs ${headerLength} bytes after byte 8 but the file has ${fileSize} bytes`);
    }
    const headerBytes = new Uint8Array(Number(headerLength));
    readExactly(descriptor, headerBytes, 8, { file });
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
    } catch (error) {
      throw new ModelFileError({ file }, `invalid header JSON (${headerLength} bytes after the length prefix): ${(error as Error).message}`, { cause: error });
    }
    if (!isObject(header)) throw new ModelFileError({ file }, "invalid header JSON: expected an object mapping tensor names to entries");
    const dataOffset = 8 + Number(headerLength);
    const metadata: Record<string, string> = {};
    const tensors: SafetensorsTensorInfo[] = [];
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (!isObject(entry)) throw new ModelFileError({ file, field: "__metadata__" }, "expected an object of strings");
        for (const [key, value] of Object.entries(entry)) metadata[key] = String(value);
        continue;
      }
      tensors.push(parseTensorEntry(file, name, entry, dataOffset, fileSize - dataOffset));
    }
    return { file, metadata, tensors, dataOffset, fileSize };
  });
}

/** Which tensors {@link SafetensorsArchive.loadTensors} loads, and its progress callback. */
export interface SafetensorsLoadOptions {
  /** Load only these tensors (default: all). A name that is not in the archive is an error. */
  names?: readonly string[];
  /** Called as tensor bytes arrive: (bytesRead, totalBytes). */
  onProgress?: ProgressCallback;
}

/** The tensors of one or more .safetensors files, listed from their headers and loaded on demand. */
export class SafetensorsArchive {
  /** Tensor infos by name, in file order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;

  constructor(
    /** What was opened: a .safetensors file or an index file. */
    readonly path: string,
    /** The .safetensors files, in order. */
    readonly files: readonly string[],
    /** "__metadata__" of all files merged. */
    readonly metadata: Readonly<Record<string, string>>,
    tensors: Iterable<SafetensorsTensorInfo>,
  ) {
    this.tensors = new Map([...tensors].map((info) => [info.name, info]));
  }

  /** Whether the archive holds a tensor `name`. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The header entry of tensor `name`; a missing name is a ModelFileError. */
  info(name: string): SafetensorsTensorInfo {
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
  loadTensors(options: SafetensorsLoadOptions = {}): Map<string, Tensor> {
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
          result.set(name, readTensor(descriptor, this.dtypeOf(name), info.shape, info.fileOffset, { file, tensor: name }, progress));
        }
      });
    }
    return new Map(names.map((name) => [name, result.get(name)!]));
  }
}

function openIndex(indexFile: string): SafetensorsArchive {
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
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [shard, names] of shardNames) {
    const file = path.join(directory, shard);
    if (!fs.existsSync(file)) throw new ModelFileError({ file: indexFile, field: "weight_map" }, `lists shard ${shard} (for ${names.length} tensors, e.g. "${names[0]}") but ${file} does not exist`);
    const header = readSafetensorsHeader(file);
    const byName = new Map(header.tensors.map((info) => [info.name, info]));
    for (const name of names) {
      const info = byName.get(name);
      if (info === undefined) throw new ModelFileError({ file, tensor: name }, `missing: ${path.basename(indexFile)} says this shard holds it but its header does not list it`);
      tensors.push(info);
    }
    files.push(file);
    Object.assign(metadata, header.metadata);
  }
  return new SafetensorsArchive(indexFile, files, metadata, tensors);
}

function openFiles(location: string, files: string[]): SafetensorsArchive {
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const file of files) {
    const header = readSafetensorsHeader(file);
    for (const info of header.tensors) {
      const previous = tensors.get(info.name);
      if (previous !== undefined) throw new ModelFileError({ file, tensor: info.name }, `also stored in ${previous.file}; add a ${safetensorsIndexFileName} to say which copy to use`);
      tensors.set(info.name, info);
    }
    Object.assign(metadata, header.metadata);
  }
  return new SafetensorsArchive(location, files, metadata, tensors.values());
}

/**
 * Opens safetensors weights without reading tensor data. `location` is a .safetensors file, a
 * model.safetensors.index.json, or a directory holding an index file or .safetensors files.
 */
export function openSafetensors(location: string): SafetensorsArchive {
  if (!fs.existsSync(location)) throw new ModelFileError({ file: location }, "file not found");
  if (fs.statSync(location).isDirectory()) {
    const index = path.join(location, safetensorsIndexFileName);
    if (fs.existsSync(index)) return openIndex(index);
    const files = fs.readdirSync(location).filter((name) => name.endsWith(".safetensors")).sort().map((name) => path.join(location, name));
    if (files.length === 0) throw new ModelFileError({ file: location }, `no ${safetensorsIndexFileName} and no *.safetensors files in this directory`);
    return openFiles(location, files);
  }
  if (location.endsWith(".json")) return openIndex(location);
  return openFiles(location, [location]);
}

/** Opens and loads safetensors weights in one call (see openSafetensors for `location`). */
export function readSafetensors(
  location: string,
  options: SafetensorsLoadOptions = {},
): {
  /** The tensors by name. */
  tensors: Map<string, Tensor>;
  /** "__metadata__" of all files merged. */
  metadata: Record<string, string>;
} {
  const archive = openSafetensors(location);
  return { tensors: archive.loadTensors(options), metadata: { ...archive.metadata } };
}
