// What the tiny GLM builders (tiny-models/tiny-glm.ts, byte-level-tokenizer-json.ts) must write, read back through
// the package's loaders: THUDM's config.json field by field, the weight files in each format and shard count, the
// chatglm GGUF's name, the random weights' seed and dtype, the byte-level tokenizer.json, and the ChatGLM golden
// helpers. The tiny GLM-4 tokenizer has its own file, tiny-glm4-tokenizer.test.ts.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import {
  addedTokensJson,
  byteLevelTokenizerJson,
  expectedGlmTensorShapes,
  glmConfigJson,
  openPyTorchCheckpoint,
  openSafetensors,
  parseHfConfig,
  randomGlmTensors,
  readGguf,
  tinyGlmConfig,
  writeGlmGgufModel,
  writeGlmHfModel,
} from "../src/index.ts";
import { createKernel } from "@infer-recipes/kernel";

import { LlamaModel, llamaRopeFrequencies, loadModelWeights } from "../src/index.ts";
import { chatGlmGoldenDifferences, chatGlmGoldenFile, maxAbsDifference, readChatGlmGolden } from "../src/tiny-models/chatglm-golden.ts";
import { expectSameTensor, randomTensor } from "../src/tiny-models/random-tensors.ts";
import { chatGlmGoldenDirectory, missingSharedFiles } from "./helpers/shared-models.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("tiny-glm-builders");
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, "utf8"));

describe("tiny GLM config and config.json", () => {
  it("tinyGlmConfig: ChatGLM's architecture, q/k/v bias, RoPE on half of each head in the interleaved layout, untied, EOS 2", () => {
    expect(tinyGlmConfig()).toEqual({
      architecture: "chatglm", attentionBias: true, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 8, rotaryDim: 4,
      rmsNormEpsilon: 1e-5, ropeTheta: 10000, ropeLayout: "interleaved", contextLength: 128, vocabSize: 64, tiedEmbeddings: false, eosTokenIds: [2],
    });
    expect(tinyGlmConfig({ headDim: 16 })).toMatchObject({ headDim: 16, rotaryDim: 8 });
  });

  it("glmConfigJson: THUDM's ChatGLMModel fields, read back by parseHfConfig to the same config", () => {
    const config = tinyGlmConfig();
    expect(glmConfigJson(config)).toEqual({
      architectures: ["ChatGLMModel"], model_type: "chatglm", add_bias_linear: false, add_qkv_bias: true, apply_residual_connection_post_layernorm: false,
      ffn_hidden_size: 48, hidden_size: 32, kv_channels: 8, layernorm_epsilon: 1e-5, multi_query_attention: true, multi_query_group_num: 2, num_attention_heads: 4,
      num_layers: 2, original_rope: true, padded_vocab_size: 64, post_layer_norm: true, rmsnorm: true, rope_ratio: 1, seq_length: 128, tie_word_embeddings: false,
      torch_dtype: "float32", eos_token_id: 2, pad_token_id: 0,
    });
    expect(parseHfConfig(glmConfigJson(config), "config.json")).toEqual(config);
  });

  it("glmConfigJson: no multi-query attention when every head has its own K/V, several EOS ids as a list, no q/k/v bias when absent", () => {
    expect(glmConfigJson(tinyGlmConfig({ keyValueHeadCount: 4, eosTokenIds: [2, 7], ropeTheta: 50000 }))).toMatchObject({ multi_query_attention: false, multi_query_group_num: 4, eos_token_id: [2, 7], rope_ratio: 5 });
    expect(glmConfigJson(tinyGlmConfig({ attentionBias: undefined })).add_qkv_bias).toBe(false);
  });
});

describe("randomGlmTensors", () => {
  it.each(["f32", "f16"] as const)("tensor k of the config's list is drawn from seed·1000 + k at scale 0.5, vectors f32, matrices %s", (matrixDType) => {
    const config = tinyGlmConfig();
    const tensors = randomGlmTensors(config, 3, matrixDType);
    const shapes = [...expectedGlmTensorShapes(config)];
    expect([...tensors.keys()]).toEqual(shapes.map(([name]) => name));
    shapes.forEach(([name, shape], index) => expectSameTensor(tensors.get(name), randomTensor(shape.length === 1 ? "f32" : matrixDType, shape, 3000 + index, 0.5), name));
  });
});

describe("writeGlmHfModel", () => {
  const config = tinyGlmConfig();
  const tensors = randomGlmTensors(config, 1);

  it.each([
    [{}, ["config.json", "model.safetensors"]],
    [{ shards: 1 }, ["config.json", "model.safetensors"]],
    [{ shards: 2 }, ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]],
    [{ format: "pytorch" }, ["config.json", "pytorch_model.bin"]],
    [{ format: "pytorch", shards: 1 }, ["config.json", "pytorch_model.bin"]],
    [{ format: "pytorch", shards: 2 }, ["config.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json"]],
  ] as const)("%o writes %o, every tensor back unchanged", (options, files) => {
    const directory = temporary();
    writeGlmHfModel(directory, config, tensors, options);
    expect(fs.readdirSync(directory).sort()).toEqual([...files]);
    expect(readJson(path.join(directory, "config.json"))).toEqual(glmConfigJson(config));
    const archive = "format" in options ? openPyTorchCheckpoint(directory) : openSafetensors(directory);
    if (!("format" in options)) expect(archive.metadata).toEqual({ format: "pt" });
    const loaded = archive.loadTensors();
    for (const [name, tensor] of tensors) expectSameTensor(loaded.get(name), tensor, name);
  });
});

