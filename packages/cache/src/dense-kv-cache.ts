// A dense key/value cache for one sequence: per layer, keys and values as [capacity, kvHeads, headDim] f32 — the
// layout the kernel's attention reads directly. It grows by doubling up to a hard limit (the model's context), so a
// short chat does not reserve the memory of a 128K-token context.

import { Tensor } from "@infer-recipes/kernel";

import { CacheError } from "./cache-error.ts";

export interface DenseKvCacheOptions {
  layerCount: number;
  keyValueHeadCount: number;
  headDim: number;
  /** Hard limit in tokens (the model's context length). */
  maxTokens: number;
  /** Tokens to reserve up front (default min(256, maxTokens)); the cache doubles from there as needed. */
  initialTokens?: number;
}

export interface LayerKeyValues {
  keys: Tensor;   // [capacity, kvHeads, headDim] f32
  values: Tensor; // [capacity, kvHeads, headDim] f32
}

export class DenseKvCache {
  readonly layerCount: number;
  readonly keyValueHeadCount: number;
  readonly headDim: number;
  readonly maxTokens: number;
  /** Tokens whose keys and values are stored (positions 0..length-1). */
  length = 0;
  private layers: LayerKeyValues[] = [];
  private capacityTokens = 0;

  constructor(options: DenseKvCacheOptions) {
    for (const key of ["layerCount", "keyValueHeadCount", "headDim", "maxTokens"] as const) {
      const value = options[key];
      if (!Number.isInteger(value) || value < 1) throw new CacheError(`DenseKvCache: ${key} must be a positive integer, got ${value}`);
    }
    this.layerCount = options.layerCount;
    this.keyValueHeadCount = options.keyValueHeadCount;
    this.headDim = options.headDim;
    this.maxTokens = options.maxTokens;
    this.allocate(Math.min(options.initialTokens ?? 256, this.maxTokens));
  }

  /** Tokens the current buffers hold without growing. */
  get capacity(): number {
    return this.capacityTokens;
  }

  /** Bytes of keys and values one token takes over all layers. */
  get bytesPerToken(): number {
    return 2 * this.layerCount * this.keyValueHeadCount * this.headDim * 4;
  }

  /** Bytes currently allocated. */
  get byteLength(): number {
    return this.capacityTokens * this.bytesPerToken;
  }

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
    (target.keys.data as Float32Array).set(keys, start * width);
    (target.values.data as Float32Array).set(values, start * width);
  }

  /** Forgets every position ≥ length (to roll back rejected speculative tokens, or to reuse a common prefix). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.length) {
      throw new CacheError(`DenseKvCache.truncate: length must be an integer in 0..${this.length}, got ${length}`);
    }
    this.length = length;
  }

  clear(): void {
    this.length = 0;
  }

  private allocate(capacity: number): void {
    const width = this.keyValueHeadCount * this.headDim;
    const shape = [capacity, this.keyValueHeadCount, this.headDim];
    const previous = this.layers;
    this.layers = [];
    for (let layer = 0; layer < this.layerCount; layer++) {
      const keys = Tensor.zeros("f32", shape);
      const values = Tensor.zeros("f32", shape);
      const old = previous[layer];
      if (old && this.length > 0) {
        (keys.data as Float32Array).set((old.keys.data as Float32Array).subarray(0, this.length * width));
        (values.data as Float32Array).set((old.values.data as Float32Array).subarray(0, this.length * width));
      }
      this.layers.push({ keys, values });
    }
    this.capacityTokens = capacity;
  }
}
