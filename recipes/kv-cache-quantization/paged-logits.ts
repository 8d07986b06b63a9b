// Logits through the paged cache (the serving path: forwardBatch over a block table) with the same chunking as
// cache-quality.ts's dense run, so the two can be compared position by position for one element type.

import { PagedKvCache } from "@infer-recipes/cache";
import type { CacheDType } from "@infer-recipes/kernel";
import type { LlamaModel } from "@infer-recipes/models";

const PREFILL_CHUNK = 64;

/** Logits [tokens.length, vocab]: the first half in prefill chunks of 64, then one token per step. */
export function pagedLogits(model: LlamaModel, tokens: readonly number[], dtype: CacheDType): Float32Array {
  const vocab = model.config.vocabSize;
  // Blocks as small as the type allows (16; 32 for q8_0 / q4_0, whose blocks hold whole per-channel key groups), so a
  // 512-token text spans many blocks (and a block table out of order in the pool).
  const blockSize = PagedKvCache.defaultBlockSize(dtype);
  const cache = model.createPagedCache({ blockCount: Math.ceil((tokens.length + 1) / blockSize) + 4, blockSize, dtype });
  // A short-lived sequence first, so the measured one's blocks are not the pool's first ones in order.
  const other = cache.createSequence();
  cache.reserve(other, 3 * blockSize);
  const sequence = cache.createSequence();
  cache.free(other);
  const out = new Float32Array(tokens.length * vocab);
  const prefill = Math.floor(tokens.length / 2);
  let position = 0;
  while (position < tokens.length) {
    const end = position < prefill ? Math.min(prefill, position + PREFILL_CHUNK) : position + 1;
    const chunk = Int32Array.from(tokens.slice(position, end));
    if (!cache.reserve(sequence, chunk.length)) throw new Error(`pagedLogits: the paged cache ran out of blocks at position ${position}`);
    const [logits] = model.forwardBatch([{ tokens: chunk, sequence, allLogits: true }], cache);
    out.set(logits!, position * vocab);
    position = end;
  }
  cache.free(sequence);
  return out;
}
