// GLM configurations from every place they come from: THUDM's config.json (every default, every setting the decoder
// refuses, by its field), llama.cpp's chatglm GGUF metadata (defaults, turn-end tokens, bias and tied-output
// detection from the tensors present), the published presets, and the tokenizer metadata the converter embeds
// (SentencePiece tokenizer.model, tokenizer.json, or neither).

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  ModelFileError,
  ggufToGlmConfig,
  glmConfig,
  glmConfigJson,
  glmLayerTensorNames,
  glmPresets,
  llamaLayerTensorNames,
  loadGgufGlmModel,
  randomGlmTensors,
  writeGlmGgufModel,
  parseHfConfig,
  readGguf,
  readGlmTokenizerGgufMetadata,
  tinyChatGlmGgufTokenizerMetadata,
  tinyGlm4Vocabulary,
  tinyGlmConfig,
  writeGguf,
  writeTinyGlm4HfTokenizer,
  writeTinyGlm4TiktokenModel,
  type LlamaConfig,
} from "../src/index.ts";
import { llamaGgufMetadata } from "../src/convert.ts";
import type { GgufMetadataInput } from "../src/gguf/writer.ts";
import { sharedModelsDirectory } from "./helpers/shared-models.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("glm-config");
const config = tinyGlmConfig({ hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 8, intermediateSize: 96, vocabSize: 80, ropeTheta: 20000 });
const file = "/models/chatglm3/config.json";

function parse(edit: (json: Record<string, unknown>) => void): LlamaConfig {
  const json = glmConfigJson(config);
  edit(json);
  return parseHfConfig(json, file);
}

function parseError(edit: (json: Record<string, unknown>) => void): string {
  try {
    parse(edit);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message;
  }
  throw new Error("expected a ModelFileError");
}

describe("ChatGLM config.json", () => {
  it("reads every field", () => {
    expect(parse(() => {})).toEqual(config);
    expect(parse((json) => (json.eos_token_id = [2, 64795]))).toMatchObject({ eosTokenIds: [2, 64795] });
  });

  it("fills what a config leaves out with THUDM's defaults", () => {
    const minimal = { model_type: "chatglm", hidden_size: 64, num_attention_heads: 4, ffn_hidden_size: 96, num_layers: 2, padded_vocab_size: 80 };
    expect(parseHfConfig(minimal, file)).toEqual({
      architecture: "chatglm",
      attentionBias: false,
      hiddenSize: 64,
      intermediateSize: 96,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 4,
      headDim: 16,
      rotaryDim: 8,
      rmsNormEpsilon: 1e-5,
      ropeTheta: 10000,
      ropeLayout: "interleaved",
      contextLength: 2048,
      vocabSize: 80,
      tiedEmbeddings: false,
      eosTokenIds: [],
    });
  });

  it("uses multi_query_group_num only with multi_query_attention, and scales the RoPE base by rope_ratio", () => {
    expect(parse((json) => (json.multi_query_attention = false)).keyValueHeadCount).toBe(4);
    expect(parse((json) => (json.multi_query_group_num = 1)).keyValueHeadCount).toBe(1);
    expect(parse((json) => (json.rope_ratio = 500)).ropeTheta).toBe(5_000_000);
    expect(parse((json) => (json.layernorm_epsilon = 1.5625e-7)).rmsNormEpsilon).toBe(1.5625e-7);
    expect(parse((json) => (json.add_qkv_bias = false)).attentionBias).toBe(false);
    expect(parse((json) => (json.tie_word_embeddings = true)).tiedEmbeddings).toBe(true);
  });

  it("takes kv_channels as the head size even when the hidden size is no multiple of the head count", () => {
    expect(parse((json) => ((json.hidden_size = 66), (json.kv_channels = 16)))).toMatchObject({ hiddenSize: 66, headDim: 16, rotaryDim: 8 });
    expect(parse((json) => (json.kv_channels = 8))).toMatchObject({ headDim: 8, rotaryDim: 4 });
  });

  it("refuses ChatGLM-6B v1 and every setting the decoder does not implement, naming the field", () => {
    const v1 = `${file}: field "model_type": this is ChatGLM-6B (v1: GLM 2D positions, LayerNorm); only ChatGLM2/ChatGLM3/GLM-4 models are supported`;
    expect(parseError((json) => (json.position_encoding_2d = true))).toBe(v1);
    expect(parseError((json) => ((json.inner_hidden_size = 384), delete json.padded_vocab_size))).toBe(v1);
    // inner_hidden_size beside padded_vocab_size is not v1.
    expect(parse((json) => (json.inner_hidden_size = 384)).vocabSize).toBe(80);

    expect(parseError((json) => (json.rmsnorm = false))).toBe(`${file}: field "rmsnorm": expected true: the GLM decoder here uses RMSNorm`);
    expect(parseError((json) => (json.add_bias_linear = true))).toBe(`${file}: field "add_bias_linear": expected false: biases on every linear layer are not supported (only add_qkv_bias)`);
    expect(parseError((json) => (json.apply_residual_connection_post_layernorm = true))).toBe(
      `${file}: field "apply_residual_connection_post_layernorm": expected false: residuals taken after the layer norm are not supported`,
    );
    expect(parseError((json) => (json.post_layer_norm = false))).toBe(`${file}: field "post_layer_norm": expected true: the model must end with its final layer norm`);
    // Absent, each takes the supported value.
    expect(parse((json) => {
      for (const field of ["rmsnorm", "add_bias_linear", "apply_residual_connection_post_layernorm", "post_layer_norm"]) delete json[field];
    })).toEqual(config);
  });

  it("refuses head sizes it cannot derive or rotate", () => {
    expect(parseError((json) => ((json.hidden_size = 66), delete json.kv_channels))).toBe(
      `${file}: field "num_attention_heads": hidden_size (66) must be a multiple of num_attention_heads (4) when kv_channels is absent`,
    );
    for (const headDim of [2, 6, 18]) {
      expect(parseError((json) => (json.kv_channels = headDim))).toBe(
        `${file}: field "kv_channels": GLM rotates the first half of each head in pairs, so the head size must be a multiple of 4, got ${headDim}`,
      );
    }
  });
});

