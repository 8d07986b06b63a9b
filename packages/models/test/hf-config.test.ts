// config.json parsing: real-world Llama configs, transformers' defaults, llama3 rope scaling, eos lists, and errors
// that name the file and field.

import fs from "node:fs";
import path from "node:path";

import { ropeFrequencies } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { hfConfigPath, ModelFileError, parseHfConfig, readGenerationEosTokenIds, readHfConfig } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("hf-config");

/** meta-llama/Llama-3.2-3B-Instruct's config.json (abridged to the fields that matter). */
const llama32Config = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 128,
  hidden_act: "silu",
  hidden_size: 3072,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 24,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  vocab_size: 128256,
};

describe("parseHfConfig", () => {
  it("maps a Llama 3.2 config onto LlamaConfig", () => {
    expect(parseHfConfig(llama32Config, "config.json")).toEqual({
      hiddenSize: 3072,
      intermediateSize: 8192,
      layerCount: 28,
      headCount: 24,
      keyValueHeadCount: 8,
      headDim: 128,
      rotaryDim: 128,
      rmsNormEpsilon: 1e-5,
      ropeTheta: 500000,
      ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 },
      ropeLayout: "half",
      contextLength: 131072,
      vocabSize: 128256,
      tiedEmbeddings: true,
      bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009],
    });
  });

  it("gives rope scaling in the shape the kernel's ropeFrequencies takes", () => {
    const config = parseHfConfig(llama32Config, "config.json");
    const frequencies = ropeFrequencies({ rotaryDim: config.rotaryDim, theta: config.ropeTheta, scaling: config.ropeScaling });
    expect(frequencies.length).toBe(64);
    expect(frequencies[63]).toBeLessThan(1 / Math.pow(500000, 126 / 128)); // low frequencies slowed by the factor
  });

  it("applies transformers' defaults for absent fields and accepts the old rope_scaling.type key", () => {
    const config = parseHfConfig(
      {
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 100,
        rope_scaling: { type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      },
      "config.json",
    );
    expect(config).toMatchObject({
      keyValueHeadCount: 4,
      headDim: 16,
      rmsNormEpsilon: 1e-6,
      ropeTheta: 10000,
      contextLength: 2048,
      tiedEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(config.ropeScaling?.factor).toBe(8);
  });

  it("treats rope_scaling null or rope_type default as no scaling, and null token ids as none", () => {
    const base = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 10 };
    expect(parseHfConfig({ ...base, rope_scaling: null }, "c").ropeScaling).toBeUndefined();
    expect(parseHfConfig({ ...base, rope_scaling: { rope_type: "default" } }, "c").ropeScaling).toBeUndefined();
    const noTokens = parseHfConfig({ ...base, bos_token_id: null, eos_token_id: null }, "c");
    expect(noTokens.bosTokenId).toBeUndefined();
    expect(noTokens.eosTokenIds).toEqual([]);
  });

  it("reads config.json from a file or a directory", () => {
    const directory = temporaryDirectory();
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(llama32Config));
    expect(readHfConfig(directory).hiddenSize).toBe(3072);
    expect(readHfConfig(path.join(directory, "config.json")).layerCount).toBe(28);
  });

  it("names the file and the field in every error", () => {
    const file = "/models/x/config.json";
    const without = (field: string) => Object.fromEntries(Object.entries(llama32Config).filter(([key]) => key !== field));
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [without("hidden_size"), /config\.json: field "hidden_size": is required but missing/],
      [{ ...llama32Config, num_hidden_layers: "28" }, /field "num_hidden_layers": expected a number, got "28"/],
      [{ ...llama32Config, intermediate_size: -1 }, /field "intermediate_size": expected a positive integer, got -1/],
      [{ ...llama32Config, num_key_value_heads: 5 }, /field "keyValueHeadCount": headCount \(24\) must be a multiple of keyValueHeadCount \(5\)/],
      [{ ...llama32Config, rope_scaling: { rope_type: "yarn", factor: 4 } }, /field "rope_scaling.rope_type": rope scaling "yarn" is not supported/],
      [{ ...llama32Config, rope_scaling: { rope_type: "llama3", factor: 32 } }, /field "rope_scaling.low_freq_factor": is required but missing/],
      [{ ...llama32Config, model_type: "gpt2", architectures: ["GPT2LMHeadModel"] }, /field "model_type": expected a Llama model/],
      [{ ...llama32Config, attention_bias: true }, /field "attention_bias": bias terms are not supported/],
      [{ ...llama32Config, eos_token_id: [1, "two"] }, /field "eos_token_id": expected a token id/],
      [{ ...without("head_dim"), hidden_size: 100 }, /field "num_attention_heads": hidden_size \(100\) must be a multiple/],
    ];
    for (const [json, pattern] of cases) {
      const parse = () => parseHfConfig(json, file);
      expect(parse).toThrow(ModelFileError);
      expect(parse).toThrow(pattern);
    }
  });

  it("reports unreadable or invalid JSON files with their path", () => {
    const directory = temporaryDirectory();
    expect(() => readHfConfig(directory)).toThrow(new RegExp(`${directory}/config.json: file not found`));
    fs.writeFileSync(path.join(directory, "config.json"), "{ hidden_size: 3 ");
    expect(() => readHfConfig(directory)).toThrow(/config\.json: invalid JSON/);
    fs.writeFileSync(path.join(directory, "config.json"), "[1, 2]");
    expect(() => readHfConfig(directory)).toThrow(/config\.json: expected a JSON object at the top level/);
  });
});

