// The real tiny models in <repo>/../shared/models: stories260K as GGUF and as a llama2.c checkpoint (the same
// weights), and TinyStories-656K as a Hugging Face directory with tied embeddings. Skipped, with the missing paths
// printed, where the files are absent.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { convertSafetensorsToGguf, loadModelWeights, readGguf, readSafetensorsHeader, writeGguf } from "../src/index.ts";
import { expectSameTensor } from "../src/tiny-models/random-tensors.ts";
import { missingSharedFiles, sharedModelFiles } from "./helpers/shared-models.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("shared");

const storiesGgufMissing = missingSharedFiles([sharedModelFiles.stories260kGguf], "stories260K GGUF");
describe.skipIf(storiesGgufMissing.length > 0)("stories260K.gguf", () => {
  const file = sharedModelFiles.stories260kGguf;

  it("parses as GGUF v3 with 48 tensors and the tokenizer metadata", () => {
    const gguf = readGguf(file);
    expect(gguf.version).toBe(3);
    expect(gguf.tensors).toHaveLength(48);
    expect(gguf.metadata.get("general.architecture")).toBe("llama");
    const tokens = gguf.metadata.get("tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(512);
    expect(tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(gguf.metadata.get("tokenizer.ggml.scores")).toBeInstanceOf(Float32Array);
    expect(gguf.metadata.get("tokenizer.ggml.token_type")).toBeInstanceOf(Int32Array);
    expect(gguf.tensorInfo("token_embd.weight")).toMatchObject({ dimensions: [64, 512], shape: [512, 64], ggmlTypeName: "F32" });
    expect(gguf.tensorInfo("blk.0.ffn_down.weight")).toMatchObject({ dimensions: [172, 64], shape: [64, 172] });
  });

  it("loads as a Llama model: dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512, interleaved RoPE", () => {
    const weights = loadModelWeights(file);
    expect(weights.config).toEqual({
      hiddenSize: 64,
      intermediateSize: 172,
      layerCount: 5,
      headCount: 8,
      keyValueHeadCount: 4,
      headDim: 8,
      rotaryDim: 8,
      rmsNormEpsilon: Math.fround(1e-5),
      ropeTheta: 10000,
      ropeLayout: "interleaved",
      contextLength: 2048,
      vocabSize: 512,
      tiedEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(weights.tensors.get("model.layers.4.self_attn.k_proj.weight")!.shape).toEqual([32, 64]);
  });

  it("is rewritten byte for byte by writeGguf from its own metadata and tensors", () => {
    const gguf = readGguf(file);
    const copy = path.join(temporaryDirectory(), "copy.gguf");
    writeGguf(copy, { metadata: gguf.typedMetadata(), tensors: gguf.tensors.map((info) => ({ name: info.name, tensor: gguf.loadTensor(info.name) })) });
    expect(fs.readFileSync(copy).equals(fs.readFileSync(file))).toBe(true);
  });
});

const storiesBothMissing = missingSharedFiles([sharedModelFiles.stories260kGguf, sharedModelFiles.stories260kLlama2c], "stories260K llama2.c vs GGUF");
describe.skipIf(storiesBothMissing.length > 0)("stories260K.bin (llama2.c)", () => {
  it("holds the same weights and config as stories260K.gguf", () => {
    const fromBin = loadModelWeights(sharedModelFiles.stories260kLlama2c);
    const fromGguf = loadModelWeights(sharedModelFiles.stories260kGguf);
    expect(fromBin.config).toEqual({ ...fromGguf.config, rmsNormEpsilon: 1e-5, contextLength: 512, tiedEmbeddings: true });
    for (const name of [
      "model.embed_tokens.weight",
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.2.self_attn.k_proj.weight",
      "model.layers.4.mlp.down_proj.weight",
      "model.layers.3.post_attention_layernorm.weight",
      "model.norm.weight",
    ]) {
      expectSameTensor(fromBin.tensors.get(name)!, fromGguf.tensors.get(name)!, name);
    }
    for (const name of fromGguf.tensors.keys()) expectSameTensor(fromBin.tensors.get(name)!, fromGguf.tensors.get(name)!, name);
  });
});

const tinyStoriesMissing = missingSharedFiles([sharedModelFiles.tinyStories656kConfig, sharedModelFiles.tinyStories656kWeights], "TinyStories-656K");
describe.skipIf(tinyStoriesMissing.length > 0)("TinyStories-656K (Hugging Face)", () => {
  const directory = sharedModelFiles.tinyStories656kDirectory;

  it("stores 20 F32 tensors (21 header entries with __metadata__): lm_head.weight but no model.embed_tokens.weight", () => {
    const header = readSafetensorsHeader(sharedModelFiles.tinyStories656kWeights);
    expect(header.tensors).toHaveLength(20);
    expect(header.tensors.every((info) => info.storedDType === "F32")).toBe(true);
    expect(header.tensors.some((info) => info.name === "model.embed_tokens.weight")).toBe(false);
    expect(header.metadata["model.embed_tokens.weight"]).toBe("lm_head.weight");
  });

  it("loads 21 tensors with tied embeddings: the embedding is the stored lm_head.weight", () => {
    const weights = loadModelWeights(directory);
    expect(weights.config).toEqual({
      hiddenSize: 128,
      intermediateSize: 384,
      layerCount: 2,
      headCount: 8,
      keyValueHeadCount: 4,
      headDim: 16,
      rotaryDim: 16,
      rmsNormEpsilon: 1e-6,
      ropeTheta: 10000,
      ropeLayout: "half",
      contextLength: 512,
      vocabSize: 2048,
      tiedEmbeddings: true,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(weights.tensors.size).toBe(21);
    const embedding = weights.tensors.get("model.embed_tokens.weight")!;
    expect(embedding).toBe(weights.tensors.get("lm_head.weight"));
    expect(embedding.shape).toEqual([2048, 128]);
    expect(embedding.dtype).toBe("f32");
  });

  it("converts to GGUF (f32 and q8_0) that loads back as the same model", () => {
    const fromHf = loadModelWeights(directory, { ropeLayout: "interleaved" });
    const output = path.join(temporaryDirectory(), "tinystories-f32.gguf");
    convertSafetensorsToGguf(directory, output, { quant: "f32" });
    const fromGguf = loadModelWeights(output);
    expect(fromGguf.config).toEqual({ ...fromHf.config, rmsNormEpsilon: Math.fround(1e-6) });
    expect(fromGguf.tensors.size).toBe(21);
    for (const [name, tensor] of fromHf.tensors) expectSameTensor(fromGguf.tensors.get(name)!, tensor, name);

    const quantized = path.join(temporaryDirectory(), "tinystories-q8_0.gguf");
    convertSafetensorsToGguf(directory, quantized, { quant: "q8_0" });
    const fromQuantized = loadModelWeights(quantized);
    const quantizedOnLoad = loadModelWeights(directory, { ropeLayout: "interleaved", dtype: "q8_0" });
    for (const [name, tensor] of quantizedOnLoad.tensors) expectSameTensor(fromQuantized.tensors.get(name)!, tensor, name);
    expect(fs.statSync(quantized).size).toBeLessThan(fs.statSync(output).size / 3);
  });
});
