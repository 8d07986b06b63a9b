// Bounds on a request, checked before any expensive work (chat-template rendering, tokenizing, and for the body
// size even before reading it), from what the served model can hold:
//   - a prompt that fits maxPromptTokens tokens has at most maxPromptTokens × (longest token's spelling) characters,
//     since every token covers at most its own spelling of the text (byte-level and SentencePiece vocabularies spell
//     each covered byte or character with at least one character of their own);
//   - a conversation has at most maxPromptTokens messages, since the chat template spends at least one token (its
//     role header) on each;
//   - the body is at most 6 bytes per allowed character (JSON's \uXXXX escape) plus 256 bytes per allowed message
//     plus 1 MiB of other fields.
// A request beyond them could never run; refusing it up front is what keeps a 1 MB prompt from costing seconds of
// tokenizing and a gigabyte of memory before the context check rejects it anyway.

import type { TextTokenizer } from "@infer-recipes/tokenizer";

import { ApiError } from "./api-error.ts";
import type { EndpointKind, PromptLimits } from "./model-host.ts";

/** The limits of a model whose prompts may hold `maxPromptTokens` tokens of `tokenizer`'s vocabulary. */
export function promptLimits(tokenizer: TextTokenizer, maxPromptTokens: number): PromptLimits {
  let longest = 1;
  for (let id = 0; id < tokenizer.vocabSize; id++) longest = Math.max(longest, tokenizer.idToToken(id)?.length ?? 0);
  return { maxPromptTokens, longestTokenCharacters: longest };
}

/** The most characters a prompt that fits can have: longer text is refused before it is tokenized. */
export function maxPromptCharacters(limits: PromptLimits): number {
  return limits.maxPromptTokens * limits.longestTokenCharacters;
}

/** The largest body a request that can run may have, in bytes. */
export function maxRequestBodyBytes(limits: PromptLimits): number {
  return 6 * maxPromptCharacters(limits) + 256 * limits.maxPromptTokens + 1024 * 1024;
}

function tooLong(param: string, what: string, limits: PromptLimits): ApiError {
  return new ApiError(
    400,
    `${what}, more than fits this model's prompt limit of ${limits.maxPromptTokens} tokens ` +
      `(at most ${maxPromptCharacters(limits)} characters: ${limits.maxPromptTokens} tokens × ${limits.longestTokenCharacters}, its longest token)`,
    param,
    "invalid_request_error",
    "context_length_exceeded",
  );
}

/** Characters of a message's content: a string, or text parts (other shapes are left to the parameter checks). */
function contentCharacters(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    const text = (part as { text?: unknown } | null)?.text;
    if (typeof text === "string") total += text.length;
  }
  return total;
}

/**
 * Refuses a parsed body whose prompt cannot fit (see the file header): 400 context_length_exceeded naming the
 * field. Costs one pass over the message list, no tokenizing.
 */
export function checkPromptBounds(kind: EndpointKind, body: Record<string, unknown>, limits: PromptLimits): void {
  const characterLimit = maxPromptCharacters(limits);
  if (kind === "completion") {
    const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 && typeof body.prompt[0] === "string" ? body.prompt[0] : body.prompt;
    if (typeof prompt === "string" && prompt.length > characterLimit) throw tooLong("prompt", `'prompt' has ${prompt.length} characters`, limits);
    if (Array.isArray(prompt) && prompt.length > limits.maxPromptTokens) throw tooLong("prompt", `'prompt' has ${prompt.length} token ids`, limits);
    return;
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return;
  if (messages.length > limits.maxPromptTokens) throw tooLong("messages", `'messages' has ${messages.length} messages (each costs at least one token)`, limits);
  let characters = 0;
  for (const message of messages) characters += contentCharacters((message as { content?: unknown } | null)?.content);
  if (characters > characterLimit) throw tooLong("messages", `'messages' hold ${characters} characters of content`, limits);
}
