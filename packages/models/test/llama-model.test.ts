// The Llama forward pass end to end: the real tiny models reproduce their reference greedy tokens (both backends),
// and a tiny random Llama 3.2 (GQA, llama3 rope scaling, tied embeddings) gives the same logits from safetensors
// and GGUF, F32 within 1e-4 and Q8_0/Q4_0 within the tolerances stated at the assertions.
import path from "node:path";

import { describe, expect, it } from "vitest";

import { createKernel, nativeAvailability, type BackendName, type NativeBackend } from "@infer-recipes/kernel";

import { LlamaModel, convertSafetensorsToGguf, loadModelWeights, randomLlamaTensors, tinyLlamaConfig, writeGgufModel, writeHfModel, type LoadedWeights } from "../src/index.ts";
import { missingSharedFiles, sharedModelFiles } from "./helpers/shared-models.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

// Reference greedy ids from ../shared/models/PROVENANCE.md (BOS then 32 tokens).
const STORIES_260K_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385];
const TINYSTORIES_656K_IDS = [1, 147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628, 499, 826, 872, 921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425];

const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];

function greedy(model: LlamaModel, start: number[], count: number): number[] {
  const cache = model.createCache();
  const ids = [...start];
  let logits = model.forward(Int32Array.from(ids), cache).data as Float32Array;
  for (let step = 0; step < count; step++) {
    let best = 0;
    for (let index = 1; index < logits.length; index++) if (logits[index] > logits[best]) best = index;
    ids.push(best);
    if (step + 1 < count) logits = model.forward(Int32Array.of(best), cache).data as Float32Array;
  }
  return ids;
}

const realFiles = [sharedModelFiles.stories260kGguf, sharedModelFiles.stories260kLlama2c, sharedModelFiles.tinyStories656kWeights];
const missing = missingSharedFiles(realFiles, "llama-model");

describe.skipIf(missing.length > 0)("real tiny models reproduce their reference greedy tokens", () => {
  for (const backend of backends) {
    const kernel = createKernel({ backend, threads: 2 });
    it(`stories260K GGUF on ${backend}`, () => {
      const model = LlamaModel.fromLoadedWeights(loadModelWeights(sharedModelFiles.stories260kGguf), kernel);
      expect(greedy(model, [1], 32)).toEqual(STORIES_260K_IDS);
    });
    it(`stories260K llama2.c on ${backend}`, () => {
      const model = LlamaModel.fromLoadedWeights(loadModelWeights(sharedModelFiles.stories260kLlama2c), kernel);
      expect(greedy(model, [1], 32)).toEqual(STORIES_260K_IDS);
    });
    it(`TinyStories-656K safetensors on ${backend}`, () => {
      const model = LlamaModel.fromLoadedWeights(loadModelWeights(sharedModelFiles.tinyStories656kDirectory), kernel);
      expect(greedy(model, [1], 32)).toEqual(TINYSTORIES_656K_IDS);
    });
  }
});

