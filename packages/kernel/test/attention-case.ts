// The shape of one attention test case, shared by the cache element-type and per-channel key tests.

/** One attention test case: head layout, cached positions, the query chunks run over them, the paged block size. */
export interface AttentionCase {
  /** What the case covers. */
  name: string;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`). */
  kvHeads: number;
  /** Values per head. */
  headDim: number;
  /** Cached positions. */
  length: number;
  /** Query chunks as [first position, tokens, kvLength (default first + tokens)]: prefill chunks and decode steps
   *  (causal: they see positions ≤ theirs). */
  queries: Array<[number, number, number?]>;
  /** Positions per block of the paged layout. */
  blockSize: number;
}
