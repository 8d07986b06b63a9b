// Builds a TextTokenizer from the tokenizer embedded in GGUF metadata, choosing the algorithm by tokenizer.ggml.model.

import { ByteLevelBpeTokenizer } from "./byte-level-bpe-tokenizer.ts";
import { readGgufVocabulary, type GgufMetadataInput } from "./gguf-vocabulary.ts";
import { SentencePieceTokenizer } from "./sentencepiece-tokenizer.ts";

/** A tokenizer read from GGUF metadata: SentencePiece ("llama") or byte-level BPE ("gpt2"). */
export type GgufTokenizer = SentencePieceTokenizer | ByteLevelBpeTokenizer;

/**
 * The tokenizer a GGUF file embeds (tokenizer.ggml.*), chosen by tokenizer.ggml.model: SentencePiece for "llama",
 * byte-level BPE for "gpt2". Throws when the metadata has no tokenizer or an unsupported one.
 *
 * @example
 * ```ts
 * import { loadModelWeights } from "@infer-recipes/models";
 * import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
 *
 * const tokenizer = tokenizerFromGgufMetadata(loadModelWeights("./stories260K.gguf").metadata);
 * const ids = tokenizer.encode("Once upon a time"); // BOS first, as the vocabulary asks
 * console.log(ids, tokenizer.decode(ids, { skipSpecialTokens: true }));
 * ```
 */
export function tokenizerFromGgufMetadata(metadata: GgufMetadataInput): GgufTokenizer {
  const vocabulary = readGgufVocabulary(metadata);
  switch (vocabulary.model) {
    case "llama":
      return new SentencePieceTokenizer(vocabulary);
    case "gpt2":
      return new ByteLevelBpeTokenizer(vocabulary);
    default:
      throw new Error(
        `unsupported GGUF tokenizer model "${vocabulary.model}" (tokenizer.ggml.model); supported: "llama" (SentencePiece), "gpt2" (byte-level BPE)`,
      );
  }
}
