// Percentiles and the inter-token latency summary on values with known answers.
import { describe, expect, it } from "vitest";

import { interTokenLatencies, interTokenLatencySummary, percentile, summarizeLatencies } from "../src/index.ts";

describe("percentile", () => {
  it("interpolates between ranks like NumPy's default", () => {
    const values = [5, 1, 4, 2, 3]; // sorted 1..5
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 100)).toBe(5);
    expect(percentile(values, 25)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20], 95)).toBeCloseTo(19.5, 12); // numpy.percentile([10, 20], 95) = 19.5
    expect(percentile([7], 99)).toBe(7);
  });

  it("p99 of 1..100 is 99.01 and does not reorder the input", () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect(percentile(values, 99)).toBeCloseTo(99.01, 10);
    expect(values[0]).toBe(100);
  });

  it("rejects empty input and p outside 0..100", () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe("inter-token latency", () => {
  it("takes the gaps between arrival times and summarizes them", () => {
    // 20 tokens 10 ms apart, then one 100 ms stall: the median stays 10, the tail shows the stall
    const times = [0];
    for (let index = 1; index < 20; index++) times.push(times[index - 1] + 10);
    times.push(times[19] + 100);
    expect(interTokenLatencies([0, 10, 25])).toEqual([10, 15]);
    const summary = interTokenLatencySummary(times);
    expect(summary.count).toBe(20);
    expect(summary.p50).toBe(10);
    expect(summary.max).toBe(100);
    expect(summary.p99).toBeGreaterThan(summary.p95);
    expect(summary.p99).toBeCloseTo(10 + 0.81 * 90, 10); // rank 0.99 × 19 = 18.81 between 10 and 100
    expect(summary.mean).toBeCloseTo((19 * 10 + 100) / 20, 12);
  });

  it("rejects times that go backwards and too few tokens", () => {
    expect(() => interTokenLatencies([0, 5, 3])).toThrow(/before/);
    expect(() => interTokenLatencySummary([1])).toThrow(/at least 2/);
    expect(() => summarizeLatencies([])).toThrow(/no latencies/);
  });
});

describe("percentile and latency boundaries", () => {
  it("refuses a negative p with its value, and accepts 0 and 100", () => {
    expect(() => percentile([1, 2], -1)).toThrow(new RangeError("percentile: p must be within 0..100, got -1"));
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([3, 1, 2], 100)).toBe(3);
  });

  it("takes the largest latency wherever it is, and accepts equal arrival times", () => {
    expect(summarizeLatencies([5, 1, 2]).max).toBe(5);
    expect(interTokenLatencies([1, 1, 3])).toEqual([0, 2]);
    expect(interTokenLatencySummary([4, 9])).toMatchObject({ count: 1, p50: 5, max: 5, mean: 5 });
  });

  it("names the arrival time that goes backwards and the one before it", () => {
    expect(() => interTokenLatencies([0, 5, 3, 8])).toThrow(new RangeError("interTokenLatencies: arrival time 2 (3) is before the one before it (5)"));
    expect(() => interTokenLatencySummary([7])).toThrow(new RangeError("interTokenLatencySummary: needs at least 2 arrival times, got 1"));
  });
});
