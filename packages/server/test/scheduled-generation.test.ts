// generateOnScheduler, healthOf and the prompt limit on their own: the scheduler request a prepared request becomes
// (the served model's defaults, top_k -1, stop tokens and strings, a decoder), the scheduler's refusals as OpenAI
// errors (each field renamed, the context code, 429 for a full queue), the outcome, and the image path's checks.

import { describe, expect, it, vi } from "vitest";

import { Scheduler, type GenerationRequest } from "@infer-recipes/scheduler";

import { ApiError, generateOnScheduler, maxPromptTokensOf, schedulerHealth, type PreparedRequest, type ServedImageEncoder, type ServedModel } from "../src/index.ts";
import type { SamplingParameters } from "../src/request-parameters.ts";
import { config, model, tokenizer } from "./helpers.ts";

const noStop = { stop: [], stream: false, includeUsage: false };
const prompt = tokenizer.encode("ab ba");

function served(options: Partial<ServedModel> = {}, blockCount = 64): ServedModel {
  const scheduler = new Scheduler(model, model.createPagedCache({ blockCount, blockSize: 4 }));
  return { id: "tiny", scheduler, tokenizer, stopTokenIds: [], ...options };
}

function prepared(parameters: Partial<SamplingParameters> = {}, kind: "completion" | "chat" = "completion", promptIds = prompt): PreparedRequest {
  return { kind, parameters: { ...noStop, ...parameters }, promptIds };
}

const stream = (onAccepted?: () => void) => ({ signal: new AbortController().signal, onAccepted });

/** The request the scheduler receives for `request`. */
async function submitted(model: ServedModel, request: PreparedRequest): Promise<GenerationRequest> {
  const submit = vi.spyOn(model.scheduler, "submit");
  await generateOnScheduler(model, "r1", request, stream());
  expect(submit).toHaveBeenCalledTimes(1);
  return submit.mock.calls[0][0];
}

