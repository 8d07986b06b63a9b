// The converter's metadata and choices beyond convert.test.ts / convert-errors.test.ts: key_length / value_length
// only when the heads do not tile the hidden size, general.quantization_version only for quantized schemes, no EOS
// keys without EOS ids, add_bos_token only for GLM; llama3 rope factors with a low-frequency factor other than 1
// (checked against the loader's frequencies); config.json's special ids winning over tokenizer_config.json's;
// embedTokenizer: true with a tokenizer; a tied model storing neither matrix; a matrix stored with too few axes; the
// list of files in a missing-tensor message.

import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  convertHfModelToGguf,
  llamaGgufMetadata,
  loadModelWeights,
  glmTensorNames,
  randomGlmTensors,
  readGguf,
  tinyGlmConfig,
  writeGlmHfModel,
  writeTinyHfTokenizer,
  type LlamaConfig,
} from "../src/index.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "../src/tiny-models/tiny-llama.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("convert-metadata");

/** The keys and plain values of llamaGgufMetadata. */
function metadataOf(config: LlamaConfig, quant: Parameters<typeof llamaGgufMetadata>[2]): Map<string, unknown> {
  return new Map([...llamaGgufMetadata(config, "m", quant)].map(([key, value]) => [key, typeof value === "object" && value !== null && "value" in value ? value.value : value]));
}

describe("llamaGgufMetadata", () => {
  it("writes key_length and value_length only when headCount · headDim is not the hidden size", () => {
    const tiled = metadataOf(tinyLlamaConfig(), "f32"); // 4 heads of 8 = 32
    expect(tiled.has("llama.attention.key_length")).toBe(false);
    expect(tiled.has("llama.attention.value_length")).toBe(false);
    const wide = metadataOf(tinyLlamaConfig({ headDim: 16, rotaryDim: 16 }), "f32"); // 4 heads of 16 = 64 ≠ 32
    expect(wide.get("llama.attention.key_length")).toBe(16);
    expect(wide.get("llama.attention.value_length")).toBe(16);
  });

  it("writes general.quantization_version 2 for q8_0, q4_0 and q4_k_m only", () => {
    for (const quant of ["q8_0", "q4_0", "q4_k_m"] as const) expect(metadataOf(tinyLlamaConfig(), quant).get("general.quantization_version"), quant).toBe(2);
    for (const quant of ["f32", "f16", "bf16"] as const) expect(metadataOf(tinyLlamaConfig(), quant).has("general.quantization_version"), quant).toBe(false);
  });

  it("writes the EOS keys only when there are EOS ids, the first as tokenizer.ggml.eos_token_id", () => {
    const some = metadataOf(tinyLlamaConfig({ eosTokenIds: [7, 3] }), "f32");
    expect(some.get("tokenizer.ggml.eos_token_id")).toBe(7);
    expect(Array.from(some.get("infer_recipes.eos_token_ids") as Uint32Array)).toEqual([7, 3]);
    const none = metadataOf(tinyLlamaConfig({ eosTokenIds: [] }), "f32");
    expect(none.has("tokenizer.ggml.eos_token_id")).toBe(false);
    expect(none.has("infer_recipes.eos_token_ids")).toBe(false);
  });

  it("sets tokenizer.ggml.add_bos_token false for GLM only", () => {
    expect(metadataOf(tinyLlamaConfig(), "f32").has("tokenizer.ggml.add_bos_token")).toBe(false);
    expect(metadataOf(tinyGlmConfig(), "f32").get("tokenizer.ggml.add_bos_token")).toBe(false);
  });
});

