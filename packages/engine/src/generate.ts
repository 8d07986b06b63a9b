// The generation loop: prefill the prompt in chunks over a KV cache, then decode one token at a time, sampling each
// from the logits, until a stop token, a stop string, the token limit or cancellation. Text streams out through a
// callback as soon as it is complete (whole UTF-8 characters, never the start of a stop string), and the result
// carries the timings a benchmark needs: time to first token, prefill and decode tokens/s.

import type { DenseKvCache } from "@infer-recipes/cache";

import type { CausalLanguageModel, IncrementalDecoder } from "./language-model.ts";
import { Sampler, type SamplingOptions } from "./sampler.ts";
import { StopStringFilter } from "./stop-strings.ts";

/** What a generation asks for besides its prompt: sampling, limits, stop conditions, streaming and cancellation.
 *  Shared by generate() (one sequence) and the scheduler's requests (many sequences in a batch). */
export interface GenerationControls extends SamplingOptions {
  /** Tokens to generate at most (default: generate() 256, the scheduler what is left of the context; both capped
   *  by the context). */
  maxTokens?: number;
  /** Token ids that end generation (EOS, end-of-turn); they are not part of the output. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text stops before them (never streamed). Needs a decoder. */
  stopStrings?: readonly string[];
  /** Turns ids into streamed text; without it only ids are produced. */
  decoder?: IncrementalDecoder;
  /** Called with each piece of text as soon as it can be shown. */
  onText?: (text: string) => void;
  /** Called with each generated token id (before its text is known). */
  onToken?: (tokenId: number) => void;
  /** Aborting cancels the generation. */
  signal?: AbortSignal;
}

export interface GenerateOptions extends GenerationControls {
  /** Prompt tokens per forward pass during prefill (default 512): bounds the activation memory. */
  prefillChunkSize?: number;
  /** Continue in this cache (its tokens are the prompt's prefix); by default a fresh cache is made. */
  cache?: DenseKvCache;
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface GenerationResult {
  tokenIds: number[];
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Milliseconds from the call to the first generated token (prefill plus one sampling). */
  timeToFirstTokenMs: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  /** Tokens after the first, per second of decoding. */
  decodeTokensPerSecond: number;
  cache: DenseKvCache;
}

export class GenerationError extends Error {
  override name = "GenerationError";
}

const DEFAULT_MAX_TOKENS = 256;

function now(): number {
  return performance.now();
}

/** Lets timers, signals and I/O run between tokens (a decode step is synchronous native work). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function generate(model: CausalLanguageModel, promptIds: readonly number[], options: GenerateOptions = {}): Promise<GenerationResult> {
  const contextLength = model.config.contextLength;
  const cache = options.cache ?? model.createCache();
  const prefix = cache.length;
  if (promptIds.length === 0) throw new GenerationError("the prompt has no tokens: add at least the BOS token");
  if (prefix > promptIds.length) throw new GenerationError(`the cache holds ${prefix} tokens but the prompt has only ${promptIds.length}`);
  if (promptIds.length >= contextLength) {
    throw new GenerationError(`the prompt has ${promptIds.length} tokens, but the model's context is ${contextLength} tokens`);
  }
  const room = contextLength - promptIds.length;
  if (options.maxTokens !== undefined && (!Number.isInteger(options.maxTokens) || options.maxTokens < 1)) {
    throw new GenerationError(`maxTokens must be a positive integer, got ${options.maxTokens}`);
  }
  if (options.maxTokens !== undefined && options.maxTokens > room) {
    throw new GenerationError(
      `prompt (${promptIds.length} tokens) + max tokens (${options.maxTokens}) = ${promptIds.length + options.maxTokens} exceeds the context of ${contextLength} tokens; lower max tokens to at most ${room}`,
    );
  }
  if (cache.maxTokens < promptIds.length + 1) throw new GenerationError(`the cache holds at most ${cache.maxTokens} tokens, fewer than the prompt`);
  const maxTokens = Math.min(options.maxTokens ?? DEFAULT_MAX_TOKENS, room, cache.maxTokens - promptIds.length);
  if ((options.stopStrings?.length ?? 0) > 0 && !options.decoder) throw new GenerationError("stop strings need a decoder to see the text");
  const sampler = new Sampler(options);
  const stopTokens = new Set(options.stopTokenIds ?? []);
  const filter = new StopStringFilter(options.stopStrings ?? []);
  const chunkSize = options.prefillChunkSize ?? 512;
  const history = [...promptIds];
  const generated: number[] = [];
  const emit = (text: string) => {
    if (text) options.onText?.(text);
  };

  const started = now();
  let prefillEnd = started;
  let firstTokenAt = started;
  // Prefill: every prompt token not yet in the cache, in chunks; only the last chunk's last logits matter.
  let logits: Float32Array | undefined;
  for (let start = prefix; start < promptIds.length; start += chunkSize) {
    if (options.signal?.aborted) return finish("cancelled");
    const chunk = Int32Array.from(promptIds.slice(start, Math.min(start + chunkSize, promptIds.length)));
    logits = model.forward(chunk, cache).data as Float32Array;
    if (promptIds.length - prefix > chunkSize) await yieldToEventLoop();
  }
  if (!logits) {
    // The whole prompt was cached already: recompute the last token to get its logits.
    cache.truncate(promptIds.length - 1);
    logits = model.forward(Int32Array.of(promptIds[promptIds.length - 1]), cache).data as Float32Array;
  }
  prefillEnd = now();
  firstTokenAt = prefillEnd;
  let reason: FinishReason = "length";

  for (let step = 0; step < maxTokens; step++) {
    const token = sampler.sample(logits, history);
    if (step === 0) firstTokenAt = now();
    if (stopTokens.has(token)) {
      reason = "stop";
      break;
    }
    generated.push(token);
    history.push(token);
    options.onToken?.(token);
    if (options.decoder) {
      const { text, stopped } = filter.push(options.decoder.push(token));
      emit(text);
      if (stopped) {
        reason = "stop";
        break;
      }
    }
    if (step + 1 === maxTokens) break;
    await yieldToEventLoop();
    if (options.signal?.aborted) {
      reason = "cancelled";
      break;
    }
    logits = model.forward(Int32Array.of(token), cache).data as Float32Array;
  }
  return finish(reason);

  function finish(finishReason: FinishReason): GenerationResult {
    if (options.decoder && finishReason !== "stop") {
      const tail = filter.push(options.decoder.flush());
      emit(tail.text);
      if (!tail.stopped) emit(filter.flush());
    }
    const end = now();
    const prefillMs = prefillEnd - started;
    const decodeMs = end - firstTokenAt;
    const prefillTokens = promptIds.length - prefix;
    return {
      tokenIds: generated,
      text: filter.output,
      finishReason,
      promptTokens: promptIds.length,
      timeToFirstTokenMs: firstTokenAt - started,
      prefillMs,
      decodeMs,
      prefillTokensPerSecond: prefillMs > 0 ? (prefillTokens / prefillMs) * 1000 : 0,
      decodeTokensPerSecond: generated.length > 1 && decodeMs > 0 ? ((generated.length - 1) / decodeMs) * 1000 : 0,
      cache,
    };
  }
}
