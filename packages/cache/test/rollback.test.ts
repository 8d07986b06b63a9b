// Rolling a sequence back (rejected speculative tokens): the dense cache forgets positions in O(1) and later writes
// land where the forgotten ones were; the paged cache gives whole blocks back to the pool, keeps the block it now ends
// in, and never writes into a block another sequence shares (copy-on-write) or into contents the prefix cache
// promises under a hash (the block leaves the index first). A randomized run checks the pool's invariants and every
// stored row against a plain array after each step.

import { describe, expect, it } from "vitest";

import { CacheError, DenseKvCache, PagedKvCache, hashTokenBlocks, type PagedSequence } from "../src/index.ts";

const width = 2 * 3; // kvHeads · headDim
/** Rows [tokens, width] whose values encode (tag, position, column), so a misplaced row is visible. */
function rowsFor(tag: number, start: number, tokens: number): Float32Array {
  return Float32Array.from({ length: tokens * width }, (_, index) => tag * 10000 + (start + Math.floor(index / width)) * 10 + (index % width));
}

/** The key row of the last position of `prefix`: like real keys and values, a function of the token prefix only, so
 *  a prefix-cache hit holds the same rows as recomputing, and a stale block shows. */
function keyRow(prefix: readonly number[]): number[] {
  let hash = 17;
  for (const token of prefix) hash = (Math.imul(hash, 31) + token + 1) >>> 0;
  return Array.from({ length: width }, (_, column) => (hash % 100000) * 10 + column);
}

function expectedKeys(tokens: readonly number[]): number[][] {
  return tokens.map((_, position) => keyRow(tokens.slice(0, position + 1)));
}

/** Reserve, write every layer, append: one forward pass's cache traffic for `tokens` at the sequence's end. */
function appendTokens(cache: PagedKvCache, sequence: PagedSequence, tokens: number[]): void {
  const start = sequence.length;
  if (!cache.reserve(sequence, tokens.length)) throw new Error("out of blocks");
  const all = [...sequence.tokens, ...tokens];
  const keys = Float32Array.from(tokens.flatMap((_, index) => keyRow(all.slice(0, start + index + 1))));
  for (let layer = 0; layer < cache.layerCount; layer++) cache.write(layer, sequence, start, keys, keys.map((value) => -value));
  cache.append(sequence, tokens);
}

function storedKeys(cache: PagedKvCache, sequence: PagedSequence, layer = 0): number[][] {
  const data = cache.layer(layer).keys.data as Float32Array;
  return Array.from({ length: sequence.length }, (_, position) => {
    const start = (sequence.block(Math.floor(position / cache.blockSize)) * cache.blockSize + (position % cache.blockSize)) * width;
    return Array.from(data.subarray(start, start + width));
  });
}

describe("DenseKvCache.truncate", () => {
  it("forgets positions without moving memory, and the next write replaces them", () => {
    const cache = new DenseKvCache({ layerCount: 1, keyValueHeadCount: 2, headDim: 3, maxTokens: 64, initialTokens: 16 });
    cache.reserve(10);
    cache.write(0, 0, rowsFor(1, 0, 10), rowsFor(-1, 0, 10));
    cache.length = 10;
    const buffer = cache.layer(0).keys.data;
    cache.truncate(6);
    expect(cache.length).toBe(6);
    expect(cache.layer(0).keys.data).toBe(buffer); // no copy, no reallocation
    cache.reserve(8);
    cache.write(0, 6, rowsFor(2, 6, 2), rowsFor(-2, 6, 2));
    cache.length = 8;
    const keys = cache.layer(0).keys.data as Float32Array;
    expect(Array.from(keys.subarray(5 * width, 6 * width))).toEqual(Array.from(rowsFor(1, 5, 1)));
    expect(Array.from(keys.subarray(6 * width, 8 * width))).toEqual(Array.from(rowsFor(2, 6, 2)));
    expect(() => cache.truncate(9)).toThrow(/0..8, got 9/);
    cache.truncate(0);
    expect(cache.length).toBe(0);
  });
});