describe("a tiny random Llama 3.2 gives the same logits from every file format", () => {
  const temporary = useTemporaryDirectories("llama-model");
  // Llama 3.2 shape rules at toy size: GQA 4/2 heads, head dim 16, rope_theta 500000, llama3 scaling, tied embeddings.
  const config = tinyLlamaConfig({
    hiddenSize: 64, intermediateSize: 128, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16, layerCount: 2,
    vocabSize: 96, contextLength: 256, ropeTheta: 500000, tiedEmbeddings: true, rmsNormEpsilon: 1e-5,
    ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 },
  });
  const tensors = randomLlamaTensors(config, 7);
  const prompt = Int32Array.from({ length: 40 }, (_, index) => (index * 37 + 5) % config.vocabSize);

  function allLogits(loaded: LoadedWeights, backend: BackendName): Float32Array {
    const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend, threads: 2 }));
    // Prefill 30 tokens in one pass, then 10 one at a time: covers both attention paths.
    const cache = model.createCache();
    const first = model.forward(prompt.subarray(0, 30), cache, { allLogits: true }).data as Float32Array;
    const rest: Float32Array[] = [];
    for (let index = 30; index < prompt.length; index++) rest.push(model.forward(prompt.subarray(index, index + 1), cache).data as Float32Array);
    const out = new Float32Array(prompt.length * config.vocabSize);
    out.set(first);
    rest.forEach((row, index) => out.set(row, (30 + index) * config.vocabSize));
    return out;
  }

  /** Mean over positions of KL(softmax(reference) ‖ softmax(other)). */
  function meanKl(reference: Float32Array, other: Float32Array): number {
    const vocab = config.vocabSize;
    let total = 0;
    for (let position = 0; position < reference.length / vocab; position++) {
      const logSoftmax = (row: Float32Array) => {
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
        return Array.from(row, (value) => value - logSum);
      };
      const p = logSoftmax(reference.subarray(position * vocab, (position + 1) * vocab));
      const q = logSoftmax(other.subarray(position * vocab, (position + 1) * vocab));
      total += p.reduce((sum, logP, index) => sum + Math.exp(logP) * (logP - q[index]), 0);
    }
    return total / (reference.length / vocab);
  }

  function maxAbsDiff(a: Float32Array, b: Float32Array): number {
    let worst = 0;
    for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index] - b[index]));
    return worst;
  }

  for (const backend of backends) {
    it(`safetensors vs GGUF F32 within 1e-4, Q8_0 and Q4_0 within a KL budget (${backend})`, () => {
      const directory = temporary();
      writeHfModel(directory, config, tensors);
      const ggufFile = path.join(directory, "model-f32.gguf");
      writeGgufModel(ggufFile, config, tensors);
      const reference = allLogits(loadModelWeights(directory), "reference");
      const fromSafetensors = allLogits(loadModelWeights(directory), backend);
      const fromGguf = allLogits(loadModelWeights(ggufFile), backend);
      // Logits here are O(1)-O(10); the tolerances are absolute.
      expect(maxAbsDiff(fromSafetensors, reference)).toBeLessThan(1e-4);
      expect(maxAbsDiff(fromGguf, reference)).toBeLessThan(1e-4);
      // Q8_0 as a file (written by the converter, as a user would) and Q8_0/Q4_0 quantized on load.
      const q8File = path.join(directory, "model-q8_0.gguf");
      convertSafetensorsToGguf(directory, q8File, { quant: "q8_0" });
      const q8FromFile = allLogits(loadModelWeights(q8File), backend);
      const q8 = allLogits(loadModelWeights(ggufFile, { dtype: "q8_0" }), backend);
      expect(maxAbsDiff(q8FromFile, q8)).toBeLessThan(1e-4);
      const q4 = allLogits(loadModelWeights(ggufFile, { dtype: "q4_0" }), backend);
      // Quantized: mean KL divergence of the next-token distributions (nats) — what a user of the model notices.
      const q8Divergence = meanKl(reference, q8), q4Divergence = meanKl(reference, q4);
      console.log(`tiny Llama 3.2 on ${backend}: mean KL vs f32 reference: q8_0 ${q8Divergence.toExponential(2)}, q4_0 ${q4Divergence.toExponential(2)}`);
      expect(q8Divergence).toBeLessThan(1e-3);
      expect(q4Divergence).toBeLessThan(2e-2);
    });
  }

  it.skipIf(!nativeAvailability().available)("the native model packs q8_0 / q4_0 matrices (AVX-512) and agrees with the reference backend on the loaded ones", () => {
    const directory = temporary();
    writeHfModel(directory, config, tensors);
    for (const dtype of ["q8_0", "q4_0"] as const) {
      const loaded = loadModelWeights(directory, { dtype });
      const kernel = createKernel({ backend: "native", threads: 2 });
      const model = LlamaModel.fromLoadedWeights(loaded, kernel);
      const packs = (kernel.backend as NativeBackend).isa === "avx512";
      expect(model.weights.layers[0].gate.dtype).toBe(packs ? `${dtype}x16` : dtype);
      expect(model.weights.output, "the tied output stays the embedding table").toBe(model.weights.embedding);
      expect(model.weights.output.dtype, "and is packed for the LM head").toBe(packs ? `${dtype}x16` : dtype);
      expect(loaded.tensors.get("model.layers.0.mlp.gate_proj.weight")!.dtype, "loaded weights untouched").toBe(dtype);
      // Same quantized weights, same activation quantization, exact integer block sums: the backends differ only in
      // float summation order (float32 lanes vs float64): measured ~5e-7 on logits of O(1–10); 1e-5 leaves room.
      const difference = maxAbsDiff(allLogits(loaded, "native"), allLogits(loaded, "reference"));
      console.log(`tiny Llama 3.2 ${dtype}: native (${packs ? "interleaved" : "row"} layout) vs reference max |Δlogit| ${difference.toExponential(2)}`);
      expect(difference).toBeLessThan(1e-5);
      // Packed while loading (in place, as the CLI and benchmarks load): the same tensors, so the same logits exactly.
      const packedAtLoad = loadModelWeights(directory, { dtype, packFor: kernel });
      expect(packedAtLoad.tensors.get("model.layers.1.self_attn.q_proj.weight")!.dtype).toBe(packs ? `${dtype}x16` : dtype);
      expect(Array.from(allLogits(packedAtLoad, "native"))).toEqual(Array.from(allLogits(loaded, "native")));
    }
  });

  it("the KV-cached decode equals recomputing the whole sequence", () => {
    const directory = temporary();
    writeHfModel(directory, config, tensors);
    const loaded = loadModelWeights(directory);
    const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend: "reference" }));
    const incremental = allLogits(loaded, "reference");
    const full = model.forward(prompt, model.createCache(), { allLogits: true }).data as Float32Array;
    expect(maxAbsDiff(incremental, full)).toBeLessThan(1e-5);
  });

  it("refuses token ids outside the vocabulary and sequences past the context", () => {
    const directory = temporary();
    writeHfModel(directory, config, tensors);
    const model = LlamaModel.fromLoadedWeights(loadModelWeights(directory), createKernel({ backend: "reference" }));
    expect(() => model.forward(Int32Array.of(96), model.createCache())).toThrow(/token id 96 is outside the vocabulary 0..95/);
    expect(() => model.forward(new Int32Array(20), model.createCache(16))).toThrow(/20 tokens requested, but the cache holds at most 16/);
  });
});
