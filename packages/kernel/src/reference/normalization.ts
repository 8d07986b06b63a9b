// Row normalizations: RMSNorm (Llama) and LayerNorm (GPT-2, BERT). Means are accumulated in float64; each output
// is computed in float64 and stored as float32. out may be input: a row is fully read before it is written.

import { lastAxis, rowCount, type Tensor } from "../tensor.ts";

/** out = input / sqrt(mean(input²) + epsilon) · weight, per row. out, input [rows, dim]; weight [dim]. */
export function rmsNorm(out: Tensor, input: Tensor, weight: Tensor, epsilon: number): void {
  const dim = lastAxis(input);
  const rows = rowCount(input);
  const inputValues = input.data as Float32Array; // [rows, dim]
  const weightValues = weight.data as Float32Array; // [dim]
  const outValues = out.data as Float32Array; // [rows, dim]
  for (let row = 0; row < rows; row++) {
    const start = row * dim;
    let sumOfSquares = 0;
    for (let index = start; index < start + dim; index++) sumOfSquares += inputValues[index] * inputValues[index];
    const inverseRms = 1 / Math.sqrt(sumOfSquares / dim + epsilon);
    for (let index = 0; index < dim; index++) {
      outValues[start + index] = inputValues[start + index] * inverseRms * weightValues[index];
    }
  }
}

/** out = (input − mean) / sqrt(variance + epsilon) · weight + bias, per row (population variance, two passes). */
export function layerNorm(out: Tensor, input: Tensor, weight: Tensor, bias: Tensor | null, epsilon: number): void {
  const dim = lastAxis(input);
  const rows = rowCount(input);
  const inputValues = input.data as Float32Array; // [rows, dim]
  const weightValues = weight.data as Float32Array; // [dim]
  const biasValues = bias ? (bias.data as Float32Array) : null; // [dim]
  const outValues = out.data as Float32Array; // [rows, dim]
  for (let row = 0; row < rows; row++) {
    const start = row * dim;
    let sum = 0;
    for (let index = start; index < start + dim; index++) sum += inputValues[index];
    const mean = sum / dim;
    let sumOfSquaredDeviations = 0;
    for (let index = start; index < start + dim; index++) {
      const deviation = inputValues[index] - mean;
      sumOfSquaredDeviations += deviation * deviation;
    }
    const inverseDeviation = 1 / Math.sqrt(sumOfSquaredDeviations / dim + epsilon);
    for (let index = 0; index < dim; index++) {
      const normalized = (inputValues[start + index] - mean) * inverseDeviation * weightValues[index];
      outValues[start + index] = biasValues ? normalized + biasValues[index] : normalized;
    }
  }
}