describe("PagedKvCache.truncate", () => {
  const options = { layerCount: 2, keyValueHeadCount: 2, headDim: 3, blockSize: 4, blockCount: 12 };

  it("gives whole blocks past the new length back to the pool and keeps the one it ends in", () => {
    const cache = new PagedKvCache(options);
    const sequence = cache.createSequence();
    appendTokens(cache, sequence, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // blocks: full, full, 2 of 4
    const [first, second] = sequence.blockTable;
    expect(cache.pool.usedBlocks).toBe(3);
    cache.truncate(sequence, 5);
    expect(sequence.length).toBe(5);
    expect(sequence.tokens).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(sequence.blockTable)).toEqual([first, second]);
    expect(sequence.blockHashes).toEqual(hashTokenBlocks([1, 2, 3, 4], 4));
    expect(cache.pool.usedBlocks).toBe(2);
    cache.pool.checkInvariants();
    // The second block was full and indexed; the sequence now writes into it: it leaves the index first.
    expect(cache.pool.hashOf(second)).toBeDefined();
    appendTokens(cache, sequence, [60, 70]);
    expect(sequence.blockTable[1]).toBe(second);
    expect(cache.pool.hashOf(second)).toBeUndefined();
    expect(cache.matchPrefix(cache.createSequence(), [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(4); // the old 5..8 block is gone
    expect(storedKeys(cache, sequence)).toEqual(expectedKeys([1, 2, 3, 4, 5, 60, 70]));
    cache.pool.checkInvariants();
  });

  it("copies a block another sequence shares instead of writing into it (fork, then roll back into it)", () => {
    const cache = new PagedKvCache(options);
    const parent = cache.createSequence();
    appendTokens(cache, parent, [1, 2, 3, 4, 5, 6, 7, 8]);
    const child = cache.fork(parent);
    const shared = parent.blockTable[1];
    cache.truncate(child, 6);
    expect(cache.pool.referenceCount(shared)).toBe(2);
    appendTokens(cache, child, [9, 9]);
    expect(child.blockTable[1]).not.toBe(shared);
    expect(cache.pool.referenceCount(shared)).toBe(1);
    expect(cache.pool.hashOf(shared)).toBeDefined(); // the index still points at intact contents
    expect(storedKeys(cache, parent)).toEqual(expectedKeys([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(storedKeys(cache, child)).toEqual(expectedKeys([1, 2, 3, 4, 5, 6, 9, 9]));
    cache.free(parent);
    cache.free(child);
    cache.pool.checkInvariants();
    expect(cache.pool.usedBlocks).toBe(0);
  });

  it("releases prefix-cache hits by reference count: rolled back below them, they stay cached for others", () => {
    const cache = new PagedKvCache(options);
    const first = cache.createSequence();
    appendTokens(cache, first, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const second = cache.createSequence();
    expect(cache.matchPrefix(second, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(8);
    const [a, b] = second.blockTable;
    cache.truncate(second, 2);
    expect(cache.pool.referenceCount(b)).toBe(1);
    expect(cache.pool.referenceCount(a)).toBe(2);
    cache.free(first);
    cache.truncate(second, 0);
    expect(second.blockCount).toBe(0);
    cache.pool.checkInvariants();
    expect(cache.usage()).toMatchObject({ usedBlocks: 0, evictableCachedBlocks: 2 });
    expect(cache.matchPrefix(cache.createSequence(), [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(8);
  });

  it("refuses a length outside 0..length and a sequence of another cache; write refuses an indexed block", () => {
    const cache = new PagedKvCache(options);
    const sequence = cache.createSequence();
    appendTokens(cache, sequence, [1, 2, 3, 4]);
    expect(() => cache.truncate(sequence, 5)).toThrow(CacheError);
    expect(() => cache.truncate(sequence, -1)).toThrow(/sequence 0: length must be an integer in 0..4, got -1/);
    expect(() => cache.truncate(new PagedKvCache(options).createSequence(), 0)).toThrow(/belongs to another cache/);
    cache.truncate(sequence, 3);
    // Without reserve (which takes the block out of the index), a write would corrupt the cached prefix.
    expect(() => cache.write(0, sequence, 3, rowsFor(2, 3, 1), rowsFor(2, 3, 1))).toThrow(/which the prefix cache indexes/);
  });

  it("keeps every stored row and the pool's invariants through random appends, forks and rollbacks", () => {
    let seed = 12345;
    const random = (limit: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % limit;
    };
    const cache = new PagedKvCache({ ...options, blockSize: 3, blockCount: 40 });
    const sequences: PagedSequence[] = [cache.createSequence()];
    const rolledBack: number[][] = [];
    for (let step = 0; step < 400; step++) {
      const sequence = sequences[random(sequences.length)];
      const action = random(10);
      if (action < 5) {
        const count = 1 + random(6);
        if (cache.blocksNeeded(sequence, count) > cache.pool.freeBlocks) continue;
        // Token ids from a small alphabet, so the prefix cache sees equal prefixes.
        appendTokens(cache, sequence, Array.from({ length: count }, () => random(2)));
      } else if (action < 8) {
        rolledBack.push(sequence.tokens.slice());
        cache.truncate(sequence, random(sequence.length + 1));
      } else if (action === 8 && sequences.length < 6) {
        sequences.push(cache.fork(sequence));
      } else {
        const fresh = cache.createSequence();
        // The prefix of a live sequence, or one that was rolled back since: its blocks must not come back changed.
        cache.matchPrefix(fresh, random(2) === 0 && rolledBack.length > 0 ? rolledBack[random(rolledBack.length)] : sequence.tokens.slice());
        sequences.push(fresh);
        if (sequences.length > 6) cache.free(sequences.shift()!);
      }
      cache.pool.checkInvariants();
      for (const each of sequences) expect(storedKeys(cache, each)).toEqual(expectedKeys(each.tokens));
    }
    for (const sequence of sequences) cache.free(sequence);
    cache.pool.checkInvariants();
    expect(cache.pool.usedBlocks).toBe(0);
  });
});
