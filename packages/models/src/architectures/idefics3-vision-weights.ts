// The weights of an Idefics3 / SmolVLM vision side as the encoder and the connector use them: one field per tensor,
// gathered from LoadedVisionWeights (where the loaders already checked every shape against the config).

import type { Tensor } from "@infer-recipes/kernel";

import { idefics3VisionTensorNames, siglipLayerTensorNames } from "../idefics3-vision-tensors.ts";
import type { LoadedVisionWeights } from "../loaded-vision-weights.ts";
import { ModelFileError } from "../errors.ts";

/** One pre-norm SigLIP encoder layer's tensors (matrices in any dtype the kernel's matmul takes). */
export interface SiglipLayerWeights {
  /** [hidden] f32 LayerNorm before attention: scale */
  norm1Weight: Tensor;
  /** [hidden] f32 LayerNorm before attention: shift */
  norm1Bias: Tensor;
  /** [hidden, hidden] query projection */
  query: Tensor;
  /** [hidden] f32 query projection bias */
  queryBias: Tensor;
  /** [hidden, hidden] key projection */
  key: Tensor;
  /** [hidden] f32 key projection bias */
  keyBias: Tensor;
  /** [hidden, hidden] value projection */
  value: Tensor;
  /** [hidden] f32 value projection bias */
  valueBias: Tensor;
  /** [hidden, hidden] attention output projection */
  attentionOutput: Tensor;
  /** [hidden] f32 attention output projection bias */
  attentionOutputBias: Tensor;
  /** [hidden] f32 LayerNorm before the MLP: scale */
  norm2Weight: Tensor;
  /** [hidden] f32 LayerNorm before the MLP: shift */
  norm2Bias: Tensor;
  /** [intermediate, hidden] MLP up projection (GELU after it) */
  fc1: Tensor;
  /** [intermediate] f32 MLP up projection bias */
  fc1Bias: Tensor;
  /** [hidden, intermediate] MLP down projection */
  fc2: Tensor;
  /** [hidden] f32 MLP down projection bias */
  fc2Bias: Tensor;
}

/** The vision side's tensors: patch and position embeddings, the encoder layers, the post-norm and the connector. */
export interface Idefics3VisionWeights {
  /** The patch embedding convolution as a matrix [hidden, 3·patch·patch]: rows = output channels, columns in (channel, y, x) order */
  patchEmbedding: Tensor;
  /** [hidden] f32 patch embedding bias */
  patchBias: Tensor;
  /** [patchesPerTile, hidden] f32 learned position of each patch of a tile */
  positionEmbedding: Tensor;
  /** The encoder layers, first to last. */
  layers: SiglipLayerWeights[];
  /** [hidden] f32 LayerNorm after the last layer: scale */
  postNormWeight: Tensor;
  /** [hidden] f32 LayerNorm after the last layer: shift */
  postNormBias: Tensor;
  /** [projectionSize, hidden · scaleFactor²] the connector: pixel-shuffled patches into the language model's width (no bias) */
  projection: Tensor;
}

/** The tensors of loaded vision weights under their roles; a missing tensor is a ModelFileError naming it. */
export function idefics3VisionWeights(loaded: LoadedVisionWeights): Idefics3VisionWeights {
  const take = (name: string): Tensor => {
    const tensor = loaded.tensors.get(name);
    if (tensor === undefined) throw new ModelFileError({ file: loaded.source.path, tensor: name }, "missing from the loaded vision weights");
    return tensor;
  };
  const layers: SiglipLayerWeights[] = [];
  for (let layer = 0; layer < loaded.config.layerCount; layer++) {
    const names = siglipLayerTensorNames(layer);
    const weights = {} as SiglipLayerWeights;
    for (const field of Object.keys(names) as Array<keyof SiglipLayerWeights>) weights[field] = take(names[field]);
    layers.push(weights);
  }
  return {
    patchEmbedding: take(idefics3VisionTensorNames.patchEmbedding),
    patchBias: take(idefics3VisionTensorNames.patchBias),
    positionEmbedding: take(idefics3VisionTensorNames.positionEmbedding),
    layers,
    postNormWeight: take(idefics3VisionTensorNames.postNormWeight),
    postNormBias: take(idefics3VisionTensorNames.postNormBias),
    projection: take(idefics3VisionTensorNames.projection),
  };
}

/** Bytes of all vision weights. */
export function idefics3VisionWeightBytes(weights: Idefics3VisionWeights): number {
  let bytes = 0;
  for (const tensor of [weights.patchEmbedding, weights.patchBias, weights.positionEmbedding, weights.postNormWeight, weights.postNormBias, weights.projection]) bytes += tensor.data.byteLength;
  for (const layer of weights.layers) for (const tensor of Object.values(layer)) bytes += tensor.data.byteLength;
  return bytes;
}
