// Idefics3VisionConfig: the hyper-parameters of an Idefics3 / SmolVLM vision side — the SigLIP vision transformer
// and the pixel-shuffle connector that projects its patches into the language model — in one typed shape, whether
// they came from a Hugging Face config.json (vision_config, scale_factor, text_config.hidden_size) or from a
// llama.cpp mmproj GGUF (clip.vision.*), plus the consistency checks they must pass.

import { ModelFileError } from "./errors.ts";

/** The shape of an Idefics3 vision side: the SigLIP encoder and the pixel-shuffle connector. */
export interface Idefics3VisionConfig {
  /** Width of the vision transformer: vision_config.hidden_size / clip.vision.embedding_length (768). */
  hiddenSize: number;
  /** Width of its GELU MLP: vision_config.intermediate_size / clip.vision.feed_forward_length (3072). */
  intermediateSize: number;
  /** Encoder blocks: vision_config.num_hidden_layers / clip.vision.block_count (12). */
  layerCount: number;
  /** Attention heads: vision_config.num_attention_heads / clip.vision.attention.head_count (12). */
  headCount: number;
  /** Side of a tile in pixels: vision_config.image_size / clip.vision.image_size (512). */
  imageSize: number;
  /** Side of a patch in pixels: vision_config.patch_size / clip.vision.patch_size (16). */
  patchSize: number;
  /** LayerNorm epsilon: vision_config.layer_norm_eps / clip.vision.attention.layer_norm_epsilon (1e-6). */
  layerNormEpsilon: number;
  /** Pixel shuffle: scale × scale neighbouring patches become one token (scale_factor /
   *  clip.vision.projector.scale_factor; 4 for SmolVLM 256M/500M). */
  scaleFactor: number;
  /** Width of the language model the connector projects into: text_config.hidden_size / clip.vision.projection_dim. */
  projectionSize: number;
}

/** Patches per side of a tile. */
export function patchesPerSide(config: Idefics3VisionConfig): number {
  return config.imageSize / config.patchSize;
}

/** Patches per tile (the encoder's sequence length). */
export function patchesPerTile(config: Idefics3VisionConfig): number {
  return patchesPerSide(config) ** 2;
}

/** Tokens per tile after the pixel shuffle (64 for SmolVLM). */
export function tokensPerTile(config: Idefics3VisionConfig): number {
  return patchesPerTile(config) / config.scaleFactor ** 2;
}

/** Checks the fields against each other; returns the config unchanged. `file` is named in errors. */
export function validateIdefics3VisionConfig(config: Idefics3VisionConfig, file: string): Idefics3VisionConfig {
  for (const field of ["hiddenSize", "intermediateSize", "layerCount", "headCount", "imageSize", "patchSize", "scaleFactor", "projectionSize"] as const) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) throw new ModelFileError({ file, field }, `expected a positive integer, got ${value}`);
  }
  if (!(Number.isFinite(config.layerNormEpsilon) && config.layerNormEpsilon > 0)) {
    throw new ModelFileError({ file, field: "layerNormEpsilon" }, `expected a finite number > 0, got ${config.layerNormEpsilon}`);
  }
  if (config.hiddenSize % config.headCount !== 0) {
    throw new ModelFileError({ file, field: "headCount" }, `hiddenSize (${config.hiddenSize}) must be a multiple of headCount (${config.headCount})`);
  }
  if (config.imageSize % config.patchSize !== 0) {
    throw new ModelFileError({ file, field: "patchSize" }, `imageSize (${config.imageSize}) must be a multiple of patchSize (${config.patchSize})`);
  }
  if (patchesPerSide(config) % config.scaleFactor !== 0) {
    throw new ModelFileError(
      { file, field: "scaleFactor" },
      `${patchesPerSide(config)} patches per side (image ${config.imageSize} / patch ${config.patchSize}) must be a multiple of the scale factor ${config.scaleFactor}`,
    );
  }
  return config;
}
