// Softmax over the last axis: e^(x − rowMax) / Σ e^(x − rowMax). Subtracting the row maximum keeps e^… ≤ 1.
// The exponentials are stored in out as float32 and summed in float64; out may be input.

import { lastAxis, rowCount, type Tensor } from "../tensor.ts";

/** out, input [rows, n]. */
export function softmax(out: Tensor, input: Tensor): void {
  const length = lastAxis(input);
  const rows = rowCount(input);
  const inputValues = input.data as Float32Array; // [rows, n]
  const outValues = out.data as Float32Array; // [rows, n]
  for (let row = 0; row < rows; row++) {
    const start = row * length;
    let maximum = -Infinity;
    for (let index = start; index < start + length; index++) maximum = Math.max(maximum, inputValues[index]);
    let sum = 0;
    for (let index = start; index < start + length; index++) {
      outValues[index] = Math.exp(inputValues[index] - maximum);
      sum += outValues[index];
    }
    for (let index = start; index < start + length; index++) outValues[index] /= sum;
  }
}
