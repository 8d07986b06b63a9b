// The vocabulary embedded in the random-weight Llama 3.2 files the peer benchmark writes (llama.cpp will not load a
// model without one): the real Llama 3 tokenizer from the shared tokenizer.json when it is there, else a synthetic
// byte-level vocabulary of the same 128256 tokens.

import fs from "node:fs";
import path from "node:path";

import { readHfTokenizerGgufMetadata, type GgufMetadataInput } from "@infer-recipes/models";

import { sharedModelsDirectory } from "./shared-models.ts";
import { syntheticByteLevelVocabulary } from "./synthetic-vocabulary.ts";

export const llama3TokenizerDirectory = path.join(sharedModelsDirectory, "llama3.1-tokenizer");

export interface PeerVocabulary {
  /** "llama3" (from tokenizer.json) or "synthetic"; part of the cached file name. */
  kind: "llama3" | "synthetic";
  description: string;
  metadata: Map<string, GgufMetadataInput>;
}

/** Llama 3's tokenizer when `tokenizerDirectory` has tokenizer.json and it has exactly `vocabSize` tokens, else synthetic. */
export function peerVocabulary(vocabSize: number, tokenizerDirectory = llama3TokenizerDirectory): PeerVocabulary {
  if (fs.existsSync(path.join(tokenizerDirectory, "tokenizer.json"))) {
    const metadata = readHfTokenizerGgufMetadata(tokenizerDirectory, { preTokenizer: "llama-bpe" })!;
    const tokens = metadata.get("tokenizer.ggml.tokens") as string[];
    if (tokens.length === vocabSize) {
      return { kind: "llama3", description: `Llama 3 tokenizer (${path.join(tokenizerDirectory, "tokenizer.json")})`, metadata };
    }
  }
  return {
    kind: "synthetic",
    description: `synthetic byte-level BPE vocabulary of ${vocabSize} tokens (no Llama 3 tokenizer.json in ${tokenizerDirectory})`,
    metadata: syntheticByteLevelVocabulary(vocabSize).metadata,
  };
}
