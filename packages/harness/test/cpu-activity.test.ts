// CPU busy shares from counter snapshots, and the quiet-machine wait's options and result shape.
import { describe, expect, it } from "vitest";

import { busyFraction, cpuTimes, othersBusyFraction, waitForQuietCpu } from "../src/index.ts";

describe("busyFraction", () => {
  it("is busy time over all time between two snapshots", () => {
    const before = { busyMs: 1000, idleMs: 9000, cpus: 2 };
    expect(busyFraction(before, { busyMs: 1500, idleMs: 10500, cpus: 2 })).toBeCloseTo(0.25, 12);
    expect(busyFraction(before, before)).toBe(0);
  });

  it("counts only what others used for othersBusyFraction", () => {
    const before = { busyMs: 0, idleMs: 0, cpus: 2 };
    const after = { busyMs: 1500, idleMs: 500, cpus: 2 }; // 1 s of wall time on 2 CPUs
    expect(othersBusyFraction(before, after, 1000, 1000)).toBeCloseTo(0.25, 12);
    expect(othersBusyFraction(before, after, 2000, 1000)).toBe(0); // never negative
    expect(othersBusyFraction(before, after, 0, 0)).toBe(0);
  });

  it("reads this machine's counters", () => {
    const times = cpuTimes();
    expect(times.cpus).toBeGreaterThan(0);
    expect(times.busyMs + times.idleMs).toBeGreaterThan(0);
  });
});

describe("waitForQuietCpu", () => {
  it("returns after one sample when any load counts as quiet", async () => {
    const result = await waitForQuietCpu({ maxBusyFraction: 1, sampleMs: 20 });
    expect(result.quiet).toBe(true);
    expect(result.busyFraction).toBeGreaterThanOrEqual(0);
    expect(result.busyFraction).toBeLessThanOrEqual(1);
  });

  it("gives up at the timeout when nothing counts as quiet", async () => {
    // Only a fully idle sample passes maxBusyFraction 0, and the timeout of 0 makes the first sample final.
    const result = await waitForQuietCpu({ maxBusyFraction: 0, sampleMs: 20, timeoutMs: 0 });
    expect(result.waitedMs).toBeGreaterThan(0);
    if (!result.quiet) expect(result.busyFraction).toBeGreaterThan(0);
  });

  it("rejects bad options", async () => {
    await expect(waitForQuietCpu({ maxBusyFraction: 2 })).rejects.toThrow(/maxBusyFraction/);
    await expect(waitForQuietCpu({ sampleMs: 0 })).rejects.toThrow(/sampleMs/);
  });
});
