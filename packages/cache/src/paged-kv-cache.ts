// A paged key/value cache for many sequences at once (vLLM's PagedAttention layout): per layer one keys and one values
// buffer [blockCount, blockSize, kvHeads, headDim] in the cache's element type (f32 by default; f16, bf16, q8_0, q4_0:
// keys and values are encoded once, when their position is written), split into fixed-size blocks that sequences take from a shared
// BlockPool through their block tables. Sequences can share blocks: fork() shares all of them (copy-on-write: the
// shared last, partly filled block is copied before either sequence writes into it), and the prefix cache lets a new
// sequence reuse the full blocks another sequence computed for the same leading tokens.
//
// The cycle of one forward pass: reserve(sequence, n) → write(layer, ...) per layer → append(sequence, tokens).
// truncate(sequence, length) rolls a sequence back (rejected speculative tokens) in time proportional to the blocks
// it gives back, not to the sequence's length.
//
// q8_0 / q4_0 caches keep keys per channel in groups of 32 positions (channel-keys.ts), so their blocks hold whole
// groups: the block size is a multiple of 32 (default 32; 16 for the other element types). A group never straddles
// two blocks, so sharing, copy-on-write and the prefix cache work on blocks exactly as before; each sequence keeps an
// f32 residual of its newest 32..63 positions per layer (copied on fork, re-derived from the blocks after a prefix
// match or a deep rollback).

import { Tensor, channelKeyGroupSize, channelKeyResidualStart, storesKeysPerChannel, type CacheDType, type Kernel } from "@infer-recipes/kernel";

import { blockContentKeys, hashTokenBlock, type ContentKey } from "./block-hash.ts";
import { BlockPool, type BlockPoolUsage } from "./block-pool.ts";
import { CacheError } from "./cache-error.ts";
import { cacheRowStorageLength, kvCacheBytesPerTokenPerLayer, kvCacheKeyResidualBytes, requireCacheLayout } from "./cache-layout.ts";
import { createKeyResidual, residualForWrite, restoreKeyResidual, writeChannelKeys, type StorageRowOf } from "./channel-keys.ts";
import { encodeRows } from "./encode-rows.ts";
import { PagedSequence } from "./paged-sequence.ts";

/** The shape, size and element type of a {@link PagedKvCache}. */
export interface PagedKvCacheOptions {
  /** Transformer layers, each with its own key and value buffers. */
  layerCount: number;
  /** Key/value heads per layer. */
  keyValueHeadCount: number;
  /** Elements per head. */
  headDim: number;
  /** Positions per block (default 16; 32 for q8_0 / q4_0, whose blocks must hold whole 32-position key groups). */
  blockSize?: number;
  /** Blocks in the pool, the reserved null block 0 included. */
  blockCount: number;
  /** Index full blocks by the hash of their token prefix so later sequences reuse them (default true). */
  prefixCaching?: boolean;
  /** Element type of keys and values (default f32). */
  dtype?: CacheDType;
  /** Encodes written rows into a 16-bit or block dtype with this kernel's quantize (native when it runs natively);
   *  without it the TypeScript encoders do. Same bytes either way. */
  kernel?: Kernel;
}

/** One layer's buffers in a {@link PagedKvCache}, shared by every sequence through their block tables. */
export interface PagedLayerKeyValues {
  /** Keys, `[blockCount, blockSize, kvHeads, headDim]` in the cache's dtype. */
  keys: Tensor;
  /** Values, `[blockCount, blockSize, kvHeads, headDim]` in the cache's dtype. */
  values: Tensor;
}

/** The block counts of a {@link PagedKvCache} with their sizes in bytes. */
export interface PagedKvCacheUsage extends BlockPoolUsage {
  /** Positions per block. */
  blockSize: number;
  /** Bytes of keys and values of one token in one layer. */
  bytesPerTokenPerLayer: number;
  /** Bytes of one block over all layers. */
  bytesPerBlock: number;
  /** Bytes of the whole cache (all blocks, all layers). */
  totalBytes: number;
  /** Bytes of the blocks in use. */
  usedBytes: number;
  /** Bytes each sequence keeps outside the blocks: the f32 key residual of keys grouped per channel, 64 positions per
   *  layer (0 for other types; while a sequence writes a chunk of n > 33 positions, up to n + 31 rounded up to 64). */
  keyResidualBytesPerSequence: number;
}

