// What the tiny GLM builders (tiny-models/tiny-glm.ts, tiny-glm4-tokenizer.ts, byte-level-tokenizer-json.ts) must
// write, read back through the package's loaders and the tokenizer package: THUDM's config.json field by field, the
// weight files in each format and shard count, the chatglm GGUF's name, the random weights' seed and dtype, and the
// tiny GLM-4 tokenizer — its vocabulary layout, tokenizer.json sections, tokenizer/generation configs, the tiktoken
// tokenizer.model lines and the GGUF metadata llama.cpp's converter writes.

import fs from "node:fs";
import path from "node:path";

import { byteLevelAlphabet, byteLevelEncode, GgufTokenType, glm4SpecialTokens, loadHfTokenizer, readGgufVocabulary, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import { describe, expect, it } from "vitest";

import {
  addedTokensJson,
  byteLevelTokenizerJson,
  expectedGlmTensorShapes,
  glmConfigJson,
  glm4TokenizerSteps,
  openPyTorchCheckpoint,
  openSafetensors,
  parseHfConfig,
  randomGlmTensors,
  readGguf,
  TINY_GLM4_CHAT_TEMPLATE,
  tinyGlm4GgufTokenizerMetadata,
  tinyGlm4Vocabulary,
  tinyGlmConfig,
  writeGlmGgufModel,
  writeGlmHfModel,
  writeTinyGlm4HfTokenizer,
  writeTinyGlm4TiktokenModel,
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

describe("the tiny GLM-4 tokenizer", () => {
  const vocabulary = tinyGlm4Vocabulary(400);
  const first = vocabulary.tokens.indexOf("<|endoftext|>");
  const special = (text: string) => first + glm4SpecialTokens.indexOf(text);

  it("lays out the 256 byte tokens, one token per merge, GLM-4's special tokens, then [PAD<id>] up to the size", () => {
    expect(vocabulary.tokens).toHaveLength(400);
    expect(vocabulary.tokens.slice(0, 256)).toEqual([...byteLevelAlphabet]);
    expect(first).toBe(256 + vocabulary.merges.length);
    vocabulary.merges.forEach((merge, rank) => expect(vocabulary.tokens[256 + rank], merge).toBe(merge.replace(" ", "")));
    expect(new Set(vocabulary.merges).size).toBe(vocabulary.merges.length);
    expect(vocabulary.tokens.slice(first, first + glm4SpecialTokens.length)).toEqual([...glm4SpecialTokens]);
    expect([...vocabulary.special]).toEqual(glm4SpecialTokens.map((text, index) => [text, first + index]));
    expect(vocabulary.tokens[first + glm4SpecialTokens.length]).toBe(`[PAD${first + glm4SpecialTokens.length}]`);
    expect(vocabulary.tokens[399]).toBe("[PAD399]");
    // Each word is merged left to right: " the" is Ġ+t, Ġt+h, Ġth+e.
    for (const word of [" the", "你好", "123", "\n\n", "    "]) expect(vocabulary.tokens).toContain(byteLevelEncode(new TextEncoder().encode(word)));
    expect(vocabulary.merges.slice(0, 3)).toEqual(["Ġ t", "Ġt h", "Ġth e"]);
    const size = first + glm4SpecialTokens.length;
    expect(tinyGlm4Vocabulary(size).tokens).toHaveLength(size);
    expect(() => tinyGlm4Vocabulary(size - 1)).toThrow(new RangeError(`tinyGlm4Vocabulary: needs vocabSize ≥ ${size}, got ${size - 1}`));
  });

  it("writes GLM-4's tokenizer.json steps, tokenizer_config.json and generation_config.json (a turn ends at <|endoftext|>, <|user|>, <|observation|>)", async () => {
    const directory = temporary();
    writeTinyGlm4HfTokenizer(directory, vocabulary);
    const json = readJson(path.join(directory, "tokenizer.json")) as Record<string, unknown>;
    expect(json).toEqual(byteLevelTokenizerJson(vocabulary, glm4TokenizerSteps, (token) => token.startsWith("[PAD")));
    expect(readJson(path.join(directory, "tokenizer_config.json"))).toEqual({
      chat_template: TINY_GLM4_CHAT_TEMPLATE, eos_token: "<|endoftext|>", pad_token: "<|endoftext|>", clean_up_tokenization_spaces: false, tokenizer_class: "PreTrainedTokenizerFast",
    });
    expect(readJson(path.join(directory, "generation_config.json"))).toEqual({ eos_token_id: [special("<|endoftext|>"), special("<|user|>"), special("<|observation|>")], pad_token_id: special("<|endoftext|>") });
    const tokenizer = await loadHfTokenizer(directory);
    expect(tokenizer.eosTokenIds.slice(0, 3)).toEqual([special("<|endoftext|>"), special("<|user|>"), special("<|observation|>")]);
    expect(tokenizer.encode("[gMASK]<sop><|user|>\n Hello world")).toEqual([special("[gMASK]"), special("<sop>"), special("<|user|>"), vocabulary.tokens.indexOf("Ċ"), vocabulary.tokens.indexOf("ĠHello"), vocabulary.tokens.indexOf("Ġworld")]);
    expect(tokenizer.encode("12345").map((id) => tokenizer.idToToken(id))).toEqual(["123", "4", "5"]);
    const gguf = tokenizerFromGgufMetadata(tinyGlm4GgufTokenizerMetadata(vocabulary));
    for (const text of ["你好，世界。", " the sea and the ship", "const x = f();\n\n    return 123"]) expect(gguf.encode(text, { addSpecialTokens: false }), text).toEqual(tokenizer.encode(text, { addSpecialTokens: false }));
  });

  it("writes tokenizer.model as tiktoken lines: base64 of each regular token's bytes and its id, no specials or padding", () => {
    const directory = temporary();
    writeTinyGlm4TiktokenModel(directory, vocabulary);
    const text = fs.readFileSync(path.join(directory, "tokenizer.model"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(first);
    const byteOf = new Map(byteLevelAlphabet.map((character, byte) => [character, byte]));
    lines.forEach((line, index) => {
      const [base64, id] = line.split(" ");
      expect(Number(id)).toBe(index);
      expect([...Buffer.from(base64, "base64")], line).toEqual(Array.from(vocabulary.tokens[index], (character) => byteOf.get(character)));
    });
    expect(lines[0]).toBe(`${Buffer.of(byteOf.get(byteLevelAlphabet[0])!).toString("base64")} 0`);
  });

  it("GGUF metadata: gpt2 / chatglm-bpe, specials control, padding unused, BOS [gMASK], EOS <|endoftext|>, EOT <|user|>, the template unless null", () => {
    const metadata = tinyGlm4GgufTokenizerMetadata(vocabulary);
    const uint32 = (value: number) => ({ type: "uint32", value });
    expect([...metadata.keys()]).toEqual([
      "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
      "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.chat_template",
    ]);
    expect(metadata.get("tokenizer.ggml.bos_token_id")).toEqual(uint32(special("[gMASK]")));
    expect(metadata.get("tokenizer.ggml.eos_token_id")).toEqual(uint32(special("<|endoftext|>")));
    expect(metadata.get("tokenizer.ggml.eot_token_id")).toEqual(uint32(special("<|user|>")));
    expect(metadata.get("tokenizer.ggml.unknown_token_id")).toEqual(uint32(special("<|endoftext|>")));
    expect(metadata.get("tokenizer.ggml.padding_token_id")).toEqual(uint32(special("<|endoftext|>")));
    expect(metadata.get("tokenizer.chat_template")).toBe(TINY_GLM4_CHAT_TEMPLATE);
    const read = readGgufVocabulary(metadata);
    expect(read).toMatchObject({ model: "gpt2", preTokenizer: "chatglm-bpe", tokens: vocabulary.tokens, merges: vocabulary.merges });
    const types = Array.from(read.tokenTypes);
    expect(types.slice(0, first).every((type) => type === GgufTokenType.normal)).toBe(true);
    expect(types.slice(first, first + glm4SpecialTokens.length).every((type) => type === GgufTokenType.control)).toBe(true);
    expect(types.slice(first + glm4SpecialTokens.length).every((type) => type === GgufTokenType.unused)).toBe(true);
    expect(types).toHaveLength(400);
    const withoutTemplate = tinyGlm4GgufTokenizerMetadata(vocabulary, null);
    expect(withoutTemplate.has("tokenizer.chat_template")).toBe(false);
    expect(withoutTemplate.size).toBe(10);
    expect(tinyGlm4GgufTokenizerMetadata(vocabulary, "t").get("tokenizer.chat_template")).toBe("t");
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
