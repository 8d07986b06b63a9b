// Every KV-cache element type against the f32 cache on both backends (reference and native), through a real model:
// TinyStories-656K on the TinyStories validation text when ../shared/models is present (otherwise a tiny random
// Llama, said so), prefill then decode as generation runs. Each type stays within its accuracy gate (the same gates
// as `pnpm accuracy`), the paged cache gives the dense cache's logits, and the per-channel key-grouping simulation of
// the accuracy script (run token by token) reproduces the real quantized cache (keys grouped per channel), so its
// per-token figures compare like with like.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { compareLogits } from "@infer-recipes/harness";
import { cacheDTypes, createKernel, nativeAvailability, type BackendName } from "@infer-recipes/kernel";
import { LlamaModel, assembleLoadedWeights, loadModelWeights, randomLlamaTensors, tinyLlamaConfig, type LoadedWeights } from "@infer-recipes/models";
import { loadHfTokenizer } from "@infer-recipes/tokenizer";

import { QUALITY_GATES, logitsThroughCache, measureCacheQuality, runF32Cache } from "../cache-quality.ts";
import { SimulatedKeyGroupingCache } from "../key-grouping.ts";
import { pagedLogits } from "../paged-logits.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const tinyStories = path.join(sharedModels, "tinystories-656k-hf");
const evalText = path.join(sharedModels, "eval-text/tinystories_validation_head.txt");
const TOKENS = 96;
const GREEDY = 24;

async function inputs(): Promise<{ loaded: LoadedWeights; tokens: number[]; real: boolean }> {
  if (existsSync(tinyStories) && existsSync(evalText)) {
    const tokenizer = await loadHfTokenizer(tinyStories);
    return { loaded: loadModelWeights(tinyStories), tokens: tokenizer.encode(readFileSync(evalText, "utf8")).slice(0, TOKENS), real: true };
  }
  console.warn(`kv-cache-quantization: ${tinyStories} or ${evalText} missing: a tiny random Llama instead (gates on KL only)`);
  const config = tinyLlamaConfig({ hiddenSize: 64, intermediateSize: 128, headDim: 16, rotaryDim: 16, vocabSize: 128 });
  const loaded = assembleLoadedWeights({ config, tensors: randomLlamaTensors(config, 7), source: { format: "random", path: "(tiny random)", files: [] }, metadata: new Map() });
  return { loaded, tokens: Array.from({ length: TOKENS }, (_, index) => (index * 37 + 5) % config.vocabSize), real: false };
}

const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
if (backends.length === 1) console.warn("kv-cache-quantization: native kernels unavailable: reference backend only");
const { loaded, tokens, real } = await inputs();

describe.each(backends)("KV-cache element types against the f32 cache, %s backend", (backend) => {
  const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend, threads: 1 })); // one thread: same figures, less waiting on a busy machine
  const start = loaded.config.bosTokenId ?? 1;
  const reference = runF32Cache(model, tokens, start, GREEDY);

  for (const dtype of cacheDTypes.filter((type) => type !== "f32")) {
    it(`${dtype}: within its gates (KL, perplexity), paged equals dense`, () => {
      const quality = measureCacheQuality(model, tokens, start, reference, dtype as Exclude<typeof dtype, "f32">);
      const gate = QUALITY_GATES[dtype as Exclude<typeof dtype, "f32">];
      expect(quality.meanKlDivergence).toBeLessThanOrEqual(gate.meanKl);
      expect(quality.meanKlDivergence).toBeGreaterThan(0); // the type really is stored in fewer bits
      if (real) expect(Math.abs(quality.perplexityRatio - 1)).toBeLessThanOrEqual(gate.perplexityChange);
      const dense = logitsThroughCache(model, tokens, (maxTokens) => model.createCache(maxTokens, dtype));
      expect(compareLogits(dense, pagedLogits(model, tokens, dtype), model.config.vocabSize).maxAbsDiff).toBeLessThan(1e-3);
    });
  }

  it("the per-channel key-grouping simulation equals the real q4_0 cache; the per-token one differs", () => {
    const layout = { layerCount: model.config.layerCount, keyValueHeadCount: model.config.keyValueHeadCount, headDim: model.config.headDim };
    const cached = logitsThroughCache(model, tokens, (maxTokens) => model.createCache(maxTokens, "q4_0"));
    const perToken = logitsThroughCache(model, tokens, (maxTokens) => new SimulatedKeyGroupingCache({ ...layout, maxTokens }, "q4_0", "token"));
    // The simulation one token at a time (the real cache's results do not depend on chunking; an f32 simulation's do).
    const perChannel = logitsThroughCache(model, tokens, (maxTokens) => new SimulatedKeyGroupingCache({ ...layout, maxTokens }, "q4_0", "channel"), 1);
    const vocab = model.config.vocabSize;
    // Reference: the same values in the same float64 arithmetic, exactly. Native: float32 sums in another order (the
    // channel scale folded into the query; measured 5.7e-6).
    expect(compareLogits(cached, perChannel, vocab).maxAbsDiff).toBeLessThanOrEqual(backend === "reference" ? 0 : 1e-4);
    expect(compareLogits(perToken, perChannel, vocab).maxAbsDiff).toBeGreaterThan(1e-3);
  });
});
