// What the tiny Llama builders (tiny-models/tiny-llama.ts) must write, read back through the package's loaders:
// config.json field by field as transformers reads it, the safetensors file or shards, the GGUF file (its name, the
// Q/K rows in llama.cpp's interleaved layout, every tensor back unchanged through loadGgufModel), the llama2.c file
// (every tensor back, also from tensors that are views into larger buffers), and the random weights' seed, scale
// and dtype per tensor.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  expectedLlamaTensorShapes,
  hfConfigJson,
  loadGgufModel,
  loadHfModel,
  loadLlama2cModel,
  parseHfConfig,
  randomLlamaTensors,
  readGguf,
  reorderRopeRows,
  tinyLlamaConfig,
  writeGgufModel,
  writeHfModel,
  writeLlama2cModel,
} from "../src/index.ts";
import { expectSameTensor, randomTensor } from "../src/tiny-models/random-tensors.ts";
import { randomActivations } from "../src/tiny-models/random-weights.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("tiny-llama-builders");
const config = tinyLlamaConfig();

describe("hfConfigJson", () => {
  it("writes LlamaForCausalLM's config.json fields, read back by parseHfConfig to the same config", () => {
    expect(hfConfigJson(config)).toEqual({
      architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_act: "silu", hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, max_position_embeddings: 128,
      vocab_size: 64, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: "float32",
    });
    expect(parseHfConfig(hfConfigJson(config), "config.json")).toMatchObject({ ...config });
  });

  it("several EOS ids as a list, no BOS as null, llama3 rope scaling by transformers' names", () => {
    const scaled = tinyLlamaConfig({ eosTokenIds: [2, 5], bosTokenId: undefined, ropeScaling: { type: "llama3", factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 } });
    expect(hfConfigJson(scaled)).toMatchObject({
      eos_token_id: [2, 5], bos_token_id: null,
      rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
    expect(parseHfConfig(hfConfigJson(scaled), "config.json")).toMatchObject({ eosTokenIds: [2, 5], ropeScaling: scaled.ropeScaling });
  });
});

describe("randomLlamaTensors", () => {
  it.each(["f32", "f16"] as const)("tensor k of the config's list is drawn from seed·1000 + k at scale 0.5, vectors f32, matrices %s", (matrixDType) => {
    const tensors = randomLlamaTensors(config, 6, matrixDType);
    const shapes = [...expectedLlamaTensorShapes(config)];
    expect([...tensors.keys()]).toEqual(shapes.map(([name]) => name));
    shapes.forEach(([name, { shape }], index) => expectSameTensor(tensors.get(name), randomTensor(shape.length === 1 ? "f32" : matrixDType, shape, 6000 + index, 0.5), name));
  });

  it("tied embeddings: no lm_head.weight, the others unchanged", () => {
    const tied = randomLlamaTensors({ ...config, tiedEmbeddings: true }, 6);
    const untied = randomLlamaTensors(config, 6);
    expect([...tied.keys()]).toEqual([...untied.keys()].filter((name) => name !== "lm_head.weight"));
    for (const [name, tensor] of tied) expectSameTensor(tensor, untied.get(name)!, name);
  });
});

describe("writeHfModel", () => {
  const tensors = randomLlamaTensors(config, 2);

  it.each([[undefined], [1]])("shards %s: config.json and one model.safetensors", (shards) => {
    const directory = temporary();
    writeHfModel(directory, config, tensors, { shards });
    expect(fs.readdirSync(directory).sort()).toEqual(["config.json", "model.safetensors"]);
    expect(JSON.parse(fs.readFileSync(path.join(directory, "config.json"), "utf8"))).toEqual(hfConfigJson(config));
    const loaded = loadHfModel(directory);
    for (const [name, tensor] of tensors) expectSameTensor(loaded.tensors.get(name), tensor, name);
  });

  it("shards 2: two files and the index; a given config.json is written instead", () => {
    const directory = temporary();
    writeHfModel(directory, config, tensors, { shards: 2, configJson: { ...hfConfigJson(config), vocab_size: 64, note: "given" } });
    expect(fs.readdirSync(directory).sort()).toEqual(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    expect(JSON.parse(fs.readFileSync(path.join(directory, "config.json"), "utf8")).note).toBe("given");
  });
});

describe("writeGgufModel", () => {
  it("names the model \"tiny\", stores Q and K rows interleaved per head (K by the KV heads), and loads back to the HF tensors", () => {
    const file = path.join(temporary(), "model.gguf");
    const tensors = randomLlamaTensors(config, 4);
    writeGgufModel(file, config, tensors, new Map([["general.name", "renamed"], ["tokenizer.ggml.model", "llama"]]));
    const plain = path.join(temporary(), "plain.gguf");
    writeGgufModel(plain, config, tensors);
    const gguf = readGguf(plain);
    expect(gguf.metadata.get("general.name")).toBe("tiny");
    expect(gguf.metadata.get("general.architecture")).toBe("llama");
    expect(readGguf(file).metadata.get("general.name")).toBe("renamed");
    for (const layer of [0, 1]) {
      const query = tensors.get(`model.layers.${layer}.self_attn.q_proj.weight`)!;
      const key = tensors.get(`model.layers.${layer}.self_attn.k_proj.weight`)!;
      expectSameTensor(gguf.loadTensor(`blk.${layer}.attn_q.weight`), reorderRopeRows(query, 4, "half", "interleaved"), `blk.${layer}.attn_q.weight`);
      expectSameTensor(gguf.loadTensor(`blk.${layer}.attn_k.weight`), reorderRopeRows(key, 2, "half", "interleaved"), `blk.${layer}.attn_k.weight`);
      expectSameTensor(gguf.loadTensor(`blk.${layer}.attn_v.weight`), tensors.get(`model.layers.${layer}.self_attn.v_proj.weight`)!, `blk.${layer}.attn_v.weight`);
    }
    const loaded = loadGgufModel(plain);
    expect(loaded.config).toMatchObject({ hiddenSize: 32, layerCount: 2, headCount: 4, keyValueHeadCount: 2, vocabSize: 64, bosTokenId: 1, eosTokenIds: [2] });
    // The loader keeps llama.cpp's interleaved Q/K rows and says so in the config.
    expect(loaded.config.ropeLayout).toBe("interleaved");
    const heads = (name: string) => (name.endsWith("q_proj.weight") ? 4 : name.endsWith("k_proj.weight") ? 2 : undefined);
    for (const [name, tensor] of tensors) {
      const count = heads(name);
      expectSameTensor(loaded.tensors.get(name), count === undefined ? tensor : reorderRopeRows(tensor, count, "half", "interleaved"), name);
    }
  });
  it("tensors already in the interleaved layout (a config that says so) are stored as given", () => {
    const interleaved = tinyLlamaConfig({ ropeLayout: "interleaved" });
    const tensors = randomLlamaTensors(interleaved, 4);
    const file = path.join(temporary(), "interleaved.gguf");
    writeGgufModel(file, interleaved, tensors);
    const gguf = readGguf(file);
    expectSameTensor(gguf.loadTensor("blk.1.attn_q.weight"), tensors.get("model.layers.1.self_attn.q_proj.weight")!, "blk.1.attn_q.weight");
    expectSameTensor(gguf.loadTensor("blk.0.attn_k.weight"), tensors.get("model.layers.0.self_attn.k_proj.weight")!, "blk.0.attn_k.weight");
  });
});

describe("writeLlama2cModel", () => {
  it("writes the header and every tensor; tensors that view larger buffers are written by their own elements", () => {
    const tensors = randomLlamaTensors(config, 8);
    const views = new Map<string, Tensor>();
    for (const [name, tensor] of tensors) {
      const values = tensor.data as Float32Array;
      const padded = new Float32Array(values.length + 7).fill(99);
      padded.set(values, 3);
      views.set(name, Tensor.fromFloat32(tensor.shape, padded.subarray(3, 3 + values.length)));
    }
    const file = path.join(temporary(), "model.bin");
    writeLlama2cModel(file, config, views, 16);
    const loaded = loadLlama2cModel(file);
    expect(loaded.config).toMatchObject({ hiddenSize: 32, intermediateSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2, vocabSize: 64, contextLength: 16, tiedEmbeddings: false });
    for (const [name, tensor] of tensors) expectSameTensor(loaded.tensors.get(name), tensor, name);
    const header = new Int32Array(fs.readFileSync(file).buffer.slice(0, 28));
    expect(Array.from(header)).toEqual([32, 64, 2, 4, 2, -64, 16]);
  });
});

describe("randomActivations", () => {
  it("fills tokens × cols values, the fixed sequence in row order", () => {
    const wide = randomActivations(2, 3);
    expect(wide.shape).toEqual([2, 3]);
    expect(wide.data).toHaveLength(6);
    expect(Array.from(wide.data).slice(0, 3)).toEqual(Array.from(randomActivations(3, 1).data));
    expect(Array.from(randomActivations(3, 2).data)).toEqual(Array.from(randomActivations(6, 1).data));
  });
});