describe("chatglm GGUF metadata", () => {
  /** Writes a chatglm GGUF with the given metadata edits and placeholder tensors under `tensorNames`. */
  function ggufConfig(edit: (metadata: Map<string, GgufMetadataInput>) => void, tensorNames = ["blk.0.attn_qkv.bias", "output.weight"]): LlamaConfig {
    const metadata = llamaGgufMetadata(config, "tiny-glm", "f32");
    edit(metadata);
    const output = path.join(temporary(), "glm.gguf");
    writeGguf(output, { metadata, tensors: tensorNames.map((name) => ({ name, tensor: Tensor.fromFloat32([2], new Float32Array(2)) })) });
    return ggufToGlmConfig(readGguf(output));
  }

  it("reads the config the converter writes", () => {
    expect(ggufConfig(() => {})).toEqual({ ...config, rmsNormEpsilon: Math.fround(1e-5) });
  });

  it("detects the q/k/v bias (fused or separate) and the untied output layer from the tensors present", () => {
    expect(ggufConfig(() => {}, ["blk.0.attn_q.bias", "output.weight"]).attentionBias).toBe(true);
    expect(ggufConfig(() => {}, ["blk.0.attn_qkv.weight", "output.weight"]).attentionBias).toBe(false);
    expect(ggufConfig(() => {}, ["blk.0.attn_qkv.bias"]).tiedEmbeddings).toBe(true);
  });

  it("defaults the head size, the rotary part, the RoPE base and the key/value heads", () => {
    const defaulted = ggufConfig((metadata) => {
      for (const key of ["chatglm.attention.key_length", "chatglm.rope.dimension_count", "chatglm.rope.freq_base", "chatglm.attention.head_count_kv"]) metadata.delete(key);
    });
    expect(defaulted).toMatchObject({ headDim: 16, rotaryDim: 8, ropeTheta: 10000, keyValueHeadCount: 4 });
    expect(ggufConfig((metadata) => metadata.set("chatglm.attention.key_length", { type: "uint32", value: 32 }))).toMatchObject({ headDim: 32, rotaryDim: 8 });
    expect(ggufConfig((metadata) => metadata.set("chatglm.rope.dimension_count", { type: "uint32", value: 16 })).rotaryDim).toBe(16);
  });

  it("names chatglm.vocab_size when nothing gives the vocabulary size", () => {
    expect(() => ggufConfig((metadata) => metadata.delete("chatglm.vocab_size"))).toThrow(
      /glm\.gguf: field "chatglm\.vocab_size": missing, and there is neither tokenizer\.ggml\.tokens nor token_embd\.weight to count the vocabulary from$/,
    );
  });

  it("refuses a rotary part wider than the head, naming the key", () => {
    expect(() => ggufConfig((metadata) => metadata.set("chatglm.rope.dimension_count", { type: "uint32", value: 18 }))).toThrow(
      /glm\.gguf: field "chatglm\.rope\.dimension_count": must be at most the head size 16, got 18$/,
    );
  });

  it("ends turns at <|user|> and <|observation|> as well as EOS, each id once", () => {
    const tokenizer = tinyChatGlmGgufTokenizerMetadata(400);
    const tokens = tokenizer.get("tokenizer.ggml.tokens") as string[];
    const withTokenizer = ggufConfig((metadata) => {
      for (const [key, value] of tokenizer) metadata.set(key, value);
    });
    expect(withTokenizer.eosTokenIds).toEqual([2, tokens.indexOf("<|user|>"), tokens.indexOf("<|observation|>")]);
    expect(tokens.indexOf("<|user|>")).toBeGreaterThan(2);
    // Without a vocabulary only the recorded EOS ids; a vocabulary without the role tokens adds none.
    expect(ggufConfig(() => {}).eosTokenIds).toEqual([2]);
    expect(ggufConfig((metadata) => metadata.set("tokenizer.ggml.tokens", Array.from({ length: 80 }, (_, id) => `t${id}`))).eosTokenIds).toEqual([2]);
    const onlyObservation = Array.from({ length: 80 }, (_, id) => (id === 0 ? "<|observation|>" : `t${id}`));
    expect(ggufConfig((metadata) => metadata.set("tokenizer.ggml.tokens", onlyObservation)).eosTokenIds).toEqual([2, 0]);
  });
});

