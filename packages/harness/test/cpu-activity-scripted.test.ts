// The CPU figures with scripted counters and fake time: cpuTimes sums user, nice, sys and irq over the CPUs;
// othersBusyFraction subtracts the caller's own time; waitForQuietCpu samples until a quiet sample (at or below the
// limit) or the timeout (at or past it), calling onBusy after each busy one, with its defaults and its refusals.
import os from "node:os";

import { afterEach, describe, expect, it, vi } from "vitest";

import { cpuTimes, othersBusyFraction, waitForQuietCpu } from "../src/index.ts";

type CpuInfo = ReturnType<typeof os.cpus>[number];
const cpu = (user: number, nice: number, sys: number, irq: number, idle: number): CpuInfo => ({ model: "test", speed: 1000, times: { user, nice, sys, irq, idle } });

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("cpuTimes", () => {
  it("adds user, nice, sys and irq time as busy and idle time as idle, over every CPU", () => {
    vi.spyOn(os, "cpus").mockReturnValue([cpu(1, 2, 4, 8, 16), cpu(100, 200, 400, 800, 1600)]);
    expect(cpuTimes()).toEqual({ busyMs: 1515, idleMs: 1616, cpus: 2 });
  });
});

describe("othersBusyFraction", () => {
  it("is (busy − own) over wall time × CPUs", () => {
    const before = { busyMs: 1000, idleMs: 0, cpus: 4 };
    const after = { busyMs: 1600, idleMs: 0, cpus: 4 };
    expect(othersBusyFraction(before, after, 200, 200)).toBeCloseTo(0.5, 12);
    expect(othersBusyFraction(before, after, 0, 100)).toBe(1); // capped
    expect(othersBusyFraction(before, after, 0, -5)).toBe(0);
    expect(othersBusyFraction(before, after, 0, Number.NaN)).toBe(0);
  });
});

/** os.cpus() as seen by waitForQuietCpu: each sample (two snapshots) is as busy as the next scripted fraction. */
function scriptCpus(fractions: number[]): void {
  let busy = 0, idle = 0, calls = 0, sample = 0;
  vi.spyOn(os, "cpus").mockImplementation(() => {
    if (calls++ % 2 === 1) {
      const fraction = fractions[Math.min(sample++, fractions.length - 1)];
      busy += 1000 * fraction;
      idle += 1000 * (1 - fraction);
    }
    return [cpu(busy, 0, 0, 0, idle)];
  });
}

describe("waitForQuietCpu with scripted samples", () => {
  it("returns at the first sample at or below the limit, reporting each busy one before it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    scriptCpus([0.9, 0.6, 0.5, 0.1]);
    const busy: Array<[number, number]> = [];
    const result = waitForQuietCpu({ maxBusyFraction: 0.5, sampleMs: 100, timeoutMs: 10_000, onBusy: (fraction, waited) => busy.push([fraction, waited]) });
    await vi.advanceTimersByTimeAsync(300);
    await expect(result).resolves.toEqual({ quiet: true, busyFraction: 0.5, waitedMs: 300 });
    expect(busy.map(([fraction, waited]) => [Math.round(fraction * 10) / 10, waited])).toEqual([[0.9, 100], [0.6, 200]]);
  });

  it("gives up when the time waited reaches the timeout, with the last sample's share", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    scriptCpus([0.8]);
    const busy: number[] = [];
    const result = waitForQuietCpu({ maxBusyFraction: 0.5, sampleMs: 100, timeoutMs: 200, onBusy: (_, waited) => busy.push(waited) });
    await vi.advanceTimersByTimeAsync(200);
    await expect(result).resolves.toEqual({ quiet: false, busyFraction: 0.8, waitedMs: 200 });
    expect(busy).toEqual([100]);
  });

  it("takes a quiet sample even at the timeout, and works without onBusy", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    scriptCpus([0.9, 0.2]);
    const result = waitForQuietCpu({ maxBusyFraction: 0.3, sampleMs: 100, timeoutMs: 200 });
    await vi.advanceTimersByTimeAsync(200);
    await expect(result).resolves.toEqual({ quiet: true, busyFraction: 0.2, waitedMs: 200 });
  });

  it("samples every 500 ms up to 60 s at most 15 % busy by default", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    scriptCpus([0.15]);
    const quick = waitForQuietCpu();
    await vi.advanceTimersByTimeAsync(500);
    await expect(quick).resolves.toEqual({ quiet: true, busyFraction: 0.15, waitedMs: 500 });
    scriptCpus([0.16]);
    const busy: number[] = [];
    let settled = false;
    const slow = waitForQuietCpu({ onBusy: (_, waited) => busy.push(waited) }).finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(59_500);
    expect(settled).toBe(false);
    expect(busy).toHaveLength(119);
    await vi.advanceTimersByTimeAsync(500);
    await expect(slow).resolves.toMatchObject({ quiet: false, waitedMs: 60_000 });
  });

  it("refuses a limit outside 0..1 and a sample length that is not positive, naming the value", async () => {
    await expect(waitForQuietCpu({ maxBusyFraction: -0.1 })).rejects.toThrow(new RangeError("waitForQuietCpu: maxBusyFraction must be within 0..1, got -0.1"));
    await expect(waitForQuietCpu({ maxBusyFraction: 1.5 })).rejects.toThrow(new RangeError("waitForQuietCpu: maxBusyFraction must be within 0..1, got 1.5"));
    await expect(waitForQuietCpu({ maxBusyFraction: Number.NaN })).rejects.toThrow("got NaN");
    await expect(waitForQuietCpu({ sampleMs: -1 })).rejects.toThrow(new RangeError("waitForQuietCpu: sampleMs must be positive, got -1"));
  });
});
