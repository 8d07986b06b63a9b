// What the scheduler needs from a model: one forward step for several sequences of a paged KV cache at once
// (LlamaModel.forwardBatch provides it). Declared here so the scheduler does not depend on any architecture.

import type { PagedKvCache, PagedSequence } from "@infer-recipes/cache";

/** One sequence's part of a batched step. */
export interface BatchEntry {
  /** New tokens of the sequence for this step, at positions sequence.length.. (reserved beforehand). */
  tokens: Int32Array;
  /** The sequence in the paged cache: block table and stored length. */
  sequence: PagedSequence;
  /** Whether the logits of the last token are needed (false for prefill chunks before the prompt's last). */
  logits?: boolean;
  /** Rows replacing the token embeddings at these positions of the sequence (a vision model's image embeddings). */
  embeddingSpans?: ReadonlyArray<{
    /** Position in the sequence of the span's first row. */
    start: number;
    /** [rows, hidden] f32: rows replace the embeddings of positions start .. start + rows − 1. */
    embeddings: Float32Array;
  }>;
}

/** A model the scheduler can serve: one forward step over several sequences of a paged cache (LlamaModel is one). */
export interface BatchLanguageModel {
  /** What the scheduler needs of the configuration. */
  readonly config: {
    /** The most positions a request may reach (prompt plus generated tokens). */
    readonly contextLength: number;
    /** Entries in a logits row. */
    readonly vocabSize: number;
  };
  /** Runs every entry's tokens, appends their keys/values to `cache`; per entry the last token's logits [vocab] or null. */
  forwardBatch(batch: readonly BatchEntry[], cache: PagedKvCache): Array<Float32Array | null>;
}
