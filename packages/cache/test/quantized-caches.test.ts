// Caches in every element type (f16, bf16, q8_0, q4_0 besides f32): a written position holds exactly the encoding of
// its rows (values always; keys for f16/bf16 — q8_0/q4_0 keys are grouped per channel, see channel-keys.test.ts) (encoded once, by the kernel's quantize or the TypeScript encoders: the same bytes), growth keeps what was
// stored, copy-on-write and prefix sharing move quantized blocks as they are, memory accounting follows the element
// type, and an element type that cannot serve a head size is refused up front with what would work.

import { describe, expect, it } from "vitest";

import { Tensor, cacheDTypes, createKernel, dequantizeTensor, nativeAvailability, quantizeTensor, storesKeysPerChannel, type CacheDType } from "@infer-recipes/kernel";

import {
  CacheError,
  DenseKvCache,
  PagedKvCache,
  cacheLayoutProblem,
  kvCacheBytesPerToken,
  kvCacheKeyResidualBytes,
  kvCacheTokensWithin,
  pagedKvCacheBlocksWithin,
  pagedKvCacheBytes,
  parseCacheDType,
} from "../src/index.ts";

const kvHeads = 2, headDim = 32, width = kvHeads * headDim;

/** Deterministic rows [tokens, width] that differ per position. */
function rows(tokens: number, seed: number): Float32Array {
  return Float32Array.from({ length: tokens * width }, (_, index) => Math.sin(seed + index * 0.37) * (1 + (index % 5)));
}

/** Rows decoded back from the cache tensor `tensor` at storage rows `first..first+count-1`. */
function decodedRows(tensor: Tensor, first: number, count: number): Float32Array {
  const all = dequantizeTensor(tensor);
  return all.subarray(first * width, (first + count) * width);
}

/** What storing `values` in `dtype` must give back. */
function roundTrip(dtype: CacheDType, values: Float32Array): Float32Array {
  return dequantizeTensor(quantizeTensor(dtype, [values.length / width, width], values));
}

const encoders = [{ name: "TypeScript encoders", kernel: undefined }, ...(nativeAvailability().available ? [{ name: "native quantize", kernel: createKernel({ backend: "native" }) }] : [])];

describe("DenseKvCache in every element type", () => {
  for (const dtype of cacheDTypes) {
    for (const { name, kernel } of encoders) {
      it(`${dtype} (${name}): stores the encoding of each row, keeps it when growing, accounts its bytes`, () => {
        const cache = new DenseKvCache({ layerCount: 2, keyValueHeadCount: kvHeads, headDim, maxTokens: 64, initialTokens: 4, dtype, kernel });
        expect(cache.dtype).toBe(dtype);
        expect(cache.layer(0).keys.dtype).toBe(dtype);
        const first = rows(3, 1), second = rows(6, 2);
        cache.reserve(3);
        cache.write(1, 0, first, second.subarray(0, 3 * width));
        cache.length = 3;
        cache.reserve(9); // grows from 4 to 16 positions
        expect(cache.capacity).toBe(16);
        cache.write(1, 3, second, rows(6, 3));
        cache.length = 9;
        const perChannel = storesKeysPerChannel(dtype);
        const stored = decodedRows(cache.layer(1)[perChannel ? "values" : "keys"], 0, 9);
        expect(Array.from(stored.subarray(0, 3 * width))).toEqual(Array.from(roundTrip(dtype, perChannel ? second.subarray(0, 3 * width) : first)));
        expect(Array.from(stored.subarray(3 * width))).toEqual(Array.from(roundTrip(dtype, perChannel ? rows(6, 3) : second)));
        const bytesPerValue = { f32: 4, f16: 2, bf16: 2, q8_0: 34 / 32, q4_0: 18 / 32 }[dtype];
        expect(cache.bytesPerToken).toBe(2 * 2 * width * bytesPerValue);
        // Keys grouped per channel: buffers of whole 32-position groups, and a 64-position f32 residual per layer.
        expect(cache.byteLength).toBe(perChannel ? 32 * cache.bytesPerToken + 2 * 64 * width * 4 : 16 * cache.bytesPerToken);
      });
    }
  }
});

