// Reader for .safetensors weight files: a single file, a sharded model (model.safetensors.index.json with its
// weight_map), or a directory holding either. F32, F16 and BF16 tensors become kernel Tensors of dtype f32, f16 and
// bf16 exactly as stored; each tensor's bytes are read from disk straight into its own buffer (tensor-archive.ts).
//
// File layout: u64 little-endian N · N bytes of JSON header · data. The header maps each tensor name to
//   { dtype, shape, data_offsets: [begin, end] } (offsets relative to the end of the header), plus an optional
//   "__metadata__" object of string → string.

import type { Tensor } from "@infer-recipes/kernel";

import { fileSizeOf, readExactly, withOpenFile } from "./binary-file.ts";
import { ModelFileError, shapeText } from "./errors.ts";
import { openArchive, TensorArchive, type ArchiveLayout, type TensorArchiveEntry, type TensorArchiveLoadOptions } from "./tensor-archive.ts";

/** The index file name of a sharded safetensors model. */
export const safetensorsIndexFileName = "model.safetensors.index.json";

/** Bytes per element of every safetensors dtype (for bounds checks, including the ones this reader cannot load). */
const elementBytes: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};

/** The spec's upper bound on the header, which also catches files that are not safetensors at all. */
const maximumHeaderBytes = 100_000_000;

/** Where a tensor of a .safetensors file is (see TensorArchiveEntry). */
export type SafetensorsTensorInfo = TensorArchiveEntry;

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

/** The tensors of one or more .safetensors files (a TensorArchive: listed from their headers, loaded on demand). */
export class SafetensorsArchive extends TensorArchive {}

/** Options of SafetensorsArchive.loadTensors. */
export type SafetensorsLoadOptions = TensorArchiveLoadOptions;

/** How safetensors weights are laid out, for the shared opening logic of tensor-archive.ts. */
const safetensorsLayout: ArchiveLayout<SafetensorsArchive> = {
  indexFileName: safetensorsIndexFileName,
  filePattern: "*.safetensors",
  isWeightFile: (name) => name.endsWith(".safetensors"),
  readEntries: (file) => {
    const header = readSafetensorsHeader(file);
    return { tensors: header.tensors, metadata: header.metadata };
  },
  create: (location, files, metadata, tensors) => new SafetensorsArchive(location, files, metadata, tensors),
};

/**
 * Opens safetensors weights without reading tensor data. `location` is a .safetensors file, a
 * model.safetensors.index.json, or a directory holding an index file or .safetensors files.
 */
export function openSafetensors(location: string): SafetensorsArchive {
  return openArchive(location, safetensorsLayout);
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
