// What the scheduler accepts and refuses, at every boundary: its own options (messages naming the option and the
// value), and each request field against the model's vocabulary and context and the cache's capacity — the last value
// accepted and the first refused, with the message a server shows as a 400 (field, numbers, the request's id).

import { describe, expect, it } from "vitest";

import { QueueFullError, RequestError, Scheduler, SchedulerError, type SchedulerOptions } from "../src/index.ts";
import type { GenerationRequest } from "../src/request.ts";
import { CountingBatchModel, countingCache, letterDecoder } from "./helpers.ts";

/** The error `submit` throws for `request` (fails the test when it throws none). */
function refusal(scheduler: Scheduler, request: GenerationRequest): RequestError {
  try {
    scheduler.submit(request);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    return error as RequestError;
  }
  throw new Error(`submit accepted ${JSON.stringify(request)}`);
}

describe("Scheduler options", () => {
  it.each([
    [{ maxBatchSize: 0 }, "Scheduler: maxBatchSize must be an integer ≥ 1, got 0"],
    [{ maxBatchSize: 1.5 }, "Scheduler: maxBatchSize must be an integer ≥ 1, got 1.5"],
    [{ maxBatchTokens: 0 }, "Scheduler: maxBatchTokens must be an integer ≥ 1, got 0"],
    [{ maxBatchTokens: 2.5 }, "Scheduler: maxBatchTokens must be an integer ≥ 1, got 2.5"],
    [{ maxQueuedRequests: -1 }, "Scheduler: maxQueuedRequests must be ≥ 0, got -1"],
    [{ maxQueuedRequests: Number.NaN }, "Scheduler: maxQueuedRequests must be ≥ 0, got NaN"],
  ] as Array<[SchedulerOptions, string]>)("refuses %j", (options, message) => {
    const make = () => new Scheduler(new CountingBatchModel(), countingCache(), options);
    expect(make).toThrow(SchedulerError);
    expect(make).toThrow(message);
  });

  it("accepts the smallest limits: one request of one token per step, and a queue of none", async () => {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache(), { maxBatchSize: 1, maxBatchTokens: 1 });
    const first = scheduler.submit({ promptIds: [0, 1], maxTokens: 2 });
    const second = scheduler.submit({ promptIds: [5], maxTokens: 2 });
    expect((await first.result).tokenIds).toEqual([2, 3]);
    expect((await second.result).tokenIds).toEqual([6, 7]);
    // One token per step: the first request's prompt in two steps, its decode, then the second's.
    expect(model.steps).toEqual([[[0, 1]], [[0, 1]], [[0, 1]], [[1, 1]], [[1, 1]]]);

    const none = new Scheduler(model, countingCache(), { maxQueuedRequests: 0 });
    let error: unknown;
    try {
      none.submit({ promptIds: [1] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toMatchObject({ name: "QueueFullError", limit: 0, message: "the request queue is full (0 requests waiting); try again later" });
    expect(none.stats()).toMatchObject({ running: 0, waiting: 0 });
  });
});

describe("request validation", () => {
  // Context 64 tokens; the cache holds 8 blocks of 4 = 32 positions, the tighter limit for maxTokens.
  const small = () => new Scheduler(new CountingBatchModel(26, 64), countingCache(9, 4));
  // The same context with a cache of 63 blocks (252 positions): the context is the tighter limit.
  const large = () => new Scheduler(new CountingBatchModel(26, 64), countingCache(64, 4));

  it("names the request by its id, or request-N by arrival (refused requests take no number)", async () => {
    const scheduler = small();
    expect(refusal(scheduler, { id: "mine", promptIds: [] }).message).toBe("request mine: the prompt has no tokens (add at least the BOS token)");
    expect(refusal(scheduler, { promptIds: [] }).message).toBe("request request-0: the prompt has no tokens (add at least the BOS token)");
    const first = scheduler.submit({ promptIds: [1], maxTokens: 1 });
    const named = scheduler.submit({ id: "named", promptIds: [1], maxTokens: 1 });
    const third = scheduler.submit({ promptIds: [1], maxTokens: 1 });
    expect([first.id, named.id, third.id]).toEqual(["request-0", "named", "request-2"]);
    expect((await third.result).id).toBe("request-2");
    expect((await named.result).id).toBe("named");
    expect(refusal(scheduler, { promptIds: [] }).message).toMatch(/^request request-3: /);
  });

  it("checks the prompt: an array (or typed array) of token ids in the vocabulary", async () => {
    const scheduler = small();
    const cases: Array<[unknown, string]> = [
      ["abc", "request request-0: promptIds must be an array of token ids"],
      [{ length: 1, 0: 1 }, "request request-0: promptIds must be an array of token ids"],
      [[1, 1.5], "request request-0: promptIds[1] = 1.5 is not a token id in 0..25"],
      [[-1], "request request-0: promptIds[0] = -1 is not a token id in 0..25"],
      [[3, 2, 26], "request request-0: promptIds[2] = 26 is not a token id in 0..25"],
    ];
    for (const [promptIds, message] of cases) {
      const error = refusal(scheduler, { promptIds: promptIds as number[] });
      expect(error.field, message).toBe("promptIds");
      expect(error.message).toBe(message);
    }
    // The last id of the vocabulary and a typed array are fine.
    expect((await scheduler.submit({ promptIds: [25], maxTokens: 2 }).result).tokenIds).toEqual([0, 1]);
    expect((await scheduler.submit({ promptIds: Int32Array.of(3, 4) as unknown as number[], maxTokens: 2 }).result).tokenIds).toEqual([5, 6]);
  });

  it("fits the prompt in the context and the cache: the longest accepted gets one token by default", async () => {
    const bySize = small();
    expect(refusal(bySize, { promptIds: Array(33).fill(1) }).message).toBe("request request-0: the prompt has 33 tokens, but the KV cache holds 32 (8 blocks of 4)");
    const fills = await bySize.submit({ promptIds: Array(32).fill(1) }).result;
    expect(fills).toMatchObject({ tokenIds: [2], finishReason: "length", promptTokens: 32 });

    const byContext = large();
    const refused = refusal(byContext, { promptIds: Array(64).fill(1) });
    expect(refused.field).toBe("promptIds");
    expect(refused.message).toBe("request request-0: the prompt has 64 tokens, but the model's context is 64 tokens");
    expect((await byContext.submit({ promptIds: Array(63).fill(1) }).result).tokenIds).toEqual([2]);
  });

  it("bounds maxTokens by the context and by the cache, with the largest value allowed in the message", async () => {
    const byContext = large();
    const over = refusal(byContext, { promptIds: [1, 2], maxTokens: 63 });
    expect(over.field).toBe("maxTokens");
    expect(over.message).toBe("request request-0: prompt (2 tokens) + maxTokens (63) = 65 exceeds the model's context of 64 tokens; at most 62");
    const fits = await byContext.submit({ promptIds: [1, 2], maxTokens: 62 }).result;
    expect(fits.tokenIds.length).toBe(62);
    // Without maxTokens: up to the end of the context.
    expect((await byContext.submit({ promptIds: [1, 2] }).result).tokenIds.length).toBe(62);

    const bySize = small();
    // The last generated token is never stored: 1 + 32 − 1 = 32 positions fit the 32 of the cache.
    const tooMany = refusal(bySize, { promptIds: [1], maxTokens: 33 });
    expect(tooMany.field).toBe("maxTokens");
    expect(tooMany.message).toBe("request request-0: prompt (1 tokens) + maxTokens (33) needs 9 blocks of 4, but the KV cache has 8; at most 32");
    expect(refusal(bySize, { promptIds: [1, 2, 3], maxTokens: 35 }).message).toBe(
      "request request-0: prompt (3 tokens) + maxTokens (35) needs 10 blocks of 4, but the KV cache has 8; at most 30",
    );
    expect((await bySize.submit({ promptIds: [1], maxTokens: 32 }).result).tokenIds.length).toBe(32);
    expect((await bySize.submit({ promptIds: [1] }).result).tokenIds.length).toBe(32);
  });

  it("wants maxTokens an integer ≥ 1", async () => {
    const scheduler = small();
    for (const maxTokens of [0, -2, 1.5, Number.NaN]) {
      const error = refusal(scheduler, { promptIds: [1], maxTokens });
      expect(error.field).toBe("maxTokens");
      expect(error.message).toBe(`request request-0: maxTokens must be an integer ≥ 1, got ${maxTokens}`);
    }
    expect((await scheduler.submit({ promptIds: [1], maxTokens: 1 }).result).tokenIds).toEqual([2]);
  });

  it("needs a decoder only when there are stop strings", async () => {
    const scheduler = small();
    const error = refusal(scheduler, { promptIds: [1], stopStrings: ["x"] });
    expect(error.field).toBe("stopStrings");
    expect(error.message).toBe("request request-0: stop strings need a decoder to see the text");
    expect((await scheduler.submit({ promptIds: [1], stopStrings: [], maxTokens: 2 }).result).tokenIds).toEqual([2, 3]);
    const stopped = await scheduler.submit({ promptIds: [1], stopStrings: ["d"], decoder: letterDecoder(), maxTokens: 5 }).result;
    expect(stopped).toMatchObject({ tokenIds: [2, 3], text: "c", finishReason: "stop" });
  });

  it("keeps embedding spans inside the prompt and made of f32 rows", async () => {
    const scheduler = small();
    const rows = new Float32Array(4);
    const outside: Array<[{ start: number; embeddings: Float32Array }, number | string]> = [
      [{ start: -1, embeddings: rows }, -1],
      [{ start: 3, embeddings: rows }, 3],
      [{ start: 0.5, embeddings: rows }, 0.5],
      [{ start: 1, embeddings: [0, 0] as unknown as Float32Array }, 1],
    ];
    for (const [span, shown] of outside) {
      const error = refusal(scheduler, { promptIds: [1, 2, 3], embeddingSpans: [span] });
      expect(error.field).toBe("promptIds");
      expect(error.message).toBe(`request request-0: an embedding span at position ${shown} lies outside the prompt of 3 tokens`);
    }
    const model = scheduler.model as CountingBatchModel;
    const result = await scheduler.submit({ promptIds: [1, 2, 3], embeddingSpans: [{ start: 0, embeddings: rows }, { start: 2, embeddings: rows }], maxTokens: 1 }).result;
    expect(result.tokenIds).toEqual([4]);
    expect(model.steps).toEqual([[[0, 3]]]);
  });

  it("keeps content keys inside the prompt, each covering at least one position", async () => {
    const scheduler = small();
    const cases: Array<[number, number]> = [
      [-1, 1],
      [1, 1],
      [2, 1],
      [0, 4],
      [0.5, 2],
      [0, 2.5],
    ];
    for (const [start, end] of cases) {
      const error = refusal(scheduler, { promptIds: [1, 2, 3], contentKeys: [{ start, end, key: "k" }] });
      expect(error.field).toBe("promptIds");
      expect(error.message).toBe(`request request-0: a content key covers positions ${start}..${end}, outside the prompt of 3 tokens`);
    }
    const result = await scheduler.submit({ promptIds: [1, 2, 3], contentKeys: [{ start: 0, end: 3, key: "k" }, { start: 2, end: 3, key: "j" }], maxTokens: 1 }).result;
    expect(result.tokenIds).toEqual([4]);
  });

  it("names the sampling option out of range as the field", () => {
    const scheduler = small();
    const cases: Array<[Partial<GenerationRequest>, string, string]> = [
      [{ temperature: -0.5 }, "temperature", "temperature must be a number ≥ 0, got -0.5"],
      [{ topP: 0 }, "topP", "topP must be in (0, 1], got 0"],
      [{ topK: 1.5 }, "topK", "topK must be an integer ≥ 0, got 1.5"],
      [{ seed: 0.5 }, "seed", "seed must be an integer, got 0.5"],
    ];
    for (const [options, field, message] of cases) {
      const error = refusal(scheduler, { promptIds: [1], ...options });
      expect(error.field).toBe(field);
      expect(error.message).toBe(`request request-0: ${message}`);
    }
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0 });
    return scheduler.whenIdle();
  });

  it("passes an error that is not a sampling refusal through as it is, not as a RequestError", () => {
    const scheduler = small();
    const broken = new Error("the temperature could not be read");
    const request = {
      promptIds: [1],
      get temperature(): number {
        throw broken;
      },
    };
    expect(() => scheduler.submit(request)).toThrow(broken);
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0 });
  });
});
