// The dense cache: growth keeps what was written, limits give errors that name the numbers.
import { describe, expect, it } from "vitest";

import { CacheError, DenseKvCache } from "../src/index.ts";

describe("DenseKvCache", () => {
  const options = { layerCount: 2, keyValueHeadCount: 2, headDim: 4, maxTokens: 40, initialTokens: 4 };

  it("stores rows where the attention kernel reads them and keeps them when it grows", () => {
    const cache = new DenseKvCache(options);
    expect(cache.capacity).toBe(4);
    const width = 8;
    const keys = Float32Array.from({ length: 3 * width }, (_, i) => i);
    const values = Float32Array.from({ length: 3 * width }, (_, i) => -i);
    cache.reserve(3);
    cache.write(1, 0, keys, values);
    cache.length = 3;
    cache.reserve(9);
    expect(cache.capacity).toBe(16);
    const layer = cache.layer(1);
    expect(layer.keys.shape).toEqual([16, 2, 4]);
    expect(Array.from((layer.keys.data as Float32Array).subarray(0, 3 * width))).toEqual(Array.from(keys));
    expect(Array.from((layer.values.data as Float32Array).subarray(0, 3 * width))).toEqual(Array.from(values));
    expect(cache.bytesPerToken).toBe(2 * 2 * 8 * 4);
  });

  it("caps growth at maxTokens and refuses more", () => {
    const cache = new DenseKvCache(options);
    cache.reserve(33);
    expect(cache.capacity).toBe(40);
    expect(() => cache.reserve(41)).toThrow(CacheError);
    expect(() => cache.reserve(41)).toThrow(/41 tokens requested, but the cache holds at most 40/);
  });

  it("rejects writes past what is cached and bad truncation", () => {
    const cache = new DenseKvCache(options);
    expect(() => cache.write(0, 2, new Float32Array(8), new Float32Array(8))).toThrow(/positions 2..2 with 0 cached/);
    expect(() => cache.write(0, 0, new Float32Array(7), new Float32Array(7))).toThrow(/must both be \[tokens, 8\]/);
    expect(() => cache.truncate(1)).toThrow(/0..0/);
    expect(() => cache.layer(5)).toThrow(/layer 5 out of range 0..1/);
  });
});
