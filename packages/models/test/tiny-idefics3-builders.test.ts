// What the tiny Idefics3 / SmolVLM builders (tiny-models/tiny-idefics3.ts, tiny-smolvlm-tokenizer.ts) must write,
// read back through this package's own loaders and the tokenizer package: config.json and preprocessor_config.json
// with the fields transformers reads, the processor and generation configs, the safetensors names, the mmproj's
// name and processor keys, the random vision weights (scale and dtype per kind, seeded per tensor), and the SmolVLM
// tokenizer — its special and image token ids, pre-tokenizer, tokenizer_config and chat template, in both the
// Hugging Face files and the GGUF metadata.

import fs from "node:fs";
import path from "node:path";

import { dequantizeTensor, quantizeTensor, type DType, type Tensor } from "@infer-recipes/kernel";
import { GgufTokenType, loadChatTemplate, loadHfTokenizer, readGgufVocabulary, renderChatTemplate, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import { beforeEach, describe, expect, it } from "vitest";

import {
  expectedIdefics3VisionShapes,
  idefics3VisionTensorNames,
  loadIdefics3HfModel,
  loadMmprojGguf,
  openSafetensors,
  parseIdefics3Config,
  randomIdefics3Tensors,
  randomIdefics3VisionTensors,
  readGguf,
  tinyIdefics3Config,
  writeIdefics3GgufPair,
  writeIdefics3HfModel,
} from "../src/index.ts";
import { expectSameTensor, randomValues } from "../src/tiny-models/random-tensors.ts";
import { idefics3ConfigJson, idefics3PreprocessorJson } from "../src/tiny-models/tiny-idefics3.ts";
import { SMOLVLM_CHAT_TEMPLATE, tinySmolVlmGgufTokenizerMetadata, tinySmolVlmVocabulary, writeTinySmolVlmHfTokenizer } from "../src/tiny-models/tiny-smolvlm-tokenizer.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("tiny-idefics3-builders");
// Built before each test, not while the file is collected nor once in beforeAll: StrykerJS switches its mutant on
// when the tests start and counts only what runs in a test or its beforeEach as that test's coverage, so a builder
// run earlier is never checked against its mutants.
let model: ReturnType<typeof tinyIdefics3Config>;
beforeEach(() => {
  model = tinyIdefics3Config();
});
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, "utf8"));

// The vocabulary's layout: 3 leading specials, the 256 byte-level symbols (ids 3..258), the 11 merges' results
// (259..269), then <fake_token_around_image>, <image>, <global-img>, <end_of_utterance> and <row_r_col_c> (270..289).
const ids = { endOfText: 0, imStart: 1, imEnd: 2, newlines: 259, spaceThe: 263, fake: 270, image: 271, globalImage: 272, endOfUtterance: 273, row1col1: 274, row4col4: 289 };

