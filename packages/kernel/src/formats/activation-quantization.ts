// How matmul quantizes its activation (input) rows before an integer dot product with a block-format weight.
// Both backends must do exactly this; the native C++ code replicates it bit for bit.
//
//   block size: 32 for q8_0 / q4_0 weights, 256 for q4_k / q6_k weights (one activation block per weight block)
//   per block:  amax = max |x|                         (float32)
//               d = amax / 127                         (float32 division; kept as float32, NOT rounded to f16)
//               inverse = d != 0 ? 1 / d : 0           (float32)
//               q = roundHalfToEven(float32(x · inverse)) as int8, in −127..127
//
// Round-half-to-even is the CPU's default float→int conversion (cvtps2dq / nearbyint), so SIMD code gets it for free.

import { dtypeInfo, type DType } from "../dtype.ts";
import { roundHalfToEven } from "./rounding.ts";

export interface QuantizedActivations {
  /** One int8 per input value. [count] */
  values: Int8Array;
  /** One float32 scale d per block. [count / blockSize] */
  scales: Float32Array;
}

/** Activation block size matmul uses against a weight of `weightDType` (a block format). */
export function activationBlockSize(weightDType: DType): number {
  return dtypeInfo[weightDType].blockSize === 256 ? 256 : 32;
}

/** Quantizes input[inputOffset .. inputOffset + count) into values[valuesOffset ..] and scales[scalesOffset ..]. */
export function quantizeActivationsInto(
  input: Float32Array,
  inputOffset: number,
  count: number,
  blockSize: number,
  values: Int8Array,
  valuesOffset: number,
  scales: Float32Array,
  scalesOffset: number,
): void {
  const blocks = count / blockSize;
  for (let block = 0; block < blocks; block++) {
    const first = inputOffset + block * blockSize;
    let largestMagnitude = 0;
    for (let index = first; index < first + blockSize; index++) {
      largestMagnitude = Math.max(largestMagnitude, Math.abs(input[index]));
    }
    const scale = Math.fround(largestMagnitude / 127);
    const inverse = scale !== 0 ? Math.fround(1 / scale) : 0;
    scales[scalesOffset + block] = scale;
    const valuesFirst = valuesOffset + block * blockSize;
    for (let index = 0; index < blockSize; index++) {
      values[valuesFirst + index] = roundHalfToEven(Math.fround(input[first + index] * inverse));
    }
  }
}

/** Quantizes one activation row (length a multiple of blockSize) into int8 values and float32 per-block scales. */
export function quantizeActivations(row: Float32Array, blockSize: number): QuantizedActivations {
  if (blockSize <= 0 || row.length % blockSize !== 0) {
    throw new RangeError(`quantizeActivations: row length ${row.length} is not a multiple of the block size ${blockSize}`);
  }
  const values = new Int8Array(row.length); // [row.length]
  const scales = new Float32Array(row.length / blockSize); // [row.length / blockSize]
  quantizeActivationsInto(row, 0, row.length, blockSize, values, 0, scales, 0);
  return { values, scales };
}
