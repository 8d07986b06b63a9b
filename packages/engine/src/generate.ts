// The generation loop: prefill the prompt in chunks over a KV cache, then decode one token at a time, sampling each
// from the logits, until a stop token, a stop string, the token limit or cancellation. Text streams out through a
// callback as soon as it is complete (whole UTF-8 characters, never the start of a stop string), and the result
// carries the timings a benchmark needs: time to first token, prefill and decode tokens/s. The request checks, the
// prefill and the handling of each produced token are shared with speculativeGenerate() (generation-run.ts,
// generation-output.ts).

import type { DenseKvCache } from "@infer-recipes/cache";

import type { GenerationControls } from "./generation-controls.ts";
import { GenerationOutput, type FinishReason } from "./generation-output.ts";
import { EventLoopYielder, GenerationClock, generationLimit, prefillPrompt, type GenerationTimings } from "./generation-run.ts";
import type { CausalLanguageModel } from "./language-model.ts";
import { DenseModelSequence } from "./model-sequence.ts";
import { Sampler } from "./sampler.ts";

export type { FinishReason, GenerationControls };

/** {@link generate}'s options: the {@link GenerationControls} plus prefill chunking and cache reuse. */
export interface GenerateOptions extends GenerationControls {
  /** Prompt tokens per forward pass during prefill (default 512): bounds the activation memory. */
  prefillChunkSize?: number;
  /** Continue in this cache (its tokens are the prompt's prefix); by default a fresh cache is made. */
  cache?: DenseKvCache;
}

export interface GenerationResult extends GenerationTimings {
  /** The cache after generation: the prompt and the generated tokens (the last one possibly not yet run). */
  cache: DenseKvCache;
}

/**
 * Generates from `promptIds`: prefill in chunks, then one token per step until a stop token, a stop string,
 * `maxTokens`, the context length or the abort signal. Yields to the event loop between tokens, so timers and
 * signals run while it works.
 *
 * @example
 * ```ts
 * import { generate } from "@infer-recipes/engine";
 * import { createKernel } from "@infer-recipes/kernel";
 * import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
 * import { createStreamDecoder, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
 *
 * const kernel = createKernel();
 * const loaded = loadModelWeights("./stories260K.gguf", { packFor: kernel });
 * const model = LlamaModel.fromLoadedWeights(loaded, kernel);
 * const tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
 * const prompt = tokenizer.encode("Once upon a time");
 * const result = await generate(model, prompt, {
 *   maxTokens: 64,
 *   temperature: 0.8,
 *   topP: 0.95,
 *   seed: 1,
 *   stopTokenIds: tokenizer.eosTokenIds,
 *   decoder: createStreamDecoder(tokenizer, { contextIds: prompt }),
 *   onText: (text) => process.stdout.write(text),
 * });
 * console.log(`\n${result.finishReason}: ${result.tokenIds.length} tokens, ${result.decodeTokensPerSecond.toFixed(1)} tok/s`);
 *
 * // Continue in the same cache: pass the whole sequence; only what the cache lacks is prefilled.
 * const sequence = [...prompt, ...result.tokenIds, ...tokenizer.encode(" The end.", { addSpecialTokens: false })];
 * const more = await generate(model, sequence, { cache: result.cache, maxTokens: 8 });
 * ```
 */
export async function generate(model: CausalLanguageModel, promptIds: readonly number[], options: GenerateOptions = {}): Promise<GenerationResult> {
  const cache = options.cache ?? model.createCache();
  const sequence = new DenseModelSequence(model, cache);
  const prefix = sequence.length;
  const maxTokens = generationLimit(model.config.contextLength, sequence, promptIds, options);
  const sampler = new Sampler(options);
  const output = new GenerationOutput(options, promptIds, maxTokens);
  const clock = new GenerationClock();
  const yielder = new EventLoopYielder();
  const finish = (reason: FinishReason): GenerationResult => ({ ...clock.finish(output, reason, promptIds.length, promptIds.length - prefix), cache });

  let logits = await prefillPrompt(sequence, promptIds, options.prefillChunkSize ?? 512, options.signal);
  if (!logits) return finish("cancelled");
  clock.markPrefilled();
  for (let first = true; ; first = false) {
    const token = sampler.sample(logits, output.history);
    if (first) clock.markFirstToken();
    const reason = output.push(token);
    if (reason) return finish(reason);
    await yielder.maybeYield();
    if (options.signal?.aborted) return finish("cancelled");
    logits = sequence.forward(Int32Array.of(token));
  }
}
