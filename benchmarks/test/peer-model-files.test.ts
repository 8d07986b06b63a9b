// The peer model file writer on a tiny shape: every format loads through this project's loader with the planned
// dtypes, and (where node-llama-cpp's prebuilt llama.cpp loads) llama.cpp reads the same file and computes the same
// logits as this project within rounding. The tiny case's real file: read from ../shared/models with its source, or
// skipped with a reason.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { compareLogits } from "@infer-recipes/harness";
import { loadModelWeights, readGguf, tinyChatGlmGgufTokenizerMetadata, tinyGlmConfig, tinyLlamaConfig } from "@infer-recipes/models";
import { afterAll, describe, expect, it } from "vitest";

import { createLlamaCppQualityEngine } from "../src/llama-cpp-quality-engine.ts";
import { loadLlamaCpp } from "../src/llama-cpp-peer.ts";
import { createOurQualityEngine } from "../src/our-quality-engine.ts";
import { ensurePeerModelFile, planPeerModelTensors, stories260kSha256, tinyModelSource, tinyPeerModelFile, writeRandomLlamaGguf, type PeerFormat } from "../src/peer-model-files.ts";
import { sharedModelFiles } from "../src/shared-models.ts";
import { syntheticByteLevelVocabulary } from "../src/synthetic-vocabulary.ts";

// Rows of 256 so the Q4_0 file's embedding can be Q6_K; tied embeddings as in Llama 3.2.
const config = tinyLlamaConfig({ hiddenSize: 256, intermediateSize: 512, headCount: 4, keyValueHeadCount: 2, headDim: 64, rotaryDim: 64, vocabSize: 512, contextLength: 256, tiedEmbeddings: true, bosTokenId: 510, eosTokenIds: [511] });
const vocabulary = syntheticByteLevelVocabulary(config.vocabSize);
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "peer-model-files-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

function write(format: PeerFormat): string {
  const file = path.join(directory, `tiny-${format}.gguf`);
  if (!fs.existsSync(file)) writeRandomLlamaGguf(file, config, format, { vocabulary: vocabulary.metadata, name: "tiny random" });
  return file;
}

describe("writeRandomLlamaGguf", () => {
  for (const format of ["f16", "bf16", "q8_0", "q4_0", "q4_k_m"] as const) {
    it(`writes a ${format} file this project loads, with the planned tensors and the vocabulary`, () => {
      const file = write(format);
      const gguf = readGguf(file);
      const planned = planPeerModelTensors(config, format);
      expect(gguf.tensors.map((tensor) => tensor.name)).toEqual(planned.map((tensor) => tensor.name));
      expect(gguf.tensors.map((tensor) => tensor.dtype)).toEqual(planned.map((tensor) => tensor.dtype));
      expect((gguf.metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(512);
      const weights = loadModelWeights(file);
      expect(weights.config).toMatchObject({ hiddenSize: 256, headDim: 64, layerCount: 2, vocabSize: 512, tiedEmbeddings: true });
      expect(weights.tensors.get("model.embed_tokens.weight")!.dtype).toBe(format === "q4_0" || format === "q4_k_m" ? "q6_k" : format);
      // Q4_K_M: layer 1 of 2 is among use_more_bits' layers, so its ffn_down is Q6_K.
      expect(weights.tensors.get("model.layers.1.mlp.down_proj.weight")!.dtype).toBe(format === "q4_k_m" ? "q6_k" : format);
      expect(weights.tensors.get("model.layers.0.mlp.down_proj.weight")!.dtype).toBe(format === "q4_k_m" ? "q4_k" : format);
    });
  }

  it("is deterministic: the same file twice", () => {
    const again = path.join(directory, "tiny-q8_0-again.gguf");
    writeRandomLlamaGguf(again, config, "q8_0", { vocabulary: vocabulary.metadata, name: "tiny random" });
    expect(fs.readFileSync(again).equals(fs.readFileSync(write("q8_0")))).toBe(true);
  });

  it("skips with a reason instead of filling the disk", () => {
    const result = ensurePeerModelFile("3b", "f16", { vocabulary: vocabulary.metadata, vocabularyKind: "synthetic", directory, diskMargin: Number.MAX_SAFE_INTEGER });
    expect(result).toHaveProperty("skipped");
    expect((result as { skipped: string }).skipped).toMatch(/needs 6\.4 GB but only .* GB is free/);
  });
});

const llamaCpp = await loadLlamaCpp();
if (llamaCpp.llama === undefined) console.warn(`[peer-model-files] llama.cpp cross-check skipped: ${llamaCpp.reason}`);

// Measured: KL ≈ 3e-8 at F16 (llama.cpp keeps its KV cache in f16), ≈ 1e-5 at Q8_0 and Q4_0 (both engines quantize
// activations to 8 bits, rounding slightly differently); a wrongly written tensor gives differences of order 1.
const limits = { f16: { kl: 1e-6, abs: 0.01 }, bf16: { kl: 1e-5, abs: 0.02 }, q8_0: { kl: 1e-4, abs: 0.1 }, q4_0: { kl: 1e-4, abs: 0.1 }, q4_k_m: { kl: 1e-4, abs: 0.1 } };

describe.skipIf(llamaCpp.llama === undefined)("the same file in llama.cpp", () => {
  for (const format of ["f16", "bf16", "q8_0", "q4_0", "q4_k_m"] as const) {
    it(`${format}: llama.cpp's logits match this project's`, async () => {
      const file = write(format);
      const ours = createOurQualityEngine(file, 64);
      const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize: 64, vocabSize: 512, threads: 1 });
      try {
        const tokens = Int32Array.from({ length: 24 }, (_, index) => (index === 0 ? 510 : (index * 37) % 500));
        const comparison = compareLogits(await peer.windowLogits(tokens, 0), await ours.windowLogits(tokens, 0), 512);
        expect(comparison.positions).toBe(23);
        expect(comparison.meanKlDivergence).toBeLessThan(limits[format].kl);
        expect(comparison.maxAbsDiff).toBeLessThan(limits[format].abs);
        expect(comparison.top1Agreement).toBeGreaterThanOrEqual(0.9);
        console.log(`[peer-model-files] ${format}: KL ${comparison.meanKlDivergence.toExponential(2)}, max |Δlogit| ${comparison.maxAbsDiff.toExponential(2)}`);
      } finally {
        await peer.close();
      }
    });
  }
});