describe("parseHfConfig: the architecture checks and generation_config.json, by whole message", () => {
  const base = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 10 };
  const message = (json: unknown) => {
    try {
      parseHfConfig(json, "c.json");
    } catch (error) {
      expect(error).toBeInstanceOf(ModelFileError);
      return (error as Error).message;
    }
    throw new Error("expected a ModelFileError");
  };

  it("accepts a llama model_type, an architectures list naming LlamaForCausalLM, or neither; silu; false biases", () => {
    for (const extra of [
      {},
      { model_type: "llama" },
      { model_type: "mistral", architectures: ["LlamaForCausalLM"] },
      { model_type: "smollm", architectures: ["Other", "LlamaForCausalLM"] },
      { hidden_act: "silu", attention_bias: false, mlp_bias: false },
      { rope_scaling: { factor: 2 } },
      { head_dim: 24, hidden_size: 66 },
    ]) {
      expect(parseHfConfig({ ...base, ...extra }, "c.json").layerCount, JSON.stringify(extra)).toBe(1);
    }
    expect(parseHfConfig({ ...base, head_dim: 24, hidden_size: 66 }, "c.json")).toMatchObject({ hiddenSize: 66, headDim: 24, rotaryDim: 24 });
  });

  it("refuses what is not a Llama: model type, activation, biases, rope types, a non-object", () => {
    expect(message({ ...base, model_type: "mistral" })).toBe('c.json: field "model_type": expected a Llama model (model_type "llama" or architectures ["LlamaForCausalLM"]), got "mistral"');
    expect(message({ ...base, model_type: "qwen2", architectures: "LlamaForCausalLM" })).toMatch(/field "model_type": expected a Llama model .*got "qwen2"$/);
    expect(message({ ...base, hidden_act: "gelu" })).toBe('c.json: field "hidden_act": expected "silu" (SwiGLU), got "gelu"');
    expect(message({ ...base, mlp_bias: true })).toBe('c.json: field "mlp_bias": bias terms are not supported (expected false)');
    expect(message({ ...base, attention_bias: true })).toBe('c.json: field "attention_bias": bias terms are not supported (expected false)');
    expect(message({ ...base, rope_scaling: { type: "linear", factor: 2 } })).toBe(
      'c.json: field "rope_scaling.type": rope scaling "linear" is not supported (supported: "llama3", "default" or rope_scaling: null)',
    );
    expect(message({ ...base, rope_scaling: { rope_type: "dynamic", type: "llama3" } })).toMatch(/field "rope_scaling\.rope_type": rope scaling "dynamic"/);
    expect(message({ ...base, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 0.5 } })).toBe(
      'c.json: field "rope_scaling.original_max_position_embeddings": expected a positive integer, got 0.5',
    );
    expect(message({ ...base, hidden_size: 66 })).toBe('c.json: field "num_attention_heads": hidden_size (66) must be a multiple of num_attention_heads (4) when head_dim is absent');
    for (const json of [[1], null, "text"]) expect(message(json)).toBe("c.json: expected a JSON object at the top level");
  });

  it("reads eos_token_id of generation_config.json beside config.json: undefined without the file or the field", () => {
    const directory = temporaryDirectory();
    expect(readGenerationEosTokenIds(directory)).toBeUndefined();
    const file = path.join(directory, "generation_config.json");
    fs.writeFileSync(file, JSON.stringify({ eos_token_id: [5, 6] }));
    expect(readGenerationEosTokenIds(directory)).toEqual([5, 6]);
    fs.writeFileSync(file, JSON.stringify({ eos_token_id: 7 }));
    expect(readGenerationEosTokenIds(directory)).toEqual([7]);
    fs.writeFileSync(file, JSON.stringify({ temperature: 0.6 }));
    expect(readGenerationEosTokenIds(directory)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ eos_token_id: "x" }));
    expect(() => readGenerationEosTokenIds(directory)).toThrow(`${file}: field "eos_token_id": expected a token id (integer ≥ 0) or a list of them, got "x"`);
    expect(hfConfigPath(directory)).toBe(path.join(directory, "config.json"));
    expect(hfConfigPath(file)).toBe(file);
    const missing = path.join(directory, "nowhere");
    expect(hfConfigPath(missing)).toBe(missing);
  });
});
