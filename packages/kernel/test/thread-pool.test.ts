// The native thread pool: a helper descheduled in the middle of a task (here: one that sleeps) is detected as a stall,
// and the pool then runs the next jobs on the calling thread alone for a while instead of waiting again (but not a
// prefill's GEMM or attention, whose jobs are long); a helper that never picks up a job costs nothing; every result is
// the same at any thread count.

import { describe, expect, it } from "vitest";

import { dtypeInfo, nativeAvailability } from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";

const addon = nativeAvailability().available ? loadAddon().addon : null;

/**
 * Provokes a stall (a helper sleeps 1 ms inside a task), then right away, inside the pool's 20 ms back-off, runs `jobs`
 * one by one and a probe job, which must run alone. On a loaded machine the stall may not happen, or the back-off may
 * end early, so it retries (up to 30 times) until an attempt's back-off lasted through the probe. Returns, per job, how
 * many jobs the pool ran alone while it ran, or undefined when no attempt qualified.
 */
async function soloJobsDuringBackOff(native: NonNullable<typeof addon>, jobs: Array<() => void>): Promise<number[] | undefined> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
  for (let attempt = 0; attempt < 30; attempt++) {
    const before = native.poolStatistics!();
    native.poolProbe!(16, 1000, 5000);
    let last = native.poolStatistics!();
    if (last.stalls === before.stalls) {
      await pause();
      continue;
    }
    const solo: number[] = [];
    for (const job of jobs) {
      job();
      const now = native.poolStatistics!();
      solo.push(now.soloJobs - last.soloJobs);
      last = now;
    }
    const probe = native.poolProbe!(16, 0, 5000);
    if (native.poolStatistics!().soloJobs !== last.soloJobs + 1) {
      await pause();
      continue;
    }
    expect(Array.from(probe)).toEqual(new Array(16).fill(0));
    return solo;
  }
  return undefined;
}

