// Prefix-cache keys: the hash of one full block of token ids, chained with the hash of the block before it, so equal
// hashes mean equal whole prefixes (not just equal blocks) — the scheme vLLM's automatic prefix caching uses. SHA-256
// makes a collision (two different prefixes sharing cached keys/values) practically impossible. Positions whose
// keys/values depend on more than their token id (image embeddings at <image> placeholders) add a content key to the
// hash of every block they fall into, as vLLM's multimodal "extra keys" do: equal placeholders of different images
// never share blocks.

import { createHash } from "node:crypto";

/** Positions [start, end) of a sequence whose contents are identified by `key` besides their token ids. */
export interface ContentKey {
  /** First position the key covers. */
  start: number;
  /** One past the last position it covers. */
  end: number;
  /** E.g. the SHA-256 of an image's bytes and its processing settings. */
  key: string;
}

/**
 * Hash of `tokens` (one full block) following the block whose hash is `parentHash` (undefined for the first block);
 * `extra` (from blockContentKeys) is mixed in when the block holds positions with content keys.
 */
export function hashTokenBlock(parentHash: string | undefined, tokens: ArrayLike<number>, extra?: string): string {
  const ids = Int32Array.from(tokens);
  const hash = createHash("sha256")
    .update(parentHash ?? "root")
    .update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  if (extra) hash.update("\u0000").update(extra);
  return hash.digest("base64");
}

/** What the content keys say about the block of positions [start, end): each overlapping key with its offset, or
 *  undefined when none overlaps. */
export function blockContentKeys(keys: readonly ContentKey[], start: number, end: number): string | undefined {
  let extra: string | undefined;
  for (const key of keys) {
    if (key.end <= start || key.start >= end) continue;
    const part = `${key.key}@${key.start - start}:${key.end - start}`;
    extra = extra === undefined ? part : `${extra}|${part}`;
  }
  return extra;
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
