// What the generation loop needs from a model: a forward pass over a KV cache. Llama, GLM and the language half of
// a vision-language model all provide it, so one engine serves every recipe.

import type { DenseKvCache } from "@infer-recipes/cache";
import type { Tensor } from "@infer-recipes/kernel";

/**
 * A model {@link generate} can drive: next-token logits from a forward pass over a KV cache.
 * {@link @infer-recipes/models!LlamaModel | LlamaModel} is one; a new architecture implements the same three members.
 */
export interface CausalLanguageModel {
  /** What the loop needs to know of the model's configuration. */
  readonly config: {
    /** The most positions a sequence may have (prompt plus generated tokens). */
    readonly contextLength: number;
    /** Entries in a logits row. */
    readonly vocabSize: number;
  };
  /** A KV cache for one sequence of at most maxTokens tokens (default: the context length). */
  createCache(maxTokens?: number): DenseKvCache;
  /** Appends `tokens` to the cache; logits [1, vocab] of the last token, or [tokens, vocab] with allLogits. */
  forward(
    tokens: Int32Array,
    cache: DenseKvCache,
    options?: {
      /** Return every position's logits, not only the last. */
      allLogits?: boolean;
    },
  ): Tensor;
}

/** Turns token ids into text incrementally, never splitting a multi-byte UTF-8 character. */
export interface IncrementalDecoder {
  /** Text completed by this token (may be empty while a character's bytes are incomplete). */
  push(tokenId: number): string;
  /** Whatever is still held back at the end. */
  flush(): string;
}
