// This project's peer engine on the real stories260K GGUF (from ../shared/models; skipped when absent or without the
// native kernels): each run reports what the native thread pool did over its prefill and over its decode, split at the
// right point — the prefill's counters do not depend on how many tokens are decoded, the decode's grow with them, and
// the two add up to the pool's counters over the whole run.
import fs from "node:fs";

import { NativeBackend, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { createOurPeerEngine, poolCountersBetween } from "../src/our-peer-engine.ts";
import { sharedModelFiles } from "../src/shared-models.ts";

const available = fs.existsSync(sharedModelFiles.stories260kGguf) && nativeAvailability().available;

describe("poolCountersBetween", () => {
  it("gives each counter's growth between two readings, the wait in milliseconds", () => {
    const before = { jobs: 10, sharedJobs: 4, soloJobs: 1, stalls: 1, waitMicroseconds: 1500, callerOnlyJobs: 2 };
    const after = { jobs: 25, sharedJobs: 9, soloJobs: 4, stalls: 3, waitMicroseconds: 4000, callerOnlyJobs: 7 };
    expect(poolCountersBetween(before, after)).toEqual({ jobs: 15, sharedJobs: 5, soloJobs: 3, callerOnlyJobs: 5, stalls: 2, waitMs: 2.5 });
  });
});

describe.skipIf(!available)("createOurPeerEngine on stories260K", () => {
  it("reports the pool's counters over the prefill and over the decode of each run", async () => {
    const engine = createOurPeerEngine({ kind: "load", modelPath: sharedModelFiles.stories260kGguf, threads: 2, contextSize: 64, batchSize: 64, memoryMap: false });
    const prompt = [1, ...Array.from({ length: 39 }, (_, index) => (index * 37 + 5) % 500)];
    // The engine's kernel and this one share the process's native pool (both at 2 threads, so it is not resized).
    const backend = createKernel({ backend: "native", threads: 2 }).backend as NativeBackend;
    try {
      const two = await engine.run(prompt, 2);
      const before = backend.poolStatistics()!;
      const four = await engine.run(prompt, 4);
      const whole = poolCountersBetween(before, backend.poolStatistics()!);
      expect(two.pool).toBeDefined();
      expect(four.pool).toBeDefined();
      // The same prompt: the same ops, so the same jobs; every decode step issues the same ops as the others.
      expect(two.pool!.prefill.jobs).toBeGreaterThan(0);
      expect(four.pool!.prefill.jobs).toBe(two.pool!.prefill.jobs);
      expect(two.pool!.decode.jobs).toBeGreaterThan(0);
      expect(four.pool!.decode.jobs).toBe(2 * two.pool!.decode.jobs);
      expect(four.pool!.prefill.jobs + four.pool!.decode.jobs).toBe(whole.jobs);
      expect(four.pool!.prefill.callerOnlyJobs + four.pool!.decode.callerOnlyJobs).toBe(whole.callerOnlyJobs);
      expect(four.pool!.prefill.waitMs + four.pool!.decode.waitMs).toBeCloseTo(whole.waitMs, 6);
      for (const phase of [two.pool!.prefill, two.pool!.decode, four.pool!.prefill, four.pool!.decode]) {
        expect(phase.sharedJobs + phase.soloJobs + phase.callerOnlyJobs).toBeLessThanOrEqual(phase.jobs);
        expect(phase.waitMs).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await engine.close();
    }
  });
});
