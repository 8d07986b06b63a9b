// The tensors of an Idefics3 / SmolVLM vision side under their Hugging Face names (model.vision_model.*,
// model.connector.*), the llama.cpp mmproj names of each (v.*, mm.model.fc), the shape each must have for a given
// Idefics3VisionConfig, and the check that a loaded set is complete and agrees with the config.

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "./errors.ts";
import { patchesPerTile, type Idefics3VisionConfig } from "./idefics3-vision-config.ts";

const vision = "model.vision_model.";

/** Whole-encoder tensor names (Hugging Face spelling). */
export const idefics3VisionTensorNames = {
  /** [hidden, 3, patch, patch] convolution with stride = patch (or already flattened [hidden, 3·patch·patch]) */
  patchEmbedding: `${vision}embeddings.patch_embedding.weight`,
  /** [hidden] */
  patchBias: `${vision}embeddings.patch_embedding.bias`,
  /** [patchesPerTile, hidden] learned positions */
  positionEmbedding: `${vision}embeddings.position_embedding.weight`,
  /** [hidden] LayerNorm after the last block: scale */
  postNormWeight: `${vision}post_layernorm.weight`,
  /** [hidden] LayerNorm after the last block: shift */
  postNormBias: `${vision}post_layernorm.bias`,
  /** [projectionSize, hidden · scaleFactor²] connector projection (no bias) */
  projection: "model.connector.modality_projection.proj.weight",
} as const;

/** The Hugging Face tensor names of one encoder layer, by role. */
export interface SiglipLayerTensorNames {
  /** [hidden] LayerNorm before attention: scale */
  norm1Weight: string;
  /** [hidden] LayerNorm before attention: shift */
  norm1Bias: string;
  /** [hidden, hidden] query projection */
  query: string;
  /** [hidden] query projection bias */
  queryBias: string;
  /** [hidden, hidden] key projection */
  key: string;
  /** [hidden] key projection bias */
  keyBias: string;
  /** [hidden, hidden] value projection */
  value: string;
  /** [hidden] value projection bias */
  valueBias: string;
  /** [hidden, hidden] attention output projection */
  attentionOutput: string;
  /** [hidden] attention output projection bias */
  attentionOutputBias: string;
  /** [hidden] LayerNorm before the MLP: scale */
  norm2Weight: string;
  /** [hidden] LayerNorm before the MLP: shift */
  norm2Bias: string;
  /** [intermediate, hidden] MLP up projection (GELU after it) */
  fc1: string;
  /** [intermediate] MLP up projection bias */
  fc1Bias: string;
  /** [hidden, intermediate] MLP down projection */
  fc2: string;
  /** [hidden] MLP down projection bias */
  fc2Bias: string;
}

/** HF part (after model.vision_model.encoder.layers.N.) → mmproj part (after v.blk.N.), both without .weight/.bias. */
const layerParts: ReadonlyArray<readonly [field: keyof SiglipLayerTensorNames, hf: string, gguf: string, suffix: "weight" | "bias"]> = [
  ["norm1Weight", "layer_norm1", "ln1", "weight"],
  ["norm1Bias", "layer_norm1", "ln1", "bias"],
  ["query", "self_attn.q_proj", "attn_q", "weight"],
  ["queryBias", "self_attn.q_proj", "attn_q", "bias"],
  ["key", "self_attn.k_proj", "attn_k", "weight"],
  ["keyBias", "self_attn.k_proj", "attn_k", "bias"],
  ["value", "self_attn.v_proj", "attn_v", "weight"],
  ["valueBias", "self_attn.v_proj", "attn_v", "bias"],
  ["attentionOutput", "self_attn.out_proj", "attn_out", "weight"],
  ["attentionOutputBias", "self_attn.out_proj", "attn_out", "bias"],
  ["norm2Weight", "layer_norm2", "ln2", "weight"],
  ["norm2Bias", "layer_norm2", "ln2", "bias"],
  ["fc1", "mlp.fc1", "ffn_up", "weight"],
  ["fc1Bias", "mlp.fc1", "ffn_up", "bias"],
  ["fc2", "mlp.fc2", "ffn_down", "weight"],
  ["fc2Bias", "mlp.fc2", "ffn_down", "bias"],
];

/** The Hugging Face tensor names of encoder layer `layer`. */
export function siglipLayerTensorNames(layer: number): SiglipLayerTensorNames {
  const names = {} as SiglipLayerTensorNames;
  for (const [field, hf, , suffix] of layerParts) names[field] = `${vision}encoder.layers.${layer}.${hf}.${suffix}`;
  return names;
}