describe("tiny Idefics3 config files, as transformers reads them", () => {
  it("config.json: Idefics3ForConditionalGeneration with the text and vision configs, read back by parseIdefics3Config", () => {
    const json = idefics3ConfigJson(model);
    expect(json).toMatchObject({ architectures: ["Idefics3ForConditionalGeneration"], model_type: "idefics3", image_token_id: ids.image, scale_factor: 2, tie_word_embeddings: false, torch_dtype: "float32" });
    expect(json.vision_config).toEqual({
      model_type: "idefics3_vision", hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, image_size: 32, patch_size: 8,
      layer_norm_eps: 1e-6, hidden_act: "gelu_pytorch_tanh", num_channels: 3,
    });
    expect(json.text_config).toMatchObject({
      architectures: ["VLlama3ForCausalLM"], model_type: "llama", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, rope_theta: 100000, rms_norm_eps: 1e-5, max_position_embeddings: 512, vocab_size: 320, bos_token_id: ids.imStart, eos_token_id: ids.endOfUtterance, torch_dtype: "float32",
    });
    const parsed = parseIdefics3Config(json, "config.json");
    expect(parsed.vision).toEqual(model.vision);
    expect(parsed.imageTokenId).toBe(ids.image);
    expect(parsed.text).toMatchObject({ hiddenSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 16, vocabSize: 320, bosTokenId: ids.imStart, eosTokenIds: [ids.endOfUtterance], tiedEmbeddings: false });
  });

  it("preprocessor_config.json: SmolVLM's processor fields at the tiny sizes (1/255 rescale, mean and std 0.5, tile 32, longest edge 64)", () => {
    expect(idefics3PreprocessorJson(model)).toEqual({
      do_convert_rgb: true, do_image_splitting: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
      image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], image_processor_type: "Idefics3ImageProcessor",
      max_image_size: { longest_edge: 32 }, processor_class: "Idefics3Processor", resample: 1, rescale_factor: 1 / 255, size: { longest_edge: 64 },
    });
    expect(idefics3PreprocessorJson(tinyIdefics3Config({ longestEdge: 96, vision: { imageSize: 16 } }))).toMatchObject({ max_image_size: { longest_edge: 16 }, size: { longest_edge: 96 } });
  });

  it("the Hugging Face directory: generation and processor configs, tensors under model.text_model. / lm_head.weight / the vision names, loaded back unchanged", () => {
    const directory = temporary();
    const tensors = randomIdefics3Tensors(model, 3);
    writeIdefics3HfModel(directory, model, tensors);
    expect(readJson(path.join(directory, "config.json"))).toEqual(idefics3ConfigJson(model));
    expect(readJson(path.join(directory, "preprocessor_config.json"))).toEqual(idefics3PreprocessorJson(model));
    expect(readJson(path.join(directory, "generation_config.json"))).toEqual({ bos_token_id: ids.imStart, eos_token_id: ids.endOfUtterance });
    // image_seq_len: (32 / 8 / 2)² = 4 language-model tokens per tile.
    expect(readJson(path.join(directory, "processor_config.json"))).toEqual({ image_seq_len: 4, processor_class: "Idefics3Processor" });
    expect(readJson(path.join(tinyDirectoryOf(tinyIdefics3Config({ vision: { imageSize: 64 } })), "processor_config.json"))).toEqual({ image_seq_len: 16, processor_class: "Idefics3Processor" });
    const names = [...openSafetensors(directory).tensors.keys()].sort();
    const expected = [
      ...[...tensors.text.keys()].map((name) => (name === "lm_head.weight" ? name : `model.text_model.${name.slice("model.".length)}`)),
      ...tensors.vision.keys(),
    ].sort();
    expect(names).toEqual(expected);
    expect(names).toContain("lm_head.weight");
    expect(names).toContain("model.text_model.embed_tokens.weight");
    const loaded = loadIdefics3HfModel(directory);
    expect(loaded.imageTokenId).toBe(ids.image);
    for (const [name, tensor] of tensors.text) expectSameTensor(loaded.text.tensors.get(name), tensor, name);
  });

  it("the GGUF pair: the mmproj is named \"tiny idefics3\" and carries the processor settings; the text file carries the tokenizer metadata", () => {
    const directory = temporary();
    const textFile = path.join(directory, "text.gguf");
    const mmprojFile = path.join(directory, "mmproj.gguf");
    writeIdefics3GgufPair(textFile, mmprojFile, model, randomIdefics3Tensors(model, 3), { chatTemplate: "{{ 'custom' }}" });
    const mmproj = readGguf(mmprojFile);
    expect(mmproj.metadata.get("general.name")).toBe("tiny idefics3");
    expect(mmproj.metadata.get("clip.vision.preproc_image_size")).toBe(64);
    expect(Array.from(mmproj.metadata.get("clip.vision.image_mean") as Float32Array)).toEqual([0.5, 0.5, 0.5]);
    expect(loadMmprojGguf(mmprojFile).config).toEqual({ ...model.vision, layerNormEpsilon: Math.fround(1e-6) }); // stored as f32
    const text = readGguf(textFile);
    expect(text.metadata.get("tokenizer.chat_template")).toBe("{{ 'custom' }}");
    expect(text.metadata.get("tokenizer.ggml.eos_token_id")).toBe(ids.endOfUtterance);
  });
});