describe("writeGlmGgufModel", () => {
  const config = tinyGlmConfig();
  const tensors = randomGlmTensors(config, 1);

  it("names the file \"tiny-glm\" unless told, sets the file type from quant, and adds the extra metadata", () => {
    const directory = temporary();
    writeGlmGgufModel(path.join(directory, "a.gguf"), config, tensors);
    const plain = readGguf(path.join(directory, "a.gguf"));
    expect([plain.metadata.get("general.name"), plain.metadata.get("general.architecture"), plain.metadata.get("general.file_type")]).toEqual(["tiny-glm", "chatglm", 0]);
    writeGlmGgufModel(path.join(directory, "b.gguf"), config, tensors, new Map([["tokenizer.ggml.model", "gpt2"]]), { name: "other", quant: "f16" });
    const named = readGguf(path.join(directory, "b.gguf"));
    expect([named.metadata.get("general.name"), named.metadata.get("general.file_type"), named.metadata.get("tokenizer.ggml.model")]).toEqual(["other", 1, "gpt2"]);
  });

  it("refuses a tensor that has no GLM name, naming it", () => {
    const file = path.join(temporary(), "bad.gguf");
    expect(() => writeGlmGgufModel(file, config, new Map([...tensors, ["model.layers.0.mlp.up_proj.weight", tensors.values().next().value!]]))).toThrow(
      new Error("writeGlmGgufModel: model.layers.0.mlp.up_proj.weight is not a GLM tensor name"),
    );
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("tokenizer.json of a byte-level vocabulary", () => {
  const vocabulary = { tokens: ["a", "b", "ab", "<s>", "[PAD4]"], merges: ["a b"], special: new Map([["<s>", 3]]) };

  it("added tokens are whole, unnormalized special tokens", () => {
    expect(addedTokensJson(new Map([["<s>", 3], ["</s>", 7]]))).toEqual([
      { id: 3, content: "<s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 7, content: "</s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ]);
  });

  it("writes version 1.0, the steps given, a ByteLevel decoder and the BPE model; fillers and specials stay out of the vocab", () => {
    const steps = { preTokenizer: { type: "ByteLevel" }, postProcessor: null };
    expect(byteLevelTokenizerJson(vocabulary, steps, (token) => token.startsWith("[PAD"))).toEqual({
      version: "1.0", truncation: null, padding: null, added_tokens: addedTokensJson(vocabulary.special), normalizer: null, pre_tokenizer: { type: "ByteLevel" }, post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b"] },
    });
    expect((byteLevelTokenizerJson(vocabulary, steps) as { model: { vocab: unknown } }).model.vocab).toEqual({ a: 0, b: 1, ab: 2, "[PAD4]": 4 });
  });
});

describe("the ChatGLM golden helpers", () => {
  it("maxAbsDifference: the largest |a − b|, Infinity when the lengths differ", () => {
    expect(maxAbsDifference([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(maxAbsDifference([1, 2], [1])).toBe(Infinity);
    expect(maxAbsDifference([1], [1, 2])).toBe(Infinity);
    expect(maxAbsDifference([], [])).toBe(0);
  });

  const golden = chatGlmGoldenFile(chatGlmGoldenDirectory, "glm4");
  it.skipIf(missingSharedFiles([golden], "tiny-glm-builders").length > 0)("readChatGlmGolden refuses a file longer than the golden layout, naming both sizes", () => {
    const bytes = fs.readFileSync(golden);
    const longer = path.join(temporary(), "glm4_model.data");
    fs.writeFileSync(longer, Buffer.concat([bytes, Buffer.alloc(4)]));
    expect(() => readChatGlmGolden(longer, "glm4")).toThrow(new Error(`${longer}: ${bytes.length + 4} bytes, but the golden layout holds ${bytes.length}: not a ChatGLM golden file`));
    expect(readChatGlmGolden(golden, "glm4").steps.map((step) => step.tokens.length)).toEqual([3, 1, 1]);
  });

  it.skipIf(missingSharedFiles([golden], "tiny-glm-builders").length > 0)("chatGlmGoldenDifferences: three steps per cache; the paged prefill counts its worst row, as the dense one does", () => {
    const read = readChatGlmGolden(golden, "glm4");
    const directory = temporary();
    writeGlmHfModel(directory, read.config, read.tensors);
    const loaded = loadModelWeights(directory);
    const wrong = { ...loaded.config, rotaryDim: 4 }; // every row off, by different amounts
    const model = LlamaModel.fromLoadedWeights({ ...loaded, config: wrong, ropeFrequencies: llamaRopeFrequencies(wrong) }, createKernel({ backend: "reference" }));
    const differences = chatGlmGoldenDifferences(model, read);
    expect(differences.dense).toHaveLength(3);
    expect(differences.paged).toHaveLength(3);
    expect(differences.dense[0]).toBeGreaterThan(1e-4);
    expect(differences.paged[0]).toBeCloseTo(differences.dense[0], 5);
  });
});
