// The tensors of a GLM model (ChatGLM2/3, GLM-4) as its files name them — THUDM's Hugging Face checkpoints
// (transformer.encoder.layers.N.self_attention.query_key_value, ...) and llama.cpp's `chatglm` GGUF files
// (blk.N.attn_qkv, ...) — and their translation into the shared decoder's tensors (Llama names, llama-tensors.ts).
// GLM fuses two groups of matrices, split here by rows at load (views, no copy; row-wise quantized blocks stay whole):
//   query_key_value  [(heads + 2·kvHeads)·headDim, hidden] (+ bias) → q_proj | k_proj | v_proj (+ biases)
//   dense_h_to_4h    [2·ffn, hidden]                                 → gate_proj | up_proj  (silu(gate) · up)

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "./errors.ts";
import type { LlamaConfig } from "./llama-config.ts";
import { llamaLayerTensorNames, llamaTensorNames } from "./llama-tensors.ts";

/** Whole-model GLM tensors (Hugging Face spelling). */
export const glmTensorNames = {
  /** [vocabSize, hiddenSize] */
  tokenEmbedding: "transformer.embedding.word_embeddings.weight",
  /** [hiddenSize] RMSNorm weight after the last layer */
  finalNorm: "transformer.encoder.final_layernorm.weight",
  /** [vocabSize, hiddenSize] the untied output layer */
  output: "transformer.output_layer.weight",
  /** [rotaryDim / 2] inverse frequencies some checkpoints store; recomputed from the config, so not loaded */
  rotaryFrequencies: "transformer.rotary_pos_emb.inv_freq",
} as const;

/** The Hugging Face names of one GLM transformer block's tensors (see {@link glmLayerTensorNames}). */
export interface GlmLayerTensorNames {
  /** [hiddenSize] RMSNorm weight before attention */
  attentionNorm: string;
  /** [(headCount + 2 · keyValueHeadCount) · headDim, hiddenSize], query rows, then key rows, then value rows */
  queryKeyValue: string;
  /** [(headCount + 2 · keyValueHeadCount) · headDim], when add_qkv_bias */
  queryKeyValueBias: string;
  /** [hiddenSize, headCount · headDim] (no bias) */
  attentionOutput: string;
  /** [hiddenSize] RMSNorm weight before the feed-forward block */
  feedForwardNorm: string;
  /** [2 · intermediateSize, hiddenSize], gate rows, then up rows */
  gateUp: string;
  /** [hiddenSize, intermediateSize] */
  down: string;
}

/** Hugging Face names of GLM transformer block `layer`. */
export function glmLayerTensorNames(layer: number): GlmLayerTensorNames {
  const prefix = `transformer.encoder.layers.${layer}`;
  return {
    attentionNorm: `${prefix}.input_layernorm.weight`,
    queryKeyValue: `${prefix}.self_attention.query_key_value.weight`,
    queryKeyValueBias: `${prefix}.self_attention.query_key_value.bias`,
    attentionOutput: `${prefix}.self_attention.dense.weight`,
    feedForwardNorm: `${prefix}.post_attention_layernorm.weight`,
    gateUp: `${prefix}.mlp.dense_h_to_4h.weight`,
    down: `${prefix}.mlp.dense_4h_to_h.weight`,
  };
}

/** GGUF (llama.cpp `chatglm`) names: base name → GLM Hugging Face base name (suffix .weight/.bias kept). */
const ggufGlobalNames: ReadonlyArray<readonly [gguf: string, hf: string]> = [
  ["token_embd", "transformer.embedding.word_embeddings"],
  ["output_norm", "transformer.encoder.final_layernorm"],
  ["output", "transformer.output_layer"],
];
const ggufLayerNames: ReadonlyArray<readonly [gguf: string, hf: string]> = [
  ["attn_norm", "input_layernorm"],
  ["attn_qkv", "self_attention.query_key_value"],
  ["attn_output", "self_attention.dense"],
  ["ffn_norm", "post_attention_layernorm"],
  ["ffn_up", "mlp.dense_h_to_4h"],
  ["ffn_down", "mlp.dense_4h_to_h"],
];
/** Newer llama.cpp converters may store q/k/v separately: those map straight to the decoder's names. */
const ggufSplitAttentionNames: ReadonlyArray<readonly [gguf: string, llama: string]> = [
  ["attn_q", "self_attn.q_proj"],
  ["attn_k", "self_attn.k_proj"],
  ["attn_v", "self_attn.v_proj"],
];

