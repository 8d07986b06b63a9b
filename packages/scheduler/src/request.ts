// A generation request as a client submits it (prompt, sampling, limits, stop conditions, streaming callbacks,
// cancellation), what it resolves to, and the handle the scheduler gives back.

import type { ContentKey } from "@infer-recipes/cache";
import type { FinishReason, GenerationControls } from "@infer-recipes/engine";

/** A request: its prompt and the controls generate() takes (sampling, maxTokens, stop tokens and strings, decoder,
 *  onToken/onText streaming, and a signal whose abort makes it leave the batch at the next step, freeing its blocks). */
export interface GenerationRequest extends GenerationControls {
  /** Names the request in errors and results (default "request-N"). */
  id?: string;
  /** Prompt token ids (at least one). */
  promptIds: readonly number[];
  /** Embeddings replacing the prompt's token embeddings at their positions (image embeddings at the <image>
   *  placeholders of a vision-language prompt); handed to the model with every step that runs those positions. */
  embeddingSpans?: ReadonlyArray<{
    /** Position in the sequence of the span's first row. */
    start: number;
    /** [rows, hidden] f32: rows replace the embeddings of positions start .. start + rows − 1. */
    embeddings: Float32Array;
  }>;
  /** Identity of what those positions hold beyond their token ids (the image's content hash), so the prefix cache
   *  shares their blocks only between requests with the same images. */
  contentKeys?: readonly ContentKey[];
}

export type { FinishReason };

/** How a request ended, with its output and timings. */
export interface RequestResult {
  /** The request's id. */
  id: string;
  /** The generated token ids (stop tokens excluded). */
  tokenIds: number[];
  /** Their text (empty without a decoder), cut before a stop string. */
  text: string;
  /** Why it ended. */
  finishReason: FinishReason;
  /** Tokens in the prompt. */
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the prefix cache instead of being computed. */
  cachedPromptTokens: number;
  /** Milliseconds from submit to the first generated token (NaN when none was generated). */
  timeToFirstTokenMs: number;
  /** Milliseconds from submit to the end. */
  totalMs: number;
  /** Times the request was preempted (its blocks taken back) and recomputed. */
  preemptions: number;
}

/** What {@link Scheduler.submit} returns: the request's id, its result, and a way to cancel it. */
export interface RequestHandle {
  /** The request's id (given or "request-N"). */
  readonly id: string;
  /** Resolves when the request ends (including by cancellation); rejects only when a callback or the model throws. */
  readonly result: Promise<RequestResult>;
  /** Cancels the request (same as aborting its signal). */
  cancel(): void;
}
