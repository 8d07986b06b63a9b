// The two ways an accuracy check runs a model over a text, shared by the recipes' accuracy scripts: the logits of
// every position as generation computes them (a chunked prefill of the first half, then one token at a time over the
// KV cache), and a greedy continuation. Compare them with the reference's through the harness's metrics.

import type { CausalLanguageModel } from "./language-model.ts";
import { argmax } from "./sampler.ts";

/** Logits [tokens, vocab] of every position: the first half prefilled in chunks of `chunkSize`, the rest decoded. */
export function cachedLogits(model: CausalLanguageModel, tokens: readonly number[], chunkSize = 64): Float32Array {
  const vocab = model.config.vocabSize;
  const out = new Float32Array(tokens.length * vocab);
  const cache = model.createCache(tokens.length + 1);
  const prefill = Math.floor(tokens.length / 2);
  for (let start = 0; start < prefill; start += chunkSize) {
    const end = Math.min(prefill, start + chunkSize);
    out.set(model.forward(Int32Array.from(tokens.slice(start, end)), cache, { allLogits: true }).data as Float32Array, start * vocab);
  }
  for (let position = prefill; position < tokens.length; position++) {
    out.set(model.forward(Int32Array.of(tokens[position]), cache).data as Float32Array, position * vocab);
  }
  return out;
}

/** `count` greedy tokens after `prompt` (one token or several), from a fresh cache. */
export function greedyTokens(model: CausalLanguageModel, prompt: readonly number[], count: number): number[] {
  const cache = model.createCache(prompt.length + count + 1);
  const ids: number[] = [];
  let logits = model.forward(Int32Array.from(prompt), cache).data as Float32Array;
  for (let step = 0; step < count; step++) {
    ids.push(argmax(logits));
    if (step + 1 < count) logits = model.forward(Int32Array.of(ids[ids.length - 1]), cache).data as Float32Array;
  }
  return ids;
}