describe("loadGgufGlmModel", () => {
  const small = tinyGlmConfig();
  /** A chatglm GGUF of `small`'s tensors after `edit`; returns its path. */
  function writeEdited(edit: (tensors: Map<string, Tensor>) => void): string {
    const tensors = randomGlmTensors(small, 5);
    edit(tensors);
    const output = path.join(temporary(), "edited.gguf");
    writeGlmGgufModel(output, small, tensors);
    return output;
  }

  it("reports loading progress over the file's tensor bytes", () => {
    const output = writeEdited(() => {});
    const progress: Array<[number, number]> = [];
    const loaded = loadGgufGlmModel(readGguf(output), { onProgress: (done, total) => progress.push([done, total]) });
    expect(loaded.tensors.get(llamaLayerTensorNames(1).up)!.shape).toEqual([48, 32]);
    expect(loaded.source).toEqual({ format: "gguf", path: output, files: [output] });
    expect(loaded.metadata.get("general.architecture")).toBe("chatglm");
    expect(progress.length).toBeGreaterThan(0);
    const [done, total] = progress[progress.length - 1];
    expect(done).toBe(total);
  });

  it("names tensors in errors as the GGUF file spells them", () => {
    const withoutDown = writeEdited((tensors) => tensors.delete(glmLayerTensorNames(1).down));
    expect(() => loadGgufGlmModel(readGguf(withoutDown))).toThrow(/edited\.gguf: tensor "blk\.1\.ffn_down\.weight": missing/);
    const shortQkv = writeEdited((tensors) => tensors.set(glmLayerTensorNames(0).queryKeyValue, Tensor.fromFloat32([8, 32], new Float32Array(256))));
    expect(() => loadGgufGlmModel(readGguf(shortQkv))).toThrow(/edited\.gguf: tensor "blk\.0\.attn_qkv\.weight": shape \[8, 32\] contradicts the config: expected 64 rows/);
  });
});

describe("GLM presets", () => {
  it("are THUDM's published configurations", () => {
    expect(glmPresets["chatglm3-6b"]).toMatchObject({ architecture: "chatglm", attentionBias: true, ropeLayout: "interleaved", tiedEmbeddings: false, eosTokenIds: [2, 64795, 64797] });
    expect(glmPresets["glm-4-9b-chat"]).toMatchObject({ architecture: "chatglm", attentionBias: true, ropeLayout: "interleaved", tiedEmbeddings: false, eosTokenIds: [151329, 151336, 151338] });
  });

  it("copies a preset, optionally shortened, without sharing its EOS list", () => {
    const full = glmConfig("glm-4-9b-chat");
    expect(full).toEqual(glmPresets["glm-4-9b-chat"]);
    expect(full.eosTokenIds).not.toBe(glmPresets["glm-4-9b-chat"].eosTokenIds);
    expect(glmConfig("chatglm3-6b", { layers: 2, contextLength: 512 })).toEqual({ ...glmPresets["chatglm3-6b"], layerCount: 2, contextLength: 512 });
  });
});

