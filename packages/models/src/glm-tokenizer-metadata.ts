// The tokenizer of a GLM model folder as GGUF metadata, for the converter: ChatGLM2/3's SentencePiece tokenizer.model
// with the special tokens THUDM's tokenizer appends (laid out as llama.cpp's converter writes it, model "llama"), or —
// for GLM-4, whose tokenizer.model is not a SentencePiece model — a tokenizer.json (byte-level BPE, "chatglm-bpe").

import fs from "node:fs";
import path from "node:path";

import { readChatGlm3Vocabulary, SentencePieceModelError } from "@infer-recipes/tokenizer";

import { ModelFileError } from "./errors.ts";
import { readHfTokenizerGgufMetadata } from "./gguf/hf-tokenizer-metadata.ts";
import { vocabularyGgufMetadata } from "./gguf/vocabulary-metadata.ts";
import type { GgufMetadataInput } from "./gguf/writer.ts";
import type { LlamaConfig } from "./llama-config.ts";

/** tokenizer.ggml.* metadata for the GLM model in `directory`; undefined when it has neither tokenizer file. */
export function readGlmTokenizerGgufMetadata(directory: string, config: LlamaConfig): Map<string, GgufMetadataInput> | undefined {
  const sentencePiece = path.join(directory, "tokenizer.model");
  const hasJson = fs.existsSync(path.join(directory, "tokenizer.json"));
  if (fs.existsSync(sentencePiece)) {
    try {
      return vocabularyGgufMetadata(readChatGlm3Vocabulary(directory, { vocabSize: config.vocabSize }));
    } catch (error) {
      if (!(error instanceof SentencePieceModelError)) throw error;
      if (!hasJson) throw new ModelFileError({ file: sentencePiece }, `${error.message}; and there is no tokenizer.json to use instead`, { cause: error });
    }
  }
  return hasJson ? readHfTokenizerGgufMetadata(directory, { preTokenizer: "chatglm-bpe" }) : undefined;
}
