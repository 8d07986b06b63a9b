// What the scheduler reports and how it ends requests that go wrong, on the counting model (next token = last + 1):
// the step reports and counters, step by step; admission against the watermark of free blocks (the last request that
// fits and the first that does not); prefix-cache hits counted once; a model, a callback or a step that throws fails
// exactly the requests concerned; a request that can never be admitted fails with the reason; listeners are removed.

import { getEventListeners } from "node:events";

import { afterEach, describe, expect, it, vi } from "vitest";

import { QueueFullError, RequestError, Scheduler, SchedulerError, type BatchEntry, type StepReport } from "../src/index.ts";
import { CountingBatchModel, countingCache, letterDecoder } from "./helpers.ts";

/** Step reports without their wall-clock time. */
function withoutTime(reports: StepReport[]): Array<Omit<StepReport, "milliseconds">> {
  return reports.map(({ milliseconds, ...rest }) => {
    expect(milliseconds).toBeGreaterThanOrEqual(0);
    return rest;
  });
}

describe("step reports and counters", () => {
  it("count sequences, running requests, prefill and decode tokens per step, and the totals", async () => {
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { onStep: (report) => reports.push(report) });
    expect(scheduler.stats()).toEqual({ running: 0, waiting: 0, steps: 0, preemptions: 0, completed: 0, cancelled: 0, failed: 0, generatedTokens: 0, prefillTokens: 0, cachedPromptTokens: 0 });
    const a = scheduler.submit({ promptIds: [0, 1, 2], maxTokens: 2 });
    const b = scheduler.submit({ promptIds: [10], maxTokens: 3 });
    expect([scheduler.runningCount, scheduler.waitingCount]).toEqual([0, 2]);
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 2 });
    expect((await a.result).tokenIds).toEqual([3, 4]);
    expect((await b.result).tokenIds).toEqual([11, 12, 13]);
    await scheduler.whenIdle();
    expect(withoutTime(reports)).toEqual([
      { sequences: 2, running: 2, tokens: 4, prefillTokens: 4, decodeTokens: 0, preempted: 0 },
      { sequences: 2, running: 2, tokens: 2, prefillTokens: 0, decodeTokens: 2, preempted: 0 },
      { sequences: 1, running: 1, tokens: 1, prefillTokens: 0, decodeTokens: 1, preempted: 0 },
    ]);
    expect(scheduler.stats()).toEqual({ running: 0, waiting: 0, steps: 3, preemptions: 0, completed: 2, cancelled: 0, failed: 0, generatedTokens: 5, prefillTokens: 4, cachedPromptTokens: 0 });

    // A new 6-token prompt, then the same again: its first full block (4 positions) comes from the prefix cache.
    const prompt = [20, 21, 22, 23, 24, 25];
    const first = await scheduler.submit({ promptIds: prompt, maxTokens: 1 }).result;
    const again = await scheduler.submit({ promptIds: prompt, maxTokens: 1 }).result;
    expect([first.cachedPromptTokens, again.cachedPromptTokens]).toEqual([0, 4]);
    expect(withoutTime(reports.slice(3))).toEqual([
      { sequences: 1, running: 1, tokens: 6, prefillTokens: 6, decodeTokens: 0, preempted: 0 },
      { sequences: 1, running: 1, tokens: 2, prefillTokens: 2, decodeTokens: 0, preempted: 0 },
    ]);
    expect(scheduler.stats()).toMatchObject({ steps: 5, completed: 4, generatedTokens: 7, prefillTokens: 12, cachedPromptTokens: 4 });
  });

  it("counts a one-token prompt chunk as prefill, not decode", async () => {
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { maxBatchTokens: 2, onStep: (report) => reports.push(report) });
    // Prompt of 3 in chunks of 2 then 1; the single last prompt token is prefill.
    expect((await scheduler.submit({ promptIds: [0, 1, 2], maxTokens: 2 }).result).tokenIds).toEqual([3, 4]);
    expect(withoutTime(reports).map(({ prefillTokens, decodeTokens }) => [prefillTokens, decodeTokens])).toEqual([[2, 0], [1, 0], [0, 1]]);
    expect(scheduler.stats()).toMatchObject({ prefillTokens: 3, generatedTokens: 2 });
  });

  it("counts the prefix-cache hit of a preempted request once, at its first admission", async () => {
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(9, 4), {
      maxBatchSize: 2,
      admissionWatermarkBlocks: 0,
      onStep: (report) => reports.push(report),
    });
    const a = scheduler.submit({ id: "A", promptIds: [0, 1, 2, 3], maxTokens: 20 });
    const b = scheduler.submit({ id: "B", promptIds: [10, 11, 12, 13], maxTokens: 20 });
    const [resultA, resultB] = await Promise.all([a.result, b.result]);
    expect([resultA.preemptions, resultB.preemptions]).toEqual([0, 1]);
    expect([resultA.cachedPromptTokens, resultB.cachedPromptTokens]).toEqual([0, 0]);
    expect(reports.map((report) => report.preempted).filter((count) => count > 0)).toEqual([1]);
    const stats = scheduler.stats();
    expect(stats).toMatchObject({ preemptions: 1, cachedPromptTokens: 0, completed: 2, generatedTokens: 40 });
    // B's recompute ran through the model again (what its reused blocks did not cover).
    expect(stats.prefillTokens).toBeGreaterThan(8);
  });
});

