// Prompt token ids of a conversation: the chat template renders the messages, an optional step rewrites the text
// (a vision model expands its image placeholders there), the tokenizer encodes it, and the BOS token is added once
// when the template did not write it (as Hugging Face's tokenizer would add it) and the tokenizer adds one at all.

import type { ChatMessage, ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

/** Options of {@link encodeChatPrompt}. */
export interface ChatPromptOptions {
  /** Rewrites the rendered text before tokenization. */
  transformText?: (text: string) => string;
}

/** The rendered text and its token ids. */
export function encodeChatPrompt(tokenizer: TextTokenizer, chatTemplate: ChatTemplate, messages: readonly ChatMessage[], options: ChatPromptOptions = {}): {
  /** The prompt as rendered (and rewritten by transformText). */
  text: string;
  /** Its token ids, with the BOS token when the tokenizer wants one. */
  ids: number[];
} {
  const bosToken = tokenizer.bosTokenId === undefined ? undefined : tokenizer.idToToken(tokenizer.bosTokenId);
  const eosToken = tokenizer.eosTokenIds.length > 0 ? tokenizer.idToToken(tokenizer.eosTokenIds[0]) : undefined;
  const rendered = chatTemplate.render(messages, { addGenerationPrompt: true, bosToken, eosToken });
  const text = options.transformText ? options.transformText(rendered) : rendered;
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  // …unless the tokenizer never adds one (ChatGLM: the template's [gMASK]sop starts the prompt).
  const wantsBos = tokenizer.bosTokenId !== undefined && tokenizer.addBosToken !== false;
  if (wantsBos && ids[0] !== tokenizer.bosTokenId && !(bosToken && text.startsWith(bosToken))) ids.unshift(tokenizer.bosTokenId!);
  return { text, ids };
}