describe("PagedKvCache in every element type", () => {
  for (const dtype of cacheDTypes) {
    it(`${dtype}: positions across blocks, copy-on-write of a shared partial block, prefix sharing`, () => {
      // q8_0 / q4_0 keep keys per channel in 32-position groups, so blocks of 32 (channel-keys.test.ts checks the
      // keys); here their per-token values, written equal to the keys.
      const perChannel = storesKeysPerChannel(dtype);
      const blockSize = perChannel ? 32 : 4;
      const cache = new PagedKvCache({ layerCount: 2, keyValueHeadCount: kvHeads, headDim, blockSize, blockCount: 12, dtype });
      expect(cache.usage().bytesPerTokenPerLayer).toBe(kvCacheBytesPerToken({ layerCount: 1, keyValueHeadCount: kvHeads, headDim, dtype }));
      const rowsOf = (sequence: { blockTable: Int32Array }, position: number) => {
        const row = sequence.blockTable[Math.floor(position / blockSize)] * blockSize + (position % blockSize);
        return Array.from(decodedRows(cache.layer(0)[perChannel ? "values" : "keys"], row, 1));
      };
      const parent = cache.createSequence();
      const length = blockSize + blockSize / 2;
      const prompt = Array.from({ length }, (_, index) => index + 5);
      const keys = rows(length, 10);
      cache.reserve(parent, length);
      for (let layer = 0; layer < 2; layer++) cache.write(layer, parent, 0, keys, keys);
      cache.append(parent, prompt);
      const expected = roundTrip(dtype, keys);
      for (let position = 0; position < length; position++) expect(rowsOf(parent, position)).toEqual(Array.from(expected.subarray(position * width, (position + 1) * width)));

      // fork, then the child writes the next position into its own copy of the shared partial block 1.
      const child = cache.fork(parent);
      const shared = parent.blockTable[1];
      cache.reserve(child, 1);
      expect(child.blockTable[1]).not.toBe(shared);
      for (let layer = 0; layer < 2; layer++) cache.write(layer, child, length, rows(1, 99), rows(1, 99));
      cache.append(child, [11]);
      for (const position of [blockSize, length - 1]) expect(rowsOf(child, position)).toEqual(rowsOf(parent, position)); // copied as stored
      expect(rowsOf(child, length)).toEqual(Array.from(roundTrip(dtype, rows(1, 99))));

      // A new sequence with the same first block reuses it (prefix cache) and reads the same stored rows.
      const other = cache.createSequence();
      expect(cache.matchPrefix(other, [...prompt.slice(0, blockSize), 1, 2])).toBe(blockSize);
      expect(other.blockTable[0]).toBe(parent.blockTable[0]);
      for (let position = 0; position < blockSize; position++) expect(rowsOf(other, position)).toEqual(rowsOf(parent, position));
      for (const sequence of [parent, child, other]) cache.free(sequence);
      cache.pool.checkInvariants();
    });
  }
});

