// Tensor: a dtype, a shape, strides and a typed array over the values (or the raw blocks of a quantized format).
// Tensors never own hidden state; ops write into tensors the caller allocated, so the hot path allocates nothing.

import { dtypeInfo, plainDType, rowBytes, type DType } from "./dtype.ts";
import { KernelError, shapeText } from "./errors.ts";

/** The typed array each dtype is stored in: f32 (and f32x16) → Float32Array, f16/bf16 (and their x16 layouts) →
 *  Uint16Array, block formats → Uint8Array. */
export type TensorData = Float32Array | Uint16Array | Uint8Array;

/** Number of values a tensor of `shape` holds (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

/** Size of the last axis (1 for a scalar). */
export function lastAxis(tensor: {
  /** The tensor's shape. */
  shape: readonly number[];
}): number {
  return tensor.shape.length === 0 ? 1 : tensor.shape[tensor.shape.length - 1];
}

/** Number of rows when the last axis is taken as the row. */
export function rowCount(tensor: {
  /** The tensor's shape. */
  shape: readonly number[];
}): number {
  return elementCount(tensor.shape) / Math.max(1, lastAxis(tensor));
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/**
 * Whether a block-format tensor of `shape` keeps its blocks along its last two axes together: its last axis is shorter
 * than a block and divides it, and the last two axes hold whole blocks. A key/value cache row of several small heads
 * ([positions, kvHeads, headDim] with headDim 8 or 16) is stored that way: one block spans several heads.
 */
export function blocksSpanLastTwoAxes(dtype: DType, shape: readonly number[]): boolean {
  const { blockSize } = dtypeInfo[dtype];
  if (blockSize === 1 || shape.length < 2) return false;
  const columns = shape[shape.length - 1];
  return columns > 0 && columns % blockSize !== 0 && blockSize % columns === 0 && (columns * shape[shape.length - 2]) % blockSize === 0;
}

/**
 * Length of the typed array that holds `shape` in `dtype` (elements for floats, bytes for block formats). Block formats
 * store each row of the last axis as whole blocks, or (see blocksSpanLastTwoAxes) each row of the last two axes.
 */
export function storageLength(dtype: DType, shape: readonly number[]): number {
  const { blockSize, blockBytes } = dtypeInfo[dtype];
  if (blockSize === 1) return elementCount(shape);
  if (blocksSpanLastTwoAxes(dtype, shape)) return (elementCount(shape) / blockSize) * blockBytes;
  const columns = shape.length === 0 ? 1 : shape[shape.length - 1];
  return (elementCount(shape) / columns) * rowBytes(dtype, columns);
}

/**
 * A dtype, a shape, strides and a typed array over the values (f32: Float32Array; f16/bf16: Uint16Array; block
 * formats: the raw blocks in a Uint8Array). Views (reshape, slice, transpose) share the array; ops write into tensors
 * the caller allocated.
 *
 * @example
 * ```ts
 * import { Tensor } from "@infer-recipes/kernel";
 *
 * const x = Tensor.fromFloat32([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)); // [rows, cols]
 * const firstRow = x.slice(0, 1); // [1, 3], same memory
 * const flat = x.reshape([6]);
 * const scratch = Tensor.zeros("f32", [2, 3]);
 * console.log(String(x), x.size, firstRow.data, flat.shape, scratch.isContiguous());
 * ```
 */
export class Tensor {
  /** The element type. */
  readonly dtype: DType;
  /** Size of each axis. */
  readonly shape: readonly number[];
  /** Element strides, one per axis; equal to the row-major strides unless this is a view such as a transpose. */
  readonly strides: readonly number[];
  /** The storage (elements for float dtypes, bytes of whole blocks for block formats). */
  readonly data: TensorData;

  constructor(dtype: DType, shape: readonly number[], data: TensorData, strides?: readonly number[]) {
    for (const size of shape) {
      if (!Number.isInteger(size) || size < 0) throw new KernelError(`Tensor: invalid shape ${shapeText(shape)}`);
    }
    const plain = plainDType(dtype);
    const expectedArray = plain === "f32" ? Float32Array : plain === "f16" || plain === "bf16" ? Uint16Array : Uint8Array;
    if (!(data instanceof expectedArray)) {
      throw new KernelError(`Tensor: ${dtype} data must be a ${expectedArray.name}, got ${data.constructor.name}`);
    }
    const needed = storageLength(dtype, shape);
    if (strides === undefined && data.length !== needed) {
      throw new KernelError(
        `Tensor: ${dtype} ${shapeText(shape)} needs ${needed} ${dtypeInfo[dtype].blockSize === 1 ? "elements" : "bytes"}, got ${data.length}`,
      );
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.data = data;
  }

  /** A zero-filled tensor. */
  static zeros(dtype: DType, shape: readonly number[]): Tensor {
    const length = storageLength(dtype, shape);
    const plain = plainDType(dtype);
    const data = plain === "f32" ? new Float32Array(length) : plain === "f16" || plain === "bf16" ? new Uint16Array(length) : new Uint8Array(length);
    return new Tensor(dtype, shape, data);
  }

  /** Wraps a Float32Array (no copy). */
  static fromFloat32(shape: readonly number[], data: Float32Array): Tensor {
    return new Tensor("f32", shape, data);
  }

  /** Number of values (the product of the shape). */
  get size(): number {
    return elementCount(this.shape);
  }

  /** Bytes of the underlying storage, as the native backend sees them. */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /** Whether the strides are row-major (not a transposed view): what most ops require. */
  isContiguous(): boolean {
    const expected = contiguousStrides(this.shape);
    return this.shape.every((size, axis) => size <= 1 || this.strides[axis] === expected[axis]);
  }

  /** Same data, new shape (contiguous tensors only). */
  reshape(shape: readonly number[]): Tensor {
    if (!this.isContiguous()) throw new KernelError(`reshape: tensor ${shapeText(this.shape)} is not contiguous`);
    if (elementCount(shape) !== this.size) {
      throw new KernelError(`reshape: cannot view ${shapeText(this.shape)} (${this.size} values) as ${shapeText(shape)}`);
    }
    return new Tensor(this.dtype, shape, this.data);
  }

  /** A view with two axes swapped (float dtypes only); ops that need contiguous input will reject it. */
  transpose(first = -2, second = -1): Tensor {
    if (dtypeInfo[this.dtype].blockSize !== 1) throw new KernelError(`transpose: ${this.dtype} tensors cannot be viewed transposed`);
    const rank = this.shape.length;
    const a = first < 0 ? rank + first : first;
    const b = second < 0 ? rank + second : second;
    const shape = [...this.shape];
    const strides = [...this.strides];
    [shape[a], shape[b]] = [shape[b], shape[a]];
    [strides[a], strides[b]] = [strides[b], strides[a]];
    return new Tensor(this.dtype, shape, this.data, strides);
  }

  /** A contiguous copy of a float view (or this tensor when it is already contiguous). */
  contiguous(): Tensor {
    if (this.isContiguous()) return this;
    const out = Tensor.zeros(this.dtype, this.shape);
    const rank = this.shape.length;
    const index = new Array<number>(rank).fill(0);
    for (let flat = 0; flat < out.data.length; flat++) {
      let offset = 0;
      for (let axis = 0; axis < rank; axis++) offset += index[axis] * this.strides[axis];
      out.data[flat] = this.data[offset];
      for (let axis = rank - 1; axis >= 0; axis--) {
        if (++index[axis] < this.shape[axis]) break;
        index[axis] = 0;
      }
    }
    return out;
  }

  /** Rows [start, end) of the first axis, sharing memory (contiguous tensors only). */
  slice(start: number, end: number): Tensor {
    if (!this.isContiguous()) throw new KernelError(`slice: tensor ${shapeText(this.shape)} is not contiguous`);
    if (!(0 <= start && start <= end && end <= this.shape[0])) {
      throw new KernelError(`slice: rows [${start}, ${end}) are outside ${shapeText(this.shape)}`);
    }
    const rowLength = this.data.length / Math.max(1, this.shape[0]);
    const shape = [end - start, ...this.shape.slice(1)];
    return new Tensor(this.dtype, shape, this.data.subarray(start * rowLength, end * rowLength));
  }

  /** "Tensor(f32 [2, 3])". */
  toString(): string {
    return `Tensor(${this.dtype} ${shapeText(this.shape)})`;
  }
}
