// The adaptive draft length: the projection it decides by, k growing while drafts are accepted and falling to plain
// decoding when no k pays, the probes while paused (8, 16, 32 steps apart, then none), fixed k, and assumed costs
// (no timings: the same acceptances give the same k).

import { describe, expect, it } from "vitest";

import { DraftLengthPolicy, bestDraftLength, expectedTokensPerStep, projectedSpeedup, type StepCosts } from "../src/index.ts";

describe("the projection", () => {
  it("expects 1 + α + … + α^k tokens per step and weighs them against the step's cost", () => {
    expect(expectedTokensPerStep(0, 4)).toBe(1);
    expect(expectedTokensPerStep(1, 4)).toBe(5);
    expect(expectedTokensPerStep(0.5, 2)).toBeCloseTo(1.75, 12);
    const costs: StepCosts = { draftPerToken: 0.5, verify: (tokens) => 1 + 0.1 * (tokens - 1) };
    // k = 2 at α = 0.5: 1.75 tokens for 2 × 0.5 + 1.2 = 2.2 → 0.795× of one token per verify(1).
    expect(projectedSpeedup(0.5, 2, costs)).toBeCloseTo(1.75 / 2.2, 12);
    expect(bestDraftLength(0.1, costs, 8)).toEqual({ draftTokens: 0, speedup: 1 });
    expect(bestDraftLength(0.95, { ...costs, draftPerToken: 0 }, 8).draftTokens).toBe(8);
  });
});

/** Drives a policy with a drafter whose tokens are accepted with a fixed pattern; returns the k of each step. */
function drive(policy: DraftLengthPolicy, steps: number, accept: (proposed: number) => number, timing: (proposed: number) => { draft: number; verify: number }): number[] {
  const chosen: number[] = [];
  for (let step = 0; step < steps; step++) {
    const proposed = policy.next();
    chosen.push(proposed);
    const { draft, verify } = timing(proposed);
    policy.record({ proposed, accepted: accept(proposed), draftMilliseconds: draft, verifyMilliseconds: verify });
  }
  return chosen;
}

describe("DraftLengthPolicy", () => {
  const verifyTime = (proposed: number) => 10 * (1 + 0.05 * proposed);

  it("grows k to its maximum when every draft is accepted and drafting is cheap", () => {
    const chosen = drive(new DraftLengthPolicy(), 30, (k) => k, (k) => ({ draft: 0.5 * k, verify: verifyTime(k) }));
    expect(chosen.slice(-10)).toEqual(new Array(10).fill(8));
  });

  it("falls to plain decoding when nothing is accepted, probes after 8, 16 and 32 plain steps, then stops probing", () => {
    const chosen = drive(new DraftLengthPolicy(), 140, () => 0, (k) => ({ draft: 6 * k, verify: verifyTime(k) }));
    const drafting = chosen.flatMap((k, step) => (k > 0 ? [step] : []));
    // A few steps at the initial k while the costs are learnt, then probes only.
    const firstPlain = chosen.indexOf(0);
    expect(firstPlain).toBeLessThanOrEqual(3);
    const probes = drafting.filter((step) => step > firstPlain);
    expect(probes.map((step) => chosen[step])).toEqual([1, 1, 1]);
    expect(probes[1] - probes[0]).toBe(16);
    expect(probes[2] - probes[1]).toBe(32);
    // Drafting steps cost 12.5% of the run at most here; the rest is plain decoding.
    expect(drafting.length / chosen.length).toBeLessThan(0.06);
  });

  it("keeps a fixed k, and with assumed costs picks k from the acceptance alone (timings ignored)", () => {
    expect(new Set(drive(new DraftLengthPolicy({ draftTokens: 5 }), 10, () => 0, () => ({ draft: 100, verify: 1 })))).toEqual(new Set([5]));
    const assumedCosts: StepCosts = { draftPerToken: 0.3, verify: (tokens) => 1 + 0.1 * (tokens - 1) };
    const pattern = (k: number) => Math.min(k, 2);
    const noisy = (k: number) => ({ draft: Math.random() * 50 * k, verify: Math.random() * 50 });
    const first = drive(new DraftLengthPolicy({ assumedCosts }), 40, pattern, noisy);
    const second = drive(new DraftLengthPolicy({ assumedCosts }), 40, pattern, noisy);
    expect(first).toEqual(second);
    expect(() => new DraftLengthPolicy({ draftTokens: -1 })).toThrow(/draftTokens must be an integer ≥ 0 or "auto", got -1/);
  });
});
