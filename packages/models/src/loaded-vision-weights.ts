// LoadedVisionWeights: what the vision loaders return (a Hugging Face idefics3 directory, a llama.cpp mmproj GGUF,
// random weights) — the vision config, the tensors under Hugging Face names, where they came from — and the shared
// last step that turns a format's raw tensors into it: shape checks against the config, f32 vectors and positions,
// quantize-on-load of the matrices, packing for the kernel.

import type { DType, Kernel, Tensor } from "@infer-recipes/kernel";

import { checkIdefics3VisionTensors, idefics3VisionTensorNames, siglipLayerTensorNames } from "./idefics3-vision-tensors.ts";
import type { Idefics3VisionConfig } from "./idefics3-vision-config.ts";
import type { WeightSource } from "./loaded-weights.ts";
import { convertTensorDType, storageDTypeFor, vectorsToFloat32 } from "./weight-dtypes.ts";

/** A vision side's tensors as loaded from safetensors or an mmproj GGUF, under Hugging Face names. */
export interface LoadedVisionWeights {
  /** The vision side's shape, from the file's config or metadata. */
  config: Idefics3VisionConfig;
  /** Tensors under Hugging Face names (idefics3VisionTensorNames, siglipLayerTensorNames); the patch embedding is
   *  flattened to [hidden, 3·patch·patch], vectors and the position embedding are f32. */
  tensors: Map<string, Tensor>;
  /** Where the weights came from: the format, the path and every file read. */
  source: WeightSource;
  /** Format metadata (GGUF key/values, safetensors "__metadata__"), or empty. */
  metadata: Map<string, unknown>;
}

/** How vision weights are stored once loaded. */
export interface LoadVisionOptions {
  /** Quantize-on-load: store the encoder's and the connector's matrices in this dtype (rows that are not whole blocks
   *  fall back to f16). The patch embedding keeps its stored dtype. */
  dtype?: DType;
  /** Repack the matrices for this kernel's matmul (Kernel.packWeight, in place). */
  packFor?: Kernel;
}

/** The matrices the encoder multiplies by: every layer's q/k/v/out/fc1/fc2 and the connector projection. */
export function visionMatrixNames(config: Idefics3VisionConfig): string[] {
  const names: string[] = [idefics3VisionTensorNames.projection];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const { query, key, value, attentionOutput, fc1, fc2 } = siglipLayerTensorNames(layer);
    names.push(query, key, value, attentionOutput, fc1, fc2);
  }
  return names;
}

/** The common last step of every vision loader (see the file header). */
export function assembleVisionWeights(
  raw: { config: Idefics3VisionConfig; tensors: Map<string, Tensor>; source: WeightSource; metadata: Map<string, unknown>; describeName?: (name: string) => string },
  options: LoadVisionOptions = {},
): LoadedVisionWeights {
  const tensors = new Map(raw.tensors);
  checkIdefics3VisionTensors(tensors, raw.config, raw.source.path, raw.describeName);
  const result = vectorsToFloat32(tensors);
  const position = result.get(idefics3VisionTensorNames.positionEmbedding)!;
  result.set(idefics3VisionTensorNames.positionEmbedding, convertTensorDType(position, "f32"));
  const matrices = visionMatrixNames(raw.config);
  if (options.dtype !== undefined) {
    for (const name of matrices) {
      const tensor = result.get(name)!;
      result.set(name, convertTensorDType(tensor, storageDTypeFor(tensor.shape, options.dtype)));
    }
  }
  // Every loader (and randomIdefics3VisionWeights) hands over tensors of its own, none shared: pack in place.
  if (options.packFor !== undefined) {
    for (const name of [...matrices, idefics3VisionTensorNames.patchEmbedding]) result.set(name, options.packFor.packWeight(result.get(name)!, { inPlace: true }));
  }
  return { config: raw.config, tensors: result, source: raw.source, metadata: raw.metadata };
}
