// The body of POST /v1/completions and POST /v1/chat/completions: checked parameters → prompt ids → a scheduler
// request, answered as one JSON object or streamed as server-sent events (`data: {chunk}` lines, then
// `data: [DONE]`), in OpenAI's shapes. The request is cancelled (and its KV blocks freed) as soon as the client
// disconnects. Scheduler refusals become 400 (with the OpenAI field name) or 429 (queue full).

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

import { QueueFullError, RequestError, type FinishReason, type RequestResult } from "@infer-recipes/scheduler";
import { createStreamDecoder } from "@infer-recipes/tokenizer";

import { ApiError } from "./api-error.ts";
import { chatPromptIds, completionPromptIds } from "./chat-prompt.ts";
import { readChatParameters, readCompletionParameters, type SamplingParameters } from "./request-parameters.ts";
import type { ServedModel } from "./served-model.ts";

export type EndpointKind = "completion" | "chat";

/** The scheduler's field names, as OpenAI spells them. */
const FIELD_NAMES: Record<string, string> = {
  maxTokens: "max_tokens",
  temperature: "temperature",
  topK: "top_k",
  topP: "top_p",
  minP: "min_p",
  repetitionPenalty: "repetition_penalty",
  seed: "seed",
  stopStrings: "stop",
};

type Choice = Record<string, unknown>;

/** What differs between the two endpoints' responses. */
interface ResponseShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  openingChoice?: Choice;
  textChoice(text: string): Choice;
  finishChoice(reason: string): Choice;
  fullChoice(text: string, reason: string): Choice;
}

const shapes: Record<EndpointKind, ResponseShape> = {
  completion: {
    idPrefix: "cmpl",
    object: "text_completion",
    chunkObject: "text_completion",
    textChoice: (text) => ({ index: 0, text, logprobs: null, finish_reason: null }),
    finishChoice: (reason) => ({ index: 0, text: "", logprobs: null, finish_reason: reason }),
    fullChoice: (text, reason) => ({ index: 0, text, logprobs: null, finish_reason: reason }),
  },
  chat: {
    idPrefix: "chatcmpl",
    object: "chat.completion",
    chunkObject: "chat.completion.chunk",
    openingChoice: { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
    textChoice: (text) => ({ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }),
    finishChoice: (reason) => ({ index: 0, delta: {}, logprobs: null, finish_reason: reason }),
    fullChoice: (text, reason) => ({ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: reason }),
  },
};

function openAiFinishReason(reason: FinishReason): string {
  return reason === "length" ? "length" : "stop";
}

function usageOf(result: RequestResult): Record<string, unknown> {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.tokenIds.length,
    total_tokens: result.promptTokens + result.tokenIds.length,
    prompt_tokens_details: { cached_tokens: result.cachedPromptTokens },
  };
}

export interface EndpointContext {
  served: ServedModel;
  request: IncomingMessage;
  response: ServerResponse;
  /** Writes a JSON response (status + body). */
  sendJson(status: number, body: unknown): void;
  log(line: string): void;
}

export async function handleGeneration(kind: EndpointKind, body: Record<string, unknown>, context: EndpointContext): Promise<void> {
  const { served, response } = context;
  const parameters = kind === "completion" ? readCompletionParameters(body) : readChatParameters(body);
  if (parameters.model !== undefined && parameters.model !== served.id) {
    throw new ApiError(404, `The model '${parameters.model}' does not exist; this server serves '${served.id}'`, "model", "not_found_error", "model_not_found");
  }
  const promptIds =
    "prompt" in parameters
      ? completionPromptIds(served.tokenizer, parameters.prompt)
      : chatPromptIds(served.tokenizer, served.chatTemplate, parameters.messages);
  const promptField = kind === "completion" ? "prompt" : "messages";
  const maxTokens = parameters.maxTokens ?? (kind === "completion" ? served.defaultCompletionTokens ?? 16 : undefined);
  const shape = shapes[kind];
  const id = `${shape.idPrefix}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: Choice[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: shape.chunkObject, created, model: served.id, choices, ...extra })}\n\n`;

  const controller = new AbortController();
  response.on("close", () => {
    if (!response.writableFinished) controller.abort(); // the client went away: free its blocks now
  });
  let handle;
  try {
    handle = served.scheduler.submit({
      id,
      promptIds,
      maxTokens,
      ...samplingOf(parameters, served),
      stopTokenIds: served.stopTokenIds,
      stopStrings: parameters.stop,
      decoder: createStreamDecoder(served.tokenizer, { contextIds: promptIds, skipSpecialTokens: true }),
      onText: parameters.stream ? (text) => void (response.destroyed || response.write(chunk([shape.textChoice(text)]))) : undefined,
      signal: controller.signal,
    });
  } catch (error) {
    if (error instanceof QueueFullError) throw new ApiError(429, `${error.message}`, null, "rate_limit_error", "rate_limit_exceeded");
    if (error instanceof RequestError) {
      const param = error.field === "promptIds" ? promptField : FIELD_NAMES[error.field] ?? error.field;
      const code = /context/.test(error.message) ? "context_length_exceeded" : null;
      throw new ApiError(400, error.message, param, "invalid_request_error", code);
    }
    throw error;
  }

  if (parameters.stream) {
    response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
    if (shape.openingChoice) response.write(chunk([shape.openingChoice]));
  }
  const result = await handle.result;
  context.log(
    `${kind} ${id}: ${result.promptTokens} prompt tokens (${result.cachedPromptTokens} cached), ${result.tokenIds.length} generated, ` +
      `${result.finishReason}, first token ${result.timeToFirstTokenMs.toFixed(0)} ms, total ${result.totalMs.toFixed(0)} ms`,
  );
  if (result.finishReason === "cancelled") {
    if (!response.writableEnded && !response.destroyed) response.destroy(); // the server is closing
    return;
  }
  const reason = openAiFinishReason(result.finishReason);
  if (parameters.stream) {
    response.write(chunk([shape.finishChoice(reason)]));
    if (parameters.includeUsage) response.write(chunk([], { usage: usageOf(result) }));
    response.end("data: [DONE]\n\n");
    return;
  }
  context.sendJson(200, { id, object: shape.object, created, model: served.id, choices: [shape.fullChoice(result.text, reason)], usage: usageOf(result) });
}

function samplingOf(parameters: SamplingParameters, served: ServedModel) {
  return {
    temperature: parameters.temperature ?? served.defaultTemperature ?? 1,
    topP: parameters.topP,
    topK: parameters.topK === -1 ? 0 : parameters.topK,
    minP: parameters.minP,
    repetitionPenalty: parameters.repetitionPenalty,
    seed: parameters.seed,
  };
}
