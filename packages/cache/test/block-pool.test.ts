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

describe("BlockPool arguments and index operations", () => {
  it("names the operation and the block in every refusal", () => {
    const pool = new BlockPool(4);
    expect(() => pool.referenceCount(0)).toThrow(/^BlockPool\.referenceCount: the null block 0 is reserved$/);
    expect(() => pool.retain(4)).toThrow(/^BlockPool\.retain: block 4 is outside 1\.\.3$/);
    expect(() => pool.release(-2)).toThrow(/^BlockPool\.release: block -2 is outside 1\.\.3$/);
    expect(() => pool.hashOf(1.5)).toThrow(/^BlockPool\.hashOf: block 1\.5 is outside 1\.\.3$/);
    expect(() => pool.register(0, "A")).toThrow(/^BlockPool\.register: the null block 0 is reserved$/);
    expect(() => pool.unregister(9)).toThrow(/^BlockPool\.unregister: block 9 is outside 1\.\.3$/);
    expect(pool.referenceCount(3)).toBe(0); // the last block is a block
    for (const bad of [-1, 1.5, Number.NaN]) expect(() => pool.tryAllocate(bad)).toThrow(new RegExp(`^BlockPool\\.allocate: count must be an integer ≥ 0, got ${bad}$`));
    expect(pool.tryAllocate(0)).toEqual([]);
    expect(pool.allocate()).toBe(1);
    expect(() => pool.register(2, "A")).toThrow(/^BlockPool\.register: block 2 is free; only blocks in use can be cached$/);
    expect(() => pool.unregister(2)).toThrow(/^BlockPool\.unregister: block 2 is free; only blocks in use can be taken out of the index$/);
    pool.checkInvariants();
  });

  it("unregister takes an indexed block out of the index (true) and leaves others alone (false)", () => {
    const pool = new BlockPool(4);
    const [a, b] = pool.tryAllocate(2)!;
    expect(pool.register(a, "A")).toBe(true);
    expect(pool.register(a, "A2")).toBe(false); // already indexed under A
    expect(pool.unregister(b)).toBe(false);
    expect(pool.hashOf(b)).toBeUndefined();
    expect(pool.unregister(a)).toBe(true);
    expect(pool.lookup("A")).toBeUndefined();
    expect(pool.hashOf(a)).toBeUndefined();
    expect(pool.register(b, "A")).toBe(true); // the hash is free to use again
    pool.release(a); // uncached now: to the front of the free queue
    expect(pool.usage()).toMatchObject({ freeBlocks: 2, cachedBlocks: 1, evictableCachedBlocks: 0 });
    expect(pool.tryAllocate(1)).toEqual([a]);
    pool.checkInvariants();
  });

  it("clearPrefixCache drops cached blocks in use and free alike, and keeps the queue consistent", () => {
    const pool = new BlockPool(5);
    const [a, b, c] = pool.tryAllocate(3)!;
    pool.register(a, "A");
    pool.register(b, "B");
    pool.release(b); // free and cached; a stays in use and cached
    pool.clearPrefixCache();
    pool.checkInvariants();
    expect(pool.usage()).toEqual({ totalBlocks: 4, freeBlocks: 2, usedBlocks: 2, cachedBlocks: 0, evictableCachedBlocks: 0 });
    expect(pool.referenceCount(a)).toBe(1);
    expect(pool.hashOf(a)).toBeUndefined();
    expect(pool.tryAllocate(2)).toEqual([b, 4]); // b moved to the front as an uncached block
    pool.release(c);
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

// checkInvariants is what the property tests above rely on to notice a corrupted pool: each invariant, broken on
// purpose in an otherwise valid pool (through the private fields, as a bug in the pool would), must be reported by
// name — a checker that passes everything would make those tests pass vacuously.
describe("BlockPool.checkInvariants reports each broken invariant", () => {
  interface PoolInternals {
    referenceCounts: Int32Array;
    previousFree: Int32Array;
    nextFree: Int32Array;
    inFreeQueue: Uint8Array;
    hashes: Array<string | undefined>;
    index: Map<string, number>;
    freeHead: number;
    freeTail: number;
    freeCount: number;
    evictableCount: number;
  }

  /** A valid pool of 6 blocks: 1 and 2 in use (2 cached as "B"), 3 freed while cached as "C", 4 and 5 never used;
   *  the free queue is 4, 5, 3. */
  function pool(): { pool: BlockPool; internals: PoolInternals } {
    const pool = new BlockPool(6);
    expect(pool.tryAllocate(3)).toEqual([1, 2, 3]);
    pool.register(2, "B");
    pool.register(3, "C");
    pool.release(3);
    pool.checkInvariants();
    return { pool, internals: pool as unknown as PoolInternals };
  }

  const cases: Array<[string, (internals: PoolInternals) => void, RegExp]> = [
    ["the null block referenced", (p) => void (p.referenceCounts[0] = 1), /the null block 0 is referenced or free/],
    ["the null block free", (p) => void (p.inFreeQueue[0] = 1), /the null block 0 is referenced or free/],
    ["a negative count", (p) => void (p.referenceCounts[1] = -1), /block 1 has reference count -1$/],
    ["a used block in the free queue", (p) => void (p.inFreeQueue[1] = 1), /block 1 has reference count 1 but is in the free queue/],
    ["a free block out of the free queue", (p) => void (p.inFreeQueue[4] = 0), /block 4 has reference count 0 but is not in the free queue/],
    ["a hash the index does not map", (p) => void (p.hashes[1] = "X"), /block 1 has hash X that the index does not map to it/],
    ["a wrong free count", (p) => void p.freeCount++, /3 blocks have reference count 0 but the free count is 4/],
    ["a wrong evictable count", (p) => void p.evictableCount--, /1 free cached blocks but the evictable count is 0/],
    ["a backward link", (p) => void (p.previousFree[5] = 3), /free-queue link of block 5 points back to 3, expected 4/],
    ["a wrong tail", (p) => void (p.freeTail = 5), /the free queue ends at 3, but its tail is 5/],
    ["a short queue", (p) => {
      p.nextFree[5] = -1; // the queue now ends at 5, and the tail says so, but three blocks are counted free
      p.freeTail = 5;
    }, /the free queue holds 2 blocks, but the free count is 3/],
    // A cycle in the free queue always breaks a back link first (the first block seen twice has two predecessors).
    ["a cycle", (p) => {
      p.nextFree[3] = 4; // 4 → 5 → 3 → 4 …
      p.previousFree[4] = 3;
    }, /free-queue link of block 4 points back to 3, expected -1/],
    ["an index entry for another block", (p) => void p.index.set("B", 1), /block 2 has hash B that the index does not map to it/],
    ["an index entry the block does not hold", (p) => void p.index.set("Z", 1), /the index maps Z to block 1, which holds undefined/],
  ];
  for (const [name, corrupt, message] of cases) {
    it(name, () => {
      const { pool: broken, internals } = pool();
      corrupt(internals);
      expect(() => broken.checkInvariants()).toThrow(CacheError);
      expect(() => broken.checkInvariants()).toThrow(message);
      expect(() => broken.checkInvariants()).toThrow(/^BlockPool invariant broken: /);
    });
  }
});
