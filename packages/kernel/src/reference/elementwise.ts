// Elementwise add and multiply. b either has a's shape or is one row [n] applied to every row of a.
// Computed in float64 (exact for one operation on float32 values before the final rounding) and stored as float32.

import { lastAxis, type Tensor } from "../tensor.ts";

function combine(out: Tensor, a: Tensor, b: Tensor, operation: (left: number, right: number) => number): void {
  const aValues = a.data as Float32Array; // [rows, n]
  const bValues = b.data as Float32Array; // [rows, n] or [n]
  const outValues = out.data as Float32Array; // [rows, n]
  if (bValues.length === aValues.length) {
    for (let index = 0; index < aValues.length; index++) outValues[index] = operation(aValues[index], bValues[index]);
    return;
  }
  const length = lastAxis(a);
  for (let start = 0; start < aValues.length; start += length) {
    for (let index = 0; index < length; index++) outValues[start + index] = operation(aValues[start + index], bValues[index]);
  }
}

export function add(out: Tensor, a: Tensor, b: Tensor): void {
  combine(out, a, b, (left, right) => left + right);
}

export function mul(out: Tensor, a: Tensor, b: Tensor): void {
  combine(out, a, b, (left, right) => left * right);
}
