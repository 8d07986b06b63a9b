// Prefix-cache keys are chained: a block's hash covers every token before it, so two prompts that share block 2 but
// not block 1 never share block 2 (its keys and values were computed after a different block 1). Checked on the hashes
// and on the cache, where both prompts' first blocks are cached, so the lookup gets past block 1 and block 2 decides.

import { describe, expect, it } from "vitest";

import { PagedKvCache, hashTokenBlock, hashTokenBlocks, type PagedSequence } from "../src/index.ts";

const blockSize = 4;
const width = 1 * 2; // kvHeads · headDim

/** Stores `tokens` in a new sequence with key rows `tag·1000 + position`, so each sequence's rows are recognizable. */
function store(cache: PagedKvCache, tokens: number[], tag: number): PagedSequence {
  const sequence = cache.createSequence();
  cache.reserve(sequence, tokens.length);
  const keys = Float32Array.from({ length: tokens.length * width }, (_, index) => tag * 1000 + Math.floor(index / width));
  cache.write(0, sequence, 0, keys, keys);
  cache.append(sequence, tokens);
  return sequence;
}

/** The first key value of each row of `block`. */
function keyRows(cache: PagedKvCache, block: number): number[] {
  const keys = cache.layer(0).keys.data as Float32Array;
  return Array.from({ length: blockSize }, (_, row) => keys[(block * blockSize + row) * width]);
}

describe("prefix-cache hash chaining", () => {
  const first = [1, 2, 3, 4];
  const other = [9, 8, 7, 6];
  const shared = [5, 6, 7, 8];

  it("a block's hash depends on every block before it", () => {
    const a = hashTokenBlocks([...first, ...shared], blockSize);
    const b = hashTokenBlocks([...other, ...shared], blockSize);
    expect(a[0]).not.toBe(b[0]);
    expect(a[1]).not.toBe(b[1]); // same tokens in block 2, different block 1
    expect(a[1]).toBe(hashTokenBlock(a[0], shared));
    expect(a[1]).not.toBe(hashTokenBlock(undefined, shared));
    expect(hashTokenBlocks([...first, ...shared, 0], blockSize)).toEqual(a); // the partial block has no hash
    expect(hashTokenBlocks([...first, ...shared], blockSize, 1)).toEqual([a[0]]);
  });

  it("two cached prompts that share block 2 but not block 1 do not share block 2", () => {
    const cache = new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 2, blockSize, blockCount: 12 });
    const a = store(cache, [...first, ...shared], 1);
    const b = store(cache, [...other, ...shared], 2);
    expect(b.blockTable[1]).not.toBe(a.blockTable[1]);
    expect(cache.usage().cachedBlocks).toBe(4); // both of each: B's block 2 is indexed under its own hash
    const aBlocks = Array.from(a.blockTable), bBlocks = Array.from(b.blockTable);
    cache.free(a);
    cache.free(b);

    // A prompt continuing B reuses B's two blocks, holding B's rows (tag 2), never A's block 2 (tag 1).
    const afterB = cache.createSequence();
    expect(cache.matchPrefix(afterB, [...other, ...shared, 3])).toBe(8);
    expect(Array.from(afterB.blockTable)).toEqual(bBlocks);
    expect(keyRows(cache, afterB.blockTable[1])).toEqual([2004, 2005, 2006, 2007]);
    // And one continuing A gets A's.
    const afterA = cache.createSequence();
    expect(cache.matchPrefix(afterA, [...first, ...shared, 3])).toBe(8);
    expect(Array.from(afterA.blockTable)).toEqual(aBlocks);
    expect(keyRows(cache, afterA.blockTable[1])).toEqual([1004, 1005, 1006, 1007]);
    // A third block 1 (cached nowhere) matches nothing, although block 2 is cached twice.
    expect(cache.matchPrefix(cache.createSequence(), [4, 4, 4, 4, ...shared, 3])).toBe(0);
    cache.free(afterA);
    cache.free(afterB);
    cache.pool.checkInvariants();
  });
});
