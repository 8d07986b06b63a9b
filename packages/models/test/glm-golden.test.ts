// The GLM architecture against THUDM's reference implementation: the golden hidden states of tiny one-layer GLM2,
// GLM3 and GLM4 models (../shared/models/chatglm-golden, skipped with a message when absent) are reproduced within
// 1e-5 by the shared decoder, loaded through the real THUDM checkpoint layout (safetensors), on both backends, over a
// dense cache (forward) and a paged cache (forwardBatch): a 3-token prefill, then two decode steps.

import { describe, expect, it } from "vitest";

import { createKernel, nativeAvailability, type BackendName } from "@infer-recipes/kernel";

import {
  LlamaModel,
  chatGlmGoldenDifferences,
  chatGlmGoldenFile,
  chatGlmGoldenModels,
  llamaRopeFrequencies,
  loadModelWeights,
  readChatGlmGolden,
  writeGlmHfModel,
} from "../src/index.ts";
import { chatGlmGoldenDirectory, missingSharedFiles } from "./helpers/shared-models.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const files = chatGlmGoldenModels.map((model) => chatGlmGoldenFile(chatGlmGoldenDirectory, model));
const missing = missingSharedFiles(files, "glm-golden");
const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const tolerance = 1e-5;

describe.skipIf(missing.length > 0)("GLM reproduces THUDM's reference hidden states", () => {
  const temporary = useTemporaryDirectories("glm-golden");
  for (const model of chatGlmGoldenModels) {
    for (const backend of backends) {
      it(`${model} on ${backend}: prefill of 3, then 2 decode steps, dense and paged caches`, () => {
        const golden = readChatGlmGolden(chatGlmGoldenFile(chatGlmGoldenDirectory, model), model);
        const directory = temporary();
        writeGlmHfModel(directory, golden.config, golden.tensors);
        const loaded = loadModelWeights(directory);
        expect(loaded.config).toMatchObject({ architecture: "chatglm", attentionBias: true, rotaryDim: 2, rmsNormEpsilon: golden.config.rmsNormEpsilon });
        const differences = chatGlmGoldenDifferences(LlamaModel.fromLoadedWeights(loaded, createKernel({ backend, threads: 2 })), golden);
        for (const difference of [...differences.dense, ...differences.paged]) expect(difference).toBeLessThan(tolerance);
      });
    }
  }

  it("fails when the rotary part, the bias or the epsilon is wrong (the comparison has teeth)", () => {
    const golden = readChatGlmGolden(chatGlmGoldenFile(chatGlmGoldenDirectory, "glm4"), "glm4");
    const kernel = createKernel({ backend: "reference" });
    const directory = temporary();
    writeGlmHfModel(directory, golden.config, golden.tensors);
    const loaded = loadModelWeights(directory);
    const worst = (config: typeof loaded.config, tensors = loaded.tensors) => {
      const model = LlamaModel.fromLoadedWeights({ ...loaded, config, tensors, ropeFrequencies: llamaRopeFrequencies(config) }, kernel);
      const differences = chatGlmGoldenDifferences(model, golden);
      return Math.max(...differences.dense, ...differences.paged);
    };
    expect(worst(loaded.config)).toBeLessThan(tolerance);
    expect(worst({ ...loaded.config, rotaryDim: 4 })).toBeGreaterThan(1e-3); // RoPE over the whole head instead of half
    expect(worst({ ...loaded.config, rmsNormEpsilon: 1e-5 })).toBeGreaterThan(tolerance); // GLM-4's epsilon matters (4e-5)
    expect(worst({ ...loaded.config, attentionBias: false })).toBeGreaterThan(1e-3);
  });
});
