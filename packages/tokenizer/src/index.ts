/**
 * Text to token ids and back, as the models were trained: Hugging Face `tokenizer.json` (byte-level BPE),
 * the SentencePiece and BPE vocabularies embedded in GGUF files, special tokens, streaming detokenization that never
 * splits a UTF-8 character ({@link createStreamDecoder}), and chat templates rendered with Jinja
 * ({@link ChatTemplate}).
 *
 * @module @infer-recipes/tokenizer
 */
export type { DecodeOptions, EncodeOptions, TextTokenizer } from "./text-tokenizer.ts";
export {
  HfTokenizer,
  hfTokenizerFromJson,
  loadHfTokenizer,
  type AddedTokenJson,
  type HfTokenizerConfig,
  type HfTokenizerJson,
  type HfTokenizerSources,
} from "./hf-tokenizer.ts";
export { tokenizerFromGgufMetadata, type GgufTokenizer } from "./gguf-tokenizer.ts";
export { GgufTokenizerBase } from "./gguf-tokenizer-base.ts";
export { SentencePieceTokenizer } from "./sentencepiece-tokenizer.ts";
export {
  parseSentencePieceModel,
  readSentencePieceModel,
  SentencePieceModelError,
  SentencePieceType,
  sentencePieceVocabulary,
  type AddedToken,
  type SentencePiece,
  type SentencePieceModel,
  type SentencePieceModelType,
  type SentencePieceVocabularyOptions,
} from "./sentencepiece-model.ts";
export {
  chatGlm3ChatTemplate,
  chatGlm3SpecialTokens,
  chatGlm3Vocabulary,
  loadChatGlm3Tokenizer,
  readChatGlm3Vocabulary,
  type ChatGlm3VocabularyOptions,
} from "./chatglm3-tokenizer.ts";
export { ByteLevelBpeTokenizer } from "./byte-level-bpe-tokenizer.ts";
export { byteLevelAlphabet, byteLevelEncode } from "./byte-level-alphabet.ts";
export { glm4ChatTemplate, glm4SpecialTokens } from "./glm4-tokens.ts";
export {
  GgufTokenType,
  readGgufVocabulary,
  type GgufMetadataInput,
  type GgufVocabulary,
} from "./gguf-vocabulary.ts";
export { supportedPreTokenizerNames, type PreTokenizerPattern } from "./pre-tokenizer-patterns.ts";
export { endOfGenerationTokenTexts } from "./end-of-generation.ts";
export { createStreamDecoder, type StreamDecoder, type StreamDecoderOptions } from "./stream-decoder.ts";
export {
  chatTemplateSpecialTokens,
  compileChatTemplate,
  renderChatTemplate,
  type ChatMessage,
  type ChatTemplate,
  type ChatTemplateOptions,
} from "./chat-template.ts";
export { chatTemplateFromGgufMetadata, chatTemplateFromTokenizerConfig, loadChatTemplate } from "./chat-template-source.ts";
export { strftime } from "./strftime.ts";