describe("admission watermark", () => {
  // 8 usable blocks of 4. A (one position) runs; B asks for its whole prompt in the same step.
  async function admittedTogether(promptLength: number, admissionWatermarkBlocks?: number): Promise<boolean> {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache(9, 4), { admissionWatermarkBlocks });
    const a = scheduler.submit({ promptIds: [0], maxTokens: 3 });
    const b = scheduler.submit({ promptIds: Array(promptLength).fill(1), maxTokens: 1 });
    expect((await a.result).tokenIds).toEqual([1, 2, 3]);
    expect((await b.result).tokenIds).toEqual([2]);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    return model.steps[0].length === 2;
  }

  it("keeps free blocks back while others run (default: 1 % of the pool, rounded up)", async () => {
    // A holds 1 block, 7 are free: with the default watermark of 1 block, B may take 6 but not 7.
    expect(await admittedTogether(24)).toBe(true);
    expect(await admittedTogether(28)).toBe(false);
    expect(await admittedTogether(28, 0)).toBe(true);
    expect(await admittedTogether(20, 2)).toBe(true);
    expect(await admittedTogether(24, 2)).toBe(false);
  });

  it("does not apply to a request entering an empty batch", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(9, 4), { admissionWatermarkBlocks: 5 });
    const result = await scheduler.submit({ promptIds: Array(32).fill(1) }).result;
    expect(result.tokenIds).toEqual([2]);
  });
});

/** The counting model, throwing `error` at the steps listed (1-based). */
class FailingModel extends CountingBatchModel {
  private calls = 0;
  constructor(
    private readonly failAt: number[],
    private readonly error: Error,
  ) {
    super();
  }
  override forwardBatch(batch: readonly BatchEntry[], cache: Parameters<CountingBatchModel["forwardBatch"]>[1]): Array<Float32Array | null> {
    this.calls++;
    if (this.failAt.includes(this.calls)) throw this.error;
    return super.forwardBatch(batch, cache);
  }
}

