// Reader for GGUF files (versions 2 and 3): header, metadata of every value type, and tensor infos, read without
// touching the tensor data; tensors are then loaded on demand as kernel Tensors, their bytes read straight from
// disk into each tensor's own buffer (GGUF block layouts are the kernel's, so quantized tensors load as stored).
//
// File layout (all little-endian):
//   "GGUF" · u32 version · u64 tensorCount · u64 metadataCount
//   metadataCount × (string key · u32 valueType · value)          string = u64 length · UTF-8 bytes
//   tensorCount × (string name · u32 dimensionCount · u64 dimensions[] · u32 ggmlType · u64 offset)
//   padding to `general.alignment` (default 32) · tensor data (each offset relative to here, aligned)

import type { DType, Tensor } from "@infer-recipes/kernel";

import { fileSizeOf, ProgressCounter, readTensor, withOpenFile, type ProgressCallback } from "../binary-file.ts";
import { ModelFileError, shapeText } from "../errors.ts";
import { checkGgufDataLayout, checkQuantizedScales } from "./data-checks.ts";
import { FileCursor } from "./file-cursor.ts";
import { ggmlTypes, ggmlTypeText, supportedGgmlTypeNames } from "./ggml-types.ts";
import {
  ggufArrayClasses,
  ggufValueBytes,
  ggufValueTypeNames,
  isNumericType,
  plainValue,
  type GgufTypedValue,
  type GgufValueTypeName,
} from "./metadata-values.ts";

export const ggufMagic = "GGUF";
/** Tensor data alignment in bytes when general.alignment is absent. */
export const ggufDefaultAlignment = 32;

/** One tensor of a GGUF file, as its header describes it. */
export interface GgufTensorInfo {
  /** The tensor's GGUF name, e.g. "blk.0.attn_q.weight". */
  name: string;
  /** ggml dimensions as stored, innermost (contiguous) first: [columns, rows, ...]. */
  dimensions: number[];
  /** Kernel shape, outermost first (dimensions reversed): a ggml [columns, rows] tensor has shape [rows, columns]. */
  shape: number[];
  /** ggml type code (0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 12 Q4_K, 14 Q6_K, 30 BF16, ...). */
  ggmlType: number;
  /** ggml type name, e.g. "Q4_K". */
  ggmlTypeName: string;
  /** The kernel dtype the tensor loads as; undefined when the kernel cannot compute on its type. */
  dtype: DType | undefined;
  /** Byte offset relative to the start of the data section, as stored. */
  offset: number;
  /** Absolute byte position in the file. */
  fileOffset: number;
  /** Bytes of the tensor's data. */
  byteLength: number;
}

/** Which tensors {@link GgufFile.loadTensors} loads, and its progress callback. */
export interface GgufLoadOptions {
  /** GGUF tensor names to load (default: all). */
  names?: readonly string[];
  /** Called as tensor bytes arrive: (bytesRead, totalBytes). */
  onProgress?: ProgressCallback;
}

function valueTypeName(code: number, file: string, key: string): GgufValueTypeName {
  const name = ggufValueTypeNames[code];
  if (name === undefined) throw new ModelFileError({ file, field: key }, `unknown metadata value type ${code} (expected 0..12)`);
  return name;
}

