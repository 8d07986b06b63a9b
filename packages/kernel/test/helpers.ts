// Shared test helpers: a seeded random number generator, random tensors, and error measures.
// Generic on purpose: the native-versus-reference tests reuse them.

import { elementCount, Tensor } from "../src/tensor.ts";

/** mulberry32: a small seeded PRNG returning uniform numbers in [0, 1). Same seed → same sequence. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller) drawn from `random`. */
export function normalSample(random: () => number): number {
  const radius = Math.sqrt(-2 * Math.log(1 - random())); // 1 − u ∈ (0, 1], so the log is finite
  return radius * Math.cos(2 * Math.PI * random());
}

export type Distribution = "uniform" | "normal";

/** `count` float32 values: uniform in [−scale, scale) or normal with standard deviation `scale`. */
export function randomValues(count: number, seed: number, scale = 1, distribution: Distribution = "uniform"): Float32Array {
  const random = createRandom(seed);
  const values = new Float32Array(count); // [count]
  for (let index = 0; index < count; index++) {
    values[index] = distribution === "uniform" ? (2 * random() - 1) * scale : normalSample(random) * scale;
  }
  return values;
}

/** An f32 tensor of `shape` filled by `randomValues`. */
export function randomTensor(shape: readonly number[], seed: number, scale = 1, distribution: Distribution = "uniform"): Tensor {
  return Tensor.fromFloat32(shape, randomValues(elementCount(shape), seed, scale, distribution));
}

type Values = ArrayLike<number> | Tensor;

function valuesOf(values: Values): ArrayLike<number> {
  return values instanceof Tensor ? values.data : values;
}

function requireSameLength(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
}

/** max_i |actual[i] − expected[i]| (NaN anywhere gives NaN, so a comparison against a tolerance fails). */
export function maxAbsDiff(actual: Values, expected: Values): number {
  const a = valuesOf(actual);
  const b = valuesOf(expected);
  requireSameLength(a, b);
  let largest = 0;
  for (let index = 0; index < a.length; index++) {
    const difference = Math.abs(a[index] - b[index]);
    if (Number.isNaN(difference)) return NaN;
    largest = Math.max(largest, difference);
  }
  return largest;
}

/** ‖actual − expected‖₂ / ‖expected‖₂ (the relative RMS error); 0 when both are all zeros. */
export function relativeError(actual: Values, expected: Values): number {
  const a = valuesOf(actual);
  const b = valuesOf(expected);
  requireSameLength(a, b);
  let errorSquares = 0;
  let expectedSquares = 0;
  for (let index = 0; index < a.length; index++) {
    errorSquares += (a[index] - b[index]) ** 2;
    expectedSquares += b[index] ** 2;
  }
  if (expectedSquares === 0) return errorSquares === 0 ? 0 : Infinity;
  return Math.sqrt(errorSquares / expectedSquares);
}

/** Tensor.zeros("f32", shape): an output buffer for an op. */
export function zerosLike(shape: readonly number[]): Tensor {
  return Tensor.zeros("f32", shape);
}

/** Lets the event loop run (vitest's worker answers its runner between the cases of a long test: a worker that blocks
 *  for a minute on a loaded machine misses the runner's RPC deadline). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
