// The published SmolVLM configurations (HuggingFaceTB/SmolVLM-256M-Instruct and -500M-Instruct config.json), for
// benchmarks that build random-weight models of the exact shapes, and random vision weights to fill them.

import { Tensor, type DType, type Kernel } from "@infer-recipes/kernel";

import type { Idefics3VisionConfig } from "./idefics3-vision-config.ts";
import { expectedIdefics3VisionShapes, idefics3VisionTensorNames } from "./idefics3-vision-tensors.ts";
import type { LlamaConfig } from "./llama-config.ts";
import { assembleVisionWeights, type LoadedVisionWeights } from "./loaded-vision-weights.ts";
import { randomWeights } from "./tiny-models/random-weights.ts";

const text: Omit<LlamaConfig, "hiddenSize" | "intermediateSize" | "layerCount" | "headCount" | "keyValueHeadCount"> = {
  headDim: 64,
  rotaryDim: 64,
  rmsNormEpsilon: 1e-5,
  ropeTheta: 100000,
  ropeLayout: "half",
  contextLength: 8192,
  vocabSize: 49280,
  tiedEmbeddings: false,
  bosTokenId: 1,
  eosTokenIds: [49279],
};

/** SigLIP base patch-16 at 512 pixels, pixel shuffle 4: both SmolVLM sizes share it. */
const vision: Omit<Idefics3VisionConfig, "projectionSize"> = {
  hiddenSize: 768,
  intermediateSize: 3072,
  layerCount: 12,
  headCount: 12,
  imageSize: 512,
  patchSize: 16,
  layerNormEpsilon: 1e-6,
  scaleFactor: 4,
};

/** The two halves of a SmolVLM configuration. */
export interface SmolVlmPreset {
  /** The language model (a Llama-architecture SmolLM2). */
  text: LlamaConfig;
  /** The SigLIP encoder and the connector, which projects into the language model's width. */
  vision: Idefics3VisionConfig;
}

/** The shapes of SmolVLM 500M and 256M Instruct (for benchmarks with random weights). */
export const smolVlmPresets: Record<"500m" | "256m", SmolVlmPreset> = {
  /** HuggingFaceTB/SmolVLM-500M-Instruct: SmolLM2-360M + SigLIP-B/16-512, 507 M parameters. */
  "500m": {
    text: { ...text, hiddenSize: 960, intermediateSize: 2560, layerCount: 32, headCount: 15, keyValueHeadCount: 5 },
    vision: { ...vision, projectionSize: 960 },
  },
  /** HuggingFaceTB/SmolVLM-256M-Instruct: SmolLM2-135M + SigLIP-B/16-512, 256 M parameters. */
  "256m": {
    text: { ...text, hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, keyValueHeadCount: 3 },
    vision: { ...vision, projectionSize: 576 },
  },
};

/** A key of {@link smolVlmPresets}. */
export type SmolVlmSize = keyof typeof smolVlmPresets;

/**
 * A vision side with random weights of the given config, in memory: matrices in `dtype` (|w| ≈ 0.01, as
 * randomWeights makes them), patch and position embeddings f32, LayerNorm weights 1 and biases 0. For benchmarks.
 */
export function randomIdefics3VisionWeights(config: Idefics3VisionConfig, dtype: DType, options: { packFor?: Kernel } = {}): LoadedVisionWeights {
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedIdefics3VisionShapes(config)) {
    if (shape.length === 1) {
      const isNormWeight = name.endsWith("norm1.weight") || name.endsWith("norm2.weight") || name === idefics3VisionTensorNames.postNormWeight;
      tensors.set(name, Tensor.fromFloat32(shape, new Float32Array(shape[0]).fill(isNormWeight ? 1 : 0)));
    } else {
      const embedding = name === idefics3VisionTensorNames.patchEmbedding || name === idefics3VisionTensorNames.positionEmbedding;
      tensors.set(name, randomWeights(embedding ? "f32" : dtype, shape[0], shape[1]));
    }
  }
  return assembleVisionWeights({ config, tensors, source: { format: "random", path: `(random ${dtype} vision weights)`, files: [] }, metadata: new Map() }, { packFor: options.packFor });
}