describe.skipIf(addon === null || !addon.poolProbe)("native thread pool", () => {
  it("backs off to the calling thread after a helper stalls mid-task, and shares jobs again later", async () => {
    const native = addon!;
    native.setThreads(2);
    try {
      // 16 tasks of 1 ms on the caller; a helper's task sleeps 5 ms (a descheduled helper). The helper wakes within
      // microseconds, but on a loaded machine it may not run at all during one job: try a few times.
      let stalled = false;
      for (let attempt = 0; attempt < 20 && !stalled; attempt++) {
        const before = native.poolStatistics!().stalls;
        const ranBy = native.poolProbe!(16, 1000, 5000);
        stalled = native.poolStatistics!().stalls > before;
        expect(Array.from(ranBy).every((thread) => thread === 0 || thread === 1)).toBe(true);
        if (stalled) break;
        await new Promise((resolve) => setTimeout(resolve, 30)); // let a back-off from an earlier attempt end
      }
      expect(stalled, "a helper sleeping 5 ms inside a task is detected as a stall").toBe(true);
      // Right after a stall (20 ms back-off), the next job runs on the calling thread alone.
      const beforeSolo = native.poolStatistics!();
      const solo = native.poolProbe!(16, 0, 5000);
      expect(Array.from(solo), "every task on thread 0 while backing off").toEqual(new Array(16).fill(0));
      expect(native.poolStatistics!().soloJobs).toBe(beforeSolo.soloJobs + 1);
      // After the back-off, jobs are offered to the helper again: with tasks long enough, it takes some.
      await new Promise((resolve) => setTimeout(resolve, 100));
      let shared = false;
      for (let attempt = 0; attempt < 20 && !shared; attempt++) {
        shared = native.poolProbe!(64, 200, 0).some((thread) => thread === 1);
        if (!shared) await new Promise((resolve) => setTimeout(resolve, 30));
      }
      expect(shared, "after the back-off a helper takes part again").toBe(true);
    } finally {
      native.setThreads(1);
    }
  });

  it("keeps a prefill's GEMM (32 tokens or more) shared while backing off; a decode GEMV in the same back-off runs alone", async () => {
    const native = addon!;
    native.setThreads(2);
    const previous = native.setMinimumSharedMatmulBytes!(0);
    try {
      const weight = new Float32Array(256 * 64).fill(0.5);
      const prefillInput = new Float32Array(64 * 64).fill(1);
      const prefillOut = new Float32Array(64 * 256);
      const decodeOut = new Float32Array(256);
      const solo = await soloJobsDuringBackOff(native, [
        () => native.matmul(prefillOut, prefillInput, weight, dtypeInfo.f32.code, 64, 256, 64),
        () => native.matmul(decodeOut, prefillInput.subarray(0, 64), weight, dtypeInfo.f32.code, 1, 256, 64),
      ]);
      expect(solo, "a back-off that lasted through the three jobs").toBeDefined();
      expect(solo![0], "the 64-token GEMM was not run alone").toBe(0);
      expect(solo![1], "the 1-token GEMV was run alone").toBe(1);
      expect(Array.from(prefillOut)).toEqual(new Array(64 * 256).fill(32));
      expect(Array.from(decodeOut)).toEqual(new Array(256).fill(32));
    } finally {
      native.setMinimumSharedMatmulBytes!(previous);
      native.setThreads(1);
    }
  });

  it("keeps a prefill's attention (32 tokens or more, dense or paged) shared while backing off; a 4-token one runs alone", async () => {
    const native = addon!;
    const heads = 2, headDim = 64, positions = 64, scale = 1 / 8;
    const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, index) => Math.sin(index * 0.37 + seed) * 0.5);
    const keys = values(positions * heads * headDim, 1), cacheValues = values(positions * heads * headDim, 2);
    const query = values(positions * heads * headDim, 3);
    const table = Int32Array.of(0);
    // The prefill: all 64 positions, causal; the short batch: the last 4 positions over all 64 (a speculative verify).
    const prefill = (out: Float32Array) => native.attention(out, query, keys, cacheValues, 64, heads, heads, headDim, positions, 0, positions, true, scale);
    const pagedPrefill = (out: Float32Array) => native.pagedAttention!(out, query, keys, cacheValues, table, 64, heads, heads, headDim, 1, positions, 0, positions, true, scale);
    const short = (out: Float32Array) => native.attention(out, query.subarray(60 * heads * headDim), keys, cacheValues, 4, heads, heads, headDim, positions, 60, positions, true, scale);
    const outputs = () => ({ prefill: new Float32Array(64 * heads * headDim), paged: new Float32Array(64 * heads * headDim), short: new Float32Array(4 * heads * headDim) });
    native.setThreads(1);
    const expected = outputs();
    prefill(expected.prefill);
    pagedPrefill(expected.paged);
    short(expected.short);
    native.setThreads(2);
    try {
      const got = outputs();
      const solo = await soloJobsDuringBackOff(native, [() => prefill(got.prefill), () => pagedPrefill(got.paged), () => short(got.short)]);
      expect(solo, "a back-off that lasted through the four jobs").toBeDefined();
      expect(solo![0], "the 64-token attention was not run alone").toBe(0);
      expect(solo![1], "the 64-token paged attention was not run alone").toBe(0);
      expect(solo![2], "the 4-token attention was run alone").toBe(1);
      // Shared or alone, every output is the same as on one thread.
      expect(got).toEqual(expected);
    } finally {
      native.setThreads(1);
    }
  });

  it("counts jobs, and a job too small to share finishes on the caller without waiting", () => {
    const native = addon!;
    native.setThreads(2);
    try {
      const before = native.poolStatistics!();
      for (let job = 0; job < 50; job++) native.poolProbe!(2, 0, 0);
      const after = native.poolStatistics!();
      expect(after.jobs - before.jobs).toBe(50);
      expect(after.sharedJobs - before.sharedJobs + (after.jobs - after.sharedJobs) - (before.jobs - before.sharedJobs)).toBe(50);
      expect(after.stalls).toBe(before.stalls); // tasks of 0 µs never stall
    } finally {
      native.setThreads(1);
    }
  });

  it("runs a matmul smaller than the sharing threshold on the calling thread, and shares it when the threshold is 0", () => {
    const native = addon!;
    native.setThreads(2);
    const previous = native.setMinimumSharedMatmulBytes!(128 * 1024);
    try {
      // A 64×64 f32 GEMV (16 KiB of weights, 4 tasks of 16 rows) as a stories260K decode step runs it.
      const weight = new Float32Array(64 * 64).fill(0.5);
      const input = new Float32Array(64).fill(1);
      const out = new Float32Array(64);
      const before = native.poolStatistics!();
      native.matmul(out, input, weight, dtypeInfo.f32.code, 1, 64, 64);
      const small = native.poolStatistics!();
      expect(small.callerOnlyJobs - before.callerOnlyJobs, "the small GEMV ran on the caller alone").toBe(1);
      expect(Array.from(out)).toEqual(new Array(64).fill(32));
      native.setMinimumSharedMatmulBytes!(0);
      native.matmul(out, input, weight, dtypeInfo.f32.code, 1, 64, 64);
      expect(native.poolStatistics!().callerOnlyJobs, "with threshold 0 the same GEMV is offered to the helpers").toBe(small.callerOnlyJobs);
      expect(Array.from(out)).toEqual(new Array(64).fill(32));
    } finally {
      native.setMinimumSharedMatmulBytes!(previous);
      native.setThreads(1);
    }
  });
});