function tinyDirectoryOf(config: ReturnType<typeof tinyIdefics3Config>): string {
  const directory = temporary();
  writeIdefics3HfModel(directory, config, randomIdefics3Tensors(config, 1));
  return directory;
}

describe("random Idefics3 vision weights", () => {
  /** The scale each kind of tensor is drawn with: vectors 0.2 (norm weights then shifted by 1), position embeddings
   *  0.5, matrices 1.5/√columns; vectors, position and patch embeddings stay f32 whatever the matrix dtype. */
  function expectedVisionTensor(name: string, shape: readonly number[], seed: number, matrixDType: DType): { dtype: DType; shape: number[]; values: Float32Array } {
    const isVector = shape.length === 1;
    const isNorm = /layer_norm[12]\.weight$/.test(name) || name === idefics3VisionTensorNames.postNormWeight;
    const isPosition = name === idefics3VisionTensorNames.positionEmbedding;
    const isPatch = name === idefics3VisionTensorNames.patchEmbedding;
    const scale = isVector ? 0.2 : isPosition ? 0.5 : 1.5 / Math.sqrt(shape[1]);
    const values = randomValues(shape.reduce((a, b) => a * b, 1), seed, scale);
    if (isNorm) for (let index = 0; index < values.length; index++) values[index] += 1;
    return { dtype: isVector || isPosition || isPatch ? "f32" : matrixDType, shape: isPatch ? [shape[0], 3, 8, 8] : [...shape], values };
  }

  it.each(["f32", "f16"] as const)("tensor k of the config's list is drawn from seed·1000 + k at its kind's scale (matrices in %s)", (matrixDType) => {
    const tensors = randomIdefics3VisionTensors(model.vision, 5, matrixDType);
    const shapes = [...expectedIdefics3VisionShapes(model.vision)];
    expect([...tensors.keys()]).toEqual(shapes.map(([name]) => name));
    shapes.forEach(([name, shape], index) => {
      const expected = expectedVisionTensor(name, shape, 5000 + index, matrixDType);
      const tensor = tensors.get(name)!;
      expect([tensor.dtype, tensor.shape], name).toEqual([expected.dtype, expected.shape]);
      const expectedTensor = quantizeTensor(expected.dtype, expected.shape, expected.values);
      expectSameTensor(tensor, expectedTensor, name);
    });
  });

  it("norm weights sit around 1, biases within ±0.2, matrices within 1.5/√columns (activations stay O(1))", () => {
    const tensors = randomIdefics3VisionTensors(model.vision, 2);
    const range = (tensor: Tensor) => {
      const values = dequantizeTensor(tensor);
      return [Math.min(...values), Math.max(...values)];
    };
    for (const name of [idefics3VisionTensorNames.postNormWeight, "model.vision_model.encoder.layers.1.layer_norm1.weight", "model.vision_model.encoder.layers.0.layer_norm2.weight"]) {
      const [low, high] = range(tensors.get(name)!);
      expect(low, name).toBeGreaterThanOrEqual(0.8);
      expect(high, name).toBeLessThan(1.2);
    }
    const [biasLow, biasHigh] = range(tensors.get("model.vision_model.encoder.layers.0.layer_norm1.bias")!);
    expect(biasLow).toBeGreaterThanOrEqual(-0.2);
    expect(biasHigh).toBeLessThan(0.2);
    const [fcLow, fcHigh] = range(tensors.get("model.vision_model.encoder.layers.0.mlp.fc2.weight")!); // 96 columns
    expect(Math.max(-fcLow, fcHigh)).toBeLessThan(1.5 / Math.sqrt(96));
    expect(Math.max(-fcLow, fcHigh)).toBeGreaterThan(0.9 * (1.5 / Math.sqrt(96)));
  });

  it("randomIdefics3Tensors: the text side from the seed, the vision side from seed + 1", () => {
    const both = randomIdefics3Tensors(model, 4);
    const vision = randomIdefics3VisionTensors(model.vision, 5);
    for (const [name, tensor] of vision) expectSameTensor(both.vision.get(name), tensor, name);
  });
});

