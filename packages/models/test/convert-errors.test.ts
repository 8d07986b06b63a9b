// The converter's choices and refusals: an unknown scheme, a missing tensor (Llama and GLM), a shape that contradicts
// config.json, an embedTokenizer request without a tokenizer — each naming the file and tensor — and what it decides
// on its own: a tied model's token_embd from lm_head, general.name from the directory, EOS ids merged from
// generation_config.json, the tokenizer left out on request.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import {
  convertHfModelToGguf,
  ggufQuantizations,
  glmTensorNames,
  randomGlmTensors,
  readGguf,
  tinyGlmConfig,
  writeGlmHfModel,
  writeTinyHfTokenizer,
} from "../src/index.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "../src/tiny-models/tiny-llama.ts";
import { randomTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { errorOf } from "./helpers/model-file-error.ts";

const temporary = useTemporaryDirectories("convert-errors");
const config = tinyLlamaConfig();

describe("convertHfModelToGguf refuses", () => {
  it("an unknown scheme, naming the output and the schemes it knows", () => {
    const directory = temporary();
    writeHfModel(directory, config, randomLlamaTensors(config, 1));
    const output = path.join(directory, "out.gguf");
    expect(errorOf(() => convertHfModelToGguf(directory, output, { quant: "q5_k" as never })).message).toBe(
      `${output}: unknown quantization "q5_k" (expected ${ggufQuantizations.join(", ")})`,
    );
    expect(ggufQuantizations).toEqual(["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"]);
    expect(fs.existsSync(output)).toBe(false);
  });

  it("a missing Llama or GLM tensor, naming the directory, the tensor and the files read", () => {
    const directory = temporary();
    const tensors = randomLlamaTensors(config, 2);
    tensors.delete("model.layers.1.mlp.up_proj.weight");
    writeHfModel(directory, config, tensors);
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${directory}: tensor "model.layers.1.mlp.up_proj.weight": missing from the weights (${path.join(directory, "model.safetensors")})`,
    );
    const glmDirectory = temporary();
    const glm = tinyGlmConfig();
    const glmTensors = randomGlmTensors(glm, 2);
    glmTensors.delete(glmTensorNames.output);
    writeGlmHfModel(glmDirectory, glm, glmTensors);
    expect(errorOf(() => convertHfModelToGguf(glmDirectory, path.join(glmDirectory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${glmDirectory}: tensor "transformer.output_layer.weight": missing from the weights (${path.join(glmDirectory, "model.safetensors")})`,
    );
  });

  it("a GLM tensor whose shape contradicts config.json", () => {
    const directory = temporary();
    const glm = tinyGlmConfig();
    const tensors = randomGlmTensors(glm, 3);
    tensors.set(glmTensorNames.finalNorm, randomTensor("f32", [31], 1));
    writeGlmHfModel(directory, glm, tensors);
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32" })).message).toBe(
      `${path.join(directory, "model.safetensors")}: tensor "transformer.encoder.final_layernorm.weight": shape [31] contradicts config.json: expected the shape config.json implies = [32]`,
    );
    const wrongRank = temporary();
    tensors.set(glmTensorNames.finalNorm, randomTensor("f32", [32, 1], 1));
    writeGlmHfModel(wrongRank, glm, tensors);
    expect(errorOf(() => convertHfModelToGguf(wrongRank, path.join(wrongRank, "out.gguf"), { quant: "f32" })).message).toMatch(/shape \[32, 1\] contradicts config\.json: expected the shape config\.json implies = \[32\]$/);
  });

  it("embedTokenizer without a tokenizer in the directory", () => {
    const directory = temporary();
    writeHfModel(directory, config, randomLlamaTensors(config, 4));
    expect(errorOf(() => convertHfModelToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32", embedTokenizer: true })).message).toBe(
      `${directory}: embedTokenizer is set, but there is no tokenizer.json in this directory`,
    );
    const glmDirectory = temporary();
    const glm = tinyGlmConfig();
    writeGlmHfModel(glmDirectory, glm, randomGlmTensors(glm, 4));
    expect(errorOf(() => convertHfModelToGguf(glmDirectory, path.join(glmDirectory, "out.gguf"), { quant: "f32", embedTokenizer: true })).message).toBe(
      `${glmDirectory}: embedTokenizer is set, but there is no tokenizer.model or tokenizer.json in this directory`,
    );
  });
});

describe("convertHfModelToGguf decides", () => {
  it("takes a tied model's token_embd from lm_head when embed_tokens is not stored, and writes no output.weight", () => {
    const tied = tinyLlamaConfig({ tiedEmbeddings: true });
    const tensors = randomLlamaTensors(tied, 5);
    const embedding = tensors.get("model.embed_tokens.weight")!;
    tensors.delete("model.embed_tokens.weight");
    tensors.set("lm_head.weight", embedding);
    const directory = temporary();
    writeHfModel(directory, tied, tensors);
    const output = path.join(directory, "tied.gguf");
    const result = convertHfModelToGguf(directory, output, { quant: "f32" });
    expect(result.tensors.map((tensor) => tensor.name)).not.toContain("output.weight");
    expect(result.tensors[0]).toEqual({ name: "token_embd.weight", dtype: "f32", shape: [64, 32] });
    expect(readGguf(output).loadTensor("token_embd.weight").data).toEqual(embedding.data);
  });

  it("names the file after the directory (trailing slashes ignored) unless told, merges generation_config's EOS ids, and embeds the tokenizer unless told not to", () => {
    const parent = temporary();
    const directory = path.join(parent, "my-model");
    fs.mkdirSync(directory);
    const wide = tinyLlamaConfig({ vocabSize: 400, eosTokenIds: [2] });
    writeHfModel(directory, wide, randomLlamaTensors(wide, 6));
    writeTinyHfTokenizer(directory, wide.vocabSize);
    fs.writeFileSync(path.join(directory, "generation_config.json"), JSON.stringify({ eos_token_id: [2, 9] }));
    const output = path.join(parent, "named.gguf");
    const result = convertHfModelToGguf(`${directory}//`, output, { quant: "f32" });
    expect(result.tokenizerEmbedded).toBe(true);
    expect(result.config.eosTokenIds).toEqual([2, 9]);
    const gguf = readGguf(output);
    expect(gguf.metadata.get("general.name")).toBe("my-model");
    expect(Array.from(gguf.metadata.get("infer_recipes.eos_token_ids") as Uint32Array)).toEqual([2, 9]);
    expect(gguf.metadata.get("tokenizer.ggml.eos_token_id")).toBe(2);
    expect((gguf.metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(400);

    const bare = path.join(parent, "bare.gguf");
    const withoutTokenizer = convertHfModelToGguf(directory, bare, { quant: "f32", embedTokenizer: false, name: "given" });
    expect(withoutTokenizer.tokenizerEmbedded).toBe(false);
    const bareFile = readGguf(bare);
    expect(bareFile.metadata.get("general.name")).toBe("given");
    expect(bareFile.metadata.has("tokenizer.ggml.tokens")).toBe(false);
  });
});
