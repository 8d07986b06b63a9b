// llama.cpp as the second oracle of the GLM architecture (the first being THUDM's golden outputs): tiny random-weight
// GGUF files of llama.cpp's `chatglm` architecture, written by this project's writer with ChatGLM3's real vocabulary
// (../shared/models/chatglm3-tokenizer) and a head size (128, RoPE on 64) and rope base (10000) like ChatGLM3-6B's,
// which the golden files (head size 4) cannot exercise; and the comparison of this project's ChatGLM3 tokenizer with
// llama.cpp's tokenization of the same vocabulary over a mixed Chinese/English/code/emoji corpus.

import fs from "node:fs";
import path from "node:path";

import { randomGlmTensors, tinyGlmConfig, vocabularyGgufMetadata, writeGlmGgufModel, type LlamaConfig } from "@infer-recipes/models";
import { readChatGlm3Vocabulary, SentencePieceTokenizer, type TextTokenizer } from "@infer-recipes/tokenizer";

import { qualityCacheDirectory } from "./quality-models.ts";
import { sharedModelsDirectory } from "./shared-models.ts";

export const chatGlm3TokenizerModel = path.join(sharedModelsDirectory, "chatglm3-tokenizer/tokenizer.model");

/** Two layers; 2 query heads of 128 dimensions sharing 1 key/value group, RoPE on 64 of them, base 10000; ChatGLM3's
 *  65024-row vocabulary. */
export const chatGlmOracleConfig: LlamaConfig = tinyGlmConfig({
  hiddenSize: 256,
  headCount: 2,
  keyValueHeadCount: 1,
  headDim: 128,
  rotaryDim: 64,
  intermediateSize: 512,
  layerCount: 2,
  vocabSize: 65024,
  contextLength: 2048,
  ropeTheta: 10000,
  eosTokenIds: [2],
});

export type ChatGlmOracleFormat = "f32" | "q8_0";

/** ChatGLM3's tokenizer built from its tokenizer.model, padded to the model's rows. */
export function chatGlm3Tokenizer(tokenizerModel = chatGlm3TokenizerModel): SentencePieceTokenizer {
  return new SentencePieceTokenizer(readChatGlm3Vocabulary(tokenizerModel, { vocabSize: chatGlmOracleConfig.vocabSize }));
}

/** The tiny chatglm GGUF in `format` (written on first use into `directory`); its vocabulary is ChatGLM3's. */
export function ensureChatGlmOracleModel(format: ChatGlmOracleFormat, directory = qualityCacheDirectory, tokenizerModel = chatGlm3TokenizerModel): string {
  const file = path.join(directory, `tiny-chatglm3-random-${format}.gguf`);
  if (fs.existsSync(file)) return file;
  if (!fs.existsSync(tokenizerModel)) throw new Error(`the chatglm oracle models need ChatGLM3's vocabulary: missing ${tokenizerModel}`);
  fs.mkdirSync(directory, { recursive: true });
  const vocabulary = readChatGlm3Vocabulary(tokenizerModel, { vocabSize: chatGlmOracleConfig.vocabSize });
  const partial = `${file}.partial-${process.pid}`;
  writeGlmGgufModel(partial, chatGlmOracleConfig, randomGlmTensors(chatGlmOracleConfig, 13, format), vocabularyGgufMetadata(vocabulary), { quant: format, name: `tiny random ChatGLM3 (${format})` });
  fs.renameSync(partial, file);
  return file;
}

export interface TokenizationMismatch {
  text: string;
  /** Special tokens parsed (as in a rendered chat prompt) or spelled out as text. */
  specialTokens: boolean;
  ours: number[];
  peer: number[];
}

export interface TokenizerComparison {
  strings: number;
  /** Comparisons made: each string with special tokens parsed and not. */
  comparisons: number;
  agreeing: number;
  mismatches: TokenizationMismatch[];
  /** Strings whose decode(encode(text)) is the text again (special tokens spelled out). */
  roundTrips: number;
  roundTripFailures: string[];
}

/** This project's tokenization of every string against llama.cpp's (both modes), and this project's round trips. */
export async function compareTokenizations(
  ours: TextTokenizer,
  peerTokenize: (text: string, specialTokens: boolean) => Promise<number[]>,
  corpus: readonly string[],
): Promise<TokenizerComparison> {
  const result: TokenizerComparison = { strings: corpus.length, comparisons: 0, agreeing: 0, mismatches: [], roundTrips: 0, roundTripFailures: [] };
  for (const text of corpus) {
    for (const specialTokens of [true, false]) {
      const mine = ours.encode(text, { addSpecialTokens: false, parseSpecialTokens: specialTokens });
      const peer = await peerTokenize(text, specialTokens);
      result.comparisons++;
      if (mine.length === peer.length && mine.every((id, index) => id === peer[index])) result.agreeing++;
      else result.mismatches.push({ text, specialTokens, ours: mine, peer });
    }
    if (ours.decode(ours.encode(text, { addSpecialTokens: false, parseSpecialTokens: false })) === text) result.roundTrips++;
    else result.roundTripFailures.push(text);
  }
  return result;
}
