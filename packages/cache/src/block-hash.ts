// Prefix-cache keys: the hash of one full block of token ids, chained with the hash of the block before it, so equal
// hashes mean equal whole prefixes (not just equal blocks) — the scheme vLLM's automatic prefix caching uses. SHA-256
// makes a collision (two different prefixes sharing cached keys/values) practically impossible.

import { createHash } from "node:crypto";

/** Hash of `tokens` (one full block) following the block whose hash is `parentHash` (undefined for the first block). */
export function hashTokenBlock(parentHash: string | undefined, tokens: ArrayLike<number>): string {
  const ids = Int32Array.from(tokens);
  return createHash("sha256")
    .update(parentHash ?? "root")
    .update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength))
    .digest("base64");
}

/** The chained hashes of every full block of `tokens` (a trailing partial block has none). */
export function hashTokenBlocks(tokens: ArrayLike<number>, blockSize: number, count = Math.floor(tokens.length / blockSize)): string[] {
  const hashes: string[] = [];
  let parent: string | undefined;
  for (let block = 0; block < count; block++) {
    const slice = Array.prototype.slice.call(tokens, block * blockSize, (block + 1) * blockSize) as number[];
    parent = hashTokenBlock(parent, slice);
    hashes.push(parent);
  }
  return hashes;
}