async function refusal(model: ServedModel, request: PreparedRequest): Promise<ApiError> {
  let accepted = false;
  const error = await generateOnScheduler(model, "bad", request, stream(() => (accepted = true))).then(
    () => new Error("accepted"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(accepted).toBe(false);
  return error as ApiError;
}

describe("the scheduler request", () => {
  it("carries the parameters, the served model's stop tokens, and a decoder", async () => {
    const request = await submitted(served({ stopTokenIds: [2, 3] }), prepared({ maxTokens: 3, temperature: 0.5, topP: 0.9, topK: 7, minP: 0.05, repetitionPenalty: 1.2, seed: 11, stop: ["zz"] }));
    expect(request).toMatchObject({ id: "r1", promptIds: prompt, maxTokens: 3, temperature: 0.5, topP: 0.9, topK: 7, minP: 0.05, repetitionPenalty: 1.2, seed: 11, stopTokenIds: [2, 3], stopStrings: ["zz"] });
    expect(request.decoder).toBeDefined();
    expect(request.embeddingSpans).toBeUndefined();
  });

  it("takes the served model's defaults: temperature, and max_tokens for completions only", async () => {
    expect(await submitted(served({ defaultTemperature: 0.3, defaultCompletionTokens: 5 }), prepared())).toMatchObject({ temperature: 0.3, maxTokens: 5 });
    expect(await submitted(served(), prepared())).toMatchObject({ temperature: 1, maxTokens: 16 });
    expect(await submitted(served({ defaultTemperature: 0.3 }), prepared({ temperature: 0 }))).toMatchObject({ temperature: 0 });
    expect((await submitted(served({ defaultCompletionTokens: 5 }), prepared({ temperature: 0 }, "chat"))).maxTokens).toBeUndefined();
    expect((await submitted(served(), prepared({ maxTokens: 2 }, "chat"))).maxTokens).toBe(2);
  });

  it("turns top_k -1 (OpenAI-style off) into 0", async () => {
    expect((await submitted(served(), prepared({ topK: -1, maxTokens: 1 }))).topK).toBe(0);
    expect((await submitted(served(), prepared({ topK: 0, maxTokens: 1 }))).topK).toBe(0);
    expect((await submitted(served(), prepared({ topK: 1, maxTokens: 1 }))).topK).toBe(1);
  });
});

describe("the outcome", () => {
  it("reports the text, the counts and why it ended, after onAccepted and the streamed text", async () => {
    const events: string[] = [];
    const model = served();
    const outcome = await generateOnScheduler(model, "r1", prepared({ maxTokens: 4, temperature: 0 }), {
      signal: new AbortController().signal,
      onAccepted: () => events.push("accepted"),
      onText: (text) => events.push(`text:${text}`),
    });
    expect(outcome).toMatchObject({ completionTokens: 4, finishReason: "length", promptTokens: prompt.length, cachedPromptTokens: 0 });
    expect(events[0]).toBe("accepted");
    expect(events.slice(1).map((event) => event.slice(5)).join("")).toBe(outcome.text);
    expect(outcome.totalMs).toBeGreaterThanOrEqual(outcome.timeToFirstTokenMs);
    // The same prompt again: its full blocks come from the prefix cache.
    const again = await generateOnScheduler(model, "r2", prepared({ maxTokens: 4, temperature: 0 }), stream());
    expect(again.text).toBe(outcome.text);
    expect(again.cachedPromptTokens).toBe(Math.floor((prompt.length - 1) / 4) * 4);
  });

  it("is cancelled when the signal aborts", async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await generateOnScheduler(served(), "r1", prepared({ maxTokens: 4 }), { signal: controller.signal });
    expect(outcome).toMatchObject({ text: "", completionTokens: 0, finishReason: "cancelled" });
  });
});

describe("refusals", () => {
  it("name the OpenAI field for each scheduler field, with the context code when the context is the reason", async () => {
    const model = served();
    const cases: Array<[PreparedRequest, string, string | null, RegExp]> = [
      [prepared({ maxTokens: 500 }), "max_tokens", "context_length_exceeded", /exceeds the model's context of 96 tokens/],
      [prepared({ temperature: -1 }), "temperature", null, /temperature must be a number ≥ 0, got -1/],
      [prepared({ topK: 1.5 }), "top_k", null, /topK must be an integer ≥ 0/],
      [prepared({ topP: 0 }), "top_p", null, /topP must be in \(0, 1\]/],
      [prepared({ minP: 1 }), "min_p", null, /minP must be in \[0, 1\)/],
      [prepared({ repetitionPenalty: 0 }), "repetition_penalty", null, /repetitionPenalty must be a number > 0/],
      [prepared({ seed: 0.5 }), "seed", null, /seed must be an integer/],
      [prepared({}, "completion", [1, 999]), "prompt", null, /promptIds\[1\] = 999 is not a token id in 0..351/],
      [prepared({}, "chat", [1, 999]), "messages", null, /promptIds\[1\] = 999/],
      [prepared({}, "completion", Array(96).fill(5)), "prompt", "context_length_exceeded", /the model's context is 96 tokens/],
      [prepared({}, "chat", []), "messages", null, /the prompt has no tokens/],
    ];
    for (const [request, param, code, message] of cases) {
      const error = await refusal(model, request);
      expect(error.toData(), `${param}: ${error.message}`).toMatchObject({ status: 400, param, code, type: "invalid_request_error" });
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/^request bad: /);
    }
    // A field the scheduler knows but OpenAI spells the same way keeps its name (here the KV cache's limit).
    const small = served({}, 5);
    const kv = await refusal(small, prepared({ maxTokens: 30 }));
    expect(kv.toData()).toMatchObject({ param: "max_tokens", code: null });
    expect(kv.message).toMatch(/but the KV cache has 4/);
  });

  it("answer 429 rate_limit_exceeded when the queue is full", async () => {
    const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 64, blockSize: 4 }), { maxQueuedRequests: 0 });
    const error = await refusal({ id: "tiny", scheduler, tokenizer, stopTokenIds: [] }, prepared({ maxTokens: 1 }));
    expect(error.toData()).toEqual({ status: 429, type: "rate_limit_error", code: "rate_limit_exceeded", param: null, message: "the request queue is full (0 requests waiting); try again later" });
  });

  it("pass other errors through", async () => {
    const model = served();
    const bug = new Error("a bug in submit");
    vi.spyOn(model.scheduler, "submit").mockImplementation(() => {
      throw bug;
    });
    await expect(generateOnScheduler(model, "r", prepared(), stream())).rejects.toBe(bug);
  });
});