describe("convertHfModelToGguf", () => {
  it("writes llama3 rope factors that give the loader's frequencies, with a low-frequency factor other than 1", () => {
    const scaling = { type: "llama3" as const, factor: 8, lowFrequencyFactor: 2, highFrequencyFactor: 8, originalMaxPositions: 64 };
    const config = tinyLlamaConfig({ ropeScaling: scaling, headDim: 16, rotaryDim: 16 });
    const directory = temporary();
    writeHfModel(directory, config, randomLlamaTensors(config, 6));
    const output = path.join(directory, "scaled.gguf");
    convertHfModelToGguf(directory, output, { quant: "f32" });
    const fromGguf = loadModelWeights(output).ropeFrequencies;
    const fromHf = loadModelWeights(directory).ropeFrequencies;
    expect(fromGguf.length).toBe(8);
    for (let index = 0; index < 8; index++) expect(Math.abs(fromGguf[index] / fromHf[index] - 1), `frequency ${index}`).toBeLessThan(1e-6);
    // wavelengths 2π·10000^(i/8): i = 0 below 64/8 (kept), i = 1 between (smoothed), i ≥ 2 above 64/2 (divided by 8)
    const factors = readGguf(output).loadTensor("rope_freqs.weight").data as Float32Array;
    expect(factors[0]).toBe(1);
    expect(factors[1]).toBeGreaterThan(1);
    expect(factors[1]).toBeLessThan(8);
    expect(Array.from(factors.subarray(2))).toEqual([8, 8, 8, 8, 8, 8]);
  });

  it("keeps config.json's special ids over tokenizer_config.json's, and embeds a tokenizer when asked", () => {
    const config = tinyLlamaConfig({ vocabSize: 400, bosTokenId: 5, eosTokenIds: [7] });
    const directory = temporary();
    writeHfModel(directory, config, randomLlamaTensors(config, 7));
    writeTinyHfTokenizer(directory, config.vocabSize); // <s> = 1, </s> = 2
    const output = path.join(directory, "ids.gguf");
    expect(convertHfModelToGguf(directory, output, { quant: "f32", embedTokenizer: true }).tokenizerEmbedded).toBe(true);
    const metadata = readGguf(output).metadata;
    expect(metadata.get("tokenizer.ggml.bos_token_id")).toBe(5);
    expect(metadata.get("tokenizer.ggml.eos_token_id")).toBe(7);
    expect(metadata.get("tokenizer.ggml.unknown_token_id")).toBe(0);
    expect((metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(400);
  });

  it("refuses a tied model that stores neither the embedding nor lm_head, naming the embedding", () => {
    const tied = tinyLlamaConfig({ tiedEmbeddings: true });
    const tensors = randomLlamaTensors(tied, 5);
    tensors.delete("model.embed_tokens.weight");
    tensors.delete("lm_head.weight");
    const directory = temporary();
    writeHfModel(directory, tied, tensors, { shards: 2 });
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${directory}: tensor "model.embed_tokens.weight": missing from the weights (${path.join(directory, "model-00001-of-00002.safetensors")}, ${path.join(directory, "model-00002-of-00002.safetensors")})`,
    );
  });

  it("refuses a matrix stored with fewer axes than config.json implies", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 4);
    tensors.set("model.layers.0.self_attn.q_proj.weight", Tensor.zeros("f32", [32]));
    const directory = temporary();
    writeHfModel(directory, config, tensors);
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${path.join(directory, "model.safetensors")}: tensor "model.layers.0.self_attn.q_proj.weight": shape [32] contradicts config.json: expected [headCount · headDim, hiddenSize] = [32, 32]`,
    );
  });

  it("lists a GLM checkpoint's files in a missing-tensor message", () => {
    const glm = tinyGlmConfig();
    const tensors = randomGlmTensors(glm, 2);
    tensors.delete(glmTensorNames.output);
    const directory = temporary();
    writeGlmHfModel(directory, glm, tensors, { shards: 2 });
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${directory}: tensor "transformer.output_layer.weight": missing from the weights (${path.join(directory, "model-00001-of-00002.safetensors")}, ${path.join(directory, "model-00002-of-00002.safetensors")})`,
    );
  });

  it("without a tokenizer writes exactly the model's metadata, reports progress over the tensor data, and lists what it wrote", () => {
    const scaling = { type: "llama3" as const, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 };
    const config = tinyLlamaConfig({ ropeScaling: scaling });
    const directory = temporary();
    writeHfModel(directory, config, randomLlamaTensors(config, 3));
    const output = path.join(directory, "plain.gguf");
    const progress: Array<[number, number]> = [];
    const result = convertHfModelToGguf(directory, output, { quant: "q8_0", name: "m", onProgress: (done, total) => progress.push([done, total]) });
    expect(result.tokenizerEmbedded).toBe(false);
    const gguf = readGguf(output);
    expect([...gguf.metadata.keys()].sort()).toEqual([...llamaGgufMetadata(result.config, "m", "q8_0").keys()].sort());
    const dataBytes = gguf.tensors.reduce((total, tensor) => total + tensor.byteLength, 0);
    expect(progress.at(-1)).toEqual([dataBytes, dataBytes]);
    expect(result.tensors.slice(0, 3)).toEqual([
      { name: "token_embd.weight", dtype: "q8_0", shape: [64, 32] },
      { name: "rope_freqs.weight", dtype: "f32", shape: [4] },
      { name: "blk.0.attn_norm.weight", dtype: "f32", shape: [32] },
    ]);
    expect(result.tensors.map((tensor) => tensor.name)).toEqual(gguf.tensors.map((tensor) => tensor.name));
  });
});
