// The prefix-cache keys in detail: which content keys (image placeholders) a block's hash mixes in — exactly those
// overlapping the block, with offsets relative to it — and that every ingredient of a hash (parent, token ids, content
// key) changes it. Found by mutation testing (`pnpm mutate cache`).
import { describe, expect, it } from "vitest";

import { blockContentKeys, hashTokenBlock, hashTokenBlocks } from "../src/index.ts";

describe("blockContentKeys", () => {
  const image = { start: 4, end: 8, key: "img" };

  it("takes a key only when it overlaps the block [start, end)", () => {
    expect(blockContentKeys([image], 0, 4)).toBeUndefined(); // the key starts where the block ends
    expect(blockContentKeys([image], 8, 12)).toBeUndefined(); // key ends where the block starts
    expect(blockContentKeys([image], 4, 8)).toBe("img@0:4");
    expect(blockContentKeys([image], 0, 5)).toBe("img@4:8"); // one position of overlap at the end
    expect(blockContentKeys([image], 7, 11)).toBe("img@-3:1"); // one position of overlap at the start
    expect(blockContentKeys([], 0, 4)).toBeUndefined();
  });

  it("lists every overlapping key in order, with offsets relative to the block", () => {
    const keys = [{ start: 1, end: 3, key: "a" }, { start: 20, end: 30, key: "far" }, { start: 3, end: 6, key: "b" }];
    expect(blockContentKeys(keys, 0, 4)).toBe("a@1:3|b@3:6");
    expect(blockContentKeys(keys, 4, 8)).toBe("b@-1:2");
  });
});

describe("hashTokenBlock", () => {
  const tokens = [5, 6, 7, 8];

  it("changes with the parent, every token id, and the content key", () => {
    const base = hashTokenBlock(undefined, tokens);
    expect(hashTokenBlock(undefined, tokens)).toBe(base); // deterministic
    expect(hashTokenBlock("parent", tokens)).not.toBe(base);
    expect(hashTokenBlock(undefined, [5, 6, 7, 9])).not.toBe(base);
    expect(hashTokenBlock(undefined, [5, 6, 7])).not.toBe(base);
    expect(hashTokenBlock(undefined, tokens, "img@0:4")).not.toBe(base);
    expect(hashTokenBlock(undefined, tokens, "img@0:4")).not.toBe(hashTokenBlock(undefined, tokens, "img@0:3"));
    expect(hashTokenBlock(undefined, tokens, "other@0:4")).not.toBe(hashTokenBlock(undefined, tokens, "img@0:4"));
    // Token ids are hashed as 32-bit integers, not as text: 1,23 and 12,3 differ.
    expect(hashTokenBlock(undefined, [1, 23])).not.toBe(hashTokenBlock(undefined, [12, 3]));
    expect(hashTokenBlock(undefined, [70000])).not.toBe(hashTokenBlock(undefined, [70000 - 65536]));
  });

  it("hashTokenBlocks chains full blocks only, up to count", () => {
    const hashes = hashTokenBlocks([1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
    expect(hashes).toHaveLength(2);
    expect(hashes[0]).toBe(hashTokenBlock(undefined, [1, 2, 3, 4]));
    expect(hashes[1]).toBe(hashTokenBlock(hashes[0], [5, 6, 7, 8]));
    expect(hashTokenBlocks([1, 2, 3], 4)).toEqual([]);
    expect(hashTokenBlocks(Int32Array.of(1, 2, 3, 4), 4)).toEqual([hashes[0]]); // typed arrays too
    expect(hashTokenBlocks([1, 2, 3, 4, 5, 6, 7, 8], 4, 0)).toEqual([]);
  });
});
