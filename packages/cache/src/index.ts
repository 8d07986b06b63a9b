// The cache package: key/value storage for attention.
export { CacheError } from "./cache-error.ts";
export { DenseKvCache, type DenseKvCacheOptions, type LayerKeyValues } from "./dense-kv-cache.ts";
