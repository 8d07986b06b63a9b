// Public API of @infer-recipes/tokenizer: tokenizers (Hugging Face tokenizer.json and GGUF-embedded vocabularies),
// streaming detokenization and chat templates.

export type { DecodeOptions, EncodeOptions, TextTokenizer } from "./text-tokenizer.ts";
export {
  HfTokenizer,
  hfTokenizerFromJson,
  loadHfTokenizer,
  type HfTokenizerConfig,
  type HfTokenizerJson,
  type HfTokenizerSources,
} from "./hf-tokenizer.ts";
export { tokenizerFromGgufMetadata, type GgufTokenizer } from "./gguf-tokenizer.ts";
export { GgufTokenizerBase } from "./gguf-tokenizer-base.ts";
export { SentencePieceTokenizer } from "./sentencepiece-tokenizer.ts";
export { ByteLevelBpeTokenizer } from "./byte-level-bpe-tokenizer.ts";
export {
  GgufTokenType,
  readGgufVocabulary,
  type GgufMetadataInput,
  type GgufVocabulary,
} from "./gguf-vocabulary.ts";
export { supportedPreTokenizerNames } from "./pre-tokenizer-patterns.ts";
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
