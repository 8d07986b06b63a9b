// The answer to POST /v1/completions and POST /v1/chat/completions once the request is prepared (model-host.ts):
// one JSON object, or server-sent events (`data: {chunk}` lines, then `data: [DONE]`), in OpenAI's shapes. The
// request is cancelled (and its KV blocks freed) as soon as the client disconnects; a request cancelled because the
// server is shutting down ends with an error event (streaming) or a 503, so the client knows why.

import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

import type { FinishReason } from "@infer-recipes/scheduler";

import { ApiError } from "./api-error.ts";
import type { EndpointKind, GenerationOutcome, ModelHost, PreparedRequest } from "./model-host.ts";

export type { EndpointKind };

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

function usageOf(outcome: GenerationOutcome): Record<string, unknown> {
  return {
    prompt_tokens: outcome.promptTokens,
    completion_tokens: outcome.completionTokens,
    total_tokens: outcome.promptTokens + outcome.completionTokens,
    prompt_tokens_details: { cached_tokens: outcome.cachedPromptTokens },
  };
}

/** A request ended by the server's shutdown rather than by its client. */
export function shutdownError(): ApiError {
  return new ApiError(503, "the server is shutting down; retry on another instance", null, "server_error", "server_shutting_down");
}

export interface EndpointContext {
  model: ModelHost;
  modelId: string;
  response: ServerResponse;
  /** Writes a JSON response (status + body). */
  sendJson(status: number, body: unknown): void;
  log(line: string): void;
  /** Whether the server is shutting down. */
  closing(): boolean;
}

export async function handleGeneration(prepared: PreparedRequest, context: EndpointContext): Promise<void> {
  const { model, modelId, response } = context;
  const { kind, parameters } = prepared;
  const shape = shapes[kind];
  const id = `${shape.idPrefix}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: Choice[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: shape.chunkObject, created, model: modelId, choices, ...extra })}\n\n`;

  const controller = new AbortController();
  response.on("close", () => {
    if (!response.writableFinished) controller.abort(); // the client went away: free its blocks now
  });
  const outcome = await model.generate(id, prepared, {
    signal: controller.signal,
    // Stream headers go out once the request is accepted, so a refusal (400, 429) is still a plain JSON answer.
    onAccepted: parameters.stream
      ? () => {
          response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
          // Send the headers now: the first text may be a long prefill away, and clients time out waiting for headers.
          if (shape.openingChoice) response.write(chunk([shape.openingChoice]));
          else response.flushHeaders();
        }
      : undefined,
    onText: parameters.stream ? (text) => void (response.destroyed || response.write(chunk([shape.textChoice(text)]))) : undefined,
  });
  context.log(
    `${kind} ${id}: ${outcome.promptTokens} prompt tokens (${outcome.cachedPromptTokens} cached), ${outcome.completionTokens} generated, ` +
      `${outcome.finishReason}, first token ${outcome.timeToFirstTokenMs.toFixed(0)} ms, total ${outcome.totalMs.toFixed(0)} ms`,
  );
  if (outcome.finishReason === "cancelled") {
    if (response.writableEnded || response.destroyed) return; // the client went away
    if (!context.closing()) {
      response.destroy();
      return;
    }
    throw shutdownError(); // answered as a 503, or as a last error event of the stream
  }
  const reason = openAiFinishReason(outcome.finishReason);
  if (parameters.stream) {
    response.write(chunk([shape.finishChoice(reason)]));
    if (parameters.includeUsage) response.write(chunk([], { usage: usageOf(outcome) }));
    response.end("data: [DONE]\n\n");
    return;
  }
  context.sendJson(200, { id, object: shape.object, created, model: modelId, choices: [shape.fullChoice(outcome.text, reason)], usage: usageOf(outcome) });
}
