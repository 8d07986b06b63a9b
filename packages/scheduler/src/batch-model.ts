// What the scheduler needs from a model: one forward step for several sequences of a paged KV cache at once
// (LlamaModel.forwardBatch provides it). Declared here so the scheduler does not depend on any architecture.

import type { PagedKvCache, PagedSequence } from "@infer-recipes/cache";

export interface BatchEntry {
  /** New tokens of the sequence for this step, at positions sequence.length.. (reserved beforehand). */
  tokens: Int32Array;
  sequence: PagedSequence;
  /** Whether the logits of the last token are needed (false for prefill chunks before the prompt's last). */
  logits?: boolean;
  /** Rows replacing the token embeddings at these positions of the sequence (a vision model's image embeddings). */
  embeddingSpans?: ReadonlyArray<{ start: number; embeddings: Float32Array }>;
}

export interface BatchLanguageModel {
  readonly config: { readonly contextLength: number; readonly vocabSize: number };
  /** Runs every entry's tokens, appends their keys/values to `cache`; per entry the last token's logits [vocab] or null. */
  forwardBatch(batch: readonly BatchEntry[], cache: PagedKvCache): Array<Float32Array | null>;
}