describe("readGlmTokenizerGgufMetadata", () => {
  const vocabulary = tinyGlm4Vocabulary(400);
  const glm4 = { ...config, vocabSize: 400 };

  it("is undefined for a folder with neither tokenizer.model nor tokenizer.json", () => {
    expect(readGlmTokenizerGgufMetadata(temporary(), glm4)).toBeUndefined();
  });

  it("reads GLM-4's tokenizer.json as chatglm-bpe, also beside a tokenizer.model that is not SentencePiece", () => {
    const jsonOnly = temporary();
    writeTinyGlm4HfTokenizer(jsonOnly, vocabulary);
    const metadata = readGlmTokenizerGgufMetadata(jsonOnly, glm4)!;
    expect(metadata.get("tokenizer.ggml.pre")).toBe("chatglm-bpe");
    expect(metadata.get("tokenizer.ggml.tokens")).toEqual(vocabulary.tokens.filter((token) => !token.startsWith("[PAD"))); // tokenizer.json has no padding

    const both = temporary();
    writeTinyGlm4HfTokenizer(both, vocabulary);
    writeTinyGlm4TiktokenModel(both, vocabulary);
    expect(readGlmTokenizerGgufMetadata(both, glm4)).toEqual(metadata);
  });

  it("names the tokenizer.model that is not SentencePiece when there is no tokenizer.json", () => {
    const directory = temporary();
    writeTinyGlm4TiktokenModel(directory, vocabulary);
    const model = path.join(directory, "tokenizer.model");
    let caught: unknown;
    try {
      readGlmTokenizerGgufMetadata(directory, glm4);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelFileError);
    expect((caught as ModelFileError).file).toBe(model);
    expect((caught as Error).message).toMatch(new RegExp(`^${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .+; and there is no tokenizer\\.json to use instead$`));
    expect((caught as Error).cause).toBeInstanceOf(Error);
  });

  it("reads a SentencePiece tokenizer.model as ChatGLM3's vocabulary, padded to the model's vocabulary size", () => {
    const varint = (value: number): number[] => (value < 0x80 ? [value] : [(value & 0x7f) | 0x80, ...varint(value >>> 7)]);
    const field = (number: number, payload: number[]) => [number * 8 + 2, ...varint(payload.length), ...payload];
    const text = (value: string) => [...new TextEncoder().encode(value)];
    const piece = (value: string, score: number, type: number) => field(1, [...field(1, text(value)), 0x15, ...new Uint8Array(Float32Array.of(score).buffer), 0x18, type]);
    const trainer = field(2, [0x18, 2, 0x98, 0x02, 1]); // model_type BPE (3), byte_fallback (35)
    const normalizer = field(3, [...field(1, text("identity")), 0x18, 1]);
    const model = [...piece("<unk>", 0, 2), ...piece("<s>", 0, 3), ...piece("</s>", 0, 3), ...piece("▁a", -1, 1), ...piece("b", -2, 1), ...trainer, ...normalizer];
    const directory = temporary();
    fs.writeFileSync(path.join(directory, "tokenizer.model"), Uint8Array.from(model));
    writeTinyGlm4HfTokenizer(directory, vocabulary); // not used: the SentencePiece model comes first
    const metadata = readGlmTokenizerGgufMetadata(directory, { ...config, vocabSize: 64 })!;
    expect(metadata.get("tokenizer.ggml.model")).toBe("llama");
    expect(metadata.get("tokenizer.ggml.pre")).toBe("chatglm-spm");
    const tokens = metadata.get("tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(64);
    expect(tokens.slice(3, 6)).toEqual(["▁a", "b", "[MASK]"]);
  });

  const chatGlm3Model = path.join(sharedModelsDirectory, "chatglm3-tokenizer/tokenizer.model");
  it.skipIf(!fs.existsSync(chatGlm3Model))("reads ChatGLM3's SentencePiece tokenizer.model (from ../shared/models; skipped when absent)", () => {
    const directory = temporary();
    fs.copyFileSync(chatGlm3Model, path.join(directory, "tokenizer.model"));
    writeTinyGlm4HfTokenizer(directory, vocabulary); // ignored: the SentencePiece model comes first
    const metadata = readGlmTokenizerGgufMetadata(directory, { ...config, vocabSize: 65024 })!;
    expect(metadata.get("tokenizer.ggml.model")).toBe("llama");
    expect((metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(65024);
  });
});