function toNumber(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function readScalar(cursor: FileCursor, type: GgufValueTypeName, what: string): unknown {
  switch (type) {
    case "uint8": return cursor.uint8(what);
    case "int8": return cursor.int8(what);
    case "uint16": return cursor.uint16(what);
    case "int16": return cursor.int16(what);
    case "uint32": return cursor.uint32(what);
    case "int32": return cursor.int32(what);
    case "float32": return cursor.float32(what);
    case "float64": return cursor.float64(what);
    case "uint64": return toNumber(cursor.uint64(what));
    case "int64": return toNumber(cursor.int64(what));
    case "bool": {
      const byte = cursor.uint8(what);
      if (byte > 1) throw new ModelFileError({ file: cursor.file }, `${what}: a bool must be 0 or 1, got ${byte}`);
      return byte === 1;
    }
    case "string": return cursor.string(what);
    case "array": throw new Error("arrays are read by readValue");
  }
}

function readValue(cursor: FileCursor, type: GgufValueTypeName, key: string, what: string): GgufTypedValue {
  if (type !== "array") return { type, value: readScalar(cursor, type, what) };
  const elementType = valueTypeName(cursor.uint32(`element type of ${what}`), cursor.file, key);
  const smallestElement = elementType === "string" ? 8 : elementType === "array" ? 12 : ggufValueBytes[elementType];
  const count = cursor.count(`element count of ${what}`, Math.floor((cursor.remaining - 8) / smallestElement));
  if (isNumericType(elementType)) {
    const bytes = cursor.bytes(count * ggufValueBytes[elementType], what);
    return { type, elementType, value: new ggufArrayClasses[elementType](bytes.buffer as ArrayBuffer) };
  }
  const values: unknown[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const item = readValue(cursor, elementType, key, `${what}[${index}]`);
    values[index] = elementType === "array" ? item : item.value;
  }
  return { type, elementType, value: values };
}

/** A parsed GGUF file: metadata and tensor infos in memory, tensor data loaded on demand. */
export class GgufFile {
  /** Metadata values in file order, as plain JavaScript values (see metadata-values.ts for the mapping). */
  readonly metadata: Map<string, unknown>;
  private readonly typed: Map<string, GgufTypedValue>;
  private readonly byName: Map<string, GgufTensorInfo>;

  constructor(
    /** The file's path. */
    readonly path: string,
    /** GGUF format version (2 or 3). */
    readonly version: number,
    typedMetadata: Map<string, GgufTypedValue>,
    /** Tensor infos in file order. */
    readonly tensors: readonly GgufTensorInfo[],
    /** Alignment of the tensor data, in bytes. */
    readonly alignment: number,
    /** Absolute position of the tensor data section. */
    readonly dataOffset: number,
    /** Size of the file in bytes. */
    readonly fileSize: number,
  ) {
    this.typed = typedMetadata;
    this.metadata = new Map([...typedMetadata].map(([key, value]) => [key, plainValue(value)]));
    this.byName = new Map(tensors.map((info) => [info.name, info]));
  }

  /** Metadata with GGUF value types, in file order; pass it to writeGguf to write the same metadata again. */
  typedMetadata(): Map<string, GgufTypedValue> {
    return new Map(this.typed);
  }

  /** The GGUF value type of a metadata key (and the element type for arrays). */
  metadataType(key: string):
    | {
        /** The value's GGUF type. */
        type: GgufValueTypeName;
        /** For an array: its elements' type. */
        elementType?: GgufValueTypeName;
      }
    | undefined {
    const typed = this.typed.get(key);
    return typed && (typed.elementType === undefined ? { type: typed.type } : { type: typed.type, elementType: typed.elementType });
  }

  /** The header entry of tensor `name`, if the file has one. */
  tensorInfo(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  private requireLoadable(name: string): GgufTensorInfo & { dtype: DType } {
    const info = this.byName.get(name);
    if (info === undefined) throw new ModelFileError({ file: this.path, tensor: name }, `missing: the file has ${this.tensors.length} tensors and none by this name`);
    if (info.dtype === undefined) {
      throw new ModelFileError(
        { file: this.path, tensor: name },
        `ggml type ${ggmlTypeText(info.ggmlType)} is not supported (supported: ${supportedGgmlTypeNames.join(", ")})`,
      );
    }
    return info as GgufTensorInfo & { dtype: DType };
  }

  /** Reads one tensor as a kernel Tensor of its dtype and shape ([rows, columns] for a ggml [columns, rows] tensor). */
  loadTensor(name: string): Tensor {
    const info = this.requireLoadable(name);
    const tensor = withOpenFile(this.path, (descriptor) => readTensor(descriptor, info.dtype, info.shape, info.fileOffset, { file: this.path, tensor: name }));
    checkQuantizedScales(this.path, name, tensor);
    return tensor;
  }

  /** Reads many tensors (default: all) through one open descriptor; keys are the GGUF names. */
  loadTensors(options: GgufLoadOptions = {}): Map<string, Tensor> {
    const infos = (options.names ?? this.tensors.map((info) => info.name)).map((name) => this.requireLoadable(name));
    const progress = new ProgressCounter(
      infos.reduce((total, info) => total + info.byteLength, 0),
      options.onProgress,
    );
    return withOpenFile(this.path, (descriptor) => {
      const result = new Map<string, Tensor>();
      for (const info of infos) {
        const tensor = readTensor(descriptor, info.dtype, info.shape, info.fileOffset, { file: this.path, tensor: info.name }, progress);
        checkQuantizedScales(this.path, info.name, tensor);
        result.set(info.name, tensor);
      }
      return result;
    });
  }
}

function readTensorInfo(cursor: FileCursor, index: number): Omit<GgufTensorInfo, "fileOffset"> {
  const name = cursor.string(`name of tensor ${index}`);
  const fail = (problem: string): never => {
    throw new ModelFileError({ file: cursor.file, tensor: name }, problem);
  };
  const dimensionCount = cursor.uint32(`dimension count of tensor ${name}`);
  if (dimensionCount < 1 || dimensionCount > 4) fail(`dimension count must be 1..4, got ${dimensionCount}`);
  const dimensions: number[] = [];
  for (let axis = 0; axis < dimensionCount; axis++) {
    const size = cursor.uint64(`dimension ${axis} of tensor ${name}`);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(`dimension ${axis} is ${size}, too large`);
    dimensions.push(Number(size));
  }
  const ggmlType = cursor.uint32(`type of tensor ${name}`);
  const offset = cursor.uint64(`data offset of tensor ${name}`);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) fail(`data offset ${offset} is too large`);
  const type = ggmlTypes.get(ggmlType);
  if (type === undefined) return fail(`has ${ggmlTypeText(ggmlType)}, which is not a ggml type this reader knows`);
  const columns = dimensions[0];
  if (columns % type.blockSize !== 0) fail(`rows of ${columns} values are not a whole number of ${type.name} blocks of ${type.blockSize}`);
  const elements = dimensions.reduce((product, size) => product * size, 1);
  return {
    name,
    dimensions,
    shape: [...dimensions].reverse(),
    ggmlType,
    ggmlTypeName: type.name,
    dtype: type.dtype,
    offset: Number(offset),
    byteLength: (elements / type.blockSize) * type.blockBytes,
  };
}

/** Parses the header, metadata and tensor infos of a GGUF file (v2 or v3); tensor data stays on disk. */
export function readGguf(path: string): GgufFile {
  return withOpenFile(path, (descriptor) => {
    const fileSize = fileSizeOf(descriptor);
    const cursor = new FileCursor(descriptor, path, fileSize);
    if (fileSize < 4) throw new ModelFileError({ file: path }, `file is truncated: ${fileSize} bytes, too short for the GGUF magic`);
    const magic = cursor.bytes(4, "magic");
    const magicText = String.fromCharCode(...magic);
    if (magicText !== ggufMagic) {
      throw new ModelFileError({ file: path }, `bad magic: expected "GGUF" (47 47 55 46) at byte 0, got ${[...magic].map((byte) => byte.toString(16).padStart(2, "0")).join(" ")} — not a GGUF file`);
    }
    const version = cursor.uint32("version");
    if (version !== 2 && version !== 3) {
      const hint = version > 0xffff ? " (a big-endian GGUF file?)" : version === 1 ? " (GGUF v1 is obsolete; reconvert the model)" : "";
      throw new ModelFileError({ file: path, field: "version" }, `expected GGUF version 2 or 3, got ${version}${hint}`);
    }
    const tensorCount = cursor.count("tensor count", fileSize);
    const metadataCount = cursor.count("metadata count", fileSize);
    const metadata = new Map<string, GgufTypedValue>();
    for (let index = 0; index < metadataCount; index++) {
      const key = cursor.string(`key of metadata entry ${index}`);
      const type = valueTypeName(cursor.uint32(`value type of ${key}`), path, key);
      if (metadata.has(key)) throw new ModelFileError({ file: path, field: key }, "metadata key appears twice");
      metadata.set(key, readValue(cursor, type, key, `value of ${key}`));
    }
    const alignmentEntry = metadata.get("general.alignment");
    const alignment = alignmentEntry === undefined ? ggufDefaultAlignment : Number(alignmentEntry.value);
    if (alignmentEntry !== undefined && (alignmentEntry.type !== "uint32" || alignment === 0 || (alignment & (alignment - 1)) !== 0)) {
      throw new ModelFileError({ file: path, field: "general.alignment" }, `expected a uint32 power of two, got ${alignmentEntry.type} ${String(alignmentEntry.value)}`);
    }
    const infos: Omit<GgufTensorInfo, "fileOffset">[] = [];
    const names = new Set<string>();
    for (let index = 0; index < tensorCount; index++) {
      const info = readTensorInfo(cursor, index);
      if (names.has(info.name)) throw new ModelFileError({ file: path, tensor: info.name }, "tensor name appears twice");
      names.add(info.name);
      infos.push(info);
    }
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    for (const info of infos) {
      if (info.offset % alignment !== 0) throw new ModelFileError({ file: path, tensor: info.name }, `data offset ${info.offset} is not a multiple of the alignment ${alignment}`);
    }
    checkGgufDataLayout(path, infos, dataOffset, alignment, fileSize);
    const tensors = infos.map((info): GgufTensorInfo => {
      const fail = (problem: string): never => {
        throw new ModelFileError({ file: path, tensor: info.name }, problem);
      };
      const end = dataOffset + info.offset + info.byteLength;
      if (end > fileSize) {
        fail(
          `data [${dataOffset + info.offset}, ${end}) (${info.ggmlTypeName} ${shapeText(info.shape)}, ${info.byteLength} bytes) lies past the end of the file at byte ${fileSize} (file truncated?)`,
        );
      }
      return { ...info, fileOffset: dataOffset + info.offset };
    });
    return new GgufFile(path, version, metadata, tensors, alignment, dataOffset, fileSize);
  });
}
