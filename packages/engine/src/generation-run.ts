// The parts every single-sequence generation loop shares around its decode steps: checking the request against the
// context and the cache (a clear GenerationError naming the numbers), prefilling the prompt in chunks with
// cancellation between chunks, yielding to the event loop between steps, and the timings of the result (time to first
// token, prefill and decode tokens/s). generate() and speculativeGenerate() differ only in how they decode.

import type { GenerationControls } from "./generation-controls.ts";
import type { FinishReason, GenerationOutput } from "./generation-output.ts";
import type { ModelSequence } from "./model-sequence.ts";

/** A generation that cannot run as asked: an empty prompt, or a prompt plus `maxTokens` past the context. */
export class GenerationError extends Error {
  /** Always `"GenerationError"`. */
  override name = "GenerationError";
}

const DEFAULT_MAX_TOKENS = 256;

/**
 * Checks a request and returns how many tokens it may generate: maxTokens (default 256), capped by the context and
 * the cache. `sequence` holds a prefix of the prompt already (its length), or nothing.
 */
export function generationLimit(contextLength: number, sequence: ModelSequence, promptIds: readonly number[], controls: GenerationControls): number {
  const prefix = sequence.length;
  if (promptIds.length === 0) throw new GenerationError("the prompt has no tokens: add at least the BOS token");
  if (prefix > promptIds.length) throw new GenerationError(`the cache holds ${prefix} tokens but the prompt has only ${promptIds.length}`);
  if (promptIds.length >= contextLength) {
    throw new GenerationError(`the prompt has ${promptIds.length} tokens, but the model's context is ${contextLength} tokens`);
  }
  const room = contextLength - promptIds.length;
  if (controls.maxTokens !== undefined) {
    if (!Number.isInteger(controls.maxTokens) || controls.maxTokens < 1) throw new GenerationError(`maxTokens must be a positive integer, got ${controls.maxTokens}`);
    if (controls.maxTokens > room) {
      throw new GenerationError(
        `prompt (${promptIds.length} tokens) + max tokens (${controls.maxTokens}) = ${promptIds.length + controls.maxTokens} exceeds the context of ${contextLength} tokens; lower max tokens to at most ${room}`,
      );
    }
  }
  if (sequence.maxTokens < promptIds.length + 1) throw new GenerationError(`the cache holds at most ${sequence.maxTokens} tokens, fewer than the prompt`);
  if ((controls.stopStrings?.length ?? 0) > 0 && !controls.decoder) throw new GenerationError("stop strings need a decoder to see the text");
  return Math.min(controls.maxTokens ?? DEFAULT_MAX_TOKENS, room, sequence.maxTokens - promptIds.length);
}

/** Lets timers, signals and I/O run between tokens (a decode step is synchronous native work). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The longest a generation loop holds the event loop between yields, in milliseconds. */
const YIELD_INTERVAL_MS = 2;

/**
 * Yields to the event loop between steps, but only once YIELD_INTERVAL_MS have passed since the last yield: a step of
 * a large model yields every time, while a tiny model's steps (tens of microseconds, where a yield costs as much as a
 * step) share one. Either way the event loop is never held for more than about a step plus 2 ms.
 */
export class EventLoopYielder {
  private last = performance.now();

  /** Resolves at once, or after a turn of the event loop when it is due. */
  async maybeYield(): Promise<void> {
    const now = performance.now();
    if (now - this.last < YIELD_INTERVAL_MS) return;
    await yieldToEventLoop();
    this.last = performance.now();
  }
}

/**
 * Runs every prompt token the sequence does not hold yet, in chunks of `chunkSize`; returns the logits [vocab] that
 * predict the first generated token, or undefined when cancelled between chunks. A prompt the sequence holds entirely
 * has its last token recomputed (its logits are needed).
 */
export async function prefillPrompt(sequence: ModelSequence, promptIds: readonly number[], chunkSize: number, signal?: AbortSignal): Promise<Float32Array | undefined> {
  const prefix = sequence.length;
  let logits: Float32Array | undefined;
  for (let start = prefix; start < promptIds.length; start += chunkSize) {
    if (signal?.aborted) return undefined;
    logits = sequence.forward(Int32Array.from(promptIds.slice(start, Math.min(start + chunkSize, promptIds.length))));
    if (promptIds.length - prefix > chunkSize) await yieldToEventLoop();
  }
  if (!logits) {
    sequence.truncate(promptIds.length - 1);
    logits = sequence.forward(Int32Array.of(promptIds[promptIds.length - 1]));
  }
  return logits;
}

/** What every generation returns: the tokens, the text and the timings a benchmark needs. */
export interface GenerationTimings {
  /** The generated token ids; stop tokens are not included. */
  tokenIds: number[];
  /** Their text (empty without a decoder), cut before a stop string. */
  text: string;
  /** Why generation ended. */
  finishReason: FinishReason;
  /** Tokens of the prompt, those already in a reused cache included (prefillTokensPerSecond counts only the ones this
   *  call ran). */
  promptTokens: number;
  /** Milliseconds from the call to the first generated token (prefill plus one sampling). */
  timeToFirstTokenMs: number;
  /** Milliseconds of prefill (the prompt's forward passes). */
  prefillMs: number;
  /** Milliseconds from the first generated token to the last. */
  decodeMs: number;
  /** Prompt tokens this call ran (not those already in a reused cache) per second of prefill. */
  prefillTokensPerSecond: number;
  /** Tokens after the first, per second of decoding. */
  decodeTokensPerSecond: number;
}

/** Milestones of one generation, turned into its result's timings. */
export class GenerationClock {
  /** When the generation started (performance.now()). */
  readonly started = performance.now();
  /** When the prompt was prefilled. */
  prefillEnd = this.started;
  /** When the first token was sampled. */
  firstTokenAt = this.started;

  /** Call once the prompt is prefilled. */
  markPrefilled(): void {
    this.prefillEnd = this.firstTokenAt = performance.now();
  }

  /** Call when the first token has been chosen. */
  markFirstToken(): void {
    this.firstTokenAt = performance.now();
  }

  /** Closes `output` with `reason` and returns the result's tokens, text and timings. */
  finish(output: GenerationOutput, reason: FinishReason, promptTokens: number, prefillTokens: number): GenerationTimings {
    output.close(reason);
    const end = performance.now();
    const prefillMs = this.prefillEnd - this.started;
    const decodeMs = end - this.firstTokenAt;
    const generated = output.tokenIds.length;
    return {
      tokenIds: output.tokenIds,
      text: output.text,
      finishReason: reason,
      promptTokens,
      timeToFirstTokenMs: this.firstTokenAt - this.started,
      prefillMs,
      decodeMs,
      prefillTokensPerSecond: prefillMs > 0 ? (prefillTokens / prefillMs) * 1000 : 0,
      decodeTokensPerSecond: decodeMs > 0 ? (Math.max(0, generated - 1) / decodeMs) * 1000 : 0,
    };
  }
}
