// The quality comparison on the real stories260K GGUF (from ../shared/models, skipped with a message when absent):
// this project and llama.cpp score a short prefix of the evaluation text within 1% perplexity and agree on greedy
// tokens; and the command names the files it needs.
import { readFileSync } from "node:fs";

import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import { describe, expect, it } from "vitest";

import { createLlamaCppQualityEngine } from "../src/llama-cpp-quality-engine.ts";
import { loadLlamaCpp } from "../src/llama-cpp-peer.ts";
import { createOurQualityEngine } from "../src/our-quality-engine.ts";
import { compareEngines } from "../src/quality-comparison.ts";
import { missingQualityInputs, missingQualityInputsMessage } from "../src/quality-models.ts";
import { missingFiles, sharedModelFiles, sharedModelFilesIn, sharedModelsDirectory } from "../src/shared-models.ts";

const missing = missingFiles([sharedModelFiles.stories260kGguf, sharedModelFiles.evaluationText]);
if (missing.length > 0) console.warn(`[peers-quality] stories260K comparison skipped: missing ${missing.join(", ")} (expected the shared tiny models in ${sharedModelsDirectory})`);
const llamaCpp = await loadLlamaCpp();
if (llamaCpp.llama === undefined) console.warn(`[peers-quality] stories260K comparison skipped: ${llamaCpp.reason}`);

describe.skipIf(missing.length > 0 || llamaCpp.llama === undefined)("stories260K: this project vs llama.cpp", () => {
  it("agrees within 1% perplexity on a prefix of the evaluation text, and on greedy tokens", async () => {
    const file = sharedModelFiles.stories260kGguf;
    const ours = createOurQualityEngine(file, 128);
    const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize: 128, vocabSize: ours.weights.config.vocabSize, threads: 1 });
    try {
      const tokenizer = tokenizerFromGgufMetadata(ours.weights.metadata);
      const tokens = tokenizer.encode(readFileSync(sharedModelFiles.evaluationText, "utf8").slice(0, 1500));
      const prompts = [{ text: "Once upon a time", tokens: tokenizer.encode("Once upon a time") }];
      const result = await compareEngines(ours, peer, tokens, ours.weights.config.vocabSize, prompts, { window: 128, stride: 64, greedyTokens: 48, perplexityTolerance: 0.01 });
      expect(result.predicted_tokens).toBe(tokens.length - 1);
      expect(Math.abs(result.perplexity_ratio - 1)).toBeLessThan(0.01);
      expect(result.top1_agreement).toBeGreaterThan(0.99);
      expect(result.greedy_agreement).toBe(1);
      expect(result.pass).toBe(true);
    } finally {
      await peer.close();
    }
  });
});

describe("peers-quality inputs", () => {
  it("names every missing file and where they are expected", () => {
    const directory = "/nonexistent/shared/models";
    const missing = missingQualityInputs(sharedModelFilesIn(directory));
    expect(missing).toContain(`${directory}/stories260K-gguf/stories260K.gguf`);
    expect(missing).toContain(`${directory}/tinystories-656k-hf/model.safetensors`);
    expect(missing).toContain(`${directory}/eval-text/tinystories_validation_head.txt`);
    const message = missingQualityInputsMessage(missing, directory);
    expect(message).toContain(`expected in ${directory}`);
    expect(message).toContain("tokenizer.json");
  });
});
