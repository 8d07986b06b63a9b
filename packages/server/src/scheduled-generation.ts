// The generate step of a request (see model-host.ts) on a scheduler in this thread: a prepared request becomes a
// scheduler request with the served model's defaults and stop tokens and a stream decoder, and the scheduler's
// refusals become ApiErrors (400 naming the OpenAI field, 429 for a full queue). Also the /health counters.

import { QueueFullError, RequestError, type Scheduler } from "@infer-recipes/scheduler";
import { createStreamDecoder } from "@infer-recipes/tokenizer";

import { ApiError } from "./api-error.ts";
import type { EncodedImages } from "./image-input.ts";
import type { GenerationOutcome, GenerationStream, HealthSnapshot, PreparedRequest } from "./model-host.ts";
import type { ServedModel } from "./served-model.ts";

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

/** Submits `request` to the served model's scheduler; resolves when it ends (cancelled included). */
export async function generateOnScheduler(served: ServedModel, id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome> {
  const { parameters, promptIds, kind } = request;
  const maxTokens = parameters.maxTokens ?? (kind === "completion" ? served.defaultCompletionTokens ?? 16 : undefined);
  let images: EncodedImages | undefined;
  if (request.images && request.images.length > 0) {
    if (!served.images) throw new ApiError(400, `the model '${served.id}' takes no images (image_url parts)`, "messages", "invalid_request_error", "images_not_supported");
    // A prompt that cannot fit is refused before seconds of vision encoder.
    const maxPromptTokens = maxPromptTokensOf(served.scheduler);
    if (promptIds.length > maxPromptTokens) {
      throw new ApiError(
        400,
        `the prompt with its images is ${promptIds.length} tokens, more than this model's limit of ${maxPromptTokens}; send fewer or smaller images`,
        "messages",
        "invalid_request_error",
        "context_length_exceeded",
      );
    }
    // The vision encoder (or the embedding cache) before the request joins the batch.
    const started = performance.now();
    try {
      images = await served.images.encodeImages(promptIds, request.images, stream.signal);
    } catch (error) {
      if (!stream.signal.aborted) throw error;
    }
    if (stream.signal.aborted) return cancelledBeforeStart(promptIds.length, performance.now() - started);
  }
  let handle;
  try {
    handle = served.scheduler.submit({
      id,
      promptIds,
      embeddingSpans: images?.embeddingSpans,
      contentKeys: images?.contentKeys,
      maxTokens,
      temperature: parameters.temperature ?? served.defaultTemperature ?? 1,
      topP: parameters.topP,
      topK: parameters.topK === -1 ? 0 : parameters.topK,
      minP: parameters.minP,
      repetitionPenalty: parameters.repetitionPenalty,
      seed: parameters.seed,
      stopTokenIds: served.stopTokenIds,
      stopStrings: parameters.stop,
      decoder: createStreamDecoder(served.tokenizer, { contextIds: promptIds, skipSpecialTokens: true }),
      onText: stream.onText,
      signal: stream.signal,
    });
  } catch (error) {
    if (error instanceof QueueFullError) throw new ApiError(429, error.message, null, "rate_limit_error", "rate_limit_exceeded");
    if (error instanceof RequestError) {
      const param = error.field === "promptIds" ? (kind === "completion" ? "prompt" : "messages") : FIELD_NAMES[error.field] ?? error.field;
      const code = /context/.test(error.message) ? "context_length_exceeded" : null;
      throw new ApiError(400, error.message, param, "invalid_request_error", code);
    }
    throw error;
  }
  stream.onAccepted?.();
  const result = await handle.result;
  return {
    text: result.text,
    completionTokens: result.tokenIds.length,
    finishReason: result.finishReason,
    promptTokens: result.promptTokens,
    cachedPromptTokens: result.cachedPromptTokens,
    timeToFirstTokenMs: result.timeToFirstTokenMs,
    totalMs: result.totalMs,
  };
}

/** The outcome of a request cancelled while its images were encoded (it never reached the scheduler). */
function cancelledBeforeStart(promptTokens: number, totalMs: number): GenerationOutcome {
  return { text: "", completionTokens: 0, finishReason: "cancelled", promptTokens, cachedPromptTokens: 0, timeToFirstTokenMs: 0, totalMs };
}

/** The /health counters of a scheduler and its cache. */
export function schedulerHealth(scheduler: Scheduler): HealthSnapshot {
  const cache = scheduler.cache.usage();
  const stats = scheduler.stats();
  return {
    running: stats.running,
    waiting: stats.waiting,
    kvCache: {
      blockSize: cache.blockSize,
      totalBlocks: cache.totalBlocks,
      usedBlocks: cache.usedBlocks,
      freeBlocks: cache.freeBlocks,
      cachedBlocks: cache.cachedBlocks,
      usedBytes: cache.usedBytes,
      totalBytes: cache.totalBytes,
    },
    completed: stats.completed,
    cancelled: stats.cancelled,
    failed: stats.failed,
  };
}

/** Longest prompt the served model's scheduler accepts: its context less one, within its KV cache. */
export function maxPromptTokensOf(scheduler: Scheduler): number {
  return Math.min(scheduler.model.config.contextLength - 1, scheduler.cache.capacityTokens);
}
