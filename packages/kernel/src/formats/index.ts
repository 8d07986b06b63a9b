// Encoding and decoding of every dtype: row-level functions for the block formats, flat-storage functions for all
// dtypes, and tensor-level helpers. Rows are contiguous and a row is a whole number of blocks, so a tensor's storage
// is simply a sequence of blocks and can be processed in one pass.

import { dtypeInfo, type DType } from "../dtype.ts";
import { KernelError, shapeText } from "../errors.ts";
import { elementCount, storageLength, Tensor, type TensorData } from "../tensor.ts";
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "./float16.ts";
import { dequantizeQ4_0, q4_0SubBlockSize, quantizeQ4_0, unpackQ4_0Block } from "./q4_0.ts";
import { dequantizeQ4_k, q4_kSubBlockSize, quantizeQ4_k, unpackQ4_kBlock } from "./q4_k.ts";
import { dequantizeQ6_k, q6_kSubBlockSize, quantizeQ6_k, unpackQ6_kBlock } from "./q6_k.ts";
import { dequantizeQ8_0, q8_0SubBlockSize, quantizeQ8_0, unpackQ8_0Block } from "./q8_0.ts";
import type { UnpackedBlock } from "./unpacked-block.ts";

export { canInterleave, deinterleaveRow, deinterleaveTensor, interleaveTensor } from "./interleaved.ts";
export type { UnpackedBlock } from "./unpacked-block.ts";

/** The block-quantized storage dtypes (GGUF's layouts). */
export type BlockDType = "q8_0" | "q4_0" | "q4_k" | "q6_k";

/** Encoding and decoding of one block format, byte for byte as ggml does it. */
export interface BlockFormat {
  /** Values per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
  /** Values sharing one integer sub-block scale (and min). */
  readonly subBlockSize: number;
  /** Encodes a whole number of blocks of f32 values. */
  quantize(input: Float32Array, out: Uint8Array): void;
  /** Decodes a whole number of blocks to f32. */
  dequantize(input: Uint8Array, out: Float32Array): void;
  /** Decodes the block at bytes[offset ..] into its integer form (see unpacked-block.ts). */
  unpack(bytes: Uint8Array, offset: number, block: UnpackedBlock): void;
}

function blockFormat(dtype: BlockDType, subBlockSize: number, functions: Pick<BlockFormat, "quantize" | "dequantize" | "unpack">): BlockFormat {
  const { blockSize, blockBytes } = dtypeInfo[dtype];
  return { blockSize, blockBytes, subBlockSize, ...functions };
}

/** The {@link BlockFormat} of each block dtype. */
export const blockFormats: Readonly<Record<BlockDType, BlockFormat>> = {
  q8_0: blockFormat("q8_0", q8_0SubBlockSize, { quantize: quantizeQ8_0, dequantize: dequantizeQ8_0, unpack: unpackQ8_0Block }),
  q4_0: blockFormat("q4_0", q4_0SubBlockSize, { quantize: quantizeQ4_0, dequantize: dequantizeQ4_0, unpack: unpackQ4_0Block }),
  q4_k: blockFormat("q4_k", q4_kSubBlockSize, { quantize: quantizeQ4_k, dequantize: dequantizeQ4_k, unpack: unpackQ4_kBlock }),
  q6_k: blockFormat("q6_k", q6_kSubBlockSize, { quantize: quantizeQ6_k, dequantize: dequantizeQ6_k, unpack: unpackQ6_kBlock }),
};

/** q8_0, q4_0, q4_k, q6_k (the interleaved matmul layouts are not block rows: see interleaved.ts). */
export function isBlockDType(dtype: DType): dtype is BlockDType {
  return dtype in blockFormats;
}

function requireBlockRow(op: string, dtype: DType, values: number, bytes: number): BlockFormat {
  if (!isBlockDType(dtype)) throw new KernelError(`${op}: ${dtype} is not a block format`);
  const format = blockFormats[dtype];
  const blocks = values / format.blockSize;
  if (!Number.isInteger(blocks) || bytes !== blocks * format.blockBytes) {
    throw new KernelError(`${op}: ${values} values and ${bytes} bytes are not a whole number of ${dtype} blocks`);
  }
  return format;
}

/** Encodes a row (or several contiguous rows) of f32 values into a block format. */
export function quantizeRow(dtype: DType, input: Float32Array, out: Uint8Array): void {
  requireBlockRow("quantizeRow", dtype, input.length, out.length).quantize(input, out);
}

/** Decodes a row (or several contiguous rows) of a block format into f32 values. */
export function dequantizeRow(dtype: DType, input: Uint8Array, out: Float32Array): void {
  requireBlockRow("dequantizeRow", dtype, out.length, input.length).dequantize(input, out);
}

/** Encodes f32 values into the storage of any dtype (out's length as `storageLength` gives it). */
export function encodeValues(dtype: DType, input: Float32Array, out: TensorData): void {
  if (dtype === "f32") {
    (out as Float32Array).set(input);
  } else if (dtype === "f16") {
    for (let index = 0; index < input.length; index++) out[index] = float32ToFloat16(input[index]);
  } else if (dtype === "bf16") {
    for (let index = 0; index < input.length; index++) out[index] = float32ToBfloat16(input[index]);
  } else {
    quantizeRow(dtype, input, out as Uint8Array);
  }
}

/** Decodes the storage of any dtype into f32 values. */
export function decodeValues(dtype: DType, input: TensorData, out: Float32Array): void {
  if (dtype === "f32") {
    out.set(input as Float32Array);
  } else if (dtype === "f16") {
    for (let index = 0; index < out.length; index++) out[index] = float16ToFloat32(input[index]);
  } else if (dtype === "bf16") {
    for (let index = 0; index < out.length; index++) out[index] = bfloat16ToFloat32(input[index]);
  } else {
    dequantizeRow(dtype, input as Uint8Array, out);
  }
}

/** The storage of row `row` of a contiguous [rows, columns] tensor (a view, no copy). */
export function rowStorage(tensor: Tensor, row: number): TensorData {
  const columns = tensor.shape[tensor.shape.length - 1];
  const length = storageLength(tensor.dtype, [columns]);
  return tensor.data.subarray(row * length, (row + 1) * length);
}

/** Encodes `values` (row-major, out's shape) into the existing tensor `out`, in out's dtype. */
export function quantizeTensorInto(out: Tensor, values: Float32Array): void {
  if (values.length !== out.size) {
    throw new KernelError(`quantizeTensorInto: ${values.length} values do not fill ${out.dtype} ${shapeText(out.shape)}`);
  }
  encodeValues(out.dtype, values, out.data);
}

/** A new tensor of `dtype` holding `values` (row-major, `shape`), encoded as `encodeValues` does. */
export function quantizeTensor(dtype: DType, shape: readonly number[], values: Float32Array): Tensor {
  if (values.length !== elementCount(shape)) {
    throw new KernelError(`quantizeTensor: ${values.length} values do not fill shape ${shapeText(shape)}`);
  }
  const tensor = Tensor.zeros(dtype, shape);
  quantizeTensorInto(tensor, values);
  return tensor;
}

/** The tensor's values decoded to f32, row-major (non-contiguous views are made contiguous first). */
export function dequantizeTensor(tensor: Tensor): Float32Array {
  const source = tensor.contiguous();
  const out = new Float32Array(source.size); // [size]
  decodeValues(source.dtype, source.data, out);
  return out;
}
