// How many tokens to draft per verify step. Fixed (`--draft-tokens K`) or adaptive (`auto`): the adaptive policy
// estimates the acceptance rate α (the chance that the next draft token is accepted, from discounted counts, so it
// follows the text) and what a step costs (the draft's time per token and the verify's time for k+1 tokens, measured
// as it goes), and picks the k with the most expected tokens per millisecond:
//
//   expected tokens per step E(α, k) = 1 + α + … + α^k = (1 − α^(k+1)) / (1 − α)
//   time per step          T(k)    = k · draft + verify(k + 1)          (k = 0: plain decoding, verify(1))
//
// So k grows while drafts are accepted and shrinks when they are not, and falls to 0 — plain target decoding — when
// no k pays (a poor draft, or one that costs too much). What a useless draft costs is bounded:
//
// - The first step drafts one token (nothing is known yet): one draft forward and a verify of 2.
// - While at 0 the policy probes now and then with one draft token, paid from a probe budget counted in plain decode
//   steps: it starts at 0.75 (a second chance after an unlucky first draft) and earns 5 % of each plain step — 2.5 %,
//   1.25 %, … after each failed probe; an accepted probe restores both, so more probes follow soon. A probe costs what
//   it adds to a plain step: the draft model catching up on every token it has not seen (it is kept in step lazily,
//   only when it drafts: one forward over the skipped tokens), and the verify of 2 tokens instead of 1. So probes back
//   off exponentially while they fail, and a draft whose catch-up costs more per token than the budget earns (a 1B
//   draft for a 3B target) is not probed again once the starting budget is spent. Over N tokens of a useless draft
//   the extra work is at most the first step, the starting budget and 5 % of the plain steps (much less once probes
//   fail), however long the generation.
//
// Costs are measured in milliseconds and the budget in units of one plain decode step (verify(1)), so assumed costs
// (seeded sampling) give the same decisions for the same acceptances.

/** What one verify step did, as the speculative loop measured it. */
export interface DraftStepRecord {
  /** Draft tokens proposed (may be fewer than asked: lookup found less, or none). */
  proposed: number;
  /** Draft tokens accepted. */
  accepted: number;
  /** Milliseconds spent drafting. */
  draftMilliseconds: number;
  /** Milliseconds of the target's verify forward over proposed + 1 tokens. */
  verifyMilliseconds: number;
}

/** Costs of one step's parts, in milliseconds (or any one unit). */
export interface StepCosts {
  /** Drafting one token. */
  draftPerToken: number;
  /** The drafter catching up on one token of context it has not seen (a draft model's forward over the tokens
   *  generated while it was not drafting), per token; default draftPerToken. Only probes pay it. */
  catchUpPerToken?: number;
  /** The target's forward over `tokens` positions (1 = plain decoding). */
  verify(tokens: number): number;
}

/** Expected tokens one verify step yields with k drafts each accepted with probability α (the last is always the
 *  target's own). */
export function expectedTokensPerStep(acceptance: number, draftTokens: number): number {
  if (acceptance >= 1) return draftTokens + 1;
  return (1 - acceptance ** (draftTokens + 1)) / (1 - acceptance);
}

/** Tokens per unit of time with k drafts, relative to plain decoding (tokens per verify(1)). */
export function projectedSpeedup(acceptance: number, draftTokens: number, costs: StepCosts): number {
  const stepTime = draftTokens * costs.draftPerToken + costs.verify(draftTokens + 1);
  return (expectedTokensPerStep(acceptance, draftTokens) / stepTime) * costs.verify(1);
}

/** The k in 0..maxDraftTokens with the best projected speed-up (0: speculation does not pay). */
export function bestDraftLength(
  acceptance: number,
  costs: StepCosts,
  maxDraftTokens: number,
): {
  /** The best number of draft tokens per step (0: do not speculate). */
  draftTokens: number;
  /** Its projected speed-up over plain decoding. */
  speedup: number;
} {
  let best = { draftTokens: 0, speedup: 1 };
  for (let draftTokens = 1; draftTokens <= maxDraftTokens; draftTokens++) {
    const speedup = projectedSpeedup(acceptance, draftTokens, costs);
    if (speedup > best.speedup) best = { draftTokens, speedup };
  }
  return best;
}