/**
 * Keys and values of many sequences in fixed-size blocks taken from one pool, as the scheduler serves them. A
 * forward pass over a sequence is: {@link reserve} room for the new tokens, {@link write} each layer's keys and
 * values, then {@link append} the tokens (which indexes blocks that became full for prefix caching).
 *
 * @example
 * ```ts
 * import { PagedKvCache } from "@infer-recipes/cache";
 *
 * // 2 layers, 2 key/value heads of 16; room for 256 positions in blocks of 16 (plus the null block).
 * const cache = new PagedKvCache({ layerCount: 2, keyValueHeadCount: 2, headDim: 16, blockCount: PagedKvCache.blockCountForTokens(256) });
 * const prompt = Array.from({ length: 40 }, (_, index) => index + 1);
 * const first = cache.createSequence();
 * if (!cache.reserve(first, prompt.length)) throw new Error("out of blocks");
 * const rows = new Float32Array(prompt.length * 2 * 16); // [tokens, kvHeads·headDim]
 * for (let layer = 0; layer < cache.layerCount; layer++) cache.write(layer, first, 0, rows, rows);
 * cache.append(first, prompt);
 *
 * // A second request with the same prompt reuses the two full blocks (32 positions) and computes the rest.
 * const second = cache.createSequence();
 * console.log(cache.matchPrefix(second, prompt)); // 32
 * cache.free(first);
 * cache.free(second);
 * ```
 */
export class PagedKvCache {
  /** Transformer layers. */
  readonly layerCount: number;
  /** Key/value heads per layer. */
  readonly keyValueHeadCount: number;
  /** Elements per head. */
  readonly headDim: number;
  /** Positions per block. */
  readonly blockSize: number;
  /** Whether full blocks are indexed for reuse by later sequences with the same leading tokens. */
  readonly prefixCaching: boolean;
  /** Element type keys and values are stored in. */
  readonly dtype: CacheDType;
  /** The pool the blocks come from (reference counts, free queue, prefix-cache index). */
  readonly pool: BlockPool;
  private readonly layers: PagedLayerKeyValues[] = [];
  private readonly kernel: Kernel | undefined;
  private readonly rowLength: number; // storage elements of one position's keys (or values) in one layer
  private nextSequenceId = 0;