const globalGgufNames: ReadonlyArray<readonly [hf: string, gguf: string]> = [
  [idefics3VisionTensorNames.patchEmbedding, "v.patch_embd.weight"],
  [idefics3VisionTensorNames.patchBias, "v.patch_embd.bias"],
  [idefics3VisionTensorNames.positionEmbedding, "v.position_embd.weight"],
  [idefics3VisionTensorNames.postNormWeight, "v.post_ln.weight"],
  [idefics3VisionTensorNames.postNormBias, "v.post_ln.bias"],
  [idefics3VisionTensorNames.projection, "mm.model.fc.weight"],
];
const ggufOfHfGlobal = new Map(globalGgufNames);
const hfOfGgufGlobal = new Map(globalGgufNames.map(([hf, gguf]) => [gguf, hf]));
const hfLayerPattern = /^model\.vision_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$/;
const ggufLayerPattern = /^v\.blk\.(\d+)\.(.+)\.(weight|bias)$/;

/** "model.vision_model.encoder.layers.3.mlp.fc1.weight" → "v.blk.3.ffn_up.weight"; undefined outside the set. */
export function visionHfToGgufTensorName(name: string): string | undefined {
  const layer = hfLayerPattern.exec(name);
  if (layer) {
    // Every part has a weight and a bias under the same name, so the part name alone picks the mmproj name.
    const part = layerParts.find(([, hf]) => hf === layer[2]);
    return part && `v.blk.${layer[1]}.${part[2]}.${layer[3]}`;
  }
  return ggufOfHfGlobal.get(name);
}

/** "v.blk.3.ffn_up.weight" → "model.vision_model.encoder.layers.3.mlp.fc1.weight"; undefined outside the set. */
export function visionGgufToHfTensorName(name: string): string | undefined {
  const layer = ggufLayerPattern.exec(name);
  if (layer) {
    const part = layerParts.find(([, , gguf]) => gguf === layer[2]);
    return part && `${vision}encoder.layers.${layer[1]}.${part[1]}.${layer[3]}`;
  }
  return hfOfGgufGlobal.get(name);
}

/** Every tensor the config needs, with the shape it must have (the patch embedding in its flattened form). */
export function expectedIdefics3VisionShapes(config: Idefics3VisionConfig): Map<string, readonly number[]> {
  const { hiddenSize: hidden, intermediateSize: intermediate, patchSize: patch, scaleFactor, projectionSize } = config;
  const shapes = new Map<string, readonly number[]>([
    [idefics3VisionTensorNames.patchEmbedding, [hidden, 3 * patch * patch]],
    [idefics3VisionTensorNames.patchBias, [hidden]],
    [idefics3VisionTensorNames.positionEmbedding, [patchesPerTile(config), hidden]],
    [idefics3VisionTensorNames.postNormWeight, [hidden]],
    [idefics3VisionTensorNames.postNormBias, [hidden]],
    [idefics3VisionTensorNames.projection, [projectionSize, hidden * scaleFactor * scaleFactor]],
  ]);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const names = siglipLayerTensorNames(layer);
    for (const field of ["query", "key", "value", "attentionOutput"] as const) shapes.set(names[field], [hidden, hidden]);
    for (const field of ["norm1Weight", "norm1Bias", "queryBias", "keyBias", "valueBias", "attentionOutputBias", "norm2Weight", "norm2Bias", "fc2Bias"] as const) {
      shapes.set(names[field], [hidden]);
    }
    shapes.set(names.fc1, [intermediate, hidden]);
    shapes.set(names.fc1Bias, [intermediate]);
    shapes.set(names.fc2, [hidden, intermediate]);
  }
  return shapes;
}

/**
 * Checks that `tensors` holds every tensor the config needs with the right shape; flattens a 4-D patch embedding
 * [hidden, 3, patch, patch] into [hidden, 3·patch·patch] (same bytes, row-major) in place. `describeName` maps an HF
 * name to the file's own spelling for the message.
 */
export function checkIdefics3VisionTensors(tensors: Map<string, Tensor>, config: Idefics3VisionConfig, file: string, describeName: (name: string) => string = (name) => name): void {
  const patch = tensors.get(idefics3VisionTensorNames.patchEmbedding);
  if (patch !== undefined && patch.shape.length === 4) {
    const [rows, channels, height, width] = patch.shape;
    tensors.set(idefics3VisionTensorNames.patchEmbedding, patch.reshape([rows, channels * height * width]));
  }
  for (const [name, shape] of expectedIdefics3VisionShapes(config)) {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new ModelFileError({ file, tensor: describeName(name) }, `missing (needed by the vision encoder: expected shape ${shapeText(shape)})`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((size, axis) => size !== shape[axis])) {
      throw new ModelFileError({ file, tensor: describeName(name) }, `expected shape ${shapeText(shape)} for this config, got ${shapeText(tensor.shape)}`);
    }
  }
}
