/**
 * KV caches for attention: the keys and values of every position already processed, so a decode step runs one
 * token through the network instead of the whole sequence. Both kinds store keys and values in any cache element
 * type (f32, f16, bf16, q8_0, q4_0), encoded once when a position is written, with the memory accounting of each
 * ({@link kvCacheBytesPerToken}, {@link kvCacheTokensWithin}; a paged cache's blocks within a byte budget,
 * {@link pagedKvCacheBlocksWithin}). q8_0 / q4_0 caches keep keys per channel (one scale per channel per 32 positions,
 * the newest positions in an f32 residual until their group is full) and values per token.
 *
 * - {@link DenseKvCache}: one sequence, contiguous `[positions, kvHeads, headDim]` arrays per layer that grow by
 *   doubling up to the context; what `generate()` and the recipes' command lines use.
 * - {@link PagedKvCache}: many sequences served together, in fixed-size blocks from a shared {@link BlockPool} with
 *   reference counts, per-sequence block tables, copy-on-write forks and prefix caching (full blocks found by a chained
 *   hash of their tokens and kept in LRU order); what the scheduler and the server use.
 *
 * @module @infer-recipes/cache
 */
export { CacheError } from "./cache-error.ts";
export { DenseKvCache, type DenseKvCacheOptions, type LayerKeyValues } from "./dense-kv-cache.ts";
export { BlockPool, NULL_BLOCK, type BlockPoolUsage } from "./block-pool.ts";
export { blockContentKeys, hashTokenBlock, hashTokenBlocks, type ContentKey } from "./block-hash.ts";
export { PagedSequence } from "./paged-sequence.ts";
export { PagedKvCache, type PagedKvCacheOptions, type PagedKvCacheUsage, type PagedLayerKeyValues } from "./paged-kv-cache.ts";
export {
  cacheLayoutFits,
  cacheLayoutProblem,
  cacheRowStorageLength,
  kvCacheBytesPerToken,
  kvCacheBytesPerTokenPerLayer,
  kvCacheKeyResidualBytes,
  kvCacheTokensWithin,
  pagedKvCacheBlocksWithin,
  pagedKvCacheBytes,
  parseCacheDType,
  requireCacheLayout,
  type KvCacheLayout,
  type PagedKvCacheBudgetLayout,
} from "./cache-layout.ts";
