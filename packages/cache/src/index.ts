// The cache package: key/value storage for attention — a dense cache for one sequence, and a paged cache (block pool,
// block tables, copy-on-write sharing, prefix caching) for many sequences served together — in any cache element type
// (f32, f16, bf16, q8_0, q4_0), with the memory accounting of each.
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
  kvCacheTokensWithin,
  parseCacheDType,
  requireCacheLayout,
  type KvCacheLayout,
} from "./cache-layout.ts";
