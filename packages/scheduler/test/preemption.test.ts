// Preemption keeps arrival order: a request preempted when the pool runs short goes back to the front of the queue (its
// place by arrival), so it is readmitted before any request that arrived after it, and still produces exactly the
// tokens it would have produced alone.

import { describe, expect, it } from "vitest";

import { PagedKvCache } from "@infer-recipes/cache";

import { Scheduler, type StepReport } from "../src/index.ts";
import { CountingBatchModel, countingCache } from "./helpers.ts";

describe("preemption", () => {
  it("readmits a preempted request before a request that arrived after it", async () => {
    // 8 usable blocks of 4. A and B (prompt 4, 20 tokens: 6 blocks each at the end) fill the batch of 2 and the pool
    // at 16 positions each; then A needs a fifth block and B, the newest running, is preempted. C arrived after B and
    // waited for room in the batch: B must be readmitted first.
    const events: string[] = [];
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(9, 4), {
      maxBatchSize: 2,
      admissionWatermarkBlocks: 0,
      onStep: (report) => report.preempted > 0 && events.push("preempted"),
    });
    const submit = (id: string, promptIds: number[], maxTokens: number) =>
      scheduler.submit({ id, promptIds, maxTokens, onToken: () => events.push(id) }).result;
    const a = submit("A", [0, 1, 2, 3], 20);
    const b = submit("B", [10, 11, 12, 13], 20);
    const c = submit("C", [20], 2);
    const [resultA, resultB, resultC] = await Promise.all([a, b, c]);
    expect([resultA.preemptions, resultB.preemptions, resultC.preemptions]).toEqual([0, 1, 0]);
    // Recomputed, B continues its chain exactly: 14, 15, … (the counting model's next token is last + 1).
    expect(resultB.tokenIds).toEqual(Array.from({ length: 20 }, (_, index) => (14 + index) % 26));
    expect(resultC.tokenIds).toEqual([21, 22]);
    // After the preemption, the first token of B or C is B's: B was readmitted first.
    const afterPreemption = events.slice(events.indexOf("preempted") + 1).filter((id) => id !== "A");
    expect(events.filter((id) => id === "preempted"), events.join(" ")).toHaveLength(1);
    expect(afterPreemption[0], `events ${events.join(" ")}`).toBe("B");
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("preemption of the request that is short itself", () => {
  it("preempts the newest request when it alone needs a block, recomputes it in chunks, and counts its prefix hit once", async () => {
    // 8 usable blocks of 4. A (prompt 2) and B (prompt 4) decode in lockstep; B needs its blocks two steps before A
    // needs its own, so at the 14th step B (the newest) is the one short of a block: it preempts itself.
    const model = new CountingBatchModel();
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(model, countingCache(9, 4), { maxBatchSize: 2, maxBatchTokens: 4, admissionWatermarkBlocks: 0, onStep: (report) => reports.push(report) });
    const a = scheduler.submit({ id: "A", promptIds: [0, 1], maxTokens: 20 });
    const b = scheduler.submit({ id: "B", promptIds: [10, 11, 12, 13], maxTokens: 20 });
    const [resultA, resultB] = await Promise.all([a.result, b.result]);
    expect(resultA.tokenIds).toEqual(Array.from({ length: 20 }, (_, index) => 2 + index));
    expect(resultB.tokenIds).toEqual(Array.from({ length: 20 }, (_, index) => (14 + index) % 26));
    expect([resultA.preemptions, resultB.preemptions]).toEqual([0, 1]);
    // Per step, who ran how many tokens: the prompts in chunks under the budget of 4, lockstep decodes, B preempting
    // itself at the 15th step (A alone then), B readmitted once A is done: its 17 tokens less 8 still cached, recomputed
    // in chunks of 4 (and the last 1), then decoding.
    const name = (sequence: number) => (sequence === 0 ? "A" : "B");
    const steps = model.steps.map((step) => step.map(([sequence, tokens]) => `${name(sequence)}${tokens}`).join(" "));
    expect(steps).toEqual([
      "A2 B2",
      "A1 B2",
      ...Array<string>(12).fill("A1 B1"),
      ...Array<string>(6).fill("A1"),
      "B4",
      "B4",
      ...Array<string>(7).fill("B1"),
    ]);
    expect(reports.findIndex((report) => report.preempted > 0)).toBe(14);
    expect(reports[14]).toMatchObject({ sequences: 1, running: 1, tokens: 1, prefillTokens: 0, decodeTokens: 1, preempted: 1 });
    // B's cached blocks at its readmission are not counted as prompt-cache hits: its first admission had none.
    expect(resultB.cachedPromptTokens).toBe(0);
    expect(scheduler.stats()).toMatchObject({ steps: 29, preemptions: 1, generatedTokens: 40, prefillTokens: 14, cachedPromptTokens: 0, completed: 2 });
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("admission after a preemption", () => {
  it("admits nothing in the step that preempted, even the victim when the blocks it freed would fit its next chunk", async () => {
    // 4 blocks of 4, no prefix cache, budget 2. A and B decode in lockstep and take their blocks at the same steps; at
    // the 9th step A needs its third block and B (the newest, 2 blocks) is preempted: one of its blocks is left free
    // and its next chunk (1 token, the budget it gave back) would fit, but it waits for the next step. Readmitted,
    // it recomputes a token per step until A needs a block again (step 13), then runs alone after A.
    const model = new CountingBatchModel();
    const cache = new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, blockSize: 4, blockCount: 5, prefixCaching: false });
    const reports: StepReport[] = [];
    const scheduler = new Scheduler(model, cache, { maxBatchSize: 2, maxBatchTokens: 2, admissionWatermarkBlocks: 0, onStep: (report) => reports.push(report) });
    const a = scheduler.submit({ id: "A", promptIds: [0], maxTokens: 15 });
    const b = scheduler.submit({ id: "B", promptIds: [10], maxTokens: 12 });
    const [resultA, resultB] = await Promise.all([a.result, b.result]);
    expect(resultA.tokenIds).toEqual(Array.from({ length: 15 }, (_, index) => 1 + index));
    expect(resultB.tokenIds).toEqual(Array.from({ length: 12 }, (_, index) => 11 + index));
    expect([resultA.preemptions, resultB.preemptions]).toEqual([0, 2]);
    const steps = model.steps.map((step) => step.map(([sequence, tokens]) => `${sequence === 0 ? "A" : "B"}${tokens}`).join(" "));
    expect(steps).toEqual([
      ...Array<string>(8).fill("A1 B1"),
      "A1",
      ...Array<string>(3).fill("A1 B1"),
      ...Array<string>(3).fill("A1"),
      ...Array<string>(4).fill("B2"),
      ...Array<string>(4).fill("B1"),
    ]);
    expect(reports.map((report, index) => (report.preempted > 0 ? index : -1)).filter((index) => index >= 0)).toEqual([8, 12]);
    await scheduler.whenIdle();
    expect(cache.pool.usedBlocks).toBe(0);
  });
});