// The chatglm architecture at a toy size with ChatGLM3-6B's head size (128, RoPE on 64): fused attn_qkv with its bias,
// fused ffn_up, untied output (Q6_K in the Q4_0 and Q4_K_M files; Q4_K_M also puts attn_qkv in Q6_K).
const glmConfig = tinyGlmConfig({ hiddenSize: 256, headCount: 2, keyValueHeadCount: 1, headDim: 128, rotaryDim: 64, intermediateSize: 512, vocabSize: 512, contextLength: 256 });
// Random weights make the logits nearly uniform, so the KL limits are tight: with the right code KL is 1.3e-8 (F16),
// 2.0e-6 (Q8_0), 2.8e-6 (Q4_0), 3.0e-6 (Q4_K_M); with RoPE rotating halves instead of adjacent pairs it was 5.6e-6, 9.8e-6, 1.1e-5.
const glmKlLimit: Partial<Record<PeerFormat, number>> = { f16: 1e-6, q8_0: 5e-6, q4_0: 6e-6, q4_k_m: 6e-6 };

describe.skipIf(llamaCpp.llama === undefined)("a chatglm file in llama.cpp", () => {
  for (const format of ["f16", "q8_0", "q4_0", "q4_k_m"] as const) {
    it(`${format}: llama.cpp's logits match this project's`, async () => {
      const file = path.join(directory, `tiny-chatglm-${format}.gguf`);
      writeRandomLlamaGguf(file, glmConfig, format, { vocabulary: tinyChatGlmGgufTokenizerMetadata(512), name: "tiny random chatglm" });
      expect(readGguf(file).tensorInfo("output.weight")!.ggmlTypeName).toBe(format === "q4_0" || format === "q4_k_m" ? "Q6_K" : format.toUpperCase());
      const ours = createOurQualityEngine(file, 64);
      expect(ours.weights.config).toMatchObject({ architecture: "chatglm", attentionBias: true, rotaryDim: 64 });
      const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize: 64, vocabSize: 512, threads: 1 });
      try {
        const tokens = Int32Array.from({ length: 24 }, (_, index) => (index * 37) % 500);
        const comparison = compareLogits(await peer.windowLogits(tokens, 0), await ours.windowLogits(tokens, 0), 512);
        console.log(`[peer-model-files] chatglm ${format}: KL ${comparison.meanKlDivergence.toExponential(2)}`);
        expect(comparison.meanKlDivergence).toBeLessThan(glmKlLimit[format]!);
        expect(comparison.top1Agreement).toBeGreaterThanOrEqual(0.9);
      } finally {
        await peer.close();
      }
    });
  }
});

describe("tinyPeerModelFile", () => {
  it("skips with the missing file's path and where it comes from", () => {
    const missing = path.join(directory, "absent", "stories260K.gguf");
    expect(tinyPeerModelFile(missing)).toEqual({ skipped: `the tiny case's model ${missing} is missing (stories260K comes from ../shared/models beside the repository; see its PROVENANCE.md)` });
  });

  it("names the source and says whether the file is the published one", () => {
    expect(tinyModelSource(stories260kSha256)).toBe(
      "real weights, not written by this run: stories260K (Karpathy's llama2.c tinyllamas, MIT; ~260K parameters, F32), ggml-org's tinyllamas/stories260K.gguf as vendored by GitHub cozy-creator/python-gen-worker (../shared/models/PROVENANCE.md); sha256 270cba1bd510…, the published file's",
    );
    expect(tinyModelSource("0".repeat(64))).toMatch(/; sha256 000000000000…, NOT the published file's 270cba1bd510…$/);
  });

  it.skipIf(!fs.existsSync(sharedModelFiles.stories260kGguf))("reads stories260K from ../shared/models as an F32 file, not written", () => {
    const file = tinyPeerModelFile();
    expect(file).toMatchObject({ path: sharedModelFiles.stories260kGguf, format: "f32", bytes: 1_185_376, reused: true, embeddingDType: "f32" });
    if ("skipped" in file) return;
    expect(file.config).toMatchObject({ hiddenSize: 64, layerCount: 5, headCount: 8, keyValueHeadCount: 4, vocabSize: 512 });
    expect(file.madeBy).toMatch(/sha256 270cba1bd510…, the published file's$/);
  });
});
