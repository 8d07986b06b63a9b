// This project's side of the quality comparison: the GGUF file through this project's loader and Llama forward pass
// (native kernels, or the reference backend when the addon is missing), a window's logits in one forward pass over a
// fresh KV cache, and greedy decoding with the kernel's argmax.

import { NativeBackend, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights, type LoadedWeights } from "@infer-recipes/models";

import type { QualityEngine } from "./quality-comparison.ts";

export interface OurQualityEngine extends QualityEngine {
  /** The loaded file (config and metadata, e.g. for the tokenizer). */
  readonly weights: LoadedWeights;
}

export function createOurQualityEngine(modelPath: string, contextSize: number): OurQualityEngine {
  const availability = nativeAvailability();
  const kernel = createKernel({ backend: availability.available ? "native" : "reference" });
  const weights = loadModelWeights(modelPath, { packFor: kernel });
  const model = LlamaModel.fromLoadedWeights(weights, kernel);
  const cache = model.createCache(contextSize);
  const vocabSize = weights.config.vocabSize;
  const isa = kernel.backend instanceof NativeBackend ? ` (${kernel.backend.isa})` : "";
  const backend = availability.available ? `native backend${isa}, ${kernel.threads} threads` : `reference backend (native unavailable: ${availability.reason})`;

  return {
    weights,
    description: `this project: ${backend}, f32 activations and KV cache`,
    async windowLogits(tokens, firstScoredRow) {
      cache.clear();
      const logits = model.forward(tokens, cache, { allLogits: true }).data as Float32Array; // [tokens, vocab]
      return logits.slice(firstScoredRow * vocabSize, (tokens.length - 1) * vocabSize);
    },
    async greedy(prompt, count) {
      cache.clear();
      const generated = [kernel.argmax(model.forward(Int32Array.from(prompt), cache))];
      while (generated.length < count) generated.push(kernel.argmax(model.forward(Int32Array.of(generated[generated.length - 1]), cache)));
      return generated;
    },
    async close() {},
  };
}
