// Attention over key/value caches stored in every cache element type (f16, bf16, q8_0, q4_0), on every backend and
// every instruction set the CPU runs: the result equals attention over the same keys and values decoded to f32 (which
// is what "dequantize inside the loop" must compute), stays within each type's error budget of the f32 cache, and the
// paged layout agrees with the dense one. Heads of 8 and 16 values (blocks shared by several heads), decode, prefill
// and chunked prefill, GQA and MQA. Also the argument checks for the cache dtypes.

import { describe, expect, it } from "vitest";

import {
  NativeBackend,
  Tensor,
  blocksSpanLastTwoAxes,
  cacheDTypes,
  dequantizeTensor,
  quantizeTensor,
  storageLength,
  type AttentionOptions,
  type CacheDType,
} from "../src/index.ts";
import type { AttentionCase } from "./attention-case.ts";
import { isaKernels, restoreBestIsa } from "./isa-kernels.ts";
import { createRandom, maxAbsDiff, randomTensor, relativeError, zerosLike } from "./helpers.ts";

const kernels = isaKernels("cache dtypes");
const reference = kernels[0].kernel;

/** Relative error budget of the attention output against the f32 cache, per element type (unit-normal keys/values):
 *  f16 keeps 11 significant bits, bf16 8, q8_0 ~7 per block of 32, q4_0 ~3. */
const errorBudget: Record<CacheDType, number> = { f32: 0, f16: 2e-3, bf16: 1e-2, q8_0: 2e-2, q4_0: 0.2 };

type Case = AttentionCase;

const cases: Case[] = [
  { name: "Llama 3.2 1B heads (32/8 × 64), decode at 300 and a chunk of 3", heads: 32, kvHeads: 8, headDim: 64, length: 300, queries: [[299, 1], [290, 3]], blockSize: 16 },
  // Long enough for the native kernel to split positions into ranges merged afterwards, including ranges that an
  // early token of a chunk cannot see (kvLength past the chunk).
  { name: "1B heads, 1100 positions: decode split over ranges, a chunk with empty ranges", heads: 32, kvHeads: 8, headDim: 64, length: 1100, queries: [[1099, 1], [0, 3, 1100]], blockSize: 16 },
  { name: "3B heads (24/8 × 128), prefill chunk and decode", heads: 24, kvHeads: 8, headDim: 128, length: 90, queries: [[0, 9], [89, 1]], blockSize: 16 },
  { name: "MQA head 32, whole prefill in blocks of 7", heads: 6, kvHeads: 1, headDim: 32, length: 45, queries: [[0, 45]], blockSize: 7 },
  { name: "stories260K heads (8/4 × 8: one block spans 4 heads)", heads: 8, kvHeads: 4, headDim: 8, length: 150, queries: [[0, 20], [120, 29], [149, 1]], blockSize: 16 },
  { name: "TinyStories-656K heads (8/4 × 16: one block spans 2 heads)", heads: 8, kvHeads: 4, headDim: 16, length: 97, queries: [[0, 30], [96, 1]], blockSize: 5 },
  // Groups the AVX-512 block kernel sums values for in fours: 6 = 4 + 2, and 5 = 4 + 1 with heads of three 64-value
  // chunks (integer scores over two chunks, then one).
  { name: "groups of 6 query heads (12/2 × 64)", heads: 12, kvHeads: 2, headDim: 64, length: 70, queries: [[0, 5], [69, 1]], blockSize: 16 },
  { name: "groups of 5 query heads, heads of 192 (5/1 × 192)", heads: 5, kvHeads: 1, headDim: 192, length: 40, queries: [[0, 3], [39, 1]], blockSize: 8 },
  // Heads of 256 (Gemma's): integer scores over two pairs of chunks, the second adding to the first.
  { name: "heads of 256 (4/2 × 256)", heads: 4, kvHeads: 2, headDim: 256, length: 36, queries: [[0, 2], [35, 1]], blockSize: 16 },
];

/** Keys/values [length, kvHeads, headDim] encoded in `dtype`, and scattered over the blocks of a paged cache. */
function cacheTensors(keys: Tensor, values: Tensor, dtype: CacheDType, blockSize: number, seed: number) {
  const [length, kvHeads, headDim] = keys.shape;
  const denseKeys = quantizeTensor(dtype, keys.shape, keys.data as Float32Array);
  const denseValues = quantizeTensor(dtype, values.shape, values.data as Float32Array);
  const blockCount = Math.ceil(length / blockSize) + 3;
  const keyBlocks = Tensor.zeros(dtype, [blockCount, blockSize, kvHeads, headDim]);
  const valueBlocks = Tensor.zeros(dtype, [blockCount, blockSize, kvHeads, headDim]);
  const random = createRandom(seed);
  const physical = Array.from({ length: blockCount - 1 }, (_, index) => index + 1).sort(() => random() - 0.5);
  const blockTable = Int32Array.from(physical.slice(0, Math.ceil(length / blockSize)));
  const rowLength = storageLength(dtype, [1, kvHeads, headDim]); // storage elements per position
  for (let position = 0; position < length; position++) {
    const target = (blockTable[Math.floor(position / blockSize)] * blockSize + (position % blockSize)) * rowLength;
    keyBlocks.data.set(denseKeys.data.subarray(position * rowLength, (position + 1) * rowLength), target);
    valueBlocks.data.set(denseValues.data.subarray(position * rowLength, (position + 1) * rowLength), target);
  }
  return { denseKeys, denseValues, keyBlocks, valueBlocks, blockTable };
}

