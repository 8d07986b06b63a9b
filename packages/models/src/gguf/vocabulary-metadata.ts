// GGUF tokenizer metadata (tokenizer.ggml.*) from a GgufVocabulary — the typed vocabulary the tokenizer package builds
// from a SentencePiece tokenizer.model (ChatGLM3's, with its special tokens) — so a converted or generated GGUF file
// carries the vocabulary the way llama.cpp's converter writes it: model, tokens, scores, token types, special ids.

import type { GgufVocabulary } from "@infer-recipes/tokenizer";

import type { GgufMetadataInput } from "./writer.ts";

/** The tokenizer.ggml.* (and tokenizer.chat_template) entries describing `vocabulary`. */
export function vocabularyGgufMetadata(vocabulary: GgufVocabulary): Map<string, GgufMetadataInput> {
  const metadata = new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", vocabulary.model],
    ["tokenizer.ggml.tokens", [...vocabulary.tokens]],
  ]);
  if (vocabulary.preTokenizer !== undefined) metadata.set("tokenizer.ggml.pre", vocabulary.preTokenizer);
  if (vocabulary.scores !== undefined) metadata.set("tokenizer.ggml.scores", Float32Array.from(vocabulary.scores));
  metadata.set("tokenizer.ggml.token_type", Int32Array.from(vocabulary.tokenTypes));
  if (vocabulary.merges !== undefined) metadata.set("tokenizer.ggml.merges", { type: "array", elementType: "string", value: [...vocabulary.merges] });
  const ids: Array<[string, number | undefined]> = [
    ["bos_token_id", vocabulary.bosTokenId],
    ["eos_token_id", vocabulary.eosTokenId],
    ["eot_token_id", vocabulary.endOfTurnTokenId],
    ["eom_token_id", vocabulary.endOfMessageTokenId],
    ["unknown_token_id", vocabulary.unknownTokenId],
    ["padding_token_id", vocabulary.paddingTokenId],
  ];
  for (const [key, id] of ids) if (id !== undefined) metadata.set(`tokenizer.ggml.${key}`, { type: "uint32", value: id });
  if (vocabulary.addBosToken !== undefined) metadata.set("tokenizer.ggml.add_bos_token", vocabulary.addBosToken);
  if (vocabulary.addEosToken !== undefined) metadata.set("tokenizer.ggml.add_eos_token", vocabulary.addEosToken);
  if (vocabulary.addSpacePrefix !== undefined) metadata.set("tokenizer.ggml.add_space_prefix", vocabulary.addSpacePrefix);
  if (vocabulary.chatTemplate !== undefined) metadata.set("tokenizer.chat_template", vocabulary.chatTemplate);
  return metadata;
}