describe("requests with images", () => {
  const image = { bytes: new Uint8Array([1, 2, 3]), source: "messages[0].content[0]" };
  const withImages = (promptIds = prompt, maxTokens = 2): PreparedRequest => ({ ...prepared({ maxTokens, temperature: 0 }, "chat", promptIds), images: [image] });
  const encoder = (encode: ServedImageEncoder["encodeImages"]): ServedModel["images"] => ({
    maxRequestImageBytes: 1024,
    encodeImages: encode,
    prompts: { maxImageBytes: 1024, promptIds: async () => [] },
  });

  it("are refused by a model without images", async () => {
    const error = await refusal(served(), withImages());
    expect(error.toData()).toEqual({ status: 400, param: "messages", type: "invalid_request_error", code: "images_not_supported", message: "the model 'tiny' takes no images (image_url parts)" });
  });

  it("are refused before encoding when the prompt with its images cannot fit", async () => {
    const encode = vi.fn();
    const model = served({ images: encoder(encode) });
    expect(maxPromptTokensOf(model.scheduler)).toBe(95);
    const error = await refusal(model, withImages(Array(96).fill(5)));
    expect(error.toData()).toEqual({
      status: 400,
      param: "messages",
      type: "invalid_request_error",
      code: "context_length_exceeded",
      message: "the prompt with its images is 96 tokens, more than this model's limit of 95; send fewer or smaller images",
    });
    expect(encode).not.toHaveBeenCalled();
    // 95 tokens fit: the encoder runs.
    const fits = served({ images: encoder(async () => ({ embeddingSpans: [], contentKeys: [] })) });
    expect((await generateOnScheduler(fits, "r", withImages(Array(95).fill(5), 1), stream())).finishReason).toBe("length");
  });

  it("hand the encoded embeddings and content keys to the scheduler", async () => {
    const embeddings = new Float32Array(config.hiddenSize);
    const model = served({ images: encoder(async (promptIds, images) => {
      expect(promptIds).toEqual(prompt);
      expect(images).toEqual([image]);
      return { embeddingSpans: [{ start: 1, embeddings }], contentKeys: [{ start: 1, end: 2, key: "k" }] };
    }) });
    const request = await submitted(model, withImages());
    expect(request.embeddingSpans).toEqual([{ start: 1, embeddings }]);
    expect(request.contentKeys).toEqual([{ start: 1, end: 2, key: "k" }]);
  });

  it("pass the encoder's error on, unless the request was cancelled meanwhile", async () => {
    const unusable = new ApiError(400, "messages[0].content[0]: not an image", "messages[0].content[0]");
    await expect(generateOnScheduler(served({ images: encoder(async () => Promise.reject(unusable)) }), "r", withImages(), stream())).rejects.toBe(unusable);

    const controller = new AbortController();
    const model = served({ images: encoder(async () => {
      controller.abort();
      throw new Error("stopped early");
    }) });
    const submit = vi.spyOn(model.scheduler, "submit");
    const outcome = await generateOnScheduler(model, "r", withImages(), { signal: controller.signal });
    expect(outcome).toMatchObject({ text: "", completionTokens: 0, finishReason: "cancelled", promptTokens: prompt.length, cachedPromptTokens: 0, timeToFirstTokenMs: 0 });
    expect(outcome.totalMs).toBeGreaterThanOrEqual(0);
    expect(submit).not.toHaveBeenCalled();

    // Cancelled while encoding, the encoder resolving anyway: not submitted either.
    const late = new AbortController();
    const resolving = served({ images: encoder(async () => {
      late.abort();
      return { embeddingSpans: [], contentKeys: [] };
    }) });
    const lateSubmit = vi.spyOn(resolving.scheduler, "submit");
    expect((await generateOnScheduler(resolving, "r", withImages(), { signal: late.signal })).finishReason).toBe("cancelled");
    expect(lateSubmit).not.toHaveBeenCalled();
  });
});

describe("health and limits", () => {
  it("report the scheduler's counters and the cache's blocks and bytes", async () => {
    const model = served();
    await generateOnScheduler(model, "r", prepared({ maxTokens: 2 }), stream());
    const usage = model.scheduler.cache.usage();
    expect(schedulerHealth(model.scheduler)).toEqual({
      running: 0,
      waiting: 0,
      kvCache: {
        blockSize: 4,
        totalBlocks: 63,
        usedBlocks: 0,
        freeBlocks: 63,
        cachedBlocks: usage.cachedBlocks,
        usedBytes: 0,
        totalBytes: usage.totalBytes,
      },
      completed: 1,
      cancelled: 0,
      failed: 0,
    });
    expect(usage.cachedBlocks).toBeGreaterThan(0);
    expect(usage.totalBytes).toBeGreaterThan(0);
  });

  it("cap the prompt by the context less one and by the cache", () => {
    expect(maxPromptTokensOf(served({}, 64).scheduler)).toBe(95);
    expect(maxPromptTokensOf(served({}, 25).scheduler)).toBe(95); // 24 blocks of 4 = 96 positions
    expect(maxPromptTokensOf(served({}, 24).scheduler)).toBe(92);
  });
});
