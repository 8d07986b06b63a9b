// ChatGLM2/ChatGLM3's tokenizer: the SentencePiece BPE model in tokenizer.model (64789 pieces, byte fallback) plus the
// special tokens THUDM's tokenization_chatglm.py appends after the pieces — [MASK] [gMASK] [sMASK] sop eop
// <|system|> <|user|> <|assistant|> <|observation|> — padded to the model's embedding rows (padded_vocab_size). The
// vocabulary is laid out exactly as llama.cpp's converter writes it into a GGUF file (ids 0, 1, 2 spelled "<unk>",
// "<bos>", "<eos>"; special tokens as control tokens; padding as unused "[PAD<id>]"), so this tokenizer and
// llama.cpp's tokenize alike. A turn ends at <|user|> or <|observation|> as well as at EOS.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

import type { GgufVocabulary } from "./gguf-vocabulary.ts";
import { SentencePieceTokenizer } from "./sentencepiece-tokenizer.ts";
import { readSentencePieceModel, SentencePieceType, sentencePieceVocabulary, type SentencePieceModel } from "./sentencepiece-model.ts";

/** The special tokens of ChatGLM3, in the order (and so at the ids) tokenization_chatglm.py gives them after the pieces. */
export const chatGlm3SpecialTokens: readonly string[] = [
  "[MASK]",
  "[gMASK]",
  "[sMASK]",
  "sop",
  "eop",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|observation|>",
];

/**
 * ChatGLM3-6B's chat template, as published in the chat_template of THUDM/chatglm3-6b's tokenizer_config.json (and
 * recognised by llama.cpp as "chatglm3"): "[gMASK]sop" once, then "<|role|>\n content" per message, then
 * "<|assistant|>". Used when a model folder's tokenizer_config.json carries none.
 */
export const chatGlm3ChatTemplate =
  "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n {{ message['content'] }}" +
  "{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";

/** How llama.cpp's converter spells the SentencePiece control pieces of ChatGLM3 (ids 0, 1, 2). */
const renamedTokens = new Map([
  [0, "<unk>"],
  [1, "<bos>"],
  [2, "<eos>"],
]);

/** Options of {@link chatGlm3Vocabulary}. */
export interface ChatGlm3VocabularyOptions {
  /** Embedding rows of the model (config.json padded_vocab_size, 65024 for ChatGLM3-6B); default: no padding. */
  vocabSize?: number;
  /** The chat template to record (a model folder's own); default: {@link chatGlm3ChatTemplate}. */
  chatTemplate?: string;
}

/** The GgufVocabulary of ChatGLM3: the SentencePiece pieces, then the special tokens, then unused padding. */
export function chatGlm3Vocabulary(model: SentencePieceModel, options: ChatGlm3VocabularyOptions = {}): GgufVocabulary {
  const first = model.pieces.length;
  const vocabulary = sentencePieceVocabulary(model, {
    addedTokens: chatGlm3SpecialTokens.map((text, index) => ({ id: first + index, text, type: SentencePieceType.control })),
    vocabSize: options.vocabSize,
    renamedTokens,
    addBosToken: false,
    eosTokenId: model.eosId,
    chatTemplate: options.chatTemplate ?? chatGlm3ChatTemplate,
    preTokenizer: "chatglm-spm",
  });
  return {
    ...vocabulary,
    endOfTurnTokenId: first + chatGlm3SpecialTokens.indexOf("<|user|>"),
    endOfMessageTokenId: first + chatGlm3SpecialTokens.indexOf("<|observation|>"),
  };
}

/** The chat template in a model folder's tokenizer_config.json, if it has one. */
function folderChatTemplate(directory: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(directory, "tokenizer_config.json"), "utf8")) as { chat_template?: unknown };
    return typeof config.chat_template === "string" ? config.chat_template : undefined;
  } catch {
    return undefined;
  }
}

/**
 * ChatGLM3's vocabulary from a tokenizer.model file (or a model folder holding one), padded to `vocabSize` ids, with the
 * folder's tokenizer_config.json chat_template when it has one, else ChatGLM3's published template.
 */
export function readChatGlm3Vocabulary(location: string, options: { vocabSize?: number } = {}): GgufVocabulary {
  const isFile = location.endsWith(".model");
  const file = isFile ? location : join(location, "tokenizer.model");
  const directory = isFile ? dirname(location) : location;
  return chatGlm3Vocabulary(readSentencePieceModel(file), { vocabSize: options.vocabSize, chatTemplate: folderChatTemplate(directory) });
}

/** ChatGLM3's tokenizer from a tokenizer.model file or a model folder holding one (see readChatGlm3Vocabulary). */
export function loadChatGlm3Tokenizer(location: string, options: { vocabSize?: number } = {}): SentencePieceTokenizer {
  return new SentencePieceTokenizer(readChatGlm3Vocabulary(location, options));
}
