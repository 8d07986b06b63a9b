// An Idefics3 / SmolVLM vision-language model: the SigLIP encoder + connector turn an image's tiles into embeddings,
// and the language model (the Llama code, unchanged) reads them at the <image> positions of the prompt instead of the
// <image> token's own embedding. The prompt layout (<fake_token_around_image>, <row_r_col_c>, <global-img>, one
// <image> per embedding) comes from the processor; this class finds the <image> runs and places the rows.

import type { DenseKvCache } from "@infer-recipes/cache";
import type { Kernel, Tensor } from "@infer-recipes/kernel";

import type { Idefics3VisionConfig } from "../idefics3-vision-config.ts";
import type { LoadedVisionWeights } from "../loaded-vision-weights.ts";
import type { LoadedWeights } from "../loaded-weights.ts";
import type { EmbeddingSpan } from "./embedding-spans.ts";
import { LlamaModel, type ForwardOptions, type LlamaModelOptions } from "./llama.ts";
import { SiglipVisionEncoder, type EncodeImageOptions } from "./siglip-vision-encoder.ts";

/** A model the generation loop can run (the engine's CausalLanguageModel), with the image embeddings in place. */
export interface LanguageModelWithImages {
  /** What the generation loop reads of the language model's config. */
  readonly config: {
    /** Positions the model can attend over. */
    readonly contextLength: number;
    /** Rows of the logits. */
    readonly vocabSize: number;
  };
  /** A dense KV cache for up to `maxTokens` positions (default: the context length). */
  createCache(maxTokens?: number): DenseKvCache;
  /** Runs `tokens` after what `cache` holds, with the image embeddings at their positions; returns the logits
   *  [1, vocab] of the last token, or [tokens, vocab] with allLogits. */
  forward(tokens: Int32Array, cache: DenseKvCache, options?: { allLogits?: boolean }): Tensor;
}

/** An Idefics3 / SmolVLM model: the SigLIP encoder with its connector, and the Llama language model that reads the image embeddings. */
export class Idefics3Model {
  constructor(
    /** The language model (SmolLM2, a Llama). */
    readonly language: LlamaModel,
    /** The SigLIP encoder with the connector. */
    readonly vision: SiglipVisionEncoder,
    /** Id of the <image> placeholder token. */
    readonly imageTokenId: number,
  ) {
    if (vision.config.projectionSize !== language.config.hiddenSize) {
      throw new RangeError(`Idefics3Model: the connector projects to ${vision.config.projectionSize}, but the language model is ${language.config.hiddenSize} wide`);
    }
    if (!(imageTokenId >= 0 && imageTokenId < language.config.vocabSize)) {
      throw new RangeError(`Idefics3Model: image token id ${imageTokenId} is outside the vocabulary 0..${language.config.vocabSize - 1}`);
    }
  }

  /** Both sides on `kernel` from loaded weights (safetensors, or a GGUF with its mmproj); `options` go to the language
   *  model (e.g. its KV cache element type). */
  static fromLoadedWeights(text: LoadedWeights, vision: LoadedVisionWeights, imageTokenId: number, kernel: Kernel, options: LlamaModelOptions = {}): Idefics3Model {
    return new Idefics3Model(LlamaModel.fromLoadedWeights(text, kernel, options), SiglipVisionEncoder.fromLoadedWeights(vision, kernel), imageTokenId);
  }

  /** The vision side's shape. */
  get visionConfig(): Idefics3VisionConfig {
    return this.vision.config;
  }

  /** Embeddings [tileCount · tokensPerTile, hidden] of an image's processed tiles [tileCount, 3, size, size]. */
  encodeImage(pixelValues: Float32Array, tileCount: number, options?: EncodeImageOptions): Float32Array {
    return this.vision.encode(pixelValues, tileCount, options);
  }

  /**
   * Where the images go in a prompt: each maximal run of <image> tokens becomes a span filled with the next rows of
   * the images' embeddings, in order. The number of <image> tokens must equal the number of embedding rows.
   */
  imageSpans(promptIds: readonly number[], images: readonly Float32Array[]): EmbeddingSpan[] {
    const hidden = this.language.config.hiddenSize;
    const rows = images.reduce((total, image) => total + image.length / hidden, 0);
    const placeholders = promptIds.reduce((total, id) => total + (id === this.imageTokenId ? 1 : 0), 0);
    if (placeholders !== rows) {
      throw new RangeError(`Idefics3Model: the prompt has ${placeholders} <image> tokens but the images have ${rows} embeddings (${images.length} image(s))`);
    }
    const spans: EmbeddingSpan[] = [];
    let image = 0;
    let row = 0; // next unused row of images[image]
    for (let position = 0; position < promptIds.length; ) {
      if (promptIds[position] !== this.imageTokenId) {
        position++;
        continue;
      }
      let end = position;
      while (end < promptIds.length && promptIds[end] === this.imageTokenId) end++;
      // A run may span the end of one image and the start of the next (adjacent images): split it there.
      for (let start = position; start < end; ) {
        const available = images[image].length / hidden - row;
        const take = Math.min(available, end - start);
        spans.push({ start, embeddings: images[image].subarray(row * hidden, (row + take) * hidden) });
        row += take;
        start += take;
        if (row === images[image].length / hidden) {
          image++;
          row = 0;
        }
      }
      position = end;
    }
    return spans;
  }

  /** The language model with these spans applied at every forward pass (for generate() and chat). */
  withImages(spans: readonly EmbeddingSpan[]): LanguageModelWithImages {
    const language = this.language;
    return {
      config: language.config,
      createCache: (maxTokens?: number) => language.createCache(maxTokens),
      forward: (tokens: Int32Array, cache: DenseKvCache, options: ForwardOptions = {}) => language.forward(tokens, cache, { ...options, embeddingSpans: spans }),
    };
  }
}
