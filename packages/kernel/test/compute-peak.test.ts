// The compute peak probe (NativeBackend.computePeak, native/compute_peak.cc) on the pool's pinned jobs
// (ThreadPool::run_on_every_thread): every pool thread runs its own task, on its own OS thread, also right after a
// stall, when ordinary jobs run on the caller alone; and the reported figures add up. No timing assertions here: the
// peak's value is the kernel benchmark's business.

import { describe, expect, it } from "vitest";

import { createKernel, nativeAvailability, type NativeBackend } from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";

const addon = nativeAvailability().available ? loadAddon().addon : null;

/** Operations in one round of the probe's chains (2^16 iterations × 12 chains × at least 16 operations). */
const roundOperations = 2 ** 16 * 12 * 16;

describe.skipIf(addon === null || !addon.computePeak)("compute peak probe", () => {
  for (const threads of [1, 2, 3]) {
    it(`runs one task pinned to each of ${threads} pool thread(s), each on its own OS thread, and reports each`, (context) => {
      const backend = createKernel({ backend: "native", threads }).backend as NativeBackend;
      const peak = backend.computePeak("fma", 5);
      if (peak === undefined) context.skip(); // a CPU without AVX2 + FMA
      expect(peak!.threads.map((run) => run.thread)).toEqual([...Array(threads).keys()]);
      expect(new Set(peak!.threads.map((run) => run.systemThreadId)).size, "distinct OS threads").toBe(threads);
      for (const run of peak!.threads) {
        expect(run.seconds, `thread ${run.thread} ran for at least the minimum`).toBeGreaterThanOrEqual(0.005);
        expect(run.operations).toBeGreaterThan(0);
        expect(run.operations % roundOperations, "whole rounds of chains").toBe(0);
      }
      expect(peak!.wallSeconds).toBeGreaterThanOrEqual(Math.max(...peak!.threads.map((run) => run.seconds)));
      const summed = peak!.threads.reduce((total, run) => total + run.operations / run.seconds, 0);
      expect(peak!.operationsPerSecond / summed).toBeCloseTo(1, 12);
      const operations = peak!.threads.reduce((total, run) => total + run.operations, 0);
      expect(peak!.wallOperationsPerSecond / (operations / peak!.wallSeconds)).toBeCloseTo(1, 12);
    });
  }

  it("gives each helper its task while the pool backs off after a stall (the caller cannot take a helper's share)", async () => {
    const native = addon!;
    if (!native.poolProbe) return;
    native.setThreads(2);
    try {
      // A helper's task sleeps 5 ms (a descheduled helper): a stall, after which ordinary jobs run on the caller alone.
      let stalled = false;
      for (let attempt = 0; attempt < 20 && !stalled; attempt++) {
        const before = native.poolStatistics!().stalls;
        native.poolProbe!(16, 1000, 5000);
        stalled = native.poolStatistics!().stalls > before;
        if (!stalled) await new Promise((resolve) => setTimeout(resolve, 30));
      }
      expect(stalled, "a helper sleeping 5 ms inside a task is detected as a stall").toBe(true);
      expect(Array.from(native.poolProbe!(16, 0, 5000)), "ordinary jobs run on thread 0 while backing off").toEqual(new Array(16).fill(0));
      const peak = native.computePeak!("fma", 2);
      if (peak === null) return;
      expect(peak.threads.map((run) => run.thread)).toEqual([0, 1]);
      expect(peak.threads[1].systemThreadId).not.toBe(peak.threads[0].systemThreadId);
      expect(peak.threads[1].operations).toBeGreaterThan(0);
    } finally {
      native.setThreads(1);
    }
  });

  it("runs the vdpbf16ps and vpdpbusd chains on CPUs that have them: whole rounds, CPU time within the wall time", () => {
    const backend = createKernel({ backend: "native", threads: 1 }).backend as NativeBackend;
    const features = addon!.features(); // "avx512" includes AVX512_VNNI (cpu_features.h: avx512_usable)
    for (const [kind, available, operationsPerInstruction] of [["bf16", features.avx512 && features.avx512bf16, 64], ["vnni", features.avx512, 128]] as const) {
      const peak = backend.computePeak(kind, 5);
      if (!available) continue; // (without the AVX-512 kernels' features the probe may or may not run: not checked)
      expect(peak, `${kind}: the CPU has it`).toBeDefined();
      const [run] = peak!.threads;
      // A round is 2^16 iterations of 12 chains, each instruction `operationsPerInstruction` operations.
      expect(run.operations % (2 ** 16 * 12 * operationsPerInstruction), `${kind}: whole rounds`).toBe(0);
      expect(run.operations, kind).toBeGreaterThan(0);
      expect(run.seconds, kind).toBeGreaterThanOrEqual(0.005);
      expect(run.cpuSeconds, `${kind}: per-thread CPU time measured`).toBeGreaterThan(0);
      expect(run.cpuSeconds, kind).toBeLessThanOrEqual(run.seconds + 0.01);
    }
  });

  it("answers undefined for an instruction the CPU lacks, and names bad arguments", () => {
    const native = addon!;
    const backend = createKernel({ backend: "native", threads: 1 }).backend as NativeBackend;
    const features = native.features();
    expect(backend.computePeak("bf16", 1) === undefined, "vdpbf16ps needs AVX512_BF16").toBe(!(features.avx512 && features.avx512bf16));
    expect(() => native.computePeak!("avx" as "fma", 5)).toThrow(/computePeak: .*kind must be fma, bf16 or vnni/);
    expect(() => native.computePeak!("fma", 0)).toThrow(/computePeak: .*milliseconds must be in \(0, 60000\]/);
  });
});
