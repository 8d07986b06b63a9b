// One sequence's state in one model: the KV cache a forward pass extends and a rollback truncates. The generation
// loops run on this interface, so the same loop drives a dense cache (one sequence, generate() and the recipes) and a
// sequence of a paged cache (the block pool the scheduler serves from); speculative decoding runs its target and its
// draft model each on one and rolls both back after a verify.

import { CacheError, type DenseKvCache, type PagedKvCache, type PagedSequence } from "@infer-recipes/cache";

import type { CausalLanguageModel } from "./language-model.ts";

/** One sequence of a model over its KV cache (dense or paged), as the generation loops drive it. */
export interface ModelSequence {
  /** Positions whose keys and values the cache holds (0..length-1). */
  readonly length: number;
  /** Positions the sequence may reach at most (the cache's limit, at most the model's context). */
  readonly maxTokens: number;
  /**
   * Runs `tokens` at positions length.. and appends them to the cache. Returns the logits of the last token [vocab],
   * or with `allLogits` of every token [tokens · vocab] (row i predicts the token after tokens[i]).
   */
  forward(tokens: Int32Array, allLogits?: boolean): Float32Array;
  /** Forgets positions ≥ `length` (rolls back rejected speculative tokens); O(positions given back), not O(length). */
  truncate(length: number): void;
}

/** A model sequence over a dense KV cache (LlamaModel.forward). */
export class DenseModelSequence implements ModelSequence {
  constructor(
    /** The model. */
    readonly model: CausalLanguageModel,
    /** The sequence's cache. */
    readonly cache: DenseKvCache,
  ) {}

  get length(): number {
    return this.cache.length;
  }

  get maxTokens(): number {
    return Math.min(this.cache.maxTokens, this.model.config.contextLength);
  }

  forward(tokens: Int32Array, allLogits = false): Float32Array {
    return this.model.forward(tokens, this.cache, allLogits ? { allLogits: true } : undefined).data as Float32Array;
  }

  truncate(length: number): void {
    this.cache.truncate(length);
  }
}

/** One entry of a batched forward step over a paged cache (LlamaModel.forwardBatch). */
export interface PagedBatchEntry {
  /** New tokens of the sequence for this step (reserved in the cache beforehand). */
  tokens: Int32Array;
  /** The sequence in the paged cache. */
  sequence: PagedSequence;
  /** Whether the last token's logits are wanted (default true). */
  logits?: boolean;
  /** Logits of every token of the entry ([tokens · vocab]) instead of only the last. */
  allLogits?: boolean;
}

/** What a paged model sequence needs from a model: the batched forward step over a paged cache. */
export interface PagedLanguageModel {
  /** What is needed of the configuration. */
  readonly config: {
    /** The most positions a sequence may reach. */
    readonly contextLength: number;
    /** Entries in a logits row. */
    readonly vocabSize: number;
  };
  /** Runs every entry's tokens and appends their keys and values; per entry its logits, or null when not wanted. */
  forwardBatch(batch: readonly PagedBatchEntry[], cache: PagedKvCache): Array<Float32Array | null>;
}

/** A model sequence over one sequence of a paged KV cache: reserves blocks before each forward, releases whole blocks
 *  on truncate (see PagedKvCache.truncate for copy-on-write and the prefix cache). */
export class PagedModelSequence implements ModelSequence {
  constructor(
    /** The model. */
    readonly model: PagedLanguageModel,
    /** The paged cache the sequence lives in. */
    readonly cache: PagedKvCache,
    /** The sequence (a new one by default). */
    readonly sequence: PagedSequence = cache.createSequence(),
  ) {}

  get length(): number {
    return this.sequence.length;
  }

  get maxTokens(): number {
    return Math.min(this.model.config.contextLength, this.sequence.length + this.cache.pool.freeBlocks * this.cache.blockSize + this.unusedReservedRows());
  }

  forward(tokens: Int32Array, allLogits = false): Float32Array {
    if (!this.cache.reserve(this.sequence, tokens.length)) {
      const usage = this.cache.usage();
      throw new CacheError(
        `paged sequence ${this.sequence.id}: ${tokens.length} more positions need ${this.cache.blocksNeeded(this.sequence, tokens.length)} blocks, but only ${usage.freeBlocks} of ${usage.totalBlocks} are free`,
      );
    }
    const [logits] = this.model.forwardBatch([{ tokens, sequence: this.sequence, allLogits }], this.cache);
    return logits!;
  }

  truncate(length: number): void {
    this.cache.truncate(this.sequence, length);
  }

  /** Rows of the sequence's last block past its length (reserved, not yet stored). */
  private unusedReservedRows(): number {
    return this.sequence.blockCount * this.cache.blockSize - this.sequence.length;
  }
}

/** Runs `tokens` through the sequence in chunks of at most `chunkSize` (bounding activation memory); returns the last
 *  chunk's last logits [vocab]. */
export function forwardInChunks(sequence: ModelSequence, tokens: readonly number[], chunkSize: number): Float32Array {
  if (tokens.length === 0) throw new RangeError("forwardInChunks: no tokens");
  let logits: Float32Array | undefined;
  for (let start = 0; start < tokens.length; start += chunkSize) {
    logits = sequence.forward(Int32Array.from(tokens.slice(start, Math.min(start + chunkSize, tokens.length))));
  }
  return logits!;
}