const ggufLayerPattern = /^blk\.(\d+)\.(.+)\.(weight|bias)$/;
const hfLayerPattern = /^transformer\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$/;
const globalPattern = /^(.+)\.(weight|bias)$/;

/** "blk.3.attn_qkv.weight" → "transformer.encoder.layers.3.self_attention.query_key_value.weight" (or the decoder's name
 *  for separate q/k/v); undefined for names outside GLM's set. */
export function ggufToGlmTensorName(name: string): string | undefined {
  const layer = ggufLayerPattern.exec(name);
  if (layer) {
    const [, index, part, suffix] = layer;
    const hf = ggufLayerNames.find(([gguf]) => gguf === part)?.[1];
    if (hf !== undefined) return `transformer.encoder.layers.${index}.${hf}.${suffix}`;
    const split = ggufSplitAttentionNames.find(([gguf]) => gguf === part)?.[1];
    return split === undefined ? undefined : `model.layers.${index}.${split}.${suffix}`;
  }
  const global = globalPattern.exec(name);
  const hf = global ? ggufGlobalNames.find(([gguf]) => gguf === global[1])?.[1] : undefined;
  return hf === undefined ? undefined : `${hf}.${global![2]}`;
}

/** The inverse of ggufToGlmTensorName for the GLM Hugging Face names. */
export function glmToGgufTensorName(name: string): string | undefined {
  const layer = hfLayerPattern.exec(name);
  if (layer) {
    const [, index, part, suffix] = layer;
    const gguf = ggufLayerNames.find(([, hf]) => hf === part)?.[0];
    return gguf === undefined ? undefined : `blk.${index}.${gguf}.${suffix}`;
  }
  const global = globalPattern.exec(name);
  const gguf = global ? ggufGlobalNames.find(([, hf]) => hf === global[1])?.[0] : undefined;
  return gguf === undefined ? undefined : `${gguf}.${global![2]}`;
}

/** Every GLM tensor (Hugging Face names) with the shape the config implies, in llama.cpp's order. */
export function expectedGlmTensorShapes(config: LlamaConfig): Map<string, number[]> {
  const { hiddenSize, intermediateSize, headCount, keyValueHeadCount, headDim, vocabSize } = config;
  const fused = (headCount + 2 * keyValueHeadCount) * headDim;
  const shapes = new Map<string, number[]>([[glmTensorNames.tokenEmbedding, [vocabSize, hiddenSize]]]);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const names = glmLayerTensorNames(layer);
    shapes.set(names.attentionNorm, [hiddenSize]);
    shapes.set(names.queryKeyValue, [fused, hiddenSize]);
    if (config.attentionBias) shapes.set(names.queryKeyValueBias, [fused]);
    shapes.set(names.attentionOutput, [hiddenSize, headCount * headDim]);
    shapes.set(names.feedForwardNorm, [hiddenSize]);
    shapes.set(names.gateUp, [2 * intermediateSize, hiddenSize]);
    shapes.set(names.down, [hiddenSize, intermediateSize]);
  }
  shapes.set(glmTensorNames.finalNorm, [hiddenSize]);
  shapes.set(glmTensorNames.output, [vocabSize, hiddenSize]);
  return shapes;
}

/** What {@link glmToDecoderTensors} returns: the decoder's tensors and where each came from. */
export interface GlmToDecoderResult {
  /** Tensors under the decoder's (Llama) names; split matrices are row views of the fused ones. */
  tensors: Map<string, Tensor>;
  /** Maps a decoder name back to the file's own spelling (e.g. "...query_key_value.weight rows 0..4095"). */
  describeName: (name: string) => string;
}

/**
 * Translates GLM tensors (Hugging Face GLM names) into the decoder's, splitting the fused matrices. A fused tensor
 * whose shape contradicts the config is a ModelFileError naming `file`, the tensor (as `fileName` spells it) and the
 * expected shape; tensors outside GLM's set are passed through under their own names.
 */
