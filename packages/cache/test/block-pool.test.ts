// The block pool: reference counts, the null block, double frees named by block, LRU eviction of cached blocks, and a
// property test — thousands of random allocate/retain/release/register/fork/free steps (on the pool and through
// PagedKvCache sequences) keep every invariant: counts ≥ 0, free + used = total, no block both free and used, and
// the pool's counts agree with an independent model of who holds what.

import { describe, expect, it } from "vitest";

import { BlockPool, CacheError, PagedKvCache, type PagedSequence } from "../src/index.ts";

/** mulberry32: a small seeded generator, so a failing sequence of operations can be replayed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

describe("BlockPool", () => {
  it("never hands out the null block, counts references, and names the block on a double free", () => {
    const pool = new BlockPool(4);
    expect(pool.totalBlocks).toBe(3);
    const blocks = pool.tryAllocate(3)!;
    expect(blocks.sort()).toEqual([1, 2, 3]);
    expect(pool.tryAllocate(1)).toBeNull();
    expect(() => pool.allocate()).toThrow(/out of blocks: all 3 blocks are in use/);
    pool.retain(2);
    expect(pool.referenceCount(2)).toBe(2);
    pool.release(2);
    pool.release(2);
    expect(() => pool.release(2)).toThrow(CacheError);
    expect(() => pool.release(2)).toThrow(/double free of block 2 \(its reference count is already 0\)/);
    expect(() => pool.retain(0)).toThrow(/null block 0 is reserved/);
    expect(() => pool.release(7)).toThrow(/block 7 is outside 1..3/);
    expect(() => pool.retain(2)).toThrow(/block 2 is free and holds no cached prefix/);
    expect(() => new BlockPool(1)).toThrow(/blockCount must be an integer ≥ 2/);
    pool.checkInvariants();
  });

  it("keeps freed cached blocks for prefix hits and evicts them least recently freed first, after uncached ones", () => {
    const pool = new BlockPool(5);
    const [a, b, c, d] = pool.tryAllocate(4)!;
    expect(pool.register(a, "A")).toBe(true);
    expect(pool.register(b, "B")).toBe(true);
    expect(pool.register(c, "A")).toBe(false); // same contents already cached in a
    pool.release(b); // cached, freed first → evicted first among cached
    pool.release(a); // cached
    pool.release(c); // uncached → reused before any cached block
    expect(pool.usage()).toMatchObject({ totalBlocks: 4, freeBlocks: 3, usedBlocks: 1, cachedBlocks: 2, evictableCachedBlocks: 2 });
    expect(pool.lookup("A")).toBe(a);
    pool.retain(a); // a prefix hit takes it back out of the free queue
    expect(pool.usage()).toMatchObject({ freeBlocks: 2, evictableCachedBlocks: 1 });
    expect(pool.tryAllocate(1)).toEqual([c]);
    expect(pool.tryAllocate(1)).toEqual([b]); // evicts B
    expect(pool.lookup("B")).toBeUndefined();
    expect(pool.lookup("A")).toBe(a);
    pool.checkInvariants();
    pool.release(d);
    pool.release(a);
    pool.clearPrefixCache();
    expect(pool.usage()).toMatchObject({ cachedBlocks: 0, evictableCachedBlocks: 0 });
    pool.checkInvariants();
  });
});

describe("block pool invariants under random operations", () => {
  it("direct pool operations: 20 seeds × 400 steps", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = createRandom(seed);
      const pool = new BlockPool(2 + Math.floor(random() * 30));
      const held = new Map<number, number>(); // block → references we hold (the model the pool must agree with)
      for (let step = 0; step < 400; step++) {
        const choice = random();
        const heldBlocks = [...held.keys()];
        if (choice < 0.35) {
          const count = Math.floor(random() * 4);
          const blocks = pool.tryAllocate(count);
          if (blocks === null) expect(count).toBeGreaterThan(pool.freeBlocks);
          else for (const block of blocks) {
            expect(held.has(block)).toBe(false);
            held.set(block, 1);
          }
        } else if (choice < 0.5 && heldBlocks.length > 0) {
          const block = heldBlocks[Math.floor(random() * heldBlocks.length)];
          pool.retain(block);
          held.set(block, held.get(block)! + 1);
        } else if (choice < 0.85 && heldBlocks.length > 0) {
          const block = heldBlocks[Math.floor(random() * heldBlocks.length)];
          pool.release(block);
          const left = held.get(block)! - 1;
          if (left === 0) held.delete(block);
          else held.set(block, left);
        } else if (choice < 0.95 && heldBlocks.length > 0) {
          pool.register(heldBlocks[Math.floor(random() * heldBlocks.length)], `h${Math.floor(random() * 12)}`);
        } else {
          // A prefix hit on a random hash, cached or not.
          const block = pool.lookup(`h${Math.floor(random() * 12)}`);
          if (block !== undefined) {
            pool.retain(block);
            held.set(block, (held.get(block) ?? 0) + 1);
          }
        }
        pool.checkInvariants();
        const usage = pool.usage();
        expect(usage.freeBlocks + usage.usedBlocks).toBe(usage.totalBlocks);
        expect(usage.usedBlocks).toBe(held.size);
        for (const [block, count] of held) expect(pool.referenceCount(block)).toBe(count);
      }
      for (const [block, count] of held) for (let index = 0; index < count; index++) pool.release(block);
      pool.checkInvariants();
      expect(pool.usedBlocks).toBe(0);
    }
  });

  it("sequences through PagedKvCache (reserve, append, fork, prefix match, free): 12 seeds × 300 steps", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = createRandom(1000 + seed);
      const blockSize = 1 + Math.floor(random() * 4);
      const cache = new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 2, blockSize, blockCount: 3 + Math.floor(random() * 24) });
      const live: PagedSequence[] = [];
      const vocabulary = 3; // few distinct tokens: prefixes repeat, so prefix hits and shared blocks happen
      for (let step = 0; step < 300; step++) {
        const choice = random();
        if (choice < 0.2 || live.length === 0) {
          const sequence = cache.createSequence();
          const prompt = Array.from({ length: 1 + Math.floor(random() * 10) }, () => Math.floor(random() * vocabulary));
          const reused = cache.matchPrefix(sequence, prompt);
          expect(reused % blockSize).toBe(0);
          expect(reused).toBeLessThan(prompt.length);
          expect(sequence.tokens).toEqual(prompt.slice(0, reused));
          const rest = prompt.slice(reused);
          if (cache.reserve(sequence, rest.length)) {
            const rows = new Float32Array(rest.length * 2);
            cache.write(0, sequence, sequence.length, rows, rows);
            cache.append(sequence, rest);
            live.push(sequence);
          } else cache.free(sequence);
        } else if (choice < 0.55) {
          const sequence = live[Math.floor(random() * live.length)];
          const count = 1 + Math.floor(random() * 3);
          const before = cache.pool.freeBlocks;
          const needed = cache.blocksNeeded(sequence, count);
          if (cache.reserve(sequence, count)) {
            expect(before - cache.pool.freeBlocks).toBe(needed);
            const rows = new Float32Array(count * 2);
            cache.write(0, sequence, sequence.length, rows, rows);
            cache.append(sequence, Array.from({ length: count }, () => Math.floor(random() * vocabulary)));
          } else {
            expect(cache.pool.freeBlocks).toBe(before);
            expect(needed).toBeGreaterThan(before);
          }
        } else if (choice < 0.7) {
          live.push(cache.fork(live[Math.floor(random() * live.length)]));
        } else {
          const [sequence] = live.splice(Math.floor(random() * live.length), 1);
          cache.free(sequence);
          expect(sequence.blockCount).toBe(0);
        }
        cache.pool.checkInvariants();
        // Every block a live sequence's table names is in use, with at least as many references as tables naming it.
        const references = new Map<number, number>();
        for (const sequence of live) for (const block of sequence.blockTable) references.set(block, (references.get(block) ?? 0) + 1);
        for (const [block, count] of references) expect(cache.pool.referenceCount(block)).toBe(count);
        expect(cache.pool.usedBlocks).toBe(references.size);
      }
      for (const sequence of live) cache.free(sequence);
      cache.pool.checkInvariants();
      expect(cache.pool.usedBlocks).toBe(0);
    }
  });
});