describe("element types, head sizes and memory accounting", () => {
  it("names the supported element types for an unknown one", () => {
    expect(() => parseCacheDType("int8")).toThrow(/KV cache element type must be one of f32, f16, bf16, q8_0, q4_0, got "int8"/);
    expect(() => new DenseKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 32, maxTokens: 8, dtype: "q4_k" as CacheDType })).toThrow(
      /DenseKvCache: KV cache element type must be one of f32, f16, bf16, q8_0, q4_0, got "q4_k"/,
    );
  });

  it("refuses a head size the block types cannot serve, listing what can", () => {
    expect(cacheLayoutProblem("q8_0", 8, 64)).toBeUndefined();
    expect(cacheLayoutProblem("q4_0", 4, 8)).toBeUndefined(); // stories260K: a block spans 4 heads
    expect(cacheLayoutProblem("q4_0", 4, 16)).toBeUndefined(); // TinyStories-656K
    expect(() => new PagedKvCache({ layerCount: 1, keyValueHeadCount: 8, headDim: 80, blockCount: 4, dtype: "q8_0" })).toThrow(
      /PagedKvCache: a q8_0 KV cache stores blocks of 32 values .* the head size must be a multiple of 32, or divide 32 .* this model has 8 kv heads of 80\. Element types that serve it: f32, f16, bf16$/,
    );
    expect(() => new DenseKvCache({ layerCount: 1, keyValueHeadCount: 3, headDim: 8, maxTokens: 8, dtype: "q4_0" })).toThrow(/3 kv heads of 8/);
    expect(() => new CacheError("x")).not.toThrow();
  });

  it("bytes per token and the longest context within a budget (Llama 3.2 1B: 16 layers × 8 kv heads × 64)", () => {
    const layout = { layerCount: 16, keyValueHeadCount: 8, headDim: 64 };
    const f32 = kvCacheBytesPerToken(layout);
    expect(f32).toBe(64 * 1024); // 64 KiB a token: 512 MiB at 8192 tokens
    const ratio = (dtype: CacheDType) => kvCacheBytesPerToken({ ...layout, dtype }) / f32;
    expect(ratio("f16")).toBe(0.5);
    expect(ratio("bf16")).toBe(0.5);
    expect(ratio("q8_0")).toBeCloseTo(34 / 128, 12); // 0.2656 ≤ 0.27
    expect(ratio("q4_0")).toBeCloseTo(18 / 128, 12); // 0.1406 ≤ 0.15
    const budget = 2 * 1024 ** 3;
    expect(kvCacheTokensWithin(budget, layout)).toBe(32768);
    // q8_0 / q4_0: one sequence's key residual (16 layers × 64 positions × 512 f32 = 2 MiB) comes off the budget.
    expect(kvCacheKeyResidualBytes({ ...layout, dtype: "q8_0" })).toBe(2 * 1024 ** 2);
    expect(kvCacheKeyResidualBytes({ ...layout, dtype: "f16" })).toBe(0);
    expect(kvCacheTokensWithin(budget, { ...layout, dtype: "q8_0" })).toBe(Math.floor((budget - 2 * 1024 ** 2) / (17 * 1024))); // 123241
    expect(kvCacheTokensWithin(budget, { ...layout, dtype: "q4_0" })).toBe(Math.floor((budget - 2 * 1024 ** 2) / (9 * 1024))); // 232789
  });

  it("a paged cache's blocks within a byte budget, the key residuals of its sequences included", () => {
    const layout = { layerCount: 16, keyValueHeadCount: 8, headDim: 64 };
    const budget = 128 * 1024 ** 2;
    // f32: blocks of 16 positions × 64 KiB = 1 MiB, no residual: 128 blocks (the null block among them).
    const f32 = { ...layout, blockSize: 16, maxSequences: 8 };
    expect(pagedKvCacheBlocksWithin(budget, f32)).toBe(128);
    expect(pagedKvCacheBytes(128, f32)).toBe(budget);
    // q8_0: 8 sequences × 2 MiB of key residual come off first, then blocks of 32 × 17 KiB = 544 KiB.
    const q8 = { ...layout, dtype: "q8_0" as const, blockSize: 32, maxSequences: 8 };
    const blocks = pagedKvCacheBlocksWithin(budget, q8);
    expect(blocks).toBe(Math.floor((budget - 8 * 2 * 1024 ** 2) / (544 * 1024))); // 210 blocks = 6720 positions, 3.3× f32's 2048
    expect(pagedKvCacheBytes(blocks, q8)).toBeLessThanOrEqual(budget);
    expect(pagedKvCacheBytes(blocks + 1, q8)).toBeGreaterThan(budget);
    // What a cache of that many blocks allocates, plus one residual per sequence, is what the accounting says.
    const cache = new PagedKvCache({ ...q8, blockCount: 4 });
    expect(cache.byteLength + 8 * cache.usage().keyResidualBytesPerSequence).toBe(pagedKvCacheBytes(4, q8));
    expect(pagedKvCacheBlocksWithin(8 * 2 * 1024 ** 2 - 1, q8)).toBe(0);
  });
});