describe("failures", () => {
  it("fails the requests of a step whose model throws, frees their blocks, and serves the next", async () => {
    const boom = new Error("boom");
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(new FailingModel([2], boom), countingCache(), { maxBatchSize: 2, onStep: (report) => reports.push(report) });
    const a = scheduler.submit({ promptIds: [0], maxTokens: 5 });
    const b = scheduler.submit({ promptIds: [5], maxTokens: 5 });
    const c = scheduler.submit({ promptIds: [9], maxTokens: 2 });
    await expect(a.result).rejects.toBe(boom);
    await expect(b.result).rejects.toBe(boom);
    expect((await c.result).tokenIds).toEqual([10, 11]);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    // The failed step is neither counted nor reported.
    expect(reports).toHaveLength(3);
    expect(scheduler.stats()).toMatchObject({ failed: 2, completed: 1, steps: 3, generatedTokens: 4 });
  });

  it("fails a request whose onToken throws, and only that one", async () => {
    const oops = new Error("onToken failed");
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    const bad = scheduler.submit({ promptIds: [0], maxTokens: 5, onToken: (id) => {
      if (id === 2) throw oops;
    } });
    const good = scheduler.submit({ promptIds: [7], maxTokens: 3 });
    await expect(bad.result).rejects.toBe(oops);
    expect((await good.result).tokenIds).toEqual([8, 9, 10]);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    expect(scheduler.stats()).toMatchObject({ failed: 1, completed: 1, generatedTokens: 4 });
    // Cancelling it afterwards changes nothing: it stays counted once, as failed.
    bad.cancel();
    expect(scheduler.stats()).toMatchObject({ failed: 1, completed: 1, cancelled: 0 });
  });

  it("fails a request whose onText throws on the text released at its end", async () => {
    const late = new Error("onText failed at the end");
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    const pieces: string[] = [];
    // Tokens 1, 2, 3 spell "bcd"; "d" is held back as a possible start of "dx" and released when the request ends.
    const handle = scheduler.submit({ promptIds: [0], maxTokens: 3, stopStrings: ["dx"], decoder: letterDecoder(), onText: (text) => {
      if (text === "d") throw late;
      pieces.push(text);
    } });
    await expect(handle.result).rejects.toBe(late);
    expect(pieces).toEqual(["b", "c"]);
    await scheduler.whenIdle();
    expect(scheduler.stats()).toMatchObject({ failed: 1, completed: 0, cancelled: 0 });
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });

  it("fails every request, running or waiting, when a step throws outside the model", async () => {
    const broken = new Error("onStep failed");
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { maxBatchSize: 1, onStep: () => {
      throw broken;
    } });
    const handles = [scheduler.submit({ promptIds: [0], maxTokens: 5 }), scheduler.submit({ promptIds: [3], maxTokens: 5 })];
    for (const handle of handles) await expect(handle.result).rejects.toBe(broken);
    await scheduler.whenIdle();
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0, failed: 2, steps: 1 });
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });

  it("fails a request that cannot be admitted into an empty batch, naming the free blocks", async () => {
    const cache = countingCache(9, 4);
    const held = cache.createSequence();
    expect(cache.reserve(held, 20)).toBe(true); // 5 of the 8 blocks taken by someone else
    const scheduler = new Scheduler(new CountingBatchModel(), cache);
    const handle = scheduler.submit({ id: "big", promptIds: Array(16).fill(1), maxTokens: 1 });
    const error = await handle.result.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SchedulerError);
    expect((error as Error).message).toBe("request big cannot be admitted: it needs more blocks than the 3 free");
    await scheduler.whenIdle();
    expect(scheduler.stats()).toMatchObject({ failed: 1, running: 0, waiting: 0 });
    // One that fits the 3 free blocks runs.
    expect((await scheduler.submit({ promptIds: Array(12).fill(1), maxTokens: 1 }).result).tokenIds).toEqual([2]);
  });
});