/** How many tokens to draft per step: fixed, or adapted ("auto"). */
export interface DraftLengthOptions {
  /** A fixed number of draft tokens per step, or "auto" (default). */
  draftTokens?: number | "auto";
  /** The most tokens auto drafts per step (default 8). */
  maxDraftTokens?: number;
  /**
   * Costs to assume instead of measuring them (any unit). Measured costs follow the machine but make the choice of k
   * depend on timing, so seeded sampling would not repeat its tokens; with assumed costs k depends only on what was
   * accepted, and a seed reproduces the output.
   */
  assumedCosts?: StepCosts;
}

// Discount per step of the acceptance counts (≈ the last 10 steps weigh most), and their prior (α = 0.5).
const ACCEPTANCE_DISCOUNT = 0.9;
const PRIOR_ACCEPTED = 1;
const PRIOR_TRIALS = 2;
// Weight of a new timing in the running averages.
const TIMING_WEIGHT = 0.3;
// Before any measurement, verifying m tokens is assumed to cost (1 + 0.1 (m − 1)) × one token.
const ASSUMED_EXTRA_PER_TOKEN = 0.1;
// The first draft length, before anything is known: the cheapest drafting step.
const INITIAL_DRAFT_TOKENS = 1;
// The probe budget, in plain decode steps: what it starts with, what each plain step earns (halved per failed probe,
// down to the last of these halvings).
const INITIAL_PROBE_BUDGET = 0.75;
const PROBE_BUDGET_PER_STEP = 0.05;
const MAX_PROBE_BUDGET_HALVINGS = 4;

/**
 * Chooses the number of draft tokens for each speculative step. "auto" keeps a discounted estimate of the acceptance
 * rate and running averages of the draft and verify costs, and picks the length with the best projected speed-up
 * (none while speculation does not pay, then probing from a budget that backs off while probes fail), so a poor
 * drafter costs little.
 */
export class DraftLengthPolicy {
  /** The most tokens drafted per step. */
  readonly maxDraftTokens: number;
  /** The fixed draft length, or undefined under "auto". */
  readonly fixed: number | undefined;
  private readonly assumedCosts: StepCosts | undefined;
  private acceptedWeight = PRIOR_ACCEPTED;
  private trialWeight = PRIOR_TRIALS;
  private draftPerToken: number | undefined;
  private catchUpPerToken: number | undefined;
  /** Verify milliseconds by the number of tokens verified (sparse: only sizes measured). */
  private readonly verifyTimes: number[] = [];
  /** Context tokens the drafter has not seen: after a prefill the last prompt token and the first output; after a
   *  drafting step the target's own token (and the last draft when all were accepted); one more per plain step. */
  private unseenTokens = 2;
  /** The probe budget, in plain decode steps (verify(1)). */
  private probeBudget = INITIAL_PROBE_BUDGET;
  private failedProbes = 0;
  private probing = false;

  constructor(options: DraftLengthOptions = {}) {
    const { draftTokens = "auto", maxDraftTokens = 8 } = options;
    if (draftTokens !== "auto" && !(Number.isInteger(draftTokens) && draftTokens >= 0)) throw new RangeError(`draftTokens must be an integer ≥ 0 or "auto", got ${draftTokens}`);
    if (!(Number.isInteger(maxDraftTokens) && maxDraftTokens >= 1)) throw new RangeError(`maxDraftTokens must be an integer ≥ 1, got ${maxDraftTokens}`);
    this.fixed = draftTokens === "auto" ? undefined : draftTokens;
    this.assumedCosts = options.assumedCosts;
    this.maxDraftTokens = this.fixed ?? maxDraftTokens;
  }

  /** The current estimate of the chance that a draft token is accepted. */
  get acceptance(): number {
    return this.acceptedWeight / this.trialWeight;
  }

