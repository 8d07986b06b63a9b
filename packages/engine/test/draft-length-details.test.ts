// DraftLengthPolicy's rules one at a time, with exact numbers: option checks, the discounted acceptance estimate, the
// running averages of the costs and which step measures what (a draft's cost per token, a probe's catch-up per unseen
// token), the verify-cost interpolation and extrapolation, ties (speculation must pay strictly more than plain
// decoding), and the probe budget: a probe exactly at the budget, the schedule of probes while they fail (what each
// plain step earns halves per failed probe, four times at most), and the restart after an accepted probe.
import { describe, expect, it } from "vitest";

import { DraftLengthPolicy, bestDraftLength, type DraftStepRecord, type StepCosts } from "../src/index.ts";

const step = (proposed: number, accepted: number, draftMilliseconds: number, verifyMilliseconds: number): DraftStepRecord => ({ proposed, accepted, draftMilliseconds, verifyMilliseconds });

/** Verifying m tokens costs 1 + slope · (m − 1). */
const linear = (draftPerToken: number, slope: number, catchUpPerToken?: number): StepCosts => ({ draftPerToken, catchUpPerToken, verify: (tokens) => 1 + slope * (tokens - 1) });

describe("DraftLengthPolicy options", () => {
  it("refuses a draft length that is not an integer ≥ 0 or auto, and a maximum that is not an integer ≥ 1", () => {
    for (const draftTokens of [-1, 1.5, Number.NaN]) {
      expect(() => new DraftLengthPolicy({ draftTokens })).toThrow(new RangeError(`draftTokens must be an integer ≥ 0 or "auto", got ${draftTokens}`));
    }
    for (const maxDraftTokens of [0, 2.5, -3]) {
      expect(() => new DraftLengthPolicy({ maxDraftTokens })).toThrow(new RangeError(`maxDraftTokens must be an integer ≥ 1, got ${maxDraftTokens}`));
    }
  });

  it("a fixed length is also the maximum; auto keeps the maximum asked for (default 8)", () => {
    expect(new DraftLengthPolicy()).toMatchObject({ fixed: undefined, maxDraftTokens: 8 });
    expect(new DraftLengthPolicy({ draftTokens: "auto", maxDraftTokens: 1 })).toMatchObject({ fixed: undefined, maxDraftTokens: 1 });
    expect(new DraftLengthPolicy({ draftTokens: 3, maxDraftTokens: 8 })).toMatchObject({ fixed: 3, maxDraftTokens: 3 });
    const none = new DraftLengthPolicy({ draftTokens: 0 });
    expect(none).toMatchObject({ fixed: 0, maxDraftTokens: 0 });
    expect(none.next()).toBe(0);
    none.record(step(0, 0, 0, 5));
    expect(none.next()).toBe(0);
  });
});