describe("lifecycle", () => {
  it("whenIdle resolves at once when idle, and after the last request otherwise", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    await scheduler.whenIdle();
    let done = false;
    const handle = scheduler.submit({ promptIds: [0], maxTokens: 4 });
    void handle.result.then(() => (done = true));
    await scheduler.whenIdle();
    expect(done).toBe(true);
    expect(scheduler.stats().completed).toBe(1);
  });

  it("whenIdle asked in the last step resolves only once the step loop has stopped, a turn of the event loop later", async () => {
    const order: string[] = [];
    let idle: Promise<void> | undefined;
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), {
      onStep: () => {
        if (scheduler.runningCount + scheduler.waitingCount > 0) return;
        // The request has just completed: both queues are empty, but the loop has not ended yet.
        idle = scheduler.whenIdle().then(() => void order.push("idle"));
        setImmediate(() => order.push("next turn"));
      },
    });
    expect((await scheduler.submit({ promptIds: [0], maxTokens: 2 }).result).tokenIds).toEqual([1, 2]);
    await idle;
    expect(order).toEqual(["next turn", "idle"]);
  });

  it("step() runs one step when called directly, and reports false with nothing to run", async () => {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache());
    expect(scheduler.step()).toBe(false);
    const handle = scheduler.submit({ promptIds: [0, 1], maxTokens: 2 });
    expect(scheduler.step()).toBe(true);
    expect(model.steps).toEqual([[[0, 2]]]);
    expect([scheduler.runningCount, scheduler.waitingCount]).toEqual([1, 0]);
    expect((await handle.result).tokenIds).toEqual([2, 3]);
    expect(scheduler.step()).toBe(false);
  });

  it("cancelAll ends running and waiting requests and frees their blocks", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { maxBatchSize: 1 });
    const running = scheduler.submit({ promptIds: [0], maxTokens: 50 });
    const waiting = scheduler.submit({ promptIds: [5], maxTokens: 50 });
    expect(scheduler.step()).toBe(true);
    expect([scheduler.runningCount, scheduler.waitingCount]).toEqual([1, 1]);
    scheduler.cancelAll();
    expect([scheduler.runningCount, scheduler.waitingCount]).toEqual([0, 0]);
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    expect(await running.result).toMatchObject({ finishReason: "cancelled", tokenIds: [1] });
    expect(await waiting.result).toMatchObject({ finishReason: "cancelled", tokenIds: [] });
    expect(scheduler.stats()).toMatchObject({ cancelled: 2, completed: 0 });
    await scheduler.whenIdle();
  });

  it("cancels a request from another's callback after the step, and ignores a second cancel", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    let victim: ReturnType<Scheduler["submit"]> | undefined;
    const killer = scheduler.submit({ promptIds: [0], maxTokens: 3, onToken: (id) => id === 2 && victim?.cancel() });
    victim = scheduler.submit({ promptIds: [10], maxTokens: 10 });
    expect((await killer.result).tokenIds).toEqual([1, 2, 3]);
    // Cancelled during the second step, in which it had sampled its second token.
    expect(await victim.result).toMatchObject({ finishReason: "cancelled", tokenIds: [11, 12] });
    victim.cancel();
    expect(scheduler.stats()).toMatchObject({ cancelled: 1, completed: 1 });
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });

  it("cancels a waiting request from a callback after the step, so it never runs", async () => {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache(), { maxBatchSize: 1 });
    let waiting: ReturnType<Scheduler["submit"]> | undefined;
    const running = scheduler.submit({ promptIds: [0], maxTokens: 2, onToken: () => waiting?.cancel() });
    waiting = scheduler.submit({ promptIds: [10], maxTokens: 2 });
    expect((await running.result).tokenIds).toEqual([1, 2]);
    expect(await waiting.result).toMatchObject({ finishReason: "cancelled", tokenIds: [] });
    expect(model.steps.flat().map(([sequence]) => sequence)).toEqual([0, 0]);
    expect(scheduler.stats()).toMatchObject({ completed: 1, cancelled: 1 });
  });

  it("counts a request that asks to cancel itself on its last token once, as completed", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    let handle: ReturnType<Scheduler["submit"]> | undefined;
    handle = scheduler.submit({ promptIds: [0], maxTokens: 2, onToken: (id) => id === 2 && handle?.cancel() });
    expect(await handle.result).toMatchObject({ finishReason: "length", tokenIds: [1, 2] });
    await scheduler.whenIdle();
    expect(scheduler.stats()).toMatchObject({ completed: 1, cancelled: 0 });
  });

  it("stops listening to a request's signal when it ends, and counts an aborted signal as cancelled at submit", async () => {
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache());
    const controller = new AbortController();
    const handle = scheduler.submit({ promptIds: [0], maxTokens: 2, signal: controller.signal });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    expect((await handle.result).finishReason).toBe("length");
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    controller.abort();
    expect(scheduler.stats()).toMatchObject({ completed: 1, cancelled: 0 });

    const aborted = scheduler.submit({ promptIds: [0], maxTokens: 2, signal: controller.signal });
    expect(scheduler.waitingCount).toBe(0);
    expect(await aborted.result).toMatchObject({ finishReason: "cancelled", tokenIds: [], timeToFirstTokenMs: Number.NaN });
    expect(scheduler.stats()).toMatchObject({ completed: 1, cancelled: 1 });
  });
});

