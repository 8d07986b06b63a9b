// Prompt token ids for the two endpoints: a completion prompt is encoded as text (with the tokenizer's BOS) or taken
// as given token ids; chat messages are rendered through the model's chat template first, the way
// `pnpm recipe --chat` does, with BOS added once when the template does not write it.

import type { ChatMessage, ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

import { ApiError } from "./api-error.ts";

/** The prompt ids of a /v1/completions request: token ids as given, or the text encoded with the tokenizer's BOS. */
export function completionPromptIds(tokenizer: TextTokenizer, prompt: string | number[]): number[] {
  if (Array.isArray(prompt)) return prompt;
  const ids = tokenizer.encode(prompt);
  if (ids.length === 0 && tokenizer.bosTokenId !== undefined) return [tokenizer.bosTokenId];
  return ids;
}

/**
 * The prompt ids of a /v1/chat/completions request: the messages rendered through the model's chat template (with
 * the generation prompt), encoded, with BOS added once when the template does not write it. A 400 when the model has
 * no template or the template rejects the conversation.
 */
export function chatPromptIds(tokenizer: TextTokenizer, chatTemplate: ChatTemplate | undefined, messages: readonly ChatMessage[]): number[] {
  if (!chatTemplate) throw new ApiError(400, "this model has no chat template; use /v1/completions with a plain prompt", "messages");
  const bosToken = tokenizer.bosTokenId === undefined ? undefined : tokenizer.idToToken(tokenizer.bosTokenId);
  const eosToken = tokenizer.eosTokenIds.length > 0 ? tokenizer.idToToken(tokenizer.eosTokenIds[0]) : undefined;
  let text: string;
  try {
    text = chatTemplate.render(messages, { addGenerationPrompt: true, bosToken, eosToken });
  } catch (error) {
    // Templates raise for conversations they do not accept (e.g. roles that do not alternate).
    throw new ApiError(400, `the chat template rejected the messages: ${(error as Error).message}`, "messages");
  }
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  // …unless the tokenizer never adds one (ChatGLM: the template's [gMASK]sop starts the prompt).
  const wantsBos = tokenizer.bosTokenId !== undefined && tokenizer.addBosToken !== false;
  if (wantsBos && ids[0] !== tokenizer.bosTokenId && !(bosToken && text.startsWith(bosToken))) ids.unshift(tokenizer.bosTokenId!);
  return ids;
}
