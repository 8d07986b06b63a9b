// The weights of a Llama-family decoder (Llama 2, 3, 3.1, 3.2; GLM, whose fused matrices the loaders split) as the
// forward pass uses them: one field per matrix, gathered from LoadedWeights (where the loaders already checked every
// shape against the config).

import type { Kernel, Tensor } from "@infer-recipes/kernel";

import { getTensor, type LoadedWeights } from "../loaded-weights.ts";
import { llamaLayerTensorNames, llamaTensorNames } from "../llama-tensors.ts";

/** The matrices and norm weights of one Llama decoder layer. */
export interface LlamaLayerWeights {
  /** RMSNorm weight before attention, `[hidden]` f32. */
  attentionNorm: Tensor;
  /** Query projection, `[heads·headDim, hidden]`. */
  query: Tensor;
  /** Key projection, `[kvHeads·headDim, hidden]`. */
  key: Tensor;
  /** Value projection, `[kvHeads·headDim, hidden]`. */
  value: Tensor;
  /** Query projection bias, `[heads·headDim]` f32, when config.attentionBias (GLM). */
  queryBias?: Tensor;
  /** Key projection bias, `[kvHeads·headDim]` f32, when config.attentionBias. */
  keyBias?: Tensor;
  /** Value projection bias, `[kvHeads·headDim]` f32, when config.attentionBias. */
  valueBias?: Tensor;
  /** Attention output projection, `[hidden, heads·headDim]`. */
  attentionOutput: Tensor;
  /** RMSNorm weight before the feed-forward, `[hidden]` f32. */
  feedForwardNorm: Tensor;
  /** SwiGLU gate projection, `[intermediate, hidden]`. */
  gate: Tensor;
  /** SwiGLU up projection, `[intermediate, hidden]`. */
  up: Tensor;
  /** Feed-forward down projection, `[hidden, intermediate]`. */
  down: Tensor;
}

/** Every weight of a Llama model, one field per matrix, as the forward pass uses them. */
export interface LlamaWeights {
  /** Token embedding table, `[vocab, hidden]`, any dtype (rows are dequantized on lookup). */
  embedding: Tensor;
  /** The decoder layers, first to last. */
  layers: LlamaLayerWeights[];
  /** RMSNorm weight after the last layer, `[hidden]` f32. */
  finalNorm: Tensor;
  /** LM head, `[vocab, hidden]`; the embedding itself when embeddings are tied. */
  output: Tensor;
}

/** The weights of `loaded` gathered by role (the loaders have already checked every shape against the config). */
export function llamaWeights(loaded: LoadedWeights): LlamaWeights {
  const take = (name: string) => getTensor(loaded, name);
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < loaded.config.layerCount; layer++) {
    const names = llamaLayerTensorNames(layer);
    layers.push({
      attentionNorm: take(names.attentionNorm),
      query: take(names.query),
      key: take(names.key),
      value: take(names.value),
      ...(loaded.config.attentionBias ? { queryBias: take(names.queryBias), keyBias: take(names.keyBias), valueBias: take(names.valueBias) } : {}),
      attentionOutput: take(names.attentionOutput),
      feedForwardNorm: take(names.feedForwardNorm),
      gate: take(names.gate),
      up: take(names.up),
      down: take(names.down),
    });
  }
  return {
    embedding: take(llamaTensorNames.tokenEmbedding),
    layers,
    finalNorm: take(llamaTensorNames.outputNorm),
    output: take(llamaTensorNames.output),
  };
}

/** Adds a layer's query/key/value biases (when it has them) to the projections, rows [tokens, width] each. */
export function addAttentionBiases(kernel: Kernel, layer: LlamaLayerWeights, query: Tensor, key: Tensor, value: Tensor): void {
  if (layer.queryBias) kernel.add(query, query, layer.queryBias);
  if (layer.keyBias) kernel.add(key, key, layer.keyBias);
  if (layer.valueBias) kernel.add(value, value, layer.valueBias);
}

/** Bytes of all weights, a shared (tied) matrix counted once. */
export function llamaWeightBytes(weights: LlamaWeights): number {
  const tensors = new Set<Tensor>([weights.embedding, weights.output, weights.finalNorm]);
  for (const layer of weights.layers) for (const tensor of Object.values(layer)) tensors.add(tensor);
  let bytes = 0;
  for (const tensor of tensors) bytes += tensor.data.byteLength;
  return bytes;
}

/** Bytes one decode step streams: every matrix except the embedding (only one row of it is read), plus the output. */
export function llamaDecodeBytes(weights: LlamaWeights): number {
  let bytes = weights.output.data.byteLength;
  for (const layer of weights.layers) for (const tensor of Object.values(layer)) bytes += tensor.data.byteLength;
  return bytes;
}
