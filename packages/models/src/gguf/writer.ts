// Writer for GGUF v3 files: metadata of every value type and tensors of every kernel dtype, tensor data aligned to
// `general.alignment` (default 32). Tensors can be given as Tensors or as lazy sources (dtype, shape and a load
// function), so a converter holds one tensor in memory at a time. The file is written under a temporary name and
// renamed into place when complete.

import fs from "node:fs";

import { dtypeInfo, isInterleaved, plainDType, storageLength, type DType, type StorageDType, type Tensor } from "@infer-recipes/kernel";

import { ProgressCounter, storageBytes, writeFully, type ProgressCallback } from "../binary-file.ts";
import { ModelFileError, shapeText } from "../errors.ts";
import { ggmlTypeOfDType } from "./ggml-types.ts";
import {
  ggufArrayClasses,
  ggufValueBytes,
  ggufValueTypeCodes,
  ggufValueTypeNames,
  isNumericType,
  type GgufNumericTypeName,
  type GgufTypedArray,
  type GgufTypedValue,
  type GgufValueTypeName,
} from "./metadata-values.ts";
import { ggufDefaultAlignment } from "./reader.ts";

/**
 * A metadata value for the writer. Types are inferred for: string → string, boolean → bool, bigint → int64 when
 * negative else uint64, typed arrays → array of their element type, string[] → array of string, boolean[] → array
 * of bool. A plain number is ambiguous in GGUF (uint32? float32?), so it must be written as a GgufTypedValue such
 * as { type: "uint32", value: 5 }; so must empty and nested arrays.
 */
export type GgufMetadataInput = string | boolean | bigint | GgufTypedArray | string[] | boolean[] | GgufTypedValue;

/** A tensor to write: in memory, or described and loaded only when its bytes are written. */
export type GgufTensorSource =
  | {
      /** GGUF tensor name. */
      name: string;
      /** The tensor, already in memory. */
      tensor: Tensor;
    }
  | {
      /** GGUF tensor name. */
      name: string;
      /** The dtype `load` returns. */
      dtype: DType;
      /** The shape `load` returns. */
      shape: readonly number[];
      /** Produces the tensor when its bytes are written (so a converter holds one tensor at a time). */
      load: () => Tensor;
    };

/** A GGUF file's contents: metadata and tensors, in the order written. */
export interface GgufWriteInput {
  /** Key/value metadata, e.g. "general.architecture" → "llama". */
  metadata: ReadonlyMap<string, GgufMetadataInput> | Readonly<Record<string, GgufMetadataInput>>;
  /** The tensors, in file order. */
  tensors: readonly GgufTensorSource[];
}

/** Options of {@link writeGguf}. */
export interface GgufWriteOptions {
  /** (bytesWritten, totalBytes) over the tensor data. */
  onProgress?: ProgressCallback;
}

/** Longest tensor name ggml accepts (GGML_MAX_NAME − 1). */
const maximumTensorNameBytes = 63;