describe("DraftLengthPolicy estimates", () => {
  it("the acceptance rate: a prior of 1 in 2, counts discounted by 0.9 per drafting step, trials up to the first rejection", () => {
    const policy = new DraftLengthPolicy();
    expect(policy.acceptance).toBe(0.5);
    policy.record(step(3, 3, 1, 1)); // (0.9 + 3) / (1.8 + 3)
    expect(policy.acceptance).toBeCloseTo(3.9 / 4.8, 12);
    policy.record(step(3, 1, 1, 1)); // one accepted, one rejected: 2 trials
    expect(policy.acceptance).toBeCloseTo((0.9 * 3.9 + 1) / (0.9 * 4.8 + 2), 12);
    const before = policy.acceptance;
    policy.record(step(0, 0, 0, 1)); // a plain step tells nothing about the drafts
    expect(policy.acceptance).toBe(before);
    policy.record(step(2, 0, 1, 1));
    expect(policy.acceptance).toBeCloseTo((0.9 * (0.9 * 3.9 + 1)) / (0.9 * (0.9 * 4.8 + 2) + 1), 12);
  });

  it("costs: none before a verify; the assumed ones as given; measured ones averaged with weight 0.3", () => {
    const assumed = linear(0.5, 0.1);
    expect(new DraftLengthPolicy({ assumedCosts: assumed }).costs()).toBe(assumed);
    const policy = new DraftLengthPolicy();
    expect(policy.costs()).toBeUndefined();
    policy.record(step(0, 0, 0, 10));
    let costs = policy.costs()!;
    expect(costs.draftPerToken).toBe(0); // not measured yet
    expect(costs.catchUpPerToken).toBeUndefined();
    expect(costs.verify(1)).toBe(10);
    expect(costs.verify(3)).toBeCloseTo(12, 12); // beyond the measured sizes: + 10 % per token
    policy.record(step(0, 0, 0, 20));
    expect(policy.costs()!.verify(1)).toBeCloseTo(13, 12); // 10 + 0.3 · (20 − 10)
    policy.record(step(2, 2, 4, 14));
    costs = policy.costs()!;
    expect(costs.verify(3)).toBe(14);
    expect(costs.verify(2)).toBeCloseTo(13.5, 12); // between 1 (13) and 3 (14): linear
    expect(costs.verify(5)).toBeCloseTo((14 * 1.4) / 1.2, 12); // beyond 3: scaled from 3
    // Between sizes further apart: verify of 1 and of 5 measured, 3 is halfway.
    const apart = new DraftLengthPolicy();
    apart.record(step(0, 0, 0, 10));
    apart.record(step(4, 4, 1, 18));
    expect([2, 3, 4].map((tokens) => apart.costs()!.verify(tokens))).toEqual([12, 14, 16]);
    // Only a larger size measured: scaled down from it.
    const above = new DraftLengthPolicy();
    above.record(step(2, 2, 1, 12));
    expect(above.costs()!.verify(1)).toBeCloseTo(10, 12);
    expect(above.costs()!.verify(2)).toBeCloseTo(11, 12);
  });

  it("a drafting step after at most 2 unseen tokens measures the draft cost per token; a one-token draft after 2 or more measures the catch-up per token", () => {
    const policy = new DraftLengthPolicy();
    policy.record(step(1, 1, 3, 12)); // 2 unseen (after the prefill): 3 per token; catch-up 3 / 2
    expect(policy.costs()).toMatchObject({ draftPerToken: 3, catchUpPerToken: 1.5 });
    policy.record(step(2, 2, 8, 12)); // all accepted before: 2 unseen again; 4 per token
    expect(policy.costs()!.draftPerToken).toBeCloseTo(3.3, 12);
    expect(policy.costs()!.catchUpPerToken).toBe(1.5); // two drafts: not a catch-up measurement
    policy.record(step(0, 0, 0, 10)); // 3 unseen
    policy.record(step(0, 0, 0, 10)); // 4 unseen
    policy.record(step(1, 0, 8, 12)); // a probe after 4 unseen: 2 per token of catch-up, draft cost unchanged
    let costs = policy.costs()!;
    expect(costs.draftPerToken).toBeCloseTo(3.3, 12);
    expect(costs.catchUpPerToken).toBeCloseTo(1.5 + 0.3 * 0.5, 12);
    policy.record(step(1, 1, 5, 12)); // after a rejection: 1 unseen; a draft cost, not a catch-up
    costs = policy.costs()!;
    expect(costs.draftPerToken).toBeCloseTo(3.3 + 0.3 * (5 - 3.3), 12);
    expect(costs.catchUpPerToken).toBeCloseTo(1.65, 12);
    // The first draft measured after plain steps sets the draft cost, whatever it caught up on.
    const late = new DraftLengthPolicy();
    late.record(step(0, 0, 0, 10));
    late.record(step(0, 0, 0, 10));
    late.record(step(1, 1, 8, 12));
    expect(late.costs()).toMatchObject({ draftPerToken: 8, catchUpPerToken: 2 });
  });
});

