// The tiny case's run is two worker runs (the prompt's prefill, then a decode from BOS): the combined run takes the
// prefill and its pool counters from the first, the decode and its pool counters from the second, and sums the CPU
// time, page faults and context switches of both.
import { describe, expect, it } from "vitest";

import type { RunMeasurement } from "../src/peer-protocol.ts";
import { combineBosRuns } from "../src/peers.ts";

const counters = (jobs: number) => ({ jobs, sharedJobs: 0, soloJobs: 0, callerOnlyJobs: jobs, stalls: 0, waitMs: 0 });

describe("combineBosRuns", () => {
  it("takes the prefill from the prompt's run and the decode from the BOS run, with each one's pool counters", () => {
    const prefill: RunMeasurement = { prefillTokens: 512, prefillMs: 40, decodeTokens: 0, decodeMs: 0, tokenArrivalMs: [], generated: [7], cpuMs: 80, pageFaults: 300, involuntaryContextSwitches: 4, pool: { prefill: counters(70), decode: counters(0) } };
    const decode: RunMeasurement = { prefillTokens: 1, prefillMs: 1, decodeTokens: 3, decodeMs: 2, tokenArrivalMs: [0.5, 1.2, 2], generated: [5, 6, 7, 8], cpuMs: 4, pageFaults: 20, involuntaryContextSwitches: 1, pool: { prefill: counters(9), decode: counters(27) } };
    expect(combineBosRuns(prefill, decode)).toEqual({
      prefillTokens: 512, prefillMs: 40, decodeTokens: 3, decodeMs: 2, tokenArrivalMs: [0.5, 1.2, 2], generated: [5, 6, 7, 8],
      cpuMs: 84, pageFaults: 320, involuntaryContextSwitches: 5, pool: { prefill: counters(70), decode: counters(27) },
    });
  });

  it("leaves out what either run did not report", () => {
    const bare: RunMeasurement = { prefillTokens: 512, prefillMs: 40, decodeTokens: 0, decodeMs: 0, tokenArrivalMs: [], generated: [7], cpuMs: 80 };
    const decode: RunMeasurement = { ...bare, decodeTokens: 1, decodeMs: 1, tokenArrivalMs: [1], pageFaults: 3, pool: { prefill: counters(1), decode: counters(2) } };
    const combined = combineBosRuns(bare, decode);
    expect(combined).not.toHaveProperty("pool");
    expect(combined).not.toHaveProperty("pageFaults");
    expect(combined).not.toHaveProperty("involuntaryContextSwitches");
    expect(combined.cpuMs).toBe(160);
  });
});
