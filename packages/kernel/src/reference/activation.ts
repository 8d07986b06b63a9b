// Elementwise activation functions, computed in float64 and stored as float32. out may be input.

import type { Tensor } from "../tensor.ts";

/** silu(x) = x · sigmoid(x) = x / (1 + e^−x). */
export function siluValue(x: number): number {
  return x / (1 + Math.exp(-x));
}

const geluCoefficient = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluValue(x: number): number {
  return 0.5 * x * (1 + Math.tanh(geluCoefficient * (x + 0.044715 * x * x * x)));
}

export function silu(out: Tensor, input: Tensor): void {
  const inputValues = input.data as Float32Array; // [size]
  const outValues = out.data as Float32Array; // [size]
  for (let index = 0; index < inputValues.length; index++) outValues[index] = siluValue(inputValues[index]);
}

export function gelu(out: Tensor, input: Tensor): void {
  const inputValues = input.data as Float32Array; // [size]
  const outValues = out.data as Float32Array; // [size]
  for (let index = 0; index < inputValues.length; index++) outValues[index] = geluValue(inputValues[index]);
}

/** out = silu(gate) · up. out, gate, up [rows, n]. */
export function swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
  const gateValues = gate.data as Float32Array; // [rows, n]
  const upValues = up.data as Float32Array; // [rows, n]
  const outValues = out.data as Float32Array; // [rows, n]
  for (let index = 0; index < gateValues.length; index++) outValues[index] = siluValue(gateValues[index]) * upValues[index];
}
