// One sequence's view of a paged KV cache: its block table (logical block i → physical block), how many positions
// hold keys and values, the token ids at those positions and the chained hashes of its full blocks (the prefix-cache
// keys). PagedKvCache changes it; everyone else reads it.

import type { Tensor } from "@infer-recipes/kernel";

import type { ContentKey } from "./block-hash.ts";

/**
 * One sequence in a {@link PagedKvCache}: its block table, length, tokens and full-block hashes. Created by
 * {@link PagedKvCache.createSequence}; only the cache changes it.
 */
export class PagedSequence {
  /** Positions 0..length-1 hold keys and values. */
  length = 0;
  /** Token ids at positions 0..length-1 (what the prefix-cache hashes are computed from). */
  readonly tokens: number[] = [];
  /** Chained hash of each full block 0..blockHashes.length-1. */
  readonly blockHashes: string[] = [];
  /** For caches that group keys per channel (q8_0, q4_0): per layer, `[rows ≥ 64, kvHeads, headDim]` f32 keys of
   *  the sequence's newest positions (attention's `keyResidual`; replaced when a write needs more rows); empty
   *  otherwise. */
  readonly keyResiduals: Tensor[] = [];
  private table = new Int32Array(8); // [capacity] physical block of logical block i, for i < blockCount
  private count = 0;
  private view: Int32Array | undefined;

  constructor(
    /** Identifies the sequence in errors. */
    readonly id: number,
    /** The cache the sequence belongs to (its blocks mean nothing in another). */
    readonly owner: object,
    /** Positions whose contents are identified by more than their token ids (images), for the prefix-cache hashes. */
    readonly contentKeys: readonly ContentKey[] = [],
  ) {}

  /** Number of blocks in the table (allocated positions = blockCount · blockSize ≥ length). */
  get blockCount(): number {
    return this.count;
  }

  /** The block table [blockCount], as the paged attention kernel reads it. Valid until the table changes. */
  get blockTable(): Int32Array {
    this.view ??= this.table.subarray(0, this.count);
    return this.view;
  }

  /** The physical block that holds the sequence's logical block `logical` (positions logical·blockSize onwards). */
  block(logical: number): number {
    return this.table[logical];
  }

  /** @internal PagedKvCache only. */
  pushBlock(block: number): void {
    if (this.count === this.table.length) {
      const grown = new Int32Array(this.table.length * 2);
      grown.set(this.table);
      this.table = grown;
    }
    this.table[this.count++] = block;
    this.view = undefined;
  }

  /** @internal PagedKvCache only. */
  replaceBlock(logical: number, block: number): void {
    this.table[logical] = block;
  }

  /** @internal PagedKvCache only: keeps the first `count` blocks of the table (the caller released the rest). */
  dropBlocksFrom(count: number): void {
    this.count = count;
    this.view = undefined;
  }

  /** @internal PagedKvCache only: forgets every block and position. */
  reset(): void {
    this.count = 0;
    this.length = 0;
    this.tokens.length = 0;
    this.blockHashes.length = 0;
    this.view = undefined;
  }
}
