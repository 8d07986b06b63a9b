// A dense key/value cache for one sequence: per layer, keys and values as [capacity, kvHeads, headDim] in the cache's
// element type (f32 by default; f16, bf16, q8_0, q4_0) — the layout the kernel's attention reads directly. Keys and
// values are encoded once, when their position is written; q8_0 / q4_0 keys per channel in groups of 32 positions
// (channel-keys.ts: the capacity is then whole groups, and each layer keeps an f32 residual of the newest 32..63). It grows by doubling up to a hard limit (the model's
// context), so a short chat does not reserve the memory of a 128K-token context.

import { Tensor, channelKeyGroupSize, channelKeyResidualStart, storesKeysPerChannel, type CacheDType, type Kernel } from "@infer-recipes/kernel";

import { CacheError } from "./cache-error.ts";
import { cacheRowStorageLength, kvCacheBytesPerToken, requireCacheLayout } from "./cache-layout.ts";
import { createKeyResidual, residualForWrite, restoreKeyResidual, writeChannelKeys } from "./channel-keys.ts";
import { encodeRows } from "./encode-rows.ts";

/** The shape, limits and element type of a {@link DenseKvCache}. */
export interface DenseKvCacheOptions {
  /** Transformer layers, each with its own keys and values. */
  layerCount: number;
  /** Key/value heads per layer (fewer than query heads under grouped-query attention). */
  keyValueHeadCount: number;
  /** Elements per head. */
  headDim: number;
  /** Hard limit in tokens (the model's context length). */
  maxTokens: number;
  /** Tokens to reserve up front (default min(256, maxTokens)); the cache doubles from there as needed. */
  initialTokens?: number;
  /** Element type of keys and values (default f32). */
  dtype?: CacheDType;
  /** Encodes written rows into a 16-bit or block dtype with this kernel's quantize (native when it runs natively);
   *  without it the TypeScript encoders do. Same bytes either way. */
  kernel?: Kernel;
}

/** One layer's buffers in a {@link DenseKvCache}: rows 0..length-1 hold data, the rest is room to grow. */
export interface LayerKeyValues {
  /** Keys, `[capacity, kvHeads, headDim]` in the cache's dtype. */
  keys: Tensor;
  /** Values, `[capacity, kvHeads, headDim]` in the cache's dtype. */
  values: Tensor;
  /** For keys grouped per channel (q8_0, q4_0): `[rows ≥ 64, kvHeads, headDim]` f32, the newest positions (pass it to
   *  attention as `keyResidual`; replaced when a longer write needs more rows); undefined for the other types. */
  keyResidual?: Tensor;
}

/**
 * The keys and values of one sequence, for every layer, in the layout the kernel's attention reads directly. A
 * model's `createCache()` builds one of the right shape; the model's forward pass reserves room, writes each
 * layer's keys and values, then advances {@link DenseKvCache.length}.
 *
 * @example
 * ```ts
 * import { DenseKvCache } from "@infer-recipes/cache";
 *
 * // Llama 3.2 1B: 16 layers, 8 key/value heads of 64; at most 2048 tokens, 256 reserved at first; 8-bit blocks.
 * const cache = new DenseKvCache({ layerCount: 16, keyValueHeadCount: 8, headDim: 64, maxTokens: 2048, dtype: "q8_0" });
 * cache.reserve(3);
 * const row = new Float32Array(3 * 8 * 64); // [tokens, kvHeads·headDim], encoded to q8_0 as it is written
 * for (let layer = 0; layer < cache.layerCount; layer++) cache.write(layer, 0, row, row);
 * cache.length = 3;
 * console.log(cache.bytesPerToken, cache.capacity); // 17408 bytes per token (f32: 65536), 256 tokens before it grows
 * cache.truncate(1); // keep only the first position (a rejected draft, or a shared prefix)
 * ```
 */
export class DenseKvCache {
  /** Transformer layers. */
  readonly layerCount: number;
  /** Key/value heads per layer. */
  readonly keyValueHeadCount: number;
  /** Elements per head. */
  readonly headDim: number;
  /** The most positions the cache will hold (the model's context length). */
  readonly maxTokens: number;
  /** Element type keys and values are stored in. */
  readonly dtype: CacheDType;
  /** Tokens whose keys and values are stored (positions 0..length-1). */
  length = 0;
  private layers: LayerKeyValues[] = [];
  private capacityTokens = 0;
  private readonly kernel: Kernel | undefined;
  private readonly rowLength: number; // storage elements of one position's keys (or values) in one layer
  private readonly keyResiduals: Tensor[] = []; // [layerCount] of [rows, kvHeads, headDim] f32, keys grouped per channel

  constructor(options: DenseKvCacheOptions) {
    for (const key of ["layerCount", "keyValueHeadCount", "headDim", "maxTokens"] as const) {
      const value = options[key];
      if (!Number.isInteger(value) || value < 1) throw new CacheError(`DenseKvCache: ${key} must be a positive integer, got ${value}`);
    }
    this.layerCount = options.layerCount;
    this.keyValueHeadCount = options.keyValueHeadCount;
    this.headDim = options.headDim;
    this.maxTokens = options.maxTokens;
    this.dtype = requireCacheLayout("DenseKvCache", options);
    this.kernel = options.kernel;
    this.rowLength = cacheRowStorageLength(this.dtype, this.keyValueHeadCount, this.headDim);
    if (storesKeysPerChannel(this.dtype)) {
      for (let layer = 0; layer < this.layerCount; layer++) this.keyResiduals.push(createKeyResidual(this.keyValueHeadCount, this.headDim));
    }
    this.allocate(Math.min(options.initialTokens ?? 256, this.maxTokens));
  }

