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

  it("validates its sizes, naming the option and the value", () => {
    for (const key of ["layerCount", "keyValueHeadCount", "headDim", "maxTokens"] as const) {
      for (const bad of [0, -1, 1.5]) {
        expect(() => new DenseKvCache({ ...options, [key]: bad }), `${key} ${bad}`).toThrow(new RegExp(`^DenseKvCache: ${key} must be a positive integer, got ${bad}$`));
      }
      expect(() => new DenseKvCache({ ...options, [key]: 1 }), key).not.toThrow();
    }
  });

  it("reserves up to exactly maxTokens and keeps written rows through growth to the cap", () => {
    const cache = new DenseKvCache({ ...options, maxTokens: 5, initialTokens: 1 });
    cache.reserve(1);
    cache.write(0, 0, Float32Array.from({ length: 8 }, (_, i) => i + 1), new Float32Array(8).fill(7));
    cache.length = 1;
    cache.reserve(5); // exactly the maximum
    expect(cache.capacity).toBe(5);
    expect(Array.from((cache.layer(0).keys.data as Float32Array).subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from((cache.layer(0).values.data as Float32Array).subarray(0, 8))).toEqual(new Array(8).fill(7));
    expect(() => cache.reserve(6)).toThrow(/6 tokens requested, but the cache holds at most 5/);
  });

  it("truncates to any length in 0..length, refuses others; clear forgets every position", () => {
    const cache = new DenseKvCache(options);
    cache.reserve(3);
    cache.write(0, 0, new Float32Array(24), new Float32Array(24));
    cache.length = 3;
    for (const bad of [-1, 4, 1.5]) expect(() => cache.truncate(bad), `${bad}`).toThrow(new RegExp(`DenseKvCache.truncate: length must be an integer in 0..3, got ${bad}`));
    cache.truncate(3);
    expect(cache.length).toBe(3);
    cache.truncate(1);
    expect(cache.length).toBe(1);
    expect(() => cache.write(0, 2, new Float32Array(8), new Float32Array(8))).toThrow(/positions 2..2 with 1 cached and capacity 4/);
    expect(() => cache.write(0, -1, new Float32Array(8), new Float32Array(8))).toThrow(/positions -1..-1 with 1 cached/);
    expect(() => cache.write(0, 1, new Float32Array(32), new Float32Array(32))).toThrow(/positions 1..4 with 1 cached and capacity 4/);
    expect(() => cache.write(0, 0, new Float32Array(8), new Float32Array(16))).toThrow(/keys \(8\) and values \(16\) must both be \[tokens, 8\]/);
    cache.clear();
    expect(cache.length).toBe(0);
    expect(() => cache.write(0, 1, new Float32Array(8), new Float32Array(8))).toThrow(/positions 1..1 with 0 cached/);
  });
});
