// Speculative decoding with real Llama forward passes: tiny random models of the exact Llama 3.2 architecture (GQA,
// llama3 RoPE scaling, tied embeddings) as target and draft, on the reference and the native backend. Greedy output is
// token for token target-only greedy decoding with every drafter and draft length, with the target on a dense cache
// and on a paged cache (whose rollback gives blocks back to the pool, shared prefix blocks included); a draft model
// whose context is shorter than the generation just stops drafting.

import { describe, expect, it } from "vitest";

import { Kernel, createKernel, createReferenceBackend, nativeAvailability, type DType } from "@infer-recipes/kernel";
import { LlamaModel, assembleLoadedWeights, randomLlamaTensors, tinyLlamaConfig, type LlamaConfig } from "@infer-recipes/models";

import {
  DenseModelSequence,
  ModelDrafter,
  PagedModelSequence,
  PromptLookupDrafter,
  ReplayDrafter,
  generate,
  speculativeGenerate,
  speculativeGenerateOn,
  type Drafter,
} from "../src/index.ts";

const llama32 = (overrides: Partial<LlamaConfig>) =>
  tinyLlamaConfig({
    hiddenSize: 64, intermediateSize: 172, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16,
    vocabSize: 96, contextLength: 256, ropeTheta: 500000, tiedEmbeddings: true,
    ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 },
    ...overrides,
  });

function tinyModel(config: LlamaConfig, seed: number, kernel: Kernel, dtype?: DType): LlamaModel {
  const raw = { config, tensors: randomLlamaTensors(config, seed), source: { format: "random" as const, path: "(tiny random)", files: [] }, metadata: new Map() };
  return LlamaModel.fromLoadedWeights(assembleLoadedWeights(raw, { dtype }), kernel);
}

const kernels: Array<[string, Kernel]> = [["reference", new Kernel(createReferenceBackend())]];
if (nativeAvailability().available) kernels.push(["native", createKernel({ backend: "native", threads: 1 })]);

const prompt = [1, 17, 33, 5, 17, 33, 60, 2, 41];

describe("greedy speculative decoding is target-only greedy decoding, token for token", () => {
  for (const [backend, kernel] of kernels) {
    it(`${backend}: draft model, prompt lookup, replay; fixed and adaptive k; dense and paged target`, async () => {
      const target = tinyModel(llama32({}), 3, kernel, backend === "native" ? "q8_0" : undefined);
      const draft = tinyModel(llama32({ layerCount: 1, intermediateSize: 96 }), 4, kernel);
      const maxTokens = 48;
      const expected = (await generate(target, prompt, { maxTokens })).tokenIds;
      const drafters = (): Drafter[] => [
        new ModelDrafter(new DenseModelSequence(draft, draft.createCache())),
        new ModelDrafter(new DenseModelSequence(target, target.createCache()), { name: "the target itself" }),
        new PromptLookupDrafter(),
        new ReplayDrafter([...prompt, ...expected]),
      ];
      for (const draftTokens of [1, 4, "auto"] as const) {
        for (const drafter of drafters()) {
          const result = await speculativeGenerate(target, prompt, { drafter, draftTokens, maxTokens });
          expect(result.tokenIds, `${drafter.name}, k = ${draftTokens}`).toEqual(expected);
          if (drafter.name !== "draft model" && drafter.name !== "prompt lookup (n-gram 3..1)" && draftTokens !== "auto") {
            expect(result.speculation.acceptanceRate, drafter.name).toBe(1); // the target's own choices
          }
        }
      }
      // Paged target: a second sequence shares the prompt's cached blocks; rollbacks must leave them intact.
      // Blocks of 4 (32 for the native run's q8_0 target cache, whose keys are grouped per channel in 32 positions).
      const blockSize = target.cacheDType === "q8_0" ? 32 : 4;
      const cache = target.createPagedCache({ blockCount: Math.ceil(160 / blockSize) + 1, blockSize });
      const first = new PagedModelSequence(target, cache);
      const firstResult = await speculativeGenerateOn(first, target.config, prompt, { drafter: drafters()[0], draftTokens: 3, maxTokens });
      expect(firstResult.tokenIds).toEqual(expected);
      expect(first.length).toBe(prompt.length + maxTokens - 1);
      const second = new PagedModelSequence(target, cache);
      expect(cache.matchPrefix(second.sequence, [...prompt, ...expected])).toBe(Math.floor(56 / blockSize) * blockSize);
      cache.truncate(second.sequence, 8); // back into the shared blocks
      const secondResult = await speculativeGenerateOn(second, target.config, prompt, { drafter: new PromptLookupDrafter(), draftTokens: "auto", maxTokens });
      expect(secondResult.tokenIds).toEqual(expected);
      cache.pool.checkInvariants();
      // The first sequence's blocks are untouched: continuing it still gives target-only output.
      const longer = (await generate(target, [...prompt, ...expected], { maxTokens: 6 })).tokenIds;
      const resumed = await speculativeGenerateOn(first, target.config, [...prompt, ...expected], { drafter: new PromptLookupDrafter(), maxTokens: 6 });
      expect(resumed.tokenIds).toEqual(longer);
      cache.free(first.sequence);
      cache.free(second.sequence);
      cache.pool.checkInvariants();
      expect(cache.pool.usedBlocks).toBe(0);
    });
  }

  it("a draft model with a shorter context stops drafting where its context ends", async () => {
    const [, kernel] = kernels.at(-1)!;
    const target = tinyModel(llama32({}), 5, kernel);
    const draft = tinyModel(llama32({ contextLength: 24 }), 5, kernel); // the same weights: accepts everything it drafts
    const expected = (await generate(target, prompt, { maxTokens: 40 })).tokenIds;
    const result = await speculativeGenerate(target, prompt, { drafter: new ModelDrafter(new DenseModelSequence(draft, draft.createCache())), draftTokens: 4, maxTokens: 40 });
    expect(result.tokenIds).toEqual(expected);
    expect(result.speculation.acceptanceRate).toBe(1);
    expect(result.speculation.draftedTokens).toBeLessThanOrEqual(24 - prompt.length + 1);
    expect(result.speculation.verifySteps).toBeGreaterThan(20); // plain decoding after position 24
  });
});
