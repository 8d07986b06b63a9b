// Which drafted tokens the target accepts, from the target's logits over the k+1 verified positions.
//
// Greedy: a draft token is accepted while it equals the target's own greedy choice; at the first disagreement the
// target's choice replaces it, and when all k agree the target's choice after them is a bonus token. The output is
// then exactly what target-only greedy decoding produces.
//
// Sampling (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding"; Chen et al. 2023,
// "Accelerating Large Language Model Decoding with Speculative Sampling"): draft token x, drawn from the draft's
// distribution q, is accepted with probability min(1, p(x)/q(x)), p being the target's distribution at that position;
// the first rejected one is replaced by a draw from norm(max(0, p − q)); if all k are accepted a bonus token is drawn
// from the target's distribution after them. Each emitted token is then distributed exactly as target-only sampling
// would draw it: P(x) = min(p, q)(x) + (1 − Σ min(p, q)) · max(0, p − q)(x) / Σ max(0, p − q) = p(x).
// p and q are the sampler's full distributions (repetition penalty, top-k, top-p, min-p, temperature applied to both
// logits alike). A deterministic drafter (lookup, replay, greedy draft) has q = a point mass on its token.

import type { DraftProposal, DraftSampling } from "./drafter.ts";

/** What the target's verify pass produced, and what the acceptance rule needs to judge the draft. */
export interface Verification {
  /** Target logits [k+1, vocab]: row i predicts the token after context + the first i draft tokens. */
  logits: Float32Array;
  /** Entries in a logits row. */
  vocabSize: number;
  /** The drafter's tokens and, when it sampled, their distributions. */
  proposal: DraftProposal;
  /** Prompt and accepted output so far. The rule may push to it temporarily but leaves it as it found it. */
  history: number[];
  /** The target's sampler: greedy or the sampling distribution, and the random stream. */
  sampler: DraftSampling & {
    /** A uniform random number in [0, 1): the acceptance test's draw. */
    uniform(): number;
  };
}

/** What an acceptance rule decided for one verify step. */
export interface VerificationOutcome {
  /** Draft tokens accepted (0..k). */
  accepted: number;
  /** Tokens to emit in order: the accepted draft tokens, then one from the target (replacement or bonus). */
  tokens: number[];
}

/** Decides a verify step's outcome. speculativeSampling is the rule; others exist to show that a wrong rule is caught. */
export type AcceptanceRule = (verification: Verification) => VerificationOutcome;

function row(logits: Float32Array, vocabSize: number, index: number): Float32Array {
  return logits.subarray(index * vocabSize, (index + 1) * vocabSize);
}

/** The lossless rule: greedy agreement, or rejection sampling with the residual distribution. */
export const speculativeSampling: AcceptanceRule = (verification) => judge(verification, residualDistribution);

/**
 * A deliberately wrong rule, kept so the statistical accuracy check can show it catches one: it accepts as
 * speculativeSampling does but replaces a rejected token with a fresh draw from p instead of from norm(max(0, p − q)),
 * which over-weights the tokens the draft favours. Never use it to generate.
 */
export const resampleFromTargetOnRejection: AcceptanceRule = (verification) => judge(verification, (target) => target);

function judge(verification: Verification, replacement: (target: Float64Array, draft: Float64Array | null, token: number) => Float64Array): VerificationOutcome {
  const { logits, vocabSize, proposal, history, sampler } = verification;
  const drafts = proposal.tokens;
  const tokens: number[] = [];
  const start = history.length;
  try {
    for (let index = 0; index < drafts.length; index++) {
      const token = drafts[index];
      const logitsRow = row(logits, vocabSize, index);
      if (sampler.greedy) {
        const choice = sampler.sample(logitsRow, history);
        if (choice !== token) {
          tokens.push(choice);
          return { accepted: index, tokens };
        }
      } else {
        const target = sampler.distribution(logitsRow, history);
        const draft = proposal.distributions?.[index] ?? null;
        const draftProbability = draft ? draft[token] : 1;
        // Accept with probability min(1, p(x) / q(x)).
        if (!(draftProbability > 0 && sampler.uniform() * draftProbability < target[token])) {
          tokens.push(sampler.draw(replacement(target, draft, token)));
          return { accepted: index, tokens };
        }
      }
      tokens.push(token);
      history.push(token);
    }
    // Every draft token accepted: a bonus token from the target's distribution after them.
    const last = row(logits, vocabSize, drafts.length);
    tokens.push(sampler.greedy ? sampler.sample(last, history) : sampler.draw(sampler.distribution(last, history)));
    return { accepted: drafts.length, tokens };
  } finally {
    history.length = start;
  }
}

/** norm(max(0, p − q)) as unnormalized weights (sampler.draw normalizes); q is a point mass on `token` when null.
 *  Falls back to p if the residual has no mass (p = q up to rounding, where a rejection is next to impossible). */
function residualDistribution(target: Float64Array, draft: Float64Array | null, token: number): Float64Array {
  const residual = target.map((probability, index) => Math.max(0, probability - (draft ? draft[index] : index === token ? 1 : 0))); // [vocab]
  let total = 0;
  for (const weight of residual) total += weight;
  if (!(total > 0)) return target;
  return residual.map((weight) => weight / total);
}
