// The vocabulary embedded in the random-weight files the peer benchmark writes (llama.cpp will not load a model without
// one): for Llama 3.2 the real Llama 3 tokenizer from the shared tokenizer.json when it is there, else a synthetic
// byte-level vocabulary of the same 128256 tokens; for ChatGLM3-6B ChatGLM3's tokenizer.model when it is there, else a
// synthetic SentencePiece vocabulary with ChatGLM3's special tokens, 65024 tokens either way.

import fs from "node:fs";
import path from "node:path";

import { readHfTokenizerGgufMetadata, tinyChatGlmGgufTokenizerMetadata, vocabularyGgufMetadata, type GgufMetadataInput } from "@infer-recipes/models";
import { readChatGlm3Vocabulary } from "@infer-recipes/tokenizer";

import { sharedModelsDirectory } from "./shared-models.ts";
import { syntheticByteLevelVocabulary } from "./synthetic-vocabulary.ts";

export const llama3TokenizerDirectory = path.join(sharedModelsDirectory, "llama3.1-tokenizer");
export const chatGlm3TokenizerFile = path.join(sharedModelsDirectory, "chatglm3-tokenizer/tokenizer.model");

export interface PeerVocabulary {
  /** "llama3" (from tokenizer.json), "chatglm3" (from tokenizer.model) or "synthetic"; part of the cached file name. */
  kind: "llama3" | "chatglm3" | "synthetic";
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

/** ChatGLM3's vocabulary padded to `vocabSize` when `tokenizerModel` is there, else a synthetic one of ChatGLM3's layout. */
export function chatGlmPeerVocabulary(vocabSize: number, tokenizerModel = chatGlm3TokenizerFile): PeerVocabulary {
  if (fs.existsSync(tokenizerModel)) {
    return { kind: "chatglm3", description: `ChatGLM3's tokenizer (${tokenizerModel})`, metadata: vocabularyGgufMetadata(readChatGlm3Vocabulary(tokenizerModel, { vocabSize })) };
  }
  return {
    kind: "synthetic",
    description: `synthetic SentencePiece vocabulary of ${vocabSize} tokens with ChatGLM3's special tokens (no ${tokenizerModel})`,
    metadata: tinyChatGlmGgufTokenizerMetadata(vocabSize),
  };
}
