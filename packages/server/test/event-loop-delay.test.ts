// EventLoopDelayMonitor on its own: nothing measured before start(), the delay percentiles and the thread's own CPU
// time once its timers ran (Linux), what it reports after stop(), and how /health rounds it (tenths of a millisecond).

import { describe, expect, it } from "vitest";

import { EventLoopDelayMonitor } from "../src/index.ts";

const linux = process.platform === "linux";
const ticks = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("EventLoopDelayMonitor", () => {
  it("reports zeros and no thread counters before it starts", () => {
    expect(new EventLoopDelayMonitor().read()).toStrictEqual({ p50: 0, p99: 0, max: 0, samples: 0 });
  });

  it("measures ticks, the thread's CPU time and the longest interval once started", async () => {
    const monitor = new EventLoopDelayMonitor();
    monitor.start();
    try {
      // Hold the thread for a while, so one interval is clearly late.
      await ticks(30);
      const until = performance.now() + 40;
      while (performance.now() < until) {
        // blocking the event loop
      }
      await ticks(30);
      const measured = monitor.read();
      expect(measured.samples).toBeGreaterThan(0);
      expect(measured.max).toBeGreaterThanOrEqual(measured.p99);
      expect(measured.p99).toBeGreaterThanOrEqual(measured.p50);
      expect(measured.p50).toBeGreaterThanOrEqual(0);
      if (linux) {
        expect(measured.ownCpuMax).toBeGreaterThan(0);
        const longest = measured.longestInterval!;
        expect(longest.delay).toBeGreaterThan(0);
        expect(longest.running).toBeGreaterThanOrEqual(0);
        expect(longest.waitingForCpu).toBeGreaterThanOrEqual(0);
        // The thread ran at most for the interval's length (its own CPU time bounds its blocking).
        expect(measured.ownCpuMax).toBeGreaterThanOrEqual(longest.running);
      }
    } finally {
      monitor.stop();
    }
  });

  it("stops: the counters stay as they were and no longer change", async () => {
    const monitor = new EventLoopDelayMonitor();
    monitor.start();
    await ticks(40);
    monitor.stop();
    const stopped = monitor.read();
    await ticks(40);
    expect(monitor.read()).toStrictEqual(stopped);
  });
});