  /** Tokens the current buffers hold without growing. */
  get capacity(): number {
    return this.capacityTokens;
  }

  /** Bytes of keys and values one token takes over all layers. */
  get bytesPerToken(): number {
    return kvCacheBytesPerToken(this);
  }

  /** Bytes currently allocated: the buffers (whole 32-position groups for keys grouped per channel) and the key
   *  residuals (64 positions per layer; more while the last write was a longer chunk). */
  get byteLength(): number {
    return this.rowsAllocated() * this.bytesPerToken + this.keyResiduals.reduce((sum, residual) => sum + residual.data.byteLength, 0);
  }

  /** The buffers of layer `index` (replaced when the cache grows: do not keep them across a {@link reserve}). */
  layer(index: number): LayerKeyValues {
    const layer = this.layers[index];
    if (!layer) throw new CacheError(`DenseKvCache: layer ${index} out of range 0..${this.layerCount - 1}`);
    return layer;
  }

  /** Makes room for `tokens` positions in total, growing by doubling; an error past maxTokens. */
  reserve(tokens: number): void {
    if (tokens > this.maxTokens) {
      throw new CacheError(`DenseKvCache: ${tokens} tokens requested, but the cache holds at most ${this.maxTokens} (the context length)`);
    }
    if (tokens <= this.capacityTokens) return;
    let capacity = Math.max(this.capacityTokens, 1);
    while (capacity < tokens) capacity *= 2;
    this.allocate(Math.min(capacity, this.maxTokens));
  }

  /**
   * Stores keys and values [tokens, kvHeads·headDim] of `layer` at positions start..start+tokens-1.
   * Call reserve(start + tokens) first (the model does so once per forward pass, not per layer).
   */
  write(layer: number, start: number, keys: Float32Array, values: Float32Array): void {
    const width = this.keyValueHeadCount * this.headDim;
    const tokens = keys.length / width;
    if (!Number.isInteger(tokens) || values.length !== keys.length) {
      throw new CacheError(`DenseKvCache.write: keys (${keys.length}) and values (${values.length}) must both be [tokens, ${width}]`);
    }
    if (start < 0 || start > this.length || start + tokens > this.capacityTokens) {
      throw new CacheError(`DenseKvCache.write: positions ${start}..${start + tokens - 1} with ${this.length} cached and capacity ${this.capacityTokens}`);
    }
    const target = this.layer(layer);
    if (target.keyResidual) {
      // Rewriting positions: as a rollback to `start` first (the residual must hold what precedes it).
      if (start < this.length) restoreKeyResidual(target.keys, target.keyResidual, start, channelKeyResidualStart(this.length), width, samePosition);
      target.keyResidual = this.keyResiduals[layer] = residualForWrite(target.keyResidual, start, start + tokens);
      writeChannelKeys(target.keys, target.keyResidual, start, keys, width, samePosition, this.kernel);
    } else encodeRows(target.keys, start, keys, width, this.kernel);
    encodeRows(target.values, start, values, width, this.kernel);
  }

  /** Forgets every position ≥ length (to roll back rejected speculative tokens, or to reuse a common prefix). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.length) {
      throw new CacheError(`DenseKvCache.truncate: length must be an integer in 0..${this.length}, got ${length}`);
    }
    if (this.keyResiduals.length > 0) {
      // Keys grouped per channel: the residual must hold channelKeyResidualStart(length)..length−1 (re-derived from
      // their groups when the rollback goes further back than it reaches).
      const width = this.keyValueHeadCount * this.headDim;
      for (const layer of this.layers) restoreKeyResidual(layer.keys, layer.keyResidual!, length, channelKeyResidualStart(this.length), width, samePosition);
    }
    this.length = length;
  }

  /** Forgets every position; the buffers stay allocated for the next sequence. */
  clear(): void {
    this.length = 0;
  }

  /** Storage rows of each buffer: the capacity, rounded up to whole groups when keys are grouped per channel. */
  private rowsAllocated(): number {
    const group = this.keyResiduals.length > 0 ? channelKeyGroupSize : 1;
    return Math.ceil(this.capacityTokens / group) * group;
  }

  private allocate(capacity: number): void {
    const previous = this.layers;
    const kept = this.length * this.rowLength;
    const keptKeys = Math.ceil(this.length / channelKeyGroupSize) * channelKeyGroupSize * this.rowLength; // whole groups
    this.capacityTokens = capacity;
    const shape = [this.rowsAllocated(), this.keyValueHeadCount, this.headDim];
    this.layers = [];
    for (let layer = 0; layer < this.layerCount; layer++) {
      const keys = Tensor.zeros(this.dtype, shape);
      const values = Tensor.zeros(this.dtype, shape);
      const old = previous[layer];
      if (old && kept > 0) {
        keys.data.set(old.keys.data.subarray(0, Math.min(keptKeys, old.keys.data.length)));
        values.data.set(old.values.data.subarray(0, kept));
      }
      this.layers.push({ keys, values, keyResidual: this.keyResiduals[layer] });
    }
  }
}

/** Dense storage row of a position: the position itself. */
function samePosition(position: number): number {
  return position;
}