describe("the tiny SmolVLM tokenizer", () => {
  let vocabulary: ReturnType<typeof tinySmolVlmVocabulary>;
  beforeEach(() => {
    vocabulary = tinySmolVlmVocabulary(320);
  });

  it("lays out SmolVLM's special and image tokens at fixed ids and pads with <unused_N>", () => {
    expect(vocabulary.tokens).toHaveLength(320);
    expect([vocabulary.beginTokenId, vocabulary.endOfUtteranceId, vocabulary.imageTokenId]).toEqual([ids.imStart, ids.endOfUtterance, ids.image]);
    expect(vocabulary.tokens.slice(0, 3)).toEqual(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    expect(vocabulary.tokens.slice(ids.fake, ids.row1col1 + 1)).toEqual(["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>", "<row_1_col_1>"]);
    expect(vocabulary.tokens[ids.row4col4]).toBe("<row_4_col_4>");
    expect(vocabulary.tokens[ids.row4col4 + 1]).toBe(`<unused_${ids.row4col4 + 1}>`);
    expect(vocabulary.special.size).toBe(3 + 4 + 16);
    expect(() => tinySmolVlmVocabulary(289)).toThrow(new RangeError("tinySmolVlmVocabulary: needs vocabSize ≥ 290, got 289"));
  });

  it("tokenizer.json: SmolLM2's pre-tokenizer (digits split off, then byte-level) and post-processor; tokenizer_config.json and chat_template.json", () => {
    const directory = temporary();
    writeTinySmolVlmHfTokenizer(directory, vocabulary);
    const json = readJson(path.join(directory, "tokenizer.json")) as Record<string, unknown>;
    expect(json.pre_tokenizer).toEqual({
      type: "Sequence",
      pretokenizers: [
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    });
    expect(json.post_processor).toEqual({ type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true });
    expect(readJson(path.join(directory, "tokenizer_config.json"))).toEqual({
      add_bos_token: false, add_prefix_space: false, bos_token: "<|im_start|>", eos_token: "<end_of_utterance>", unk_token: "<|endoftext|>", pad_token: "<|im_end|>",
    });
    expect(readJson(path.join(directory, "chat_template.json"))).toEqual({ chat_template: SMOLVLM_CHAT_TEMPLATE });
  });

  it("loads with @infer-recipes/tokenizer: BOS <|im_start|> not added, EOS <end_of_utterance>, image tokens whole, digits one by one", async () => {
    const directory = temporary();
    writeTinySmolVlmHfTokenizer(directory, vocabulary);
    const tokenizer = await loadHfTokenizer(directory);
    expect(tokenizer.bosTokenId).toBe(ids.imStart);
    expect(tokenizer.addBosToken).toBe(false);
    // The configured EOS first, then the other end-of-turn specials the tokenizer package knows.
    expect(tokenizer.eosTokenIds).toEqual([ids.endOfUtterance, ids.imEnd, ids.endOfText]);
    expect(tokenizer.vocabSize).toBe(320);
    expect(tokenizer.encode("a")).toEqual(tokenizer.encode("a", { addSpecialTokens: false }));
    expect(tokenizer.encode("<fake_token_around_image><global-img><image><row_4_col_4>")).toEqual([ids.fake, ids.globalImage, ids.image, ids.row4col4]);
    expect(tokenizer.encode(" the\n\n")).toEqual([ids.spaceThe, ids.newlines]);
    const digits = tokenizer.encode("2024");
    expect(digits.map((id) => tokenizer.idToToken(id))).toEqual(["2", "0", "2", "4"]);
    expect(tokenizer.decode(tokenizer.encode("Is this the cat? 12\n\n"))).toBe("Is this the cat? 12\n\n");
  });

  it("the chat template renders SmolVLM's prompt, and both tokenizers encode it to the same ids", async () => {
    const directory = temporary();
    writeTinySmolVlmHfTokenizer(directory, vocabulary);
    const template = await loadChatTemplate(directory);
    expect(template).toBe(SMOLVLM_CHAT_TEMPLATE);
    const prompt = renderChatTemplate(template!, [
      { role: "user", content: [{ type: "image" }, { type: "text", text: "What is this?" }] },
      { role: "assistant", content: [{ type: "text", text: "A cat." }] },
      { role: "user", content: [{ type: "text", text: "Sure?" }] },
    ], { addGenerationPrompt: true });
    expect(prompt).toBe("<|im_start|>User:<image>What is this?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\nUser: Sure?<end_of_utterance>\nAssistant:");
    const hf = await loadHfTokenizer(directory);
    const gguf = tokenizerFromGgufMetadata(tinySmolVlmGgufTokenizerMetadata(vocabulary));
    const hfIds = hf.encode(prompt);
    expect(hfIds[0]).toBe(ids.imStart);
    expect(hfIds.filter((id) => id === ids.image)).toHaveLength(1);
    expect(hfIds.filter((id) => id === ids.endOfUtterance)).toHaveLength(3);
    expect(gguf.encode(prompt)).toEqual(hfIds);
    expect(gguf.encode("2024 is the year")).toEqual(hf.encode("2024 is the year"));
  });

  it("GGUF metadata: gpt2 / smollm, specials as control tokens, <unused_N> as unused, the rest normal; ids and template", () => {
    const metadata = tinySmolVlmGgufTokenizerMetadata(vocabulary);
    expect([...metadata.keys()]).toEqual([
      "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
      "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.chat_template",
    ]);
    const read = readGgufVocabulary(metadata);
    expect(read).toMatchObject({ model: "gpt2", preTokenizer: "smollm", tokens: vocabulary.tokens, merges: vocabulary.merges });
    const types = Array.from(read.tokenTypes);
    expect(types[ids.endOfText]).toBe(GgufTokenType.control);
    expect(types[ids.image]).toBe(GgufTokenType.control);
    expect(types[ids.row4col4]).toBe(GgufTokenType.control);
    expect(types[ids.newlines]).toBe(GgufTokenType.normal);
    expect(types[3]).toBe(GgufTokenType.normal);
    expect(types[ids.row4col4 + 1]).toBe(GgufTokenType.unused);
    expect(types[319]).toBe(GgufTokenType.unused);
    expect(types.filter((type) => type === GgufTokenType.control)).toHaveLength(23);
    expect(metadata.get("tokenizer.ggml.bos_token_id")).toEqual({ type: "uint32", value: ids.imStart });
    expect(metadata.get("tokenizer.ggml.eos_token_id")).toEqual({ type: "uint32", value: ids.endOfUtterance });
    expect(metadata.get("tokenizer.ggml.padding_token_id")).toEqual({ type: "uint32", value: ids.imEnd });
    expect(metadata.get("tokenizer.ggml.add_bos_token")).toBe(false);
    expect(metadata.get("tokenizer.chat_template")).toBe(SMOLVLM_CHAT_TEMPLATE);
    expect(tinySmolVlmGgufTokenizerMetadata(vocabulary, "x").get("tokenizer.chat_template")).toBe("x");
    const tokenizer = tokenizerFromGgufMetadata(metadata);
    expect([tokenizer.bosTokenId, tokenizer.addBosToken, tokenizer.eosTokenIds[0]]).toEqual([ids.imStart, false, ids.endOfUtterance]);
  });
});