  constructor(options: PagedKvCacheOptions) {
    const blockSize = options.blockSize ?? PagedKvCache.defaultBlockSize(options.dtype ?? "f32");
    for (const [key, value] of [["layerCount", options.layerCount], ["keyValueHeadCount", options.keyValueHeadCount], ["headDim", options.headDim], ["blockSize", blockSize]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new CacheError(`PagedKvCache: ${key} must be a positive integer, got ${value}`);
    }
    this.layerCount = options.layerCount;
    this.keyValueHeadCount = options.keyValueHeadCount;
    this.headDim = options.headDim;
    this.blockSize = blockSize;
    this.prefixCaching = options.prefixCaching ?? true;
    this.dtype = requireCacheLayout("PagedKvCache", options);
    if (storesKeysPerChannel(this.dtype) && blockSize % channelKeyGroupSize !== 0) {
      throw new CacheError(
        `PagedKvCache: a ${this.dtype} cache quantizes keys per channel in groups of ${channelKeyGroupSize} positions, which must not straddle blocks: blockSize must be a multiple of ${channelKeyGroupSize}, got ${blockSize}`,
      );
    }
    this.kernel = options.kernel;
    this.rowLength = cacheRowStorageLength(this.dtype, this.keyValueHeadCount, this.headDim);
    this.pool = new BlockPool(options.blockCount);
    const shape = [options.blockCount, blockSize, options.keyValueHeadCount, options.headDim];
    for (let layer = 0; layer < options.layerCount; layer++) this.layers.push({ keys: Tensor.zeros(this.dtype, shape), values: Tensor.zeros(this.dtype, shape) });
  }

  /** The block size a cache of `dtype` gets by default: 32 for q8_0 / q4_0 (whole key groups), 16 otherwise. */
  static defaultBlockSize(dtype: CacheDType): number {
    return storesKeysPerChannel(dtype) ? channelKeyGroupSize : 16;
  }

  /** Blocks (null block included) that hold `tokens` positions in blocks of `blockSize`. */
  static blockCountForTokens(tokens: number, blockSize = 16): number {
    return Math.ceil(tokens / blockSize) + 1;
  }

  /** Blocks in the cache, the null block included. */
  get blockCount(): number {
    return this.pool.blockCount;
  }

  /** Positions all usable blocks hold together. */
  get capacityTokens(): number {
    return this.pool.totalBlocks * this.blockSize;
  }

  /** Bytes of keys and values of one token in one layer. */
  get bytesPerTokenPerLayer(): number {
    return kvCacheBytesPerTokenPerLayer(this);
  }

  /** Bytes of keys and values one token takes over all layers. */
  get bytesPerToken(): number {
    return this.bytesPerTokenPerLayer * this.layerCount;
  }

  /** Bytes one block takes over all layers. */
  get bytesPerBlock(): number {
    return this.bytesPerToken * this.blockSize;
  }

  /** Bytes allocated for keys and values (every block, the null block included). */
  get byteLength(): number {
    return this.bytesPerBlock * this.pool.blockCount;
  }

  /** Block counts and bytes now: what the server reports and the scheduler's admission decisions rest on. */
  usage(): PagedKvCacheUsage {
    const blocks = this.pool.usage();
    return {
      ...blocks,
      blockSize: this.blockSize,
      bytesPerTokenPerLayer: this.bytesPerTokenPerLayer,
      bytesPerBlock: this.bytesPerBlock,
      totalBytes: this.byteLength,
      usedBytes: blocks.usedBlocks * this.bytesPerBlock,
      keyResidualBytesPerSequence: kvCacheKeyResidualBytes(this),
    };
  }

  /** The buffers of layer `index`, which the paged attention kernel reads through a sequence's block table. */
  layer(index: number): PagedLayerKeyValues {
    const layer = this.layers[index];
    if (!layer) throw new CacheError(`PagedKvCache: layer ${index} out of range 0..${this.layerCount - 1}`);
    return layer;
  }

  /** A new, empty sequence. `contentKeys` name positions whose keys/values depend on more than their token ids (image
   *  embeddings): blocks holding them are cached under hashes that include those keys. */
  createSequence(options: { contentKeys?: readonly ContentKey[] } = {}): PagedSequence {
    const sequence = new PagedSequence(this.nextSequenceId++, this, options.contentKeys ?? []);
    if (storesKeysPerChannel(this.dtype)) {
      for (let layer = 0; layer < this.layerCount; layer++) sequence.keyResiduals.push(createKeyResidual(this.keyValueHeadCount, this.headDim));
    }
    return sequence;
  }

  /** The f32 key residual `[rows, kvHeads, headDim]` of `sequence` in `layer` (attention's `keyResidual`), or undefined
   *  when this cache does not group keys per channel. */
  keyResidual(layer: number, sequence: PagedSequence): Tensor | undefined {
    return sequence.keyResiduals[layer];
  }

  /** Blocks reserve(sequence, newTokens) would take from the pool (new blocks plus a copy-on-write copy). */
  blocksNeeded(sequence: PagedSequence, newTokens: number): number {
    this.requireOwn("blocksNeeded", sequence);
    if (newTokens <= 0) return 0;
    const needed = Math.max(0, Math.ceil((sequence.length + newTokens) / this.blockSize) - sequence.blockCount);
    return needed + (this.needsCopyOnWrite(sequence) ? 1 : 0);
  }

  /**
   * Makes room for positions length..length+newTokens-1: copies a shared, partly filled last block (copy-on-write)
   * and appends new blocks. All or nothing: false, with nothing changed, when the pool has too few free blocks.
   */
  reserve(sequence: PagedSequence, newTokens: number): boolean {
    this.requireOwn("reserve", sequence);
    if (!Number.isInteger(newTokens) || newTokens < 0) throw new CacheError(`PagedKvCache.reserve: sequence ${sequence.id}: newTokens must be an integer ≥ 0, got ${newTokens}`);
    const copy = newTokens > 0 && this.needsCopyOnWrite(sequence);
    const fresh = newTokens > 0 ? Math.max(0, Math.ceil((sequence.length + newTokens) / this.blockSize) - sequence.blockCount) : 0;
    const blocks = this.pool.tryAllocate(fresh + (copy ? 1 : 0));
    if (!blocks) return false;
    if (newTokens > 0 && !copy) this.releaseIndexedTail(sequence);
    if (copy) {
      const logical = Math.floor(sequence.length / this.blockSize);
      const shared = sequence.block(logical);
      const target = blocks.pop()!;
      this.copyRows(shared, target, sequence.length % this.blockSize);
      sequence.replaceBlock(logical, target);
      this.pool.release(shared);
    }
    for (const block of blocks) sequence.pushBlock(block);
    return true;
  }

  /**
   * Stores keys and values [tokens, kvHeads·headDim] of `layer` at positions start..start+tokens-1 of the sequence
   * (reserved beforehand, not yet appended).
   */
  write(layer: number, sequence: PagedSequence, start: number, keys: Float32Array, values: Float32Array): void {
    const width = this.keyValueHeadCount * this.headDim;
    const tokens = keys.length / width;
    if (!Number.isInteger(tokens) || values.length !== keys.length) {
      throw new CacheError(`PagedKvCache.write: keys (${keys.length}) and values (${values.length}) must both be [tokens, ${width}]`);
    }
    const reserved = sequence.blockCount * this.blockSize;
    if (start < sequence.length || start + tokens > reserved) {
      throw new CacheError(
        `PagedKvCache.write: sequence ${sequence.id}: positions ${start}..${start + tokens - 1} with ${sequence.length} stored and ${reserved} reserved (reserve first; stored positions are immutable)`,
      );
    }
    const target = this.layer(layer);
    const perChannel = sequence.keyResiduals.length > 0;
    for (let position = start; position < start + tokens; ) {
      const logical = Math.floor(position / this.blockSize);
      const block = sequence.block(logical);
      const references = this.pool.referenceCount(block);
      if (references !== 1) throw new CacheError(`PagedKvCache.write: sequence ${sequence.id} would write into block ${block}, which ${references} sequences share`);
      if (this.pool.hashOf(block) !== undefined) {
        throw new CacheError(`PagedKvCache.write: sequence ${sequence.id} would write into block ${block}, which the prefix cache indexes (reserve first)`);
      }
      const rows = Math.min(start + tokens, (logical + 1) * this.blockSize) - position;
      const from = (position - start) * width;
      const row = block * this.blockSize + (position % this.blockSize);
      if (!perChannel) encodeRows(target.keys, row, keys.subarray(from, from + rows * width), width, this.kernel);
      encodeRows(target.values, row, values.subarray(from, from + rows * width), width, this.kernel);
      position += rows;
    }
    // Keys grouped per channel: through the residual, each group quantized once it is full (into the block that holds
    // it, checked above with the others).
    if (perChannel) {
      const residual = (sequence.keyResiduals[layer] = residualForWrite(sequence.keyResiduals[layer], start, start + tokens));
      writeChannelKeys(target.keys, residual, start, keys, width, this.storageRowOf(sequence), this.kernel);
    }
  }

  /** Marks `tokens` (whose keys and values every layer has written) as stored, and indexes blocks that became full. */
  append(sequence: PagedSequence, tokens: ArrayLike<number>): void {
    this.requireOwn("append", sequence);
    const end = sequence.length + tokens.length;
    if (end > sequence.blockCount * this.blockSize) {
      throw new CacheError(`PagedKvCache.append: sequence ${sequence.id}: ${end} positions but only ${sequence.blockCount * this.blockSize} reserved`);
    }
    for (let index = 0; index < tokens.length; index++) sequence.tokens.push(tokens[index]);
    sequence.length = end;
    const full = Math.floor(end / this.blockSize);
    for (let logical = sequence.blockHashes.length; logical < full; logical++) {
      const parent = logical === 0 ? undefined : sequence.blockHashes[logical - 1];
      const start = logical * this.blockSize;
      const hash = hashTokenBlock(parent, sequence.tokens.slice(start, start + this.blockSize), blockContentKeys(sequence.contentKeys, start, start + this.blockSize));
      sequence.blockHashes.push(hash);
      if (this.prefixCaching) this.pool.register(sequence.block(logical), hash);
    }
  }

  /**
   * For an empty sequence about to process `tokens`: attaches the cached full blocks of the longest cached prefix of
   * `tokens`, leaving at least one token to compute (its logits are needed). Returns the number of positions reused.
   */
  matchPrefix(sequence: PagedSequence, tokens: ArrayLike<number>): number {
    this.requireOwn("matchPrefix", sequence);
    if (sequence.length !== 0 || sequence.blockCount !== 0) {
      throw new CacheError(`PagedKvCache.matchPrefix: sequence ${sequence.id} already holds ${sequence.length} positions in ${sequence.blockCount} blocks`);
    }
    if (!this.prefixCaching || tokens.length < 2) return 0;
    const limit = Math.floor((tokens.length - 1) / this.blockSize);
    let parent: string | undefined;
    let matched = 0;
    for (; matched < limit; matched++) {
      const blockTokens = Array.prototype.slice.call(tokens, matched * this.blockSize, (matched + 1) * this.blockSize) as number[];
      const start = matched * this.blockSize;
      const hash = hashTokenBlock(parent, blockTokens, blockContentKeys(sequence.contentKeys, start, start + this.blockSize));
      const block = this.pool.lookup(hash);
      if (block === undefined) break;
      this.pool.retain(block);
      sequence.pushBlock(block);
      sequence.blockHashes.push(hash);
      for (const token of blockTokens) sequence.tokens.push(token);
      parent = hash;
    }
    sequence.length = matched * this.blockSize;
    this.restoreKeyResiduals(sequence, sequence.length, sequence.length); // the last reused group, from its block
    return sequence.length;
  }

  /** A new sequence sharing every block of `sequence` (copy-on-write): for parallel samples of one prompt, beams. */
  fork(sequence: PagedSequence): PagedSequence {
    this.requireOwn("fork", sequence);
    const child = this.createSequence({ contentKeys: sequence.contentKeys });
    // Only the blocks that hold stored positions: blocks reserved beyond them stay the parent's alone.
    const stored = Math.ceil(sequence.length / this.blockSize);
    for (let logical = 0; logical < stored; logical++) {
      const block = sequence.block(logical);
      this.pool.retain(block);
      child.pushBlock(block);
    }
    child.length = sequence.length;
    sequence.keyResiduals.forEach((residual, layer) => (child.keyResiduals[layer] = Tensor.fromFloat32(residual.shape, (residual.data as Float32Array).slice())));
    child.tokens.push(...sequence.tokens);
    child.blockHashes.push(...sequence.blockHashes);
    return child;
  }

  /**
   * Forgets positions ≥ `length` of the sequence, to roll back rejected speculative tokens or to keep only a common
   * prefix. Whole blocks past the new length go back to the pool (last first), which respects their reference counts
   * and keeps full blocks other sequences share or the prefix cache indexes; the block the sequence now ends in
   * stays. Before the sequence writes into that block again, reserve() copies it when another sequence shares it
   * (copy-on-write) and otherwise takes it out of the prefix-cache index (its indexed contents are about to change).
   */
  truncate(sequence: PagedSequence, length: number): void {
    this.requireOwn("truncate", sequence);
    if (!Number.isInteger(length) || length < 0 || length > sequence.length) {
      throw new CacheError(`PagedKvCache.truncate: sequence ${sequence.id}: length must be an integer in 0..${sequence.length}, got ${length}`);
    }
    // Keys grouped per channel: positions the residual no longer holds are re-derived from their groups (read from
    // their blocks, shared or not).
    this.restoreKeyResiduals(sequence, length, channelKeyResidualStart(sequence.length));
    const keep = Math.ceil(length / this.blockSize);
    for (let logical = sequence.blockCount - 1; logical >= keep; logical--) this.pool.release(sequence.block(logical));
    sequence.dropBlocksFrom(keep);
    sequence.length = length;
    sequence.tokens.length = length;
    sequence.blockHashes.length = Math.min(sequence.blockHashes.length, Math.floor(length / this.blockSize));
  }

  /** Releases every block of the sequence (last block first, so a cached prefix's tail is evicted before its head)
   *  and empties it; the sequence can be filled again. */
  free(sequence: PagedSequence): void {
    this.requireOwn("free", sequence);
    for (let logical = sequence.blockCount - 1; logical >= 0; logical--) this.pool.release(sequence.block(logical));
    sequence.reset();
  }

  /**
   * When the block that receives position `length` is indexed in the prefix cache (it was full when indexed, and the
   * sequence was truncated into it since) and no other sequence holds it, takes it out of the index: the rows the
   * sequence writes next change the contents its hash stands for. A shared indexed block is copied instead
   * (needsCopyOnWrite), so the index keeps pointing at intact contents.
   */
  private releaseIndexedTail(sequence: PagedSequence): void {
    const logical = Math.floor(sequence.length / this.blockSize);
    if (logical >= sequence.blockCount) return;
    const block = sequence.block(logical);
    if (this.pool.referenceCount(block) === 1 && this.pool.hashOf(block) !== undefined) this.pool.unregister(block);
  }

  /** For keys grouped per channel: makes each layer's residual of `sequence` hold its newest positions up to `length`
   *  when it holds only those from `heldFrom` on (restoreKeyResidual). */
  private restoreKeyResiduals(sequence: PagedSequence, length: number, heldFrom: number): void {
    if (sequence.keyResiduals.length === 0) return;
    const width = this.keyValueHeadCount * this.headDim;
    const storageRow = this.storageRowOf(sequence);
    sequence.keyResiduals.forEach((residual, layer) => restoreKeyResidual(this.layers[layer].keys, residual, length, heldFrom, width, storageRow));
  }

  /** Where positions of `sequence` are stored: block · blockSize + offset in the block. */
  private storageRowOf(sequence: PagedSequence): StorageRowOf {
    return (position) => sequence.block(Math.floor(position / this.blockSize)) * this.blockSize + (position % this.blockSize);
  }

  /** Whether the block that receives position `length` is shared (then it must be copied before a write). */
  private needsCopyOnWrite(sequence: PagedSequence): boolean {
    const logical = Math.floor(sequence.length / this.blockSize);
    return logical < sequence.blockCount && this.pool.referenceCount(sequence.block(logical)) > 1;
  }

  /** Copies the first `rows` positions of block `from` into block `to` in every layer (as stored: no re-encoding). */
  private copyRows(from: number, to: number, rows: number): void {
    const blockLength = this.blockSize * this.rowLength; // storage elements of one block
    for (const { keys, values } of this.layers) {
      keys.data.copyWithin(to * blockLength, from * blockLength, from * blockLength + rows * this.rowLength);
      values.data.copyWithin(to * blockLength, from * blockLength, from * blockLength + rows * this.rowLength);
    }
  }

  private requireOwn(operation: string, sequence: PagedSequence): void {
    if (sequence.owner !== this) throw new CacheError(`PagedKvCache.${operation}: sequence ${sequence.id} belongs to another cache`);
  }
}
