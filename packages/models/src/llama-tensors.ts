// The tensors of a Llama model under their Hugging Face names, the shape each must have for a given LlamaConfig,
// and the check that a loaded set of tensors is complete and agrees with the config.

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "./errors.ts";
import type { LlamaConfig } from "./llama-config.ts";

/** Whole-model tensor names (Hugging Face spelling). */
export const llamaTensorNames = {
  /** [vocabSize, hiddenSize] */
  tokenEmbedding: "model.embed_tokens.weight",
  /** [hiddenSize] */
  outputNorm: "model.norm.weight",
  /** [vocabSize, hiddenSize]; the same Tensor object as tokenEmbedding when config.tiedEmbeddings */
  output: "lm_head.weight",
  /** [rotaryDim / 2], optional: llama3 frequency divisors from GGUF files (already folded into ropeFrequencies) */
  ropeFrequencyFactors: "rope_freqs.weight",
} as const;

/** The Hugging Face names of one layer's tensors, with their shapes. */
export interface LlamaLayerTensorNames {
  /** [hiddenSize] RMSNorm weight before attention */
  attentionNorm: string;
  /** [headCount · headDim, hiddenSize] */
  query: string;
  /** [keyValueHeadCount · headDim, hiddenSize] */
  key: string;
  /** [keyValueHeadCount · headDim, hiddenSize] */
  value: string;
  /** [headCount · headDim], only when config.attentionBias */
  queryBias: string;
  /** [keyValueHeadCount · headDim], only when config.attentionBias */
  keyBias: string;
  /** [keyValueHeadCount · headDim], only when config.attentionBias */
  valueBias: string;
  /** [hiddenSize, headCount · headDim] */
  attentionOutput: string;
  /** [hiddenSize] RMSNorm weight before the feed-forward block */
  feedForwardNorm: string;
  /** [intermediateSize, hiddenSize] */
  gate: string;
  /** [intermediateSize, hiddenSize] */
  up: string;
  /** [hiddenSize, intermediateSize] */
  down: string;
}

/** Hugging Face names of the tensors of transformer block `layer`. */
export function llamaLayerTensorNames(layer: number): LlamaLayerTensorNames {
  const prefix = `model.layers.${layer}`;
  return {
    attentionNorm: `${prefix}.input_layernorm.weight`,
    query: `${prefix}.self_attn.q_proj.weight`,
    key: `${prefix}.self_attn.k_proj.weight`,
    value: `${prefix}.self_attn.v_proj.weight`,
    queryBias: `${prefix}.self_attn.q_proj.bias`,
    keyBias: `${prefix}.self_attn.k_proj.bias`,
    valueBias: `${prefix}.self_attn.v_proj.bias`,
    attentionOutput: `${prefix}.self_attn.o_proj.weight`,
    feedForwardNorm: `${prefix}.post_attention_layernorm.weight`,
    gate: `${prefix}.mlp.gate_proj.weight`,
    up: `${prefix}.mlp.up_proj.weight`,
    down: `${prefix}.mlp.down_proj.weight`,
  };
}

/** The shape a tensor must have under a config, and how it is derived (for error messages). */
export interface ExpectedTensorShape {
  /** The shape, outermost first. */
  shape: number[];
  /** The shape in terms of config fields, for error messages, e.g. "[headCount · headDim, hiddenSize]". */
  formula: string;
}

/** Every required tensor (HF name) with the shape the config implies (q/k/v biases when config.attentionBias).
 *  rope_freqs.weight is optional and not listed. */