export function glmToDecoderTensors(
  glm: ReadonlyMap<string, Tensor>,
  config: LlamaConfig,
  file: string,
  fileName: (glmName: string) => string = (name) => name,
): GlmToDecoderResult {
  const tensors = new Map<string, Tensor>();
  const origins = new Map<string, string>();
  const put = (name: string, tensor: Tensor, origin: string) => {
    tensors.set(name, tensor);
    origins.set(name, origin);
  };
  const { headCount, keyValueHeadCount, headDim, intermediateSize } = config;
  const queryRows = headCount * headDim;
  const keyValueRows = keyValueHeadCount * headDim;
  const fusedRows = queryRows + 2 * keyValueRows;

  /** Rows [start, end) of a fused tensor under `name`, after checking its leading size. */
  const split = (glmName: string, tensor: Tensor, expectedRows: number, formula: string, parts: Array<[name: string, rows: number]>) => {
    if (tensor.shape[0] !== expectedRows) {
      throw new ModelFileError(
        { file, tensor: fileName(glmName) },
        `shape ${shapeText(tensor.shape)} contradicts the config: expected ${expectedRows} rows = ${formula} (headCount=${headCount}, keyValueHeadCount=${keyValueHeadCount}, headDim=${headDim}, intermediateSize=${intermediateSize})`,
      );
    }
    let start = 0;
    for (const [name, rows] of parts) {
      put(name, tensor.slice(start, start + rows), `${fileName(glmName)} rows ${start}..${start + rows - 1}`);
      start += rows;
    }
  };

  const layerPattern = /^transformer\.encoder\.layers\.(\d+)\.(.+)$/;
  const globals = new Map<string, string>([
    [glmTensorNames.tokenEmbedding, llamaTensorNames.tokenEmbedding],
    [glmTensorNames.finalNorm, llamaTensorNames.outputNorm],
    [glmTensorNames.output, llamaTensorNames.output],
  ]);
  for (const [name, tensor] of glm) {
    if (name === glmTensorNames.rotaryFrequencies) continue;
    const global = globals.get(name);
    if (global !== undefined) {
      put(global, tensor, fileName(name));
      continue;
    }
    const layer = layerPattern.exec(name);
    if (layer === null) {
      put(name, tensor, fileName(name));
      continue;
    }
    const index = Number(layer[1]);
    const glmNames = glmLayerTensorNames(index);
    const names = llamaLayerTensorNames(index);
    switch (name) {
      case glmNames.attentionNorm: put(names.attentionNorm, tensor, fileName(name)); break;
      case glmNames.attentionOutput: put(names.attentionOutput, tensor, fileName(name)); break;
      case glmNames.feedForwardNorm: put(names.feedForwardNorm, tensor, fileName(name)); break;
      case glmNames.down: put(names.down, tensor, fileName(name)); break;
      case glmNames.queryKeyValue:
        split(name, tensor, fusedRows, "(headCount + 2 · keyValueHeadCount) · headDim", [[names.query, queryRows], [names.key, keyValueRows], [names.value, keyValueRows]]);
        break;
      case glmNames.queryKeyValueBias:
        split(name, tensor, fusedRows, "(headCount + 2 · keyValueHeadCount) · headDim", [[names.queryBias, queryRows], [names.keyBias, keyValueRows], [names.valueBias, keyValueRows]]);
        break;
      case glmNames.gateUp:
        split(name, tensor, 2 * intermediateSize, "2 · intermediateSize", [[names.gate, intermediateSize], [names.up, intermediateSize]]);
        break;
      default:
        put(name, tensor, fileName(name));
    }
  }
  const source = glmSourceName(config);
  return { tensors, describeName: (name) => origins.get(name) ?? fileName(source(name)) };
}

/** The GLM tensor (Hugging Face name) a decoder tensor comes from, for messages about missing tensors. */
function glmSourceName(config: LlamaConfig): (decoderName: string) => string {
  const byDecoderName = new Map<string, string>([
    [llamaTensorNames.tokenEmbedding, glmTensorNames.tokenEmbedding],
    [llamaTensorNames.outputNorm, glmTensorNames.finalNorm],
    [llamaTensorNames.output, glmTensorNames.output],
  ]);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const glm = glmLayerTensorNames(layer);
    const names = llamaLayerTensorNames(layer);
    for (const [decoder, source] of [
      [names.attentionNorm, glm.attentionNorm], [names.query, glm.queryKeyValue], [names.key, glm.queryKeyValue], [names.value, glm.queryKeyValue],
      [names.queryBias, glm.queryKeyValueBias], [names.keyBias, glm.queryKeyValueBias], [names.valueBias, glm.queryKeyValueBias],
      [names.attentionOutput, glm.attentionOutput], [names.feedForwardNorm, glm.feedForwardNorm], [names.gate, glm.gateUp], [names.up, glm.gateUp], [names.down, glm.down],
    ]) byDecoderName.set(decoder, source);
  }
  return (name) => byDecoderName.get(name) ?? name;
}
