// What a key/value cache stores per position, whatever holds it (dense or paged): the element type, which element
// types can serve which head sizes, and the memory accounting that follows — bytes per token per layer, and the
// longest context that fits a byte budget.
//
// Element types (CacheDType, from the kernel): f32 (4 bytes a value), f16 and bf16 (2), q8_0 (blocks of 32 values:
// an f16 scale and 32 int8, 34 bytes = 1.0625 a value) and q4_0 (an f16 scale and 32 nibbles, 18 bytes = 0.5625 a
// value). Values are grouped per token: the blocks run along a position's row of kvHeads · headDim values, so a head
// of 32 or more values is a whole number of blocks, and heads of 8 or 16 values share blocks with their neighbours
// (the head-size rule below). Keys of q8_0 / q4_0 caches are grouped per channel (KIVI; channel-keys.ts): one block per
// channel per 32 positions, the same bytes per token, plus an f32 residual of at least 64 positions per sequence and
// layer for the newest positions — the kv-cache-quantization recipe measured it far better than per-token keys
// (stories260K q8_0 KL 6.4e-5 vs 2.3e-3).

import { cacheDTypes, channelKeyResidualRows, dtypeInfo, isCacheDType, rowBytes, storageLength, storesKeysPerChannel, type CacheDType } from "@infer-recipes/kernel";

import { CacheError } from "./cache-error.ts";

/** The shape of what a cache holds per token: every layer's keys and values. */
export interface KvCacheLayout {
  /** Transformer layers. */
  layerCount: number;
  /** Key/value heads per layer. */
  keyValueHeadCount: number;
  /** Elements per head. */
  headDim: number;
  /** Element type of keys and values (default f32). */
  dtype?: CacheDType;
}

/** The element type named by `text`, or a CacheError listing the supported ones. */
export function parseCacheDType(text: string, what = "KV cache element type"): CacheDType {
  if (!isCacheDType(text)) throw new CacheError(`${what} must be one of ${cacheDTypes.join(", ")}, got "${text}"`);
  return text;
}

/** Whether `dtype` can store heads of this size: 16/32-bit floats always; block formats when each position's row is
 *  whole blocks and a head is either whole blocks or a part of one block. */
export function cacheLayoutFits(dtype: CacheDType, keyValueHeadCount: number, headDim: number): boolean {
  const { blockSize } = dtypeInfo[dtype];
  if (blockSize === 1 || headDim % blockSize === 0) return true;
  return blockSize % headDim === 0 && (keyValueHeadCount * headDim) % blockSize === 0;
}

/** Why `dtype` cannot store heads of this size (with the element types that can), or undefined when it can. */
export function cacheLayoutProblem(dtype: CacheDType, keyValueHeadCount: number, headDim: number): string | undefined {
  if (cacheLayoutFits(dtype, keyValueHeadCount, headDim)) return undefined;
  const { blockSize } = dtypeInfo[dtype];
  return (
    `a ${dtype} KV cache stores blocks of ${blockSize} values along each position's kvHeads × headDim row, so the head ` +
    `size must be a multiple of ${blockSize}, or divide ${blockSize} with kvHeads × headDim a multiple of ${blockSize}; ` +
    `this model has ${keyValueHeadCount} kv heads of ${headDim}. Element types that serve it: ` +
    cacheDTypes.filter((other) => cacheLayoutFits(other, keyValueHeadCount, headDim)).join(", ")
  );
}

/** Throws a CacheError (naming `who`, the head size and the element types that would work) when `dtype` cannot store
 *  this layout; returns the element type otherwise. */
export function requireCacheLayout(who: string, layout: KvCacheLayout): CacheDType {
  const dtype = layout.dtype ?? "f32";
  if (!isCacheDType(dtype)) throw new CacheError(`${who}: KV cache element type must be one of ${cacheDTypes.join(", ")}, got "${String(dtype)}"`);
  const problem = cacheLayoutProblem(dtype, layout.keyValueHeadCount, layout.headDim);
  if (problem) throw new CacheError(`${who}: ${problem}`);
  return dtype;
}

/** Storage elements (typed-array length: values for f32/f16/bf16, bytes for q8_0/q4_0) of one position's row of keys
 *  (or values) in one layer. */
export function cacheRowStorageLength(dtype: CacheDType, keyValueHeadCount: number, headDim: number): number {
  return storageLength(dtype, [1, keyValueHeadCount, headDim]);
}

/** Bytes the keys and values of one token take in one layer. */
export function kvCacheBytesPerTokenPerLayer(layout: KvCacheLayout): number {
  return 2 * rowBytes(layout.dtype ?? "f32", layout.keyValueHeadCount * layout.headDim);
}

/** Bytes the keys and values of one token take over all layers. */
export function kvCacheBytesPerToken(layout: KvCacheLayout): number {
  return kvCacheBytesPerTokenPerLayer(layout) * layout.layerCount;
}

/** Bytes of the f32 key residual one sequence holds over all layers (64 positions per layer; while it writes a
 *  longer chunk, the chunk's positions too) when keys are grouped per channel (q8_0, q4_0); 0 for the other types. */
export function kvCacheKeyResidualBytes(layout: KvCacheLayout): number {
  const dtype = layout.dtype ?? "f32";
  return storesKeysPerChannel(dtype) ? layout.layerCount * channelKeyResidualRows * layout.keyValueHeadCount * layout.headDim * 4 : 0;
}

/** The longest context (tokens of keys and values over all layers) one sequence can keep in `budgetBytes`, its key
 *  residual included. */
export function kvCacheTokensWithin(budgetBytes: number, layout: KvCacheLayout): number {
  return Math.max(0, Math.floor((budgetBytes - kvCacheKeyResidualBytes(layout)) / kvCacheBytesPerToken(layout)));
}

/** The size of a paged cache for the byte budget functions: its layout, block size and the sequences it holds at once. */
export interface PagedKvCacheBudgetLayout extends KvCacheLayout {
  /** Positions per block. */
  blockSize: number;
  /** Sequences that can hold a key residual at once (the scheduler's batch size): each keeps one outside the blocks
   *  when keys are grouped per channel (q8_0, q4_0). */
  maxSequences: number;
}

/** Bytes a paged cache of `blockCount` blocks (the null block included) takes with the key residuals of
 *  `maxSequences` sequences: what {@link pagedKvCacheBlocksWithin} fits into a budget. */
export function pagedKvCacheBytes(blockCount: number, layout: PagedKvCacheBudgetLayout): number {
  return blockCount * layout.blockSize * kvCacheBytesPerToken(layout) + layout.maxSequences * kvCacheKeyResidualBytes(layout);
}

/** The most blocks (the null block included: a PagedKvCache's blockCount) a paged cache can have so that its blocks
 *  and the key residuals of `maxSequences` sequences fit `budgetBytes`; 0 when not even those residuals fit. Every
 *  element type sized this way takes at most the same memory, so their capacities compare at an equal budget. */
export function pagedKvCacheBlocksWithin(budgetBytes: number, layout: PagedKvCacheBudgetLayout): number {
  const blocksBytes = budgetBytes - layout.maxSequences * kvCacheKeyResidualBytes(layout);
  return Math.max(0, Math.floor(blocksBytes / (layout.blockSize * kvCacheBytesPerToken(layout))));
}
