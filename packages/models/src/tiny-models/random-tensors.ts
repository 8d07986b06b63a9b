// Seeded random values and tensors for tests (mulberry32), so every run writes the same files.

import { elementCount, quantizeTensor, type DType, type Tensor } from "@infer-recipes/kernel";

/** A seeded generator of uniform floats in [0, 1) (mulberry32): the same seed gives the same tiny models everywhere. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` values uniform in [−scale, scale). */
export function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const random = createRandom(seed);
  const values = new Float32Array(count); // [count]
  for (let index = 0; index < count; index++) values[index] = (2 * random() - 1) * scale;
  return values;
}

/** A tensor of `dtype` and `shape` encoding random values. */
export function randomTensor(dtype: DType, shape: readonly number[], seed: number, scale = 1): Tensor {
  return quantizeTensor(dtype, shape, randomValues(elementCount(shape), seed, scale));
}

/** The raw bytes of a tensor's storage (a view). */
export function bytesOf(tensor: Tensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/** Asserts two tensors have identical dtype, shape and storage bytes (fast, with the first differing byte on failure). */
export function expectSameTensor(actual: Tensor | undefined, expected: Tensor, label = ""): void {
  if (actual === undefined) throw new Error(`${label}: tensor missing`);
  const prefix = label ? `${label}: ` : "";
  if (actual.dtype !== expected.dtype) throw new Error(`${prefix}dtype ${actual.dtype}, expected ${expected.dtype}`);
  if (actual.shape.join(",") !== expected.shape.join(",")) throw new Error(`${prefix}shape [${actual.shape}], expected [${expected.shape}]`);
  const left = Buffer.from(bytesOf(actual));
  const right = Buffer.from(bytesOf(expected));
  if (!left.equals(right)) {
    let index = 0;
    while (index < left.length && left[index] === right[index]) index++;
    throw new Error(`${prefix}storage differs first at byte ${index} of ${right.length}`);
  }
}
