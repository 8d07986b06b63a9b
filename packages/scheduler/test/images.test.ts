// Requests with images on a tiny random SmolVLM: the scheduler hands each request's image embeddings to the model
// with the steps that run its prompt (chunked or not), so the answer equals generate() over the same prompt; and the
// prefix cache shares an image's blocks only between requests that hold the same image.

import { describe, expect, it } from "vitest";

import { generate } from "@infer-recipes/engine";
import { createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { assembleLoadedWeights, assembleVisionWeights, Idefics3Model, randomIdefics3Tensors, randomLlamaTensors, tinyIdefics3Config } from "@infer-recipes/models";

import { Scheduler } from "../src/index.ts";

const tiny = tinyIdefics3Config();
const tensors = randomIdefics3Tensors(tiny, 4);
const kernel = createKernel({ backend: nativeAvailability().available ? "native" : "reference", threads: 2 });
const source = { format: "random" as const, path: "(tiny)", files: [] };
const text = assembleLoadedWeights({ config: tiny.text, tensors: randomLlamaTensors(tiny.text, 4), source, metadata: new Map() });
const vision = assembleVisionWeights({ config: tiny.vision, tensors: new Map(tensors.vision), source, metadata: new Map() });
const model = Idefics3Model.fromLoadedWeights(text, vision, tiny.vocabulary.imageTokenId, kernel);
const image = tiny.vocabulary.imageTokenId;

function embeddingsOf(seed: number): Float32Array {
  const pixels = Float32Array.from({ length: 3 * 32 * 32 }, (_, index) => Math.cos(index * 0.11 + seed));
  return model.encodeImage(pixels, 1);
}

/** 3 text tokens, 4 image tokens, 9 text tokens: 16 positions, blocks of 4. */
const prompt = [tiny.vocabulary.beginTokenId, 40, 41, image, image, image, image, 42, 43, 44, 45, 46, 47, 48, 49, 50];

describe("Scheduler with image embeddings", () => {
  it("answers as generate() does over the same prompt, in one step or in prefill chunks", async () => {
    const spans = model.imageSpans(prompt, [embeddingsOf(1)]);
    const expected = await generate(model.withImages(spans), prompt, { temperature: 0, maxTokens: 6 });
    for (const maxBatchTokens of [64, 3]) {
      const scheduler = new Scheduler(model.language, model.language.createPagedCache({ blockCount: 32, blockSize: 4 }), { maxBatchTokens });
      const result = await scheduler.submit({ promptIds: prompt, embeddingSpans: spans, maxTokens: 6, temperature: 0 }).result;
      expect(result.tokenIds).toEqual(expected.tokenIds);
    }
  });

  it("shares the image's cached blocks only with requests holding the same image", async () => {
    const scheduler = new Scheduler(model.language, model.language.createPagedCache({ blockCount: 32, blockSize: 4 }));
    const ask = (seed: number, key: string) =>
      scheduler.submit({ promptIds: prompt, embeddingSpans: model.imageSpans(prompt, [embeddingsOf(seed)]), contentKeys: [{ start: 3, end: 7, key }], maxTokens: 2, temperature: 0 }).result;
    const first = await ask(1, "cat");
    const same = await ask(1, "cat");
    const other = await ask(2, "dog");
    expect(first.cachedPromptTokens).toBe(0);
    expect(same.cachedPromptTokens).toBe(12); // blocks 0–2 (the image's two included); the last block is recomputed
    expect(other.cachedPromptTokens).toBe(0); // block 0 holds positions 0–3, and position 3 is the other image
    expect(same.tokenIds).toEqual(first.tokenIds);
  });

  it("refuses spans and content keys outside the prompt", () => {
    const scheduler = new Scheduler(model.language, model.language.createPagedCache({ blockCount: 8, blockSize: 4 }));
    expect(() => scheduler.submit({ promptIds: [1, 2], embeddingSpans: [{ start: 5, embeddings: new Float32Array(64) }] })).toThrow(/outside the prompt of 2 tokens/);
    expect(() => scheduler.submit({ promptIds: [1, 2], contentKeys: [{ start: 0, end: 3, key: "x" }] })).toThrow(/positions 0..3, outside the prompt/);
  });
});
