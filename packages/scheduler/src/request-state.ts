// One request inside the scheduler: its own sampler (own seed), the tokens known so far (prompt + generated), the
// sequence holding its keys/values while it is admitted, and what happens to each sampled token — stop tokens, text
// streamed through the stop-string filter, the token limit: the engine's GenerationOutput, as in generate() — until
// it finishes with a result.

import type { PagedSequence } from "@infer-recipes/cache";
import { GenerationOutput, Sampler } from "@infer-recipes/engine";

import type { FinishReason, GenerationRequest, RequestResult } from "./request.ts";

export class RequestState {
  readonly sampler: Sampler;
  /** The generated tokens, their streamed text, stop conditions and the token limit. */
  readonly output: GenerationOutput;
  readonly promptLength: number;
  readonly submittedAt = performance.now();
  /** Holds the request's keys/values while it is admitted (running); undefined while waiting. */
  sequence: PagedSequence | undefined;
  cachedPromptTokens = 0;
  admittedBefore = false;
  preemptions = 0;
  firstTokenAt = Number.NaN;
  /** Set when cancellation was asked for in the middle of a step; the scheduler finishes it after the step. */
  cancelRequested = false;
  finished = false;

  constructor(
    readonly id: string,
    /** Order of arrival: lower runs first and is preempted last. */
    readonly arrival: number,
    readonly request: GenerationRequest,
    readonly maxTokens: number,
    private readonly settle: { resolve: (result: RequestResult) => void; reject: (error: unknown) => void },
  ) {
    this.sampler = new Sampler(request);
    this.output = new GenerationOutput(request, request.promptIds, maxTokens);
    this.promptLength = request.promptIds.length;
  }

  /** Prompt then generated tokens: what the sequence must hold before the next token can be sampled. */
  get tokens(): readonly number[] {
    return this.output.history;
  }

  /** The generated tokens. */
  get generated(): readonly number[] {
    return this.output.tokenIds;
  }

  /** Tokens that still need a forward pass before the next token can be sampled. */
  get pendingTokens(): number {
    return this.tokens.length - (this.sequence?.length ?? 0);
  }

  /** Samples the next token from `logits` [vocab] and applies it; returns why the request ends, or null to go on. */
  sampleNext(logits: Float32Array): FinishReason | null {
    const token = this.sampler.sample(logits, this.output.history);
    if (this.generated.length === 0) this.firstTokenAt = performance.now();
    return this.output.push(token);
  }

  /** Ends the request: releases held-back text (unless a stop string ended it) and resolves its result. A throwing
   *  onText callback propagates (the scheduler then fails the request instead). */
  finish(reason: FinishReason): RequestResult {
    this.finished = true;
    this.output.close(reason);
    const result: RequestResult = {
      id: this.id,
      tokenIds: this.output.tokenIds,
      text: this.output.text,
      finishReason: reason,
      promptTokens: this.promptLength,
      cachedPromptTokens: this.cachedPromptTokens,
      timeToFirstTokenMs: this.firstTokenAt - this.submittedAt,
      totalMs: performance.now() - this.submittedAt,
      preemptions: this.preemptions,
    };
    this.settle.resolve(result);
    return result;
  }

  /** Ends the request with an error (a callback or the model threw). */
  fail(error: unknown): void {
    this.finished = true;
    this.settle.reject(error);
  }
}
