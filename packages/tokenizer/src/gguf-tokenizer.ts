// Builds a TextTokenizer from the tokenizer embedded in GGUF metadata, choosing the algorithm by tokenizer.ggml.model.

import { ByteLevelBpeTokenizer } from "./byte-level-bpe-tokenizer.ts";
import { readGgufVocabulary, type GgufMetadataInput } from "./gguf-vocabulary.ts";
import { SentencePieceTokenizer } from "./sentencepiece-tokenizer.ts";

export type GgufTokenizer = SentencePieceTokenizer | ByteLevelBpeTokenizer;

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
