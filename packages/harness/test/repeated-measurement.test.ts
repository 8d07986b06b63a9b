// The warm-up-then-measure helper: warm-up runs are kept apart, the summary covers only measured runs.
import { describe, expect, it } from "vitest";

import { measureRepeatedly, timeRepeatedly } from "../src/index.ts";

describe("measureRepeatedly", () => {
  it("runs warm-ups first, then summarizes only the measured values", async () => {
    const returned = [1000, 5, 3, 9];
    const seen: Array<[number, boolean]> = [];
    const result = await measureRepeatedly((run) => returned[run.index], { warmupRuns: 1, runs: 3, onRun: (value, run) => seen.push([value, run.warmup]) });
    expect(result.warmupValues).toEqual([1000]);
    expect(result.values).toEqual([5, 3, 9]);
    expect(result).toMatchObject({ median: 5, min: 3, max: 9, count: 3 });
    expect(seen).toEqual([[1000, true], [5, false], [3, false], [9, false]]);
  });

  it("awaits asynchronous runs one after another", async () => {
    let running = 0, overlapped = false;
    const result = await measureRepeatedly(async (run) => {
      running++;
      if (running > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 1));
      running--;
      return run.index;
    }, { warmupRuns: 0, runs: 4 });
    expect(overlapped).toBe(false);
    expect(result.values).toEqual([0, 1, 2, 3]);
    expect(result.median).toBe(1.5);
  });

  it("rejects bad counts and non-numbers", async () => {
    await expect(measureRepeatedly(() => 1, { runs: 0 })).rejects.toThrow(/runs must be/);
    await expect(measureRepeatedly(() => 1, { runs: 1, warmupRuns: -1 })).rejects.toThrow(/warmupRuns/);
    await expect(measureRepeatedly(() => Number.NaN, { runs: 1 })).rejects.toThrow(/not a number/);
  });
});

describe("timeRepeatedly", () => {
  it("measures wall-clock milliseconds of each call", async () => {
    const result = await timeRepeatedly(() => new Promise((resolve) => setTimeout(resolve, 20)), { warmupRuns: 1, runs: 2 });
    expect(result.values).toHaveLength(2);
    expect(result.min).toBeGreaterThanOrEqual(15);
    expect(result.max).toBeLessThan(2000);
  });
});
