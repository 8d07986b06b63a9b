// The image-embedding cache: hits by key, least recently used out past the byte budget, oversized entries not kept.

import { describe, expect, it } from "vitest";

import { ImageEmbeddingCache, imageEmbeddingKey } from "../src/index.ts";

const entry = (floats: number) => ({ embeddings: new Float32Array(floats), rows: 0, cols: 0, tileCount: 1 });

describe("ImageEmbeddingCache", () => {
  it("keys by content and settings, and drops the least recently used past its budget", () => {
    const cache = new ImageEmbeddingCache(3 * 400);
    const key = (name: string) => imageEmbeddingKey(name, "model", 2048);
    expect(key("a")).toBe("a|model|2048");
    cache.set(key("a"), entry(100));
    cache.set(key("b"), entry(100));
    cache.set(key("c"), entry(100));
    expect(cache.get(key("a"))).toBeDefined(); // a is now the most recent
    cache.set(key("d"), entry(100)); // evicts b
    expect(cache.get(key("b"))).toBeUndefined();
    expect([key("a"), key("c"), key("d")].every((name) => cache.get(name) !== undefined)).toBe(true);
    expect(cache.stats()).toEqual({ entries: 3, bytes: 1200, hits: 4, misses: 1 });
    cache.set(key("huge"), entry(1000));
    expect(cache.get(key("huge"))).toBeUndefined();
    expect(cache.stats().entries).toBe(3);
  });

  it("getOrCompute computes once per key", async () => {
    const cache = new ImageEmbeddingCache();
    let computed = 0;
    const compute = () => {
      computed++;
      return entry(8);
    };
    expect((await cache.getOrCompute("k", compute)).cached).toBe(false);
    expect((await cache.getOrCompute("k", compute)).cached).toBe(true);
    expect(computed).toBe(1);
  });
});