export function expectedLlamaTensorShapes(config: LlamaConfig): Map<string, ExpectedTensorShape> {
  const { hiddenSize, intermediateSize, headCount, keyValueHeadCount, headDim, vocabSize } = config;
  const shapes = new Map<string, ExpectedTensorShape>();
  shapes.set(llamaTensorNames.tokenEmbedding, { shape: [vocabSize, hiddenSize], formula: "[vocabSize, hiddenSize]" });
  for (let layer = 0; layer < config.layerCount; layer++) {
    const names = llamaLayerTensorNames(layer);
    shapes.set(names.attentionNorm, { shape: [hiddenSize], formula: "[hiddenSize]" });
    shapes.set(names.query, { shape: [headCount * headDim, hiddenSize], formula: "[headCount · headDim, hiddenSize]" });
    shapes.set(names.key, { shape: [keyValueHeadCount * headDim, hiddenSize], formula: "[keyValueHeadCount · headDim, hiddenSize]" });
    shapes.set(names.value, { shape: [keyValueHeadCount * headDim, hiddenSize], formula: "[keyValueHeadCount · headDim, hiddenSize]" });
    if (config.attentionBias) {
      shapes.set(names.queryBias, { shape: [headCount * headDim], formula: "[headCount · headDim]" });
      shapes.set(names.keyBias, { shape: [keyValueHeadCount * headDim], formula: "[keyValueHeadCount · headDim]" });
      shapes.set(names.valueBias, { shape: [keyValueHeadCount * headDim], formula: "[keyValueHeadCount · headDim]" });
    }
    shapes.set(names.attentionOutput, { shape: [hiddenSize, headCount * headDim], formula: "[hiddenSize, headCount · headDim]" });
    shapes.set(names.feedForwardNorm, { shape: [hiddenSize], formula: "[hiddenSize]" });
    shapes.set(names.gate, { shape: [intermediateSize, hiddenSize], formula: "[intermediateSize, hiddenSize]" });
    shapes.set(names.up, { shape: [intermediateSize, hiddenSize], formula: "[intermediateSize, hiddenSize]" });
    shapes.set(names.down, { shape: [hiddenSize, intermediateSize], formula: "[hiddenSize, intermediateSize]" });
  }
  shapes.set(llamaTensorNames.outputNorm, { shape: [hiddenSize], formula: "[hiddenSize]" });
  shapes.set(llamaTensorNames.output, { shape: [vocabSize, hiddenSize], formula: "[vocabSize, hiddenSize]" });
  return shapes;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}

function configSummary(config: LlamaConfig): string {
  return (
    `hiddenSize=${config.hiddenSize}, intermediateSize=${config.intermediateSize}, headCount=${config.headCount}, ` +
    `keyValueHeadCount=${config.keyValueHeadCount}, headDim=${config.headDim}, vocabSize=${config.vocabSize}`
  );
}

/** Throws a ModelFileError naming `file` and the tensor when a required tensor is missing or its shape contradicts
 *  the config. Extra tensors are allowed. `describeName` maps an HF name back to the file's own name for messages. */
export function checkLlamaTensors(
  tensors: ReadonlyMap<string, Tensor>,
  config: LlamaConfig,
  file: string,
  describeName: (name: string) => string = (name) => name,
): void {
  for (const [name, expected] of expectedLlamaTensorShapes(config)) {
    const tensor = tensors.get(name);
    if (tensor === undefined) {
      throw new ModelFileError({ file, tensor: describeName(name) }, `missing: a Llama model with ${config.layerCount} layers needs it, shape ${expected.formula} = ${shapeText(expected.shape)}`);
    }
    if (!sameShape(tensor.shape, expected.shape)) {
      throw new ModelFileError(
        { file, tensor: describeName(name) },
        `shape ${shapeText(tensor.shape)} contradicts the config: expected ${expected.formula} = ${shapeText(expected.shape)} (${configSummary(config)})`,
      );
    }
  }
  const factors = tensors.get(llamaTensorNames.ropeFrequencyFactors);
  if (factors !== undefined && !sameShape(factors.shape, [config.rotaryDim / 2])) {
    throw new ModelFileError(
      { file, tensor: describeName(llamaTensorNames.ropeFrequencyFactors) },
      `shape ${shapeText(factors.shape)} contradicts the config: expected [rotaryDim / 2] = [${config.rotaryDim / 2}]`,
    );
  }
}
