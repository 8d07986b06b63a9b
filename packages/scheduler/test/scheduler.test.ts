// The scheduler's rules, one at a time, on the counting model (next token = last + 1): requests join and leave the
// batch between steps, chunked prefill under the token budget with decodes first, FCFS admission, limits, stop tokens
// and strings, streaming, cancellation (before and during generation), the queue limit, validation errors that name
// the field, and per-request seeded sampling on a real tiny model.

import { describe, expect, it } from "vitest";

import { Sampler } from "@infer-recipes/engine";

import { QueueFullError, RequestError, Scheduler, type StepReport } from "../src/index.ts";
import { CountingBatchModel, countingCache, letterDecoder, tinyLlama } from "./helpers.ts";

describe("Scheduler on the counting model", () => {
  it("batches requests that arrive together, and lets them leave and join between steps", async () => {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache(), { maxBatchTokens: 64 });
    const first = scheduler.submit({ promptIds: [0, 1, 2], maxTokens: 2 });
    const second = scheduler.submit({ promptIds: [10], maxTokens: 5 });
    const [a, b] = await Promise.all([first.result, second.result]);
    expect(a.tokenIds).toEqual([3, 4]);
    expect(b.tokenIds).toEqual([11, 12, 13, 14, 15]);
    expect(a.finishReason).toBe("length");
    // Step 1: both prompts together; then both decode; then the first has left and the second decodes alone.
    expect(model.steps[0]).toEqual([[0, 3], [1, 1]]);
    expect(model.steps[1]).toEqual([[0, 1], [1, 1]]);
    expect(model.steps[2]).toEqual([[1, 1]]);
    const late = scheduler.submit({ promptIds: [20, 21], maxTokens: 1 });
    expect((await late.result).tokenIds).toEqual([22]);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });

  it("splits long prompts into chunks under the token budget and schedules decodes first", async () => {
    const model = new CountingBatchModel();
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(model, countingCache(), { maxBatchTokens: 8, onStep: (report) => reports.push(report) });
    const short = scheduler.submit({ promptIds: [1], maxTokens: 4 });
    const long = scheduler.submit({ promptIds: Array.from({ length: 20 }, (_, index) => index % 26), maxTokens: 2 });
    const [shortResult, longResult] = await Promise.all([short.result, long.result]);
    expect(shortResult.tokenIds).toEqual([2, 3, 4, 5]);
    expect(longResult.tokenIds).toEqual([20, 21]);
    expect(Math.max(...reports.map((report) => report.tokens))).toBeLessThanOrEqual(8);
    // Step 1: the short prompt (1) + 7 of the long one; then 1 decode + 7 more; then 1 decode + the last 6.
    expect(model.steps.slice(0, 3)).toEqual([[[0, 1], [1, 7]], [[0, 1], [1, 7]], [[0, 1], [1, 6]]]);
    expect(reports[1]).toMatchObject({ decodeTokens: 1, prefillTokens: 7 });
  });

  it("admits in arrival order and never more than maxBatchSize at once", async () => {
    const model = new CountingBatchModel();
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(model, countingCache(), { maxBatchSize: 2, onStep: (report) => reports.push(report) });
    const order: string[] = [];
    const handles = ["a", "b", "c", "d"].map((id, index) =>
      scheduler.submit({ id, promptIds: [index], maxTokens: 3 - (index % 2), onToken: () => order.includes(id) || order.push(id) }),
    );
    await Promise.all(handles.map((handle) => handle.result));
    expect(Math.max(...model.steps.map((step) => step.length))).toBe(2);
    // The step reports count the requests in the batch (what holds KV blocks), at least those scheduled in the step.
    expect(Math.max(...reports.map((report) => report.running))).toBe(2);
    for (const report of reports) expect(report.running).toBeGreaterThanOrEqual(report.sequences);
    expect(order).toEqual(["a", "b", "c", "d"]);
  });

  it("stops at stop tokens (not part of the output) and stop strings (never streamed), and streams the rest", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    const stopToken = await scheduler.submit({ promptIds: [0], stopTokenIds: [4], maxTokens: 10 }).result;
    expect(stopToken).toMatchObject({ tokenIds: [1, 2, 3], finishReason: "stop" });
    const pieces: string[] = [];
    const tokens: number[] = [];
    const stopString = await scheduler.submit({
      promptIds: [0], maxTokens: 10, stopStrings: ["de"], decoder: letterDecoder(), onText: (text) => pieces.push(text), onToken: (id) => tokens.push(id),
    }).result;
    expect(stopString.text).toBe("bc");
    expect(pieces.join("")).toBe("bc");
    expect(tokens).toEqual([1, 2, 3, 4]);
    expect(stopString.finishReason).toBe("stop");
  });

  it("cancels waiting and running requests, frees their blocks, and keeps serving the rest", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { maxBatchSize: 1 });
    const before = new AbortController();
    before.abort();
    expect((await scheduler.submit({ promptIds: [1], signal: before.signal }).result).finishReason).toBe("cancelled");
    const during = new AbortController();
    const seen: number[] = [];
    const running = scheduler.submit({ promptIds: [1], maxTokens: 50, signal: during.signal, onToken: (id) => seen.push(id) === 3 && during.abort() });
    const queued = scheduler.submit({ promptIds: [5], maxTokens: 50 });
    const survivor = scheduler.submit({ promptIds: [7], maxTokens: 2 });
    queued.cancel();
    const [runningResult, queuedResult, survivorResult] = await Promise.all([running.result, queued.result, survivor.result]);
    expect(runningResult).toMatchObject({ finishReason: "cancelled", tokenIds: [2, 3, 4] });
    expect(queuedResult).toMatchObject({ finishReason: "cancelled", tokenIds: [] });
    expect(survivorResult.tokenIds).toEqual([8, 9]);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    expect(scheduler.stats()).toMatchObject({ cancelled: 3, completed: 1 });
  });

  it("refuses requests it can never run, naming the field and the numbers, and a full queue", () => {
    const scheduler = new Scheduler(new CountingBatchModel(26, 64), countingCache(9, 4), { maxQueuedRequests: 1 });
    const refuse = (request: Parameters<Scheduler["submit"]>[0], field: string, message: RegExp) => {
      let error: unknown;
      try {
        scheduler.submit(request);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(RequestError);
      expect((error as RequestError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    };
    refuse({ promptIds: [] }, "promptIds", /the prompt has no tokens/);
    refuse({ promptIds: [1, 30] }, "promptIds", /promptIds\[1\] = 30 is not a token id in 0..25/);
    refuse({ promptIds: Array(64).fill(1) }, "promptIds", /the prompt has 64 tokens, but the model's context is 64 tokens/);
    refuse({ promptIds: Array(33).fill(1) }, "promptIds", /the prompt has 33 tokens, but the KV cache holds 32 \(8 blocks of 4\)/);
    refuse({ promptIds: [1], maxTokens: 64 }, "maxTokens", /prompt \(1 tokens\) \+ maxTokens \(64\) = 65 exceeds the model's context of 64 tokens; at most 63/);
    refuse({ promptIds: [1], maxTokens: 40 }, "maxTokens", /needs 10 blocks of 4, but the KV cache has 8; at most 32/);
    refuse({ promptIds: [1], maxTokens: 0 }, "maxTokens", /maxTokens must be an integer ≥ 1, got 0/);
    refuse({ promptIds: [1], temperature: -1 }, "temperature", /temperature must be a number ≥ 0, got -1/);
    refuse({ promptIds: [1], stopStrings: ["x"] }, "stopStrings", /stop strings need a decoder/);
    scheduler.submit({ promptIds: [1], maxTokens: 2 });
    expect(() => scheduler.submit({ promptIds: [1], maxTokens: 2 })).toThrow(QueueFullError);
    expect(() => scheduler.submit({ promptIds: [1], maxTokens: 2 })).toThrow(/the request queue is full \(1 requests waiting\)/);
    return scheduler.whenIdle();
  });

  it("does not starve an early large request behind a stream of later small ones when blocks are short", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(9, 4), { maxBatchSize: 4, admissionWatermarkBlocks: 0 });
    const large = scheduler.submit({ id: "large", promptIds: Array.from({ length: 12 }, (_, index) => index), maxTokens: 18 });
    const small: Array<Promise<unknown>> = [];
    let finished = false;
    void large.result.then(() => (finished = true));
    for (let round = 0; round < 40 && !finished; round++) {
      small.push(scheduler.submit({ promptIds: [round % 26, 1, 2, 3, 4], maxTokens: 6 }).result);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await large.result;
    expect(result.tokenIds.length).toBe(18);
    expect(result.preemptions).toBe(0); // the oldest request is never preempted by newer ones
    await Promise.all(small);
    expect(scheduler.stats().preemptions).toBeGreaterThan(0); // the small ones were, to let it grow
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("per-request sampling on a tiny Llama", () => {
  it("each request samples with its own seed: batched results equal each request run alone", async () => {
    const model = tinyLlama();
    const requests = [
      { promptIds: [1, 5, 9], temperature: 1, seed: 1, maxTokens: 12 },
      { promptIds: [1, 5, 9], temperature: 1, seed: 2, maxTokens: 12 },
      { promptIds: [1, 7], temperature: 0.8, topK: 10, topP: 0.9, seed: 3, maxTokens: 9 },
      { promptIds: [1, 7], maxTokens: 10 },
    ];
    const alone = [];
    for (const request of requests) {
      const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 32, blockSize: 4 }));
      alone.push((await scheduler.submit(request).result).tokenIds);
    }
    const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 32, blockSize: 4 }));
    const together = await Promise.all(requests.map((request) => scheduler.submit(request).result));
    expect(together.map((result) => result.tokenIds)).toEqual(alone);
    expect(alone[0]).not.toEqual(alone[1]); // different seeds, different samples
    // And the first is what a Sampler with that seed draws from the same logits (the engine's sampler).
    const sampler = new Sampler({ temperature: 1, seed: 1 });
    const cache = model.createCache();
    const ids = [1, 5, 9];
    let logits = model.forward(Int32Array.from(ids), cache).data as Float32Array;
    for (let step = 0; step < 12; step++) {
      const token = sampler.sample(logits, ids);
      ids.push(token);
      logits = model.forward(Int32Array.of(token), cache).data as Float32Array;
    }
    expect(alone[0]).toEqual(ids.slice(3));
  });
});
