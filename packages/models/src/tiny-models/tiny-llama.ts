// Tiny Llama models with random weights, written through every file format the loaders read: a Hugging Face
// directory (config.json + safetensors, optionally sharded), a GGUF file and a llama2.c checkpoint.

import fs from "node:fs";
import path from "node:path";

import { Tensor, type DType } from "@infer-recipes/kernel";

import {
  expectedLlamaTensorShapes,
  hfToGgufTensorName,
  llama3RopeFactors,
  llamaGgufMetadata,
  llamaLayerTensorNames,
  llamaTensorNames,
  reorderRopeRows,
  writeGguf,
  type GgufMetadataInput,
  type LlamaConfig,
} from "../index.ts";
import { randomTensor } from "./random-tensors.ts";
import { writeSafetensors, writeShardedSafetensors } from "../safetensors-writer.ts";

/** A valid tiny config (GQA, head dim 8); override any field. */
export function tinyLlamaConfig(overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    hiddenSize: 32,
    intermediateSize: 64,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    headDim: 8,
    rotaryDim: 8,
    rmsNormEpsilon: 1e-5,
    ropeTheta: 10000,
    ropeLayout: "half",
    contextLength: 128,
    vocabSize: 64,
    tiedEmbeddings: false,
    bosTokenId: 1,
    eosTokenIds: [2],
    ...overrides,
  };
}

/** Random weights for every tensor the config needs (HF names; the output matrix only when not tied). */
export function randomLlamaTensors(config: LlamaConfig, seed: number, matrixDType: DType = "f32"): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  let index = 0;
  for (const [name, { shape }] of expectedLlamaTensorShapes(config)) {
    if (config.tiedEmbeddings && name === llamaTensorNames.output) continue;
    tensors.set(name, randomTensor(shape.length === 1 ? "f32" : matrixDType, shape, seed * 1000 + index++, 0.5));
  }
  return tensors;
}

/** The config.json a Hugging Face checkpoint of this config would have. */
export function hfConfigJson(config: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_act: "silu",
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.layerCount,
    num_attention_heads: config.headCount,
    num_key_value_heads: config.keyValueHeadCount,
    head_dim: config.headDim,
    rms_norm_eps: config.rmsNormEpsilon,
    rope_theta: config.ropeTheta,
    rope_scaling: config.ropeScaling
      ? {
          rope_type: "llama3",
          factor: config.ropeScaling.factor,
          low_freq_factor: config.ropeScaling.lowFrequencyFactor,
          high_freq_factor: config.ropeScaling.highFrequencyFactor,
          original_max_position_embeddings: config.ropeScaling.originalMaxPositions,
        }
      : null,
    max_position_embeddings: config.contextLength,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tiedEmbeddings,
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
    torch_dtype: "float32",
  };
}

/** Writes config.json and the weights (one file, or `shards` files with an index) into `directory`. */
export function writeHfModel(
  directory: string,
  config: LlamaConfig,
  tensors: Map<string, Tensor>,
  options: {
    /** Split the weights over this many files with a model.safetensors.index.json. */
    shards?: number;
    /** Write this config.json instead of the one derived from `config`. */
    configJson?: Record<string, unknown>;
  } = {},
): void {
  fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(options.configJson ?? hfConfigJson(config), null, 2));
  if (options.shards && options.shards > 1) writeShardedSafetensors(directory, tensors, options.shards, { format: "pt" });
  else writeSafetensors(path.join(directory, "model.safetensors"), tensors, { format: "pt" });
}

/** Writes the model as GGUF the way llama.cpp's converter lays it out (Q/K rows permuted to the interleaved layout).
 *  `tensors` are HF-named, in the config's layout ("half" unless said otherwise). */
export function writeGgufModel(file: string, config: LlamaConfig, tensors: Map<string, Tensor>, extraMetadata: ReadonlyMap<string, GgufMetadataInput> = new Map()): void {
  const ggufTensors: Array<{ name: string; tensor: Tensor }> = [];
  const heads = new Map<string, number>();
  for (let layer = 0; layer < config.layerCount; layer++) {
    heads.set(llamaLayerTensorNames(layer).query, config.headCount);
    heads.set(llamaLayerTensorNames(layer).key, config.keyValueHeadCount);
  }
  for (const [name, tensor] of tensors) {
    const headCount = heads.get(name);
    const permuted = headCount === undefined ? tensor : reorderRopeRows(tensor, headCount, config.ropeLayout, "interleaved");
    ggufTensors.push({ name: hfToGgufTensorName(name)!, tensor: permuted });
  }
  // llama.cpp stores llama3 rope scaling as a tensor of per-frequency divisors, not as metadata.
  if (config.ropeScaling) {
    const factors = llama3RopeFactors(config);
    ggufTensors.push({ name: "rope_freqs.weight", tensor: Tensor.fromFloat32([factors.length], factors) });
  }
  const metadata = llamaGgufMetadata(config, "tiny", "f32");
  for (const [key, value] of extraMetadata) metadata.set(key, value);
  writeGguf(file, { metadata, tensors: ggufTensors });
}

/** Writes a llama2.c legacy checkpoint (f32 tensors, already in the interleaved layout). */
export function writeLlama2cModel(file: string, config: LlamaConfig, tensors: Map<string, Tensor>, sequenceLength = config.contextLength): void {
  const header = new Int32Array([
    config.hiddenSize,
    config.intermediateSize,
    config.layerCount,
    config.headCount,
    config.keyValueHeadCount,
    config.tiedEmbeddings ? config.vocabSize : -config.vocabSize,
    sequenceLength,
  ]);
  const parts: Uint8Array[] = [new Uint8Array(header.buffer)];
  const add = (name: string): void => {
    const tensor = tensors.get(name)!;
    parts.push(new Uint8Array((tensor.data as Float32Array).slice().buffer));
  };
  const perLayer = (part: keyof ReturnType<typeof llamaLayerTensorNames>): void => {
    for (let layer = 0; layer < config.layerCount; layer++) add(llamaLayerTensorNames(layer)[part]);
  };
  add(llamaTensorNames.tokenEmbedding);
  for (const part of ["attentionNorm", "query", "key", "value", "attentionOutput", "feedForwardNorm", "gate", "down", "up"] as const) perLayer(part);
  add(llamaTensorNames.outputNorm);
  parts.push(new Uint8Array(2 * sequenceLength * (config.headDim / 2) * 4)); // freq_cis_real, freq_cis_imag
  if (!config.tiedEmbeddings) add(llamaTensorNames.output);
  fs.writeFileSync(file, Buffer.concat(parts));
}
