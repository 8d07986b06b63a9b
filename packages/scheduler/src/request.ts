// A generation request as a client submits it (prompt, sampling, limits, stop conditions, streaming callbacks,
// cancellation), what it resolves to, and the handle the scheduler gives back.

import type { IncrementalDecoder, SamplingOptions } from "@infer-recipes/engine";

export interface GenerationRequest extends SamplingOptions {
  /** Names the request in errors and results (default "request-N"). */
  id?: string;
  /** Prompt token ids (at least one). */
  promptIds: readonly number[];
  /** Tokens to generate at most (default: what is left of the context). */
  maxTokens?: number;
  /** Token ids that end generation (EOS, end of turn); they are not part of the output. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text stops before them. Needs a decoder. */
  stopStrings?: readonly string[];
  /** Turns ids into streamed text; without it only ids are produced. */
  decoder?: IncrementalDecoder;
  /** Called with each generated token id as soon as it is sampled. */
  onToken?: (tokenId: number) => void;
  /** Called with each piece of text as soon as it can be shown (never part of a stop string). */
  onText?: (text: string) => void;
  /** Aborting cancels the request: it leaves the batch at the next step boundary and its blocks are freed. */
  signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface RequestResult {
  id: string;
  tokenIds: number[];
  text: string;
  finishReason: FinishReason;
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

export interface RequestHandle {
  readonly id: string;
  /** Resolves when the request ends (including by cancellation); rejects only when a callback or the model throws. */
  readonly result: Promise<RequestResult>;
  /** Cancels the request (same as aborting its signal). */
  cancel(): void;
}