describe("attention over every cache element type", () => {
  for (const testCase of cases) {
    const { heads, kvHeads, headDim, length, queries, blockSize } = testCase;
    const seed = length + headDim;
    const keys = randomTensor([length, kvHeads, headDim], seed, 1, "normal"); // [length, kvHeads, headDim]
    const values = randomTensor([length, kvHeads, headDim], seed + 1, 1, "normal");
    for (const dtype of cacheDTypes) {
      it(`${testCase.name}, ${dtype}`, () => {
        const stored = cacheTensors(keys, values, dtype, blockSize, seed);
        // What the quantized cache holds, decoded: the exact oracle for "dequantize inside the loop".
        const decodedKeys = Tensor.fromFloat32(keys.shape, dequantizeTensor(stored.denseKeys));
        const decodedValues = Tensor.fromFloat32(values.shape, dequantizeTensor(stored.denseValues));
        for (const [start, tokens, kvLength = start + tokens] of queries) {
          const query = randomTensor([tokens, heads, headDim], seed + start + 7, 1, "normal");
          const options: AttentionOptions = { startPosition: start, kvLength, causal: true, scale: 1 / Math.sqrt(headDim) };
          const exact = zerosLike(query.shape); // f32 cache
          reference.attention(exact, query, keys, values, options);
          const onDecoded = zerosLike(query.shape); // f32 attention over the decoded cache
          reference.attention(onDecoded, query, decodedKeys, decodedValues, options);
          for (const { name, kernel, isa } of kernels) {
            const dense = zerosLike(query.shape);
            const paged = zerosLike(query.shape);
            if (isa) (kernel.backend as NativeBackend).selectIsa(isa);
            try {
              kernel.attention(dense, query, stored.denseKeys, stored.denseValues, options);
              kernel.pagedAttention(paged, query, stored.keyBlocks, stored.valueBlocks, stored.blockTable, options);
            } finally {
              if (isa) restoreBestIsa(kernel.backend as NativeBackend);
            }
            const what = `${name}, tokens ${start}..${start + tokens - 1}`;
            if (!isa) {
              expect(Array.from(dense.data), what).toEqual(Array.from(onDecoded.data));
              expect(Array.from(paged.data), what).toEqual(Array.from(onDecoded.data));
            } else {
              if (dtype === "q8_0" || dtype === "q4_0") {
                // On AVX-512 the scores of block caches are integer dot products with the query rounded to int8 (a
                // scale per 32 values, as ggml does): that rounding adds about as much error as the keys' own
                // (measured 5.6e-3 relative on unit-normal data against 7.8e-3 for the cache); elsewhere float32 sums.
                expect(relativeError(dense, onDecoded), what).toBeLessThan(1e-2);
              } else expect(maxAbsDiff(dense, onDecoded), what).toBeLessThan(1e-4);
              expect(maxAbsDiff(paged, dense), what).toBeLessThan(1e-5);
            }
            expect(relativeError(dense, exact), what).toBeLessThanOrEqual(errorBudget[dtype] + 1e-5);
          }
        }
      });
    }
  }
});

