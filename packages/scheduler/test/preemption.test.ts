// Preemption keeps arrival order: a request preempted when the pool runs short goes back to the front of the queue (its
// place by arrival), so it is readmitted before any request that arrived after it, and still produces exactly the
// tokens it would have produced alone.

import { describe, expect, it } from "vitest";

import { Scheduler } from "../src/index.ts";
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
