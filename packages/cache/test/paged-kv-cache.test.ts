// The paged cache: rows land in the block the table names, at the row the position gives; copy-on-write after fork;
// the prefix cache reuses whole blocks of an equal prefix (chained: an equal block after a different prefix is not a
// hit) and keeps them after their sequence ends until the pool needs them; memory accounting; errors with numbers.

import { describe, expect, it } from "vitest";

import { CacheError, PagedKvCache, hashTokenBlocks } from "../src/index.ts";

const width = 2 * 3; // kvHeads · headDim
function rows(tokens: number, first: number): Float32Array {
  return Float32Array.from({ length: tokens * width }, (_, index) => first + index);
}
function rowAt(cache: PagedKvCache, layer: number, block: number, row: number): number[] {
  const data = cache.layer(layer).keys.data as Float32Array;
  const start = (block * cache.blockSize + row) * width;
  return Array.from(data.subarray(start, start + width));
}

describe("PagedKvCache", () => {
  const options = { layerCount: 2, keyValueHeadCount: 2, headDim: 3, blockSize: 4, blockCount: 9 };

  it("writes each position into its block's row and accounts memory", () => {
    const cache = new PagedKvCache(options);
    expect(cache.layer(0).keys.shape).toEqual([9, 4, 2, 3]);
    expect(cache.bytesPerTokenPerLayer).toBe(2 * 6 * 4);
    expect(cache.bytesPerBlock).toBe(2 * 6 * 4 * 2 * 4);
    expect(cache.capacityTokens).toBe(32);
    const sequence = cache.createSequence();
    expect(cache.blocksNeeded(sequence, 6)).toBe(2);
    expect(cache.reserve(sequence, 6)).toBe(true);
    cache.write(1, sequence, 0, rows(6, 100), rows(6, -100));
    cache.append(sequence, [5, 6, 7, 8, 9, 10]);
    expect(sequence.length).toBe(6);
    expect(sequence.blockTable.length).toBe(2);
    const [first, second] = sequence.blockTable;
    expect(rowAt(cache, 1, first, 0)).toEqual(Array.from(rows(1, 100)));
    expect(rowAt(cache, 1, second, 1)).toEqual(Array.from(rows(1, 100 + 5 * width)));
    expect(cache.usage()).toMatchObject({ totalBlocks: 8, usedBlocks: 2, freeBlocks: 6, cachedBlocks: 1, usedBytes: 2 * cache.bytesPerBlock });
    expect(sequence.blockHashes).toEqual(hashTokenBlocks([5, 6, 7, 8, 9, 10], 4));
    cache.free(sequence);
    expect(cache.usage()).toMatchObject({ usedBlocks: 0, freeBlocks: 8, cachedBlocks: 1, evictableCachedBlocks: 1 });
  });

  it("copies a shared, partly filled block before writing into it (fork, copy-on-write)", () => {
    const cache = new PagedKvCache(options);
    const parent = cache.createSequence();
    cache.reserve(parent, 6);
    cache.write(0, parent, 0, rows(6, 0), rows(6, 0));
    cache.append(parent, [1, 2, 3, 4, 5, 6]);
    const child = cache.fork(parent);
    expect(Array.from(child.blockTable)).toEqual(Array.from(parent.blockTable));
    expect(cache.pool.referenceCount(parent.blockTable[1])).toBe(2);
    expect(cache.blocksNeeded(child, 1)).toBe(1); // the copy
    const shared = child.blockTable[1];
    cache.reserve(child, 1);
    expect(child.blockTable[0]).toBe(parent.blockTable[0]); // the full block stays shared
    expect(child.blockTable[1]).not.toBe(shared);
    expect(rowAt(cache, 0, child.blockTable[1], 1)).toEqual(rowAt(cache, 0, shared, 1)); // rows 0..1 copied
    cache.write(0, child, 6, rows(1, 999), rows(1, 999));
    cache.append(child, [42]);
    expect(rowAt(cache, 0, shared, 2)).toEqual([0, 0, 0, 0, 0, 0]); // the parent's block untouched
    expect(cache.pool.referenceCount(shared)).toBe(1);
    // The parent now owns its partial block alone and writes in place.
    cache.reserve(parent, 1);
    expect(parent.blockTable[1]).toBe(shared);
    cache.free(parent);
    cache.free(child);
    cache.pool.checkInvariants();
    expect(cache.pool.usedBlocks).toBe(0);
  });

  it("reuses the full blocks of a cached prefix, leaves one token to compute, and only for the same whole prefix", () => {
    const cache = new PagedKvCache(options);
    const first = cache.createSequence();
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    cache.reserve(first, prompt.length);
    cache.write(0, first, 0, rows(10, 0), rows(10, 0));
    cache.append(first, prompt);
    cache.free(first);
    const second = cache.createSequence();
    expect(cache.matchPrefix(second, [...prompt, 11, 12])).toBe(8);
    expect(second.tokens).toEqual(prompt.slice(0, 8));
    expect(cache.pool.usedBlocks).toBe(2);
    const exact = cache.createSequence();
    expect(cache.matchPrefix(exact, prompt.slice(0, 8))).toBe(4); // 8 tokens: the last must be computed
    const otherStart = cache.createSequence();
    expect(cache.matchPrefix(otherStart, [0, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(0); // block 2 equal, prefix not
    cache.free(second);
    cache.free(exact);
    cache.free(otherStart);
    const disabled = new PagedKvCache({ ...options, prefixCaching: false });
    const run = disabled.createSequence();
    disabled.reserve(run, 8);
    disabled.append(run, prompt.slice(0, 8));
    disabled.free(run);
    expect(disabled.matchPrefix(disabled.createSequence(), prompt)).toBe(0);
  });

  it("positions with content keys (image embeddings) share blocks only with the same content", () => {
    const cache = new PagedKvCache(options);
    const image = 9; // the placeholder token: same id for every image
    const prompt = [1, 2, image, image, image, image, 3, 4, 5, 6];
    const run = (key: string) => {
      const sequence = cache.createSequence({ contentKeys: [{ start: 2, end: 6, key }] });
      const reused = cache.matchPrefix(sequence, prompt);
      cache.reserve(sequence, prompt.length - reused);
      cache.append(sequence, prompt.slice(reused));
      return { sequence, reused };
    };
    const cat = run("cat.png");
    cache.free(cat.sequence);
    expect(cat.reused).toBe(0);
    expect(run("dog.png").reused).toBe(0); // same token ids, other image: no block in common
    expect(run("cat.png").reused).toBe(8); // same image: both full blocks
    const plain = cache.createSequence();
    expect(cache.matchPrefix(plain, prompt)).toBe(0); // no content keys: not the image's blocks either
    const prefixOnly = cache.createSequence({ contentKeys: [{ start: 6, end: 8, key: "x" }] });
    expect(cache.matchPrefix(prefixOnly, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(0);
  });

  it("evicts cached blocks only when the pool needs them", () => {
    const cache = new PagedKvCache({ ...options, blockCount: 4 });
    const sequence = cache.createSequence();
    cache.reserve(sequence, 8);
    cache.append(sequence, [1, 2, 3, 4, 5, 6, 7, 8]);
    cache.free(sequence);
    const other = cache.createSequence();
    cache.reserve(other, 4); // the one uncached block
    expect(cache.usage().cachedBlocks).toBe(2);
    cache.reserve(other, 5); // needs one more: evicts the tail block of the old prefix first
    expect(cache.usage().cachedBlocks).toBe(1);
    const again = cache.createSequence();
    expect(cache.matchPrefix(again, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(4);
  });

  it("refuses what it cannot do, naming the sequence and the numbers", () => {
    const cache = new PagedKvCache(options);
    const sequence = cache.createSequence();
    expect(cache.reserve(sequence, 33)).toBe(false);
    expect(cache.pool.usedBlocks).toBe(0);
    cache.reserve(sequence, 3);
    expect(() => cache.write(0, sequence, 2, rows(3, 0), rows(3, 0))).toThrow(/sequence 0: positions 2..4 with 0 stored and 4 reserved/);
    expect(() => cache.append(sequence, [1, 2, 3, 4, 5])).toThrow(/sequence 0: 5 positions but only 4 reserved/);
    expect(() => cache.write(0, sequence, 0, new Float32Array(5), new Float32Array(5))).toThrow(/must both be \[tokens, 6\]/);
    cache.append(sequence, [1, 2]);
    expect(() => cache.matchPrefix(sequence, [1, 2, 3])).toThrow(/sequence 0 already holds 2 positions in 1 blocks/);
    const child = cache.fork(sequence);
    expect(() => cache.write(0, child, 2, rows(1, 0), rows(1, 0))).toThrow(/positions 2..2 with 2 stored and 0 reserved|which 2 sequences share/);
    const stranger = new PagedKvCache(options).createSequence();
    expect(() => cache.reserve(stranger, 1)).toThrow(/sequence 0 belongs to another cache/);
    expect(() => cache.layer(2)).toThrow(/layer 2 out of range 0..1/);
    expect(() => new PagedKvCache({ ...options, blockSize: 0 })).toThrow(CacheError);
  });

  it("names the operation when a sequence of another cache is passed, and validates counts", () => {
    const cache = new PagedKvCache(options);
    const stranger = new PagedKvCache(options).createSequence();
    const operations: Array<[string, () => unknown]> = [
      ["blocksNeeded", () => cache.blocksNeeded(stranger, 1)],
      ["reserve", () => cache.reserve(stranger, 1)],
      ["append", () => cache.append(stranger, [1])],
      ["matchPrefix", () => cache.matchPrefix(stranger, [1, 2])],
      ["fork", () => cache.fork(stranger)],
      ["truncate", () => cache.truncate(stranger, 0)],
      ["free", () => cache.free(stranger)],
    ];
    for (const [name, call] of operations) expect(call, name).toThrow(new RegExp(`^PagedKvCache\\.${name}: sequence 0 belongs to another cache$`));
    const sequence = cache.createSequence();
    expect(cache.createSequence().id, "ids count up").toBe(sequence.id + 1);
    for (const bad of [-1, 1.5]) expect(() => cache.reserve(sequence, bad)).toThrow(new RegExp(`^PagedKvCache\\.reserve: sequence ${sequence.id}: newTokens must be an integer ≥ 0, got ${bad}$`));
    expect(cache.blocksNeeded(sequence, 0)).toBe(0);
    expect(cache.blocksNeeded(sequence, -3)).toBe(0);
    expect(cache.reserve(sequence, 0)).toBe(true);
    expect(sequence.blockCount).toBe(0);
    expect(cache.pool.usedBlocks).toBe(0);
    expect(cache.byteLength).toBe(9 * cache.bytesPerBlock);
    for (const key of ["layerCount", "keyValueHeadCount", "headDim", "blockSize"] as const) {
      expect(() => new PagedKvCache({ ...options, [key]: 0 }), key).toThrow(new RegExp(`^PagedKvCache: ${key} must be a positive integer, got 0`));
    }
  });

  it("matches no prefix for a prompt of one token (at least one token must be computed)", () => {
    const cache = new PagedKvCache({ ...options, blockSize: 1 });
    const first = cache.createSequence();
    cache.reserve(first, 2);
    cache.write(0, first, 0, rows(2, 0), rows(2, 0));
    cache.append(first, [5, 6]);
    const second = cache.createSequence();
    expect(cache.matchPrefix(second, [5])).toBe(0);
    const reserved = cache.createSequence();
    cache.reserve(reserved, 1); // blocks but no positions yet: too late to attach a prefix
    expect(() => cache.matchPrefix(reserved, [5, 6])).toThrow(new RegExp(`sequence ${reserved.id} already holds 0 positions in 1 blocks`));
    const error = (() => { try { cache.matchPrefix(reserved, [5, 6]); } catch (caught) { return caught as Error; } })();
    expect(error).toBeInstanceOf(CacheError);
    expect(error!.name).toBe("CacheError");
    expect(cache.matchPrefix(second, [5, 6])).toBe(1); // with two tokens, the first block of one is reused
  });
});