describe("attention on unusual queries, every cache element type", () => {
  // Keys/values [length, kvHeads, headDim] stored in each type, and the reference over the same stored tensors.
  function stored(dtype: CacheDType, length: number, kvHeads: number, headDim: number) {
    const keys = randomTensor([length, kvHeads, headDim], length + 1, 1, "normal");
    const values = randomTensor([length, kvHeads, headDim], length + 2, 1, "normal");
    return { keys: quantizeTensor(dtype, keys.shape, keys.data as Float32Array), values: quantizeTensor(dtype, values.shape, values.data as Float32Array) };
  }

  it("a query block of 32 zeros (a zero quantization scale on AVX-512) scores 0 there, as the reference does", () => {
    for (const dtype of cacheDTypes) {
      const { keys, values } = stored(dtype, 60, 2, 64);
      const query = randomTensor([2, 4, 64], 5, 1, "normal"); // [tokens, heads, headDim]
      for (let row = 0; row < 8; row++) (query.data as Float32Array).fill(0, row * 64, row * 64 + 32); // first block of every head
      const options: AttentionOptions = { startPosition: 58, kvLength: 60, causal: true, scale: 0.125 };
      const expected = zerosLike(query.shape);
      reference.attention(expected, query, keys, values, options);
      for (const { name, kernel, isa } of kernels.slice(1)) {
        const actual = zerosLike(query.shape);
        (kernel.backend as NativeBackend).selectIsa(isa!);
        try {
          kernel.attention(actual, query, keys, values, options);
        } finally {
          restoreBestIsa(kernel.backend as NativeBackend);
        }
        expect(relativeError(actual, expected), `${name} ${dtype}`).toBeLessThan(dtype === "q8_0" || dtype === "q4_0" ? 1e-2 : 1e-5);
      }
    }
  });

  // A NaN in a query row makes every score of that head NaN: its output is NaN (the reference's arithmetic), on every
  // path — the per-token loop (heads of 12), the AVX-512 block kernel (heads of 64), ranges merged after a long
  // context, the tiled full attention (40 queries, not causal) — and the other heads are untouched. Float caches: the
  // AVX-512 kernels for q8_0/q4_0 caches quantize the query to int8 first, which has no NaN.
  it("a NaN in a query gives NaN for that head only, on every path (float caches)", () => {
    const shapes = [
      { headDim: 12, tokens: 1, kvLength: 100, causal: true },
      { headDim: 64, tokens: 1, kvLength: 100, causal: true },
      { headDim: 64, tokens: 2, kvLength: 700, causal: true },
      { headDim: 64, tokens: 40, kvLength: 50, causal: false },
    ];
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      for (const { headDim, tokens, kvLength, causal } of shapes) {
        const { keys, values } = stored(dtype, kvLength, 1, headDim);
        const query = randomTensor([tokens, 2, headDim], headDim + tokens, 1, "normal"); // [tokens, heads, headDim]
        (query.data as Float32Array)[3] = NaN; // token 0, head 0
        const options: AttentionOptions = { startPosition: causal ? kvLength - tokens : 0, kvLength, causal, scale: 1 / Math.sqrt(headDim) };
        const expected = zerosLike(query.shape);
        reference.attention(expected, query, keys, values, options);
        for (const { name, kernel, isa } of kernels) {
          const actual = zerosLike(query.shape);
          if (isa) (kernel.backend as NativeBackend).selectIsa(isa);
          try {
            kernel.attention(actual, query, keys, values, options);
          } finally {
            if (isa) restoreBestIsa(kernel.backend as NativeBackend);
          }
          const what = `${name} ${dtype} head ${headDim}, ${tokens} token(s) over ${kvLength}`;
          const out = actual.data as Float32Array;
          expect(out.subarray(0, headDim).every(Number.isNaN), `${what}: the NaN head`).toBe(true);
          expect(maxAbsDiff(out.subarray(headDim), (expected.data as Float32Array).subarray(headDim)), `${what}: the other heads`).toBeLessThan(1e-4);
        }
      }
    }
  });
});

describe("cache tensor layouts and checks", () => {
  it("stores blocks across small heads: [positions, 4, 8] q8_0 is 34 bytes per position", () => {
    expect(blocksSpanLastTwoAxes("q8_0", [10, 4, 8])).toBe(true);
    expect(storageLength("q8_0", [10, 4, 8])).toBe(340);
    expect(storageLength("q4_0", [3, 4, 16])).toBe(3 * 2 * 18);
    expect(blocksSpanLastTwoAxes("q8_0", [10, 2, 64])).toBe(false);
    expect(() => Tensor.zeros("q8_0", [10, 3, 8])).toThrow(/multiple of 32 values, got 8/);
    expect(() => Tensor.zeros("q4_0", [8, 48])).toThrow(/multiple of 32 values, got 48/);
  });

  it("refuses keys in a type attention cannot read, and mixed types", () => {
    const query = zerosLike([1, 4, 32]);
    const options: AttentionOptions = { startPosition: 0, kvLength: 1, causal: true, scale: 1 };
    const q4k = Tensor.zeros("q4_k", [2, 2, 256]);
    expect(() => reference.attention(zerosLike([1, 4, 256]), zerosLike([1, 4, 256]), q4k, q4k, options)).toThrow(
      /attention: keys must be a cache element type \(f32, f16, bf16, q8_0, q4_0\), got q4_k \[2, 2, 256\]/,
    );
    expect(() => reference.attention(zerosLike([1, 4, 32]), query, Tensor.zeros("q8_0", [2, 2, 32]), Tensor.zeros("f16", [2, 2, 32]), options)).toThrow(
      /attention: keys \(q8_0\) and values \(f16\) must have the same element type/,
    );
    const blocks = Tensor.zeros("q4_0", [3, 4, 2, 32]);
    expect(() => reference.pagedAttention(zerosLike([1, 4, 32]), query, blocks, Tensor.zeros("bf16", [3, 4, 2, 32]), Int32Array.of(1), options)).toThrow(
      /pagedAttention: keyBlocks \(q4_0\) and valueBlocks \(bf16\) must have the same element type/,
    );
  });
});
