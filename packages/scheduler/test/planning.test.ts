// How a step is planned, on the counting model (next token = last + 1): the token budget a prompt chunk leaves for
// admission in the same step, and one step per turn of the event loop however many requests arrive while it runs.

import { describe, expect, it } from "vitest";

import { Scheduler, type RequestHandle } from "../src/index.ts";
import { CountingBatchModel, countingCache } from "./helpers.ts";

describe("the token budget of a step", () => {
  it("admits a waiting request with what decodes and the last prompt chunk leave of maxBatchTokens", async () => {
    // Budget 8. Step 1: A's prompt (3) and the first 5 of B's 10. Step 2: A decodes (1), B's last 5, and C gets the
    // 2 tokens left. Step 3: A and B decode, C's last 4. Then decodes only.
    const model = new CountingBatchModel();
    const scheduler = new Scheduler(model, countingCache(), { maxBatchTokens: 8 });
    const names = ["A", "B", "C"];
    const results = await Promise.all([
      scheduler.submit({ id: "A", promptIds: [0, 1, 2], maxTokens: 3 }).result,
      scheduler.submit({ id: "B", promptIds: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], maxTokens: 2 }).result,
      scheduler.submit({ id: "C", promptIds: [20, 21, 22, 23, 24, 25], maxTokens: 2 }).result,
    ]);
    expect(results.map((result) => result.tokenIds)).toEqual([[3, 4, 5], [20, 21], [0, 1]]);
    expect(model.steps.map((step) => step.map(([sequence, tokens]) => `${names[sequence]}${tokens}`).join(" "))).toEqual([
      "A3 B5",
      "A1 B5 C2",
      "A1 B1 C4",
      "C1",
    ]);
  });
});

describe("the step loop", () => {
  it("runs one step per turn of the event loop, also after a request arrives while it runs (no second loop)", async () => {
    // A ticker counts event-loop turns; each step records the turn it ran in. B arrives from A's second token.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns: number[] = [];
    const scheduler = new Scheduler(new CountingBatchModel(), countingCache(), { onStep: () => turns.push(turn) });
    let b: RequestHandle | undefined;
    const a = scheduler.submit({
      id: "A",
      promptIds: [0],
      maxTokens: 6,
      onToken: (id) => {
        if (id === 2) b = scheduler.submit({ id: "B", promptIds: [10], maxTokens: 3 });
      },
    });
    expect((await a.result).tokenIds).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await b!.result).tokenIds).toEqual([11, 12, 13]);
    await scheduler.whenIdle();
    ticking = false;
    expect(turns).toHaveLength(6);
    expect(turns.slice(1).map((value, index) => value - turns[index])).toEqual([1, 1, 1, 1, 1]);
  });
});