describe("DraftLengthPolicy decisions", () => {
  it("drafts one token until a draft has been measured, then the best k for the estimate", () => {
    const policy = new DraftLengthPolicy();
    expect(policy.next()).toBe(1);
    policy.record(step(0, 0, 0, 10)); // a verify measured, no draft yet
    expect(policy.next()).toBe(1);
    expect(new DraftLengthPolicy({ maxDraftTokens: 1 }).next()).toBe(1);
    // With assumed costs the first step already takes the best k: at α = 0.5, free drafts and verify + 10 % per token,
    // k = 2 gives 1.75 tokens for 1.2 (k = 1: 1.5 for 1.1; k = 3: 1.875 for 1.3).
    expect(new DraftLengthPolicy({ assumedCosts: linear(0, 0.1) }).next()).toBe(2);
  });

  it("speculation must pay strictly more than plain decoding: a tie keeps k = 0", () => {
    // α = 0.5, k = 1: 1.5 tokens for 0.25 + 1.25 = 1.5, exactly plain decoding's rate.
    expect(bestDraftLength(0.5, linear(0.25, 0.25), 4)).toEqual({ draftTokens: 0, speedup: 1 });
    expect(bestDraftLength(0.5, linear(0.25, 0.2), 4).draftTokens).toBe(1);
    // A tie between two k keeps the smaller: free drafts, α = 1, verify(m) = m · 1 → every k projects exactly 1×… and
    // with verify(m) = 1 for all m, every k pays more the longer it is, up to the maximum.
    expect(bestDraftLength(1, { draftPerToken: 0, verify: (tokens) => tokens }, 4)).toEqual({ draftTokens: 0, speedup: 1 });
    expect(bestDraftLength(1, { draftPerToken: 0, verify: () => 1 }, 4)).toEqual({ draftTokens: 4, speedup: 5 });
  });

  it("probes when the budget covers the probe's cost exactly; a verify that costs nothing is never probed", () => {
    // Draft 0.125 per token, verify 1 + 0.5 (m − 1): at α = 0.5 no k pays; a probe costs the catch-up over the 2 unseen
    // tokens (0.25) and the verify's extra 0.5: 0.75, the starting budget.
    const policy = new DraftLengthPolicy({ assumedCosts: linear(0.125, 0.5) });
    expect(policy.next()).toBe(1);
    policy.record(step(1, 0, 0, 0));
    // Budget spent; the next probe (1 unseen: 0.125 + 0.5) is out of reach and its cost grows with every plain step.
    const plain = Array.from({ length: 30 }, () => {
      const k = policy.next();
      policy.record(step(k, 0, 0, 0));
      return k;
    });
    expect(plain).toEqual(new Array(30).fill(0));
    // A catch-up cost per token given apart from the draft cost: the probe costs max(draft, unseen · catch-up).
    const cheapCatchUp = new DraftLengthPolicy({ assumedCosts: linear(0.25, 0.5, 0) }); // 0.25 + 0.5 = 0.75
    expect(cheapCatchUp.next()).toBe(1);
    const dearCatchUp = new DraftLengthPolicy({ assumedCosts: linear(0.125, 0.5, 0.2) }); // 2 · 0.2 + 0.5 = 0.9
    expect(dearCatchUp.next()).toBe(0);
    const free = new DraftLengthPolicy({ assumedCosts: { draftPerToken: 0, verify: () => 0 } });
    expect([free.next(), free.next(), free.next()]).toEqual([0, 0, 0]);
  });

  /** The steps at which `policy` probes over `steps` steps when probe n (0-based) is accepted iff accepted(n). */
  function probes(policy: DraftLengthPolicy, steps: number, accepted: (probe: number) => boolean = () => false): number[] {
    const at: number[] = [];
    for (let index = 0; index < steps; index++) {
      const k = policy.next();
      if (k > 0) at.push(index);
      policy.record(step(k, k > 0 && accepted(at.length - 1) ? k : 0, 0, 0));
    }
    return at;
  }

  it("while probes fail, what a plain step earns (0.05) halves per failed probe, down to 1/16", () => {
    // Free drafts and catch-up, verify + 0.56 per token: no k pays below α = 0.56, a probe costs 0.56.
    // Probe 0 from the starting 0.75 leaves 0.19; then 15 steps at 0.025 (→ 0.565), 45 at 0.0125, 89 at 0.00625, and
    // 179 at 0.003125 twice (the halving stops at the fourth).
    expect(probes(new DraftLengthPolicy({ assumedCosts: linear(0, 0.56) }), 600)).toEqual([0, 16, 62, 152, 332, 512]);
  });

  it("an accepted probe restores the budget, so another probe follows at once", () => {
    // Probe 1 (step 16) accepted: the budget is back to 0.75, the estimate (0.51) still below 0.56, so step 17 probes,
    // fails, and the back-off starts over from one failure: 15 steps at 0.025.
    expect(probes(new DraftLengthPolicy({ assumedCosts: linear(0, 0.56) }), 40, (probe) => probe === 1)).toEqual([0, 16, 17, 33]);
  });

  it("when drafting pays again (the measured costs changed), the probe budget is restored: a probe can follow at once", () => {
    const policy = new DraftLengthPolicy();
    const chosen: number[] = [];
    const run = (accepted: number, draftMilliseconds: number, verifyMilliseconds: number) => {
      const k = policy.next();
      chosen.push(k);
      policy.record(step(k, k > 0 ? accepted : 0, k > 0 ? draftMilliseconds : 0, verifyMilliseconds));
    };
    run(0, 5, 11); // the first draft: 5 ms, verify of 2 in 11 ms, rejected (α ≈ 0.32)
    run(0, 5, 11); // no k pays (verify(1) ≈ 10 extrapolated); a probe costs (5 + 11 − 10) / 10 = 0.6 of the 0.75: rejected
    run(0, 0, 40); // 0.15 left, a probe costs 0.6: a plain step, which measures verify(1) = 40 ms
    run(0, 5, 141); // with plain steps that slow, one draft pays: k = 1 (rejected; verify(2) averages to 50 ms)
    run(0, 5, 11); // no k pays again; a probe costs (5 + 50 − 40) / 40 = 0.375: affordable only with the budget restored
    expect(chosen).toEqual([1, 1, 0, 1, 1]);
  });

  it("a drafting step that is not a probe never counts as a failed probe, before or after probes", () => {
    // Verify + 0.43 per token, free drafts: k = 1 pays while α > 0.43 (α = 0.5 at first). Step 0 drafts and fails
    // (α 0.32); step 1 probes from the 0.75 (0.32 left) and fails: one failed probe, 0.025 a plain step, so the next
    // probe is 5 plain steps later, at step 7.
    expect(probes(new DraftLengthPolicy({ assumedCosts: linear(0, 0.43) }), 12)).toEqual([0, 1, 7]);
    // Probe 1 accepted (α 0.51, budget restored): step 2 drafts (k = 1 pays) and fails (α 0.39); step 3 probes and
    // fails: again one failed probe, so the next comes at step 9 (the failed draft at step 2 is not a probe).
    expect(probes(new DraftLengthPolicy({ assumedCosts: linear(0, 0.43) }), 14, (index) => index === 1)).toEqual([0, 1, 2, 3, 9]);
  });
});