  /** The step costs measured so far (assumed where not measured yet); undefined before the first verify. */
  costs(): StepCosts | undefined {
    if (this.assumedCosts) return this.assumedCosts;
    const measured: Array<{ tokens: number; time: number }> = [];
    this.verifyTimes.forEach((time, tokens) => measured.push({ tokens, time })); // the sizes measured (forEach skips the others)
    if (measured.length === 0) return undefined;
    const verify = (tokens: number): number => {
      const exact = this.verifyTimes[tokens];
      if (exact !== undefined) return exact;
      // Between measured sizes: linear; beyond them: the nearest measured size, scaled by the assumed growth.
      // Stryker disable next-line EqualityOperator: equivalent (a measured size equal to `tokens` returned above)
      const below = measured.filter((point) => point.tokens < tokens).at(-1);
      // Stryker disable next-line EqualityOperator: equivalent (as above)
      const above = measured.find((point) => point.tokens > tokens);
      if (below && above) return below.time + ((above.time - below.time) * (tokens - below.tokens)) / (above.tokens - below.tokens);
      const nearest = (below ?? above)!;
      return (nearest.time * (1 + ASSUMED_EXTRA_PER_TOKEN * (tokens - 1))) / (1 + ASSUMED_EXTRA_PER_TOKEN * (nearest.tokens - 1));
    };
    return { draftPerToken: this.draftPerToken ?? 0, catchUpPerToken: this.catchUpPerToken, verify };
  }

  /** Draft tokens for the next step (0: decode without drafting). */
  next(): number {
    if (this.fixed !== undefined) return this.fixed;
    const costs = this.costs();
    if (!costs || (this.draftPerToken === undefined && !this.assumedCosts)) return Math.min(INITIAL_DRAFT_TOKENS, this.maxDraftTokens);
    const { draftTokens } = bestDraftLength(this.acceptance, costs, this.maxDraftTokens);
    if (draftTokens > 0) {
      // Drafting pays (again): should it stop paying later, the next probe comes soon.
      this.failedProbes = 0;
      this.probeBudget = Math.max(this.probeBudget, INITIAL_PROBE_BUDGET);
      return draftTokens;
    }
    const cost = this.probeCost(costs);
    if (this.probeBudget < cost) return 0;
    this.probeBudget -= cost;
    this.probing = true;
    return 1;
  }

  /** What a one-token probe adds to a plain step, in plain steps: the drafter's catch-up on the unseen tokens (at
   *  least one draft forward), and a verify of 2 tokens instead of 1. */
  private probeCost(costs: StepCosts): number {
    const catchUp = Math.max(costs.draftPerToken, this.unseenTokens * (costs.catchUpPerToken ?? costs.draftPerToken));
    const one = costs.verify(1);
    return one > 0 ? (catchUp + costs.verify(2) - one) / one : Number.POSITIVE_INFINITY;
  }

  /** Learns from a finished step. */
  record(step: DraftStepRecord): void {
    if (step.proposed > 0) {
      // Trials run until the first rejection: k accepted of k, or n accepted and one rejected.
      const trials = step.accepted + (step.accepted < step.proposed ? 1 : 0);
      this.acceptedWeight = ACCEPTANCE_DISCOUNT * this.acceptedWeight + step.accepted;
      this.trialWeight = ACCEPTANCE_DISCOUNT * this.trialWeight + trials;
      // The draft began with a forward over the unseen tokens. Up to two of them is a drafting step's usual cost; a
      // one-token draft after more (a probe) measures the catch-up per token instead.
      if (this.unseenTokens <= 2 || this.draftPerToken === undefined) this.draftPerToken = average(this.draftPerToken, step.draftMilliseconds / step.proposed);
      if (step.proposed === 1 && this.unseenTokens >= 2) this.catchUpPerToken = average(this.catchUpPerToken, step.draftMilliseconds / this.unseenTokens);
      this.unseenTokens = step.accepted === step.proposed ? 2 : 1;
      if (this.probing) {
        // A failed probe halves what the budget earns; an accepted one restores it, so a few more follow soon.
        if (step.accepted === step.proposed) {
          this.failedProbes = 0;
          this.probeBudget = Math.max(this.probeBudget, INITIAL_PROBE_BUDGET);
        } else this.failedProbes++;
      }
    } else {
      this.unseenTokens++;
      // (A fixed length never reads the budget.)
      this.probeBudget += PROBE_BUDGET_PER_STEP / 2 ** Math.min(this.failedProbes, MAX_PROBE_BUDGET_HALVINGS);
    }
    this.probing = false;
    const tokens = step.proposed + 1;
    this.verifyTimes[tokens] = average(this.verifyTimes[tokens], step.verifyMilliseconds);
  }
}

function average(previous: number | undefined, value: number): number {
  return previous === undefined ? value : previous + TIMING_WEIGHT * (value - previous);
}