/** The counting model on a fake clock: every step takes 10 ms of it. */
class TenMillisecondModel extends CountingBatchModel {
  override forwardBatch(batch: readonly BatchEntry[], cache: Parameters<CountingBatchModel["forwardBatch"]>[1]): Array<Float32Array | null> {
    vi.advanceTimersByTime(10);
    return super.forwardBatch(batch, cache);
  }
}

describe("timings (on a fake clock)", () => {
  afterEach(() => vi.useRealTimers());

  it("time to first token, total time and step times", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    vi.advanceTimersByTime(1000); // times are differences from the submission, not readings of the clock
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(new TenMillisecondModel(), countingCache(), { maxBatchTokens: 2, onStep: (report) => reports.push(report) });
    // Prompt of 3 in two steps (2 + 1), then two decode steps: first token after 20 ms, done after 40 ms.
    const result = await scheduler.submit({ id: "timed", promptIds: [0, 1, 2], maxTokens: 3 }).result;
    expect(result).toEqual({
      id: "timed",
      tokenIds: [3, 4, 5],
      text: "",
      finishReason: "length",
      promptTokens: 3,
      cachedPromptTokens: 0,
      timeToFirstTokenMs: 20,
      totalMs: 40,
      preemptions: 0,
    });
    expect(reports.map((report) => report.milliseconds)).toEqual([10, 10, 10, 10]);
  });
});

describe("error classes", () => {
  it("name themselves and carry their fields", () => {
    const schedulerError = new SchedulerError("m");
    const requestError = new RequestError("maxTokens", "too many");
    const queueFull = new QueueFullError(3);
    expect([schedulerError.name, requestError.name, queueFull.name]).toEqual(["SchedulerError", "RequestError", "QueueFullError"]);
    expect(requestError).toBeInstanceOf(SchedulerError);
    expect(queueFull).toBeInstanceOf(SchedulerError);
    expect(requestError).toMatchObject({ field: "maxTokens", message: "too many" });
    expect(queueFull).toMatchObject({ limit: 3, message: "the request queue is full (3 requests waiting); try again later" });
  });
});

describe("embedding spans", () => {
  it("go to the model with the steps that run prompt positions, not with decode steps", async () => {
    const seen: Array<[number, number, boolean]> = [];
    class RecordingModel extends CountingBatchModel {
      override forwardBatch(batch: readonly BatchEntry[], cache: Parameters<CountingBatchModel["forwardBatch"]>[1]): Array<Float32Array | null> {
        for (const entry of batch) seen.push([entry.sequence.id, entry.tokens.length, entry.embeddingSpans !== undefined]);
        return super.forwardBatch(batch, cache);
      }
    }
    const scheduler = new Scheduler(new RecordingModel(), countingCache(), { maxBatchTokens: 3 });
    const spans = [{ start: 3, embeddings: new Float32Array(2) }];
    const withSpans = scheduler.submit({ promptIds: [0, 1, 2, 3], embeddingSpans: spans, maxTokens: 2 });
    const without = scheduler.submit({ promptIds: [7], maxTokens: 2 });
    await Promise.all([withSpans.result, without.result]);
    // Sequence 0's prompt in chunks of 3 and 1 (both with the spans), then a decode step without; sequence 1 never.
    expect(seen).toEqual([[0, 3, true], [0, 1, true], [1, 1, false], [0, 1, false], [1, 1, false]]);
  });
});

describe("cancellation before the first step", () => {
  it("ends a request cancelled right after submit at once: it never reaches the model", async () => {
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache());
    const tokens: number[] = [];
    const handle = scheduler.submit({ promptIds: [0], maxTokens: 3, onToken: (id) => tokens.push(id) });
    handle.cancel();
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0, cancelled: 1 });
    expect(await handle.result).toMatchObject({ finishReason: "cancelled", tokenIds: [] });
    await scheduler.whenIdle();
    expect(model.steps).toEqual([]);
    expect(tokens).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ steps: 0, cancelled: 1, completed: 0 });
  });
});
