// What happens to each token a generation loop produces, whatever loop produced it (one token per step in
// generate(), several per verify in speculative decoding, one per request per batch step in the scheduler): a stop
// token ends the generation unseen; otherwise the token is recorded, reported (onToken) and its text streamed through
// the stop-string filter, which holds back anything that could still become a stop string; the token limit ends it.

import type { GenerationControls } from "./generation-controls.ts";
import { StopStringFilter } from "./stop-strings.ts";

/** Why a generation ended: a stop token or string, the token limit, or cancellation. */
export type FinishReason = "stop" | "length" | "cancelled";

/**
 * The output side of a generation, shared by {@link generate}, {@link speculativeGenerate} and the scheduler: the
 * generated ids and history, stop tokens and strings, streaming through the decoder.
 */
export class GenerationOutput {
  /** Generated token ids (stop tokens excluded). */
  readonly tokenIds: number[] = [];
  /** Prompt then generated ids: the context the next token continues (and the repetition penalty looks at). */
  readonly history: number[];
  private readonly stopTokens: ReadonlySet<number>;
  private readonly filter: StopStringFilter;
  private closed = false;

  constructor(
    private readonly controls: GenerationControls,
    promptIds: readonly number[],
    /** Tokens to generate at most; reaching it ends the generation with "length". */
    readonly maxTokens: number,
  ) {
    this.history = [...promptIds];
    this.stopTokens = new Set(controls.stopTokenIds ?? []);
    this.filter = new StopStringFilter(controls.stopStrings ?? []);
  }

  /** Tokens that may still be generated. */
  get remaining(): number {
    return this.maxTokens - this.tokenIds.length;
  }

  /** The text released so far (complete characters, never part of a stop string). */
  get text(): string {
    return this.filter.output;
  }

  /** Applies one produced token; returns why the generation ends with it, or null to go on. */
  push(token: number): FinishReason | null {
    if (this.stopTokens.has(token)) return "stop";
    this.tokenIds.push(token);
    this.history.push(token);
    this.controls.onToken?.(token);
    if (this.controls.decoder) {
      const { text, stopped } = this.filter.push(this.controls.decoder.push(token));
      if (text) this.controls.onText?.(text);
      if (stopped) return "stop";
    }
    return this.tokenIds.length >= this.maxTokens ? "length" : null;
  }

  /** Ends the output: releases the text held back (unless a stop string ended it). Idempotent. */
  close(reason: FinishReason): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.controls.decoder || reason === "stop") return;
    const tail = this.filter.push(this.controls.decoder.flush());
    if (tail.text) this.controls.onText?.(tail.text);
    if (!tail.stopped) {
      const rest = this.filter.flush();
      if (rest) this.controls.onText?.(rest);
    }
  }
}
