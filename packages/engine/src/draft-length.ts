// How many tokens to draft per verify step. Fixed (`--draft-tokens K`) or adaptive (`auto`): the adaptive policy
// estimates the acceptance rate α (the chance that the next draft token is accepted, from discounted counts, so it
// follows the text) and what a step costs (the draft's time per token and the verify's time for k+1 tokens, measured
// as it goes), and picks the k with the most expected tokens per millisecond:
//
//   expected tokens per step E(α, k) = 1 + α + … + α^k = (1 − α^(k+1)) / (1 − α)
//   time per step          T(k)    = k · draft + verify(k + 1)          (k = 0: plain decoding, verify(1))
//
// So k grows while drafts are accepted and shrinks when they are not, and falls to 0 — plain target decoding — when
// no k pays (a poor draft, or one that costs too much). While at 0 it probes now and then with a short draft, less and
// less often as probes keep failing, and stops probing after a few, so a useless draft costs little more than
// target-only decoding (a draft model has to catch up on the tokens it skipped before each probe).

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
// The first draft length, before the costs are known.
const INITIAL_DRAFT_TOKENS = 3;
// While speculation does not pay: probe after 8 plain steps, then 16, 32; give up after that many failed probes.
const FIRST_PROBE_INTERVAL = 8;
const MAX_FAILED_PROBES = 3;

/**
 * Chooses the number of draft tokens for each speculative step. "auto" keeps a discounted estimate of the acceptance
 * rate and running averages of the draft and verify costs, and picks the length with the best projected speed-up
 * (none while speculation does not pay, probing again now and then), so a poor drafter costs little.
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
  private readonly verifyTimes: Array<number | undefined> = [];
  private previousProposed = 0;
  private paused = false;
  private plainSteps = 0;
  private probeInterval = FIRST_PROBE_INTERVAL;
  private failedProbes = 0;

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
    const measured = this.verifyTimes.flatMap((time, tokens) => (time === undefined ? [] : [{ tokens, time }]));
    if (measured.length === 0) return undefined;
    const verify = (tokens: number): number => {
      const exact = this.verifyTimes[tokens];
      if (exact !== undefined) return exact;
      // Between measured sizes: linear; beyond them: the nearest measured size, scaled by the assumed growth.
      const below = measured.filter((point) => point.tokens < tokens).at(-1);
      const above = measured.find((point) => point.tokens > tokens);
      if (below && above) return below.time + ((above.time - below.time) * (tokens - below.tokens)) / (above.tokens - below.tokens);
      const nearest = (below ?? above)!;
      return (nearest.time * (1 + ASSUMED_EXTRA_PER_TOKEN * (tokens - 1))) / (1 + ASSUMED_EXTRA_PER_TOKEN * (nearest.tokens - 1));
    };
    return { draftPerToken: this.draftPerToken ?? 0, verify };
  }

  /** Draft tokens for the next step (0: decode without drafting). */
  next(): number {
    if (this.fixed !== undefined) return this.fixed;
    const costs = this.costs();
    if (!costs || (this.draftPerToken === undefined && !this.assumedCosts)) return INITIAL_DRAFT_TOKENS;
    const { draftTokens } = bestDraftLength(this.acceptance, costs, this.maxDraftTokens);
    if (draftTokens > 0) {
      this.paused = false;
      this.probeInterval = FIRST_PROBE_INTERVAL;
      this.failedProbes = 0;
      return draftTokens;
    }
    if (!this.paused) {
      this.paused = true;
      this.plainSteps = 0;
    }
    if (this.failedProbes >= MAX_FAILED_PROBES || ++this.plainSteps < this.probeInterval) return 0;
    // A probe: one short draft to see whether the acceptance has changed.
    this.plainSteps = 0;
    this.probeInterval *= 2;
    this.failedProbes++;
    return 1;
  }

  /** Learns from a finished step. */
  record(step: DraftStepRecord): void {
    if (step.proposed > 0) {
      // Trials run until the first rejection: k accepted of k, or n accepted and one rejected.
      const trials = step.accepted + (step.accepted < step.proposed ? 1 : 0);
      this.acceptedWeight = ACCEPTANCE_DISCOUNT * this.acceptedWeight + step.accepted;
      this.trialWeight = ACCEPTANCE_DISCOUNT * this.trialWeight + trials;
      // A draft right after plain steps includes the draft model catching up on them: not a per-token cost (unless
      // nothing better is known yet).
      if (this.previousProposed > 0 || this.draftPerToken === undefined) this.draftPerToken = average(this.draftPerToken, step.draftMilliseconds / step.proposed);
    }
    const tokens = step.proposed + 1;
    this.verifyTimes[tokens] = average(this.verifyTimes[tokens], step.verifyMilliseconds);
    this.previousProposed = step.proposed;
  }
}

function average(previous: number | undefined, value: number): number {
  return previous === undefined ? value : previous + TIMING_WEIGHT * (value - previous);
}