/** A growable little-endian byte buffer for the header. */
class HeaderBuilder {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(count: number): number {
    if (this.length + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + count));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const offset = this.length;
    this.length += count;
    return offset;
  }

  // Each writer reserves first: reserve() may replace this.bytes and this.view.
  uint32(value: number): void {
    const offset = this.reserve(4);
    this.view.setUint32(offset, value, true);
  }

  uint64(value: number | bigint): void {
    const offset = this.reserve(8);
    this.view.setBigUint64(offset, BigInt(value), true);
  }

  raw(bytes: Uint8Array): void {
    const offset = this.reserve(bytes.length);
    this.bytes.set(bytes, offset);
  }

  string(text: string): void {
    const bytes = this.encoder.encode(text);
    this.uint64(bytes.length);
    this.raw(bytes);
  }

  scalar(type: GgufNumericTypeName | "bool", value: number | bigint | boolean): void {
    const offset = this.reserve(ggufValueBytes[type]);
    const view = this.view;
    switch (type) {
      case "uint8": return view.setUint8(offset, value as number);
      case "int8": return view.setInt8(offset, value as number);
      case "uint16": return view.setUint16(offset, value as number, true);
      case "int16": return view.setInt16(offset, value as number, true);
      case "uint32": return view.setUint32(offset, value as number, true);
      case "int32": return view.setInt32(offset, value as number, true);
      case "float32": return view.setFloat32(offset, value as number, true);
      case "float64": return view.setFloat64(offset, value as number, true);
      case "uint64": return view.setBigUint64(offset, BigInt(value as number | bigint), true);
      case "int64": return view.setBigInt64(offset, BigInt(value as number | bigint), true);
      case "bool": return view.setUint8(offset, value ? 1 : 0);
    }
  }

  padTo(alignment: number): void {
    this.reserve((alignment - (this.length % alignment)) % alignment);
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const integerRanges: Partial<Record<GgufNumericTypeName, readonly [bigint, bigint]>> = {
  uint8: [0n, 255n], int8: [-128n, 127n], uint16: [0n, 65535n], int16: [-32768n, 32767n],
  uint32: [0n, 4294967295n], int32: [-2147483648n, 2147483647n],
  uint64: [0n, 18446744073709551615n], int64: [-9223372036854775808n, 9223372036854775807n],
};

class MetadataEncoder {
  constructor(
    private readonly file: string,
    private readonly header: HeaderBuilder,
  ) {}

  private fail(key: string, problem: string): never {
    throw new ModelFileError({ file: this.file, field: key }, problem);
  }

  private checkScalar(key: string, type: GgufValueTypeName, value: unknown): void {
    if (type === "string") {
      if (typeof value !== "string") this.fail(key, `a string value must be a string, got ${typeof value}`);
    } else if (type === "bool") {
      if (typeof value !== "boolean") this.fail(key, `a bool value must be a boolean, got ${typeof value}`);
    } else if (type === "float32" || type === "float64") {
      if (typeof value !== "number") this.fail(key, `a ${type} value must be a number, got ${typeof value}`);
    } else if (isNumericType(type)) {
      if (typeof value !== "number" && typeof value !== "bigint") this.fail(key, `a ${type} value must be a number or bigint, got ${typeof value}`);
      if (typeof value === "number" && !Number.isSafeInteger(value)) this.fail(key, `a ${type} value must be an integer, got ${value}`);
      const [low, high] = integerRanges[type]!;
      const integer = BigInt(value as number | bigint);
      if (integer < low || integer > high) this.fail(key, `${value} is outside the ${type} range [${low}, ${high}]`);
    }
  }

  private writeScalar(type: GgufValueTypeName, value: unknown): void {
    if (type === "string") this.header.string(value as string);
    else this.header.scalar(type as GgufNumericTypeName | "bool", value as number | bigint | boolean);
  }

  private writeArray(key: string, elementType: GgufValueTypeName, value: unknown): void {
    this.header.uint32(ggufValueTypeCodes[elementType]);
    if (isNumericType(elementType) && ArrayBuffer.isView(value)) {
      const expectedClass = ggufArrayClasses[elementType];
      if (!(value instanceof expectedClass)) this.fail(key, `an array of ${elementType} must be a ${expectedClass.name}, got ${value.constructor.name}`);
      this.header.uint64((value as GgufTypedArray).length);
      this.header.raw(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      return;
    }
    if (!Array.isArray(value)) this.fail(key, `an array value must be an array or typed array, got ${typeof value}`);
    this.header.uint64(value.length);
    for (const item of value) {
      if (elementType === "array") {
        // an element of an array of arrays has no type code of its own: element type, count, elements
        const inner = item as GgufTypedValue;
        if (inner?.type !== "array" || inner.elementType === undefined) this.fail(key, "elements of an array of arrays must be { type: \"array\", elementType, value }");
        this.writeArray(key, inner.elementType, inner.value);
      } else {
        this.checkScalar(key, elementType, item);
        this.writeScalar(elementType, item);
      }
    }
  }

  /** Writes value type and value (no key). */
  writeTyped(key: string, typed: GgufTypedValue): void {
    const code = ggufValueTypeCodes[typed.type];
    if (code === undefined) this.fail(key, `unknown GGUF value type "${String(typed.type)}" (expected one of ${ggufValueTypeNames.join(", ")})`);
    this.header.uint32(code);
    if (typed.type === "array") {
      if (typed.elementType === undefined || ggufValueTypeCodes[typed.elementType] === undefined) {
        this.fail(key, `an array needs an elementType (one of ${ggufValueTypeNames.join(", ")})`);
      }
      this.writeArray(key, typed.elementType, typed.value);
    } else {
      this.checkScalar(key, typed.type, typed.value);
      this.writeScalar(typed.type, typed.value);
    }
  }

  /** The typed form of a writer input (see GgufMetadataInput). */
  typedValueOf(key: string, value: GgufMetadataInput): GgufTypedValue {
    if (typeof value === "string") return { type: "string", value };
    if (typeof value === "boolean") return { type: "bool", value };
    if (typeof value === "bigint") return { type: value < 0n ? "int64" : "uint64", value };
    if (typeof value === "number") {
      return this.fail(key, `the plain number ${value} is ambiguous in GGUF; write it as { type: "uint32" | "int32" | "float32" | ..., value: ${value} }`);
    }
    if (ArrayBuffer.isView(value)) {
      const elementType = (Object.keys(ggufArrayClasses) as GgufNumericTypeName[]).find((type) => value instanceof ggufArrayClasses[type]);
      if (elementType === undefined) this.fail(key, `${value.constructor.name} is not a GGUF array type`);
      return { type: "array", elementType, value };
    }
    if (Array.isArray(value)) {
      if (value.length > 0 && value.every((item) => typeof item === "string")) return { type: "array", elementType: "string", value };
      if (value.length > 0 && value.every((item) => typeof item === "boolean")) return { type: "array", elementType: "bool", value };
      return this.fail(key, `cannot infer the element type of this array (empty or mixed); write it as { type: "array", elementType, value }`);
    }
    if (typeof value === "object" && value !== null && "type" in value && "value" in value) return value;
    return this.fail(key, `unsupported metadata value ${String(value)}`);
  }
}

interface PlannedTensor {
  name: string;
  dtype: StorageDType;
  shape: readonly number[];
  byteLength: number;
  offset: number;
  load: () => Tensor;
}

function planTensors(file: string, sources: readonly GgufTensorSource[], alignment: number): PlannedTensor[] {
  const encoder = new TextEncoder();
  const names = new Set<string>();
  let offset = 0;
  return sources.map((source) => {
    const { name } = source;
    const fail = (problem: string): never => {
      throw new ModelFileError({ file, tensor: name }, problem);
    };
    if (names.has(name)) fail("tensor name given twice");
    names.add(name);
    if (encoder.encode(name).length > maximumTensorNameBytes) fail(`name is longer than the ${maximumTensorNameBytes} bytes ggml allows`);
    const dtype = "tensor" in source ? source.tensor.dtype : source.dtype;
    const shape = "tensor" in source ? source.tensor.shape : source.shape;
    if (isInterleaved(dtype)) fail(`${dtype} is an in-memory matmul layout (Kernel.packWeight); write the ${plainDType(dtype)} tensor it was packed from`);
    if (shape.length > 4) fail(`GGUF tensors have at most 4 dimensions, got ${shapeText(shape)}`);
    if ("tensor" in source && !source.tensor.isContiguous()) fail(`must be contiguous, got strides ${shapeText(source.tensor.strides)}`);
    let byteLength = 0;
    try {
      const { blockSize, blockBytes } = dtypeInfo[dtype];
      byteLength = storageLength(dtype, shape) * (blockSize === 1 ? blockBytes : 1); // storageLength counts elements or bytes
    } catch (error) {
      fail(`${dtype} ${shapeText(shape)}: ${(error as Error).message}`);
    }
    const planned: PlannedTensor = {
      name,
      dtype: plainDType(dtype),
      shape,
      byteLength,
      offset,
      load: "tensor" in source ? () => source.tensor : source.load,
    };
    offset += Math.ceil(byteLength / alignment) * alignment;
    return planned;
  });
}

function alignmentOf(file: string, metadata: Map<string, GgufTypedValue>): number {
  const entry = metadata.get("general.alignment");
  if (entry === undefined) return ggufDefaultAlignment;
  const alignment = Number(entry.value);
  if (entry.type !== "uint32" || !Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new ModelFileError({ file, field: "general.alignment" }, `expected a uint32 power of two, got ${entry.type} ${String(entry.value)}`);
  }
  return alignment;
}

/** Writes a GGUF v3 file at `path` (see GgufMetadataInput for how metadata values are typed). */
export function writeGguf(path: string, input: GgufWriteInput, options: GgufWriteOptions = {}): void {
  const header = new HeaderBuilder();
  const encoder = new MetadataEncoder(path, header);
  const entries = input.metadata instanceof Map ? [...input.metadata] : Object.entries(input.metadata);
  const metadata = new Map<string, GgufTypedValue>(entries.map(([key, value]) => [key, encoder.typedValueOf(key, value)]));
  const alignment = alignmentOf(path, metadata);
  const tensors = planTensors(path, input.tensors, alignment);

  header.raw(new TextEncoder().encode("GGUF"));
  header.uint32(3);
  header.uint64(tensors.length);
  header.uint64(metadata.size);
  for (const [key, typed] of metadata) {
    header.string(key);
    encoder.writeTyped(key, typed);
  }
  for (const tensor of tensors) {
    header.string(tensor.name);
    header.uint32(tensor.shape.length === 0 ? 1 : tensor.shape.length);
    const dimensions = tensor.shape.length === 0 ? [1] : [...tensor.shape].reverse(); // ggml order: innermost first
    for (const size of dimensions) header.uint64(size);
    header.uint32(ggmlTypeOfDType[tensor.dtype]);
    header.uint64(tensor.offset);
  }
  header.padTo(alignment);

  const temporaryPath = `${path}.partial-${process.pid}`;
  const descriptor = fs.openSync(temporaryPath, "w");
  try {
    writeFully(descriptor, header.result());
    const progress = new ProgressCounter(
      tensors.reduce((total, tensor) => total + tensor.byteLength, 0),
      options.onProgress,
    );
    const padding = new Uint8Array(alignment);
    for (const planned of tensors) {
      const tensor = planned.load();
      const sameShape = tensor.shape.length === planned.shape.length && tensor.shape.every((size, axis) => size === planned.shape[axis]);
      if (tensor.dtype !== planned.dtype || !sameShape || !tensor.isContiguous()) {
        throw new ModelFileError(
          { file: path, tensor: planned.name },
          `load() returned ${tensor.dtype} ${shapeText(tensor.shape)}${tensor.isContiguous() ? "" : " (not contiguous)"}, declared ${planned.dtype} ${shapeText(planned.shape)}`,
        );
      }
      writeFully(descriptor, storageBytes(tensor), progress);
      writeFully(descriptor, padding.subarray(0, (alignment - (planned.byteLength % alignment)) % alignment));
    }
    fs.closeSync(descriptor);
    fs.renameSync(temporaryPath, path);
  } catch (error) {
    try {
      fs.closeSync(descriptor);
    } catch {
      // already closed
    }
    fs.rmSync(temporaryPath, { force: true });
    throw error;
  }
}
