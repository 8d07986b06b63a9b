// Speculative decoding: a drafter proposes k tokens, the target model verifies them in one forward pass over k+1
// positions (the last accepted token and the k drafts, all logits kept), the acceptance rule keeps a prefix of the
// drafts and adds one token of the target's own, and the target's cache is rolled back to what was kept. Decoding a
// token of a large model is bound by reading its weights, and a forward over a few tokens reads them once, so every
// accepted draft is nearly free. The output is the target's: token for token its greedy decoding, or with sampling
// exactly its distribution (acceptance.ts). Everything around the steps — request checks, prefill, stop tokens and
// strings, streaming, the token limit, cancellation, timings — is generate()'s (generation-run.ts,
// generation-output.ts).

import type { DenseKvCache } from "@infer-recipes/cache";

import { speculativeSampling, type AcceptanceRule } from "./acceptance.ts";
import { DraftLengthPolicy, type StepCosts } from "./draft-length.ts";
import type { DraftProposal, Drafter } from "./drafter.ts";
import type { GenerateOptions } from "./generate.ts";
import { GenerationOutput, type FinishReason } from "./generation-output.ts";
import { EventLoopYielder, GenerationClock, generationLimit, prefillPrompt, type GenerationTimings } from "./generation-run.ts";
import type { CausalLanguageModel } from "./language-model.ts";
import { DenseModelSequence, type ModelSequence } from "./model-sequence.ts";
import { Sampler } from "./sampler.ts";

/** {@link generate}'s options plus the drafter and the draft length. */
export interface SpeculativeOptions extends Omit<GenerateOptions, "cache"> {
  /** Proposes the tokens the target verifies. */
  drafter: Drafter;
  /** Draft tokens per step: a fixed number, or "auto" (default) to adapt it to the acceptance and the measured costs. */
  draftTokens?: number | "auto";
  /** The most tokens "auto" drafts per step (default 8). */
  maxDraftTokens?: number;
  /** "auto" with these costs instead of measured ones: k then depends only on the acceptance, so a seed reproduces
   *  sampled output exactly (see DraftLengthOptions.assumedCosts). */
  assumedCosts?: StepCosts;
  /** The acceptance rule (default: speculativeSampling, the lossless one). */
  acceptance?: AcceptanceRule;
}

/** Options of {@link speculativeGenerate}: {@link SpeculativeOptions} and the target's cache. */
export interface SpeculativeGenerateOptions extends SpeculativeOptions {
  /** Continue in this target cache (its tokens are the prompt's prefix); by default a fresh cache is made. */
  cache?: DenseKvCache;
}

/** How speculation went: acceptance, draft lengths, and the time drafting and verifying took. */
export interface SpeculationStatistics {
  /** The drafter's name. */
  drafter: string;
  /** The draft-length setting: a fixed k or "auto". */
  draftTokens: number | "auto";
  /** Target forward passes after the prefill: one per verify step. */
  verifySteps: number;
  /** Verify steps that had at least one draft token. */
  draftingSteps: number;
  /** Draft tokens proposed, and accepted, in all. */
  draftedTokens: number;
  /** Draft tokens accepted in all. */
  acceptedTokens: number;
  /** Drafting steps that ended at a rejected draft token (the others accepted every draft). */
  rejections: number;
  /** accepted / drafted (0 when nothing was drafted). */
  acceptanceRate: number;
  /** The estimated chance that a draft token is accepted once the ones before it were: accepted / (accepted +
   *  rejections). It does not depend on k, unlike acceptanceRate; the projections use it. */
  acceptanceProbability: number;
  /** Draft tokens accepted per drafting step. */
  meanAcceptedTokens: number;
  /** Draft tokens proposed per drafting step (the k actually used, on average). */
  meanDraftTokens: number;
  /** Generated tokens per target forward pass after the prefill (target-only decoding: 1). */
  tokensPerTargetForward: number;
  /** Milliseconds spent drafting and in the target's verify passes. */
  draftMs: number;
  /** Milliseconds in the target's verify passes. */
  verifyMs: number;
  /** Drafting steps by the number of draft tokens accepted: acceptedHistogram[n] steps accepted n. */
  acceptedHistogram: number[];
}

/** A speculative generation's result without the cache: the timings and the speculation statistics. */
export interface SpeculativeTimings extends GenerationTimings {
  /** How speculation went. */
  speculation: SpeculationStatistics;
}

export interface SpeculativeGenerationResult extends SpeculativeTimings {
  /** The target cache after generation (the prompt and the generated tokens, the last one possibly not yet run). */
  cache: DenseKvCache;
}

/** Speculative generation with `model` as the target over a dense KV cache. */
export async function speculativeGenerate(model: CausalLanguageModel, promptIds: readonly number[], options: SpeculativeGenerateOptions): Promise<SpeculativeGenerationResult> {
  const cache = options.cache ?? model.createCache();
  const result = await speculativeGenerateOn(new DenseModelSequence(model, cache), model.config, promptIds, options);
  return { ...result, cache };
}

/** Speculative generation with the target running on `target` (a dense or a paged cache's sequence). */
export async function speculativeGenerateOn(
  target: ModelSequence,
  config: {
    /** The target's context length. */
    readonly contextLength: number;
    /** The target's vocabulary size. */
    readonly vocabSize: number;
  },
  promptIds: readonly number[],
  options: SpeculativeOptions,
): Promise<SpeculativeTimings> {
  const prefix = target.length;
  const maxTokens = generationLimit(config.contextLength, target, promptIds, options);
  const { drafter } = options;
  const sampler = new Sampler(options);
  const output = new GenerationOutput(options, promptIds, maxTokens);
  const policy = new DraftLengthPolicy({ draftTokens: options.draftTokens, maxDraftTokens: options.maxDraftTokens, assumedCosts: options.assumedCosts });
  const rule = options.acceptance ?? speculativeSampling;
  const statistics = newStatistics(drafter.name, options.draftTokens ?? "auto", policy.maxDraftTokens);
  const clock = new GenerationClock();
  const yielder = new EventLoopYielder();
  const finish = (reason: FinishReason): SpeculativeTimings => {
    // Keep only positions of tokens that were output (drop rejected drafts, and tokens after a stop).
    if (target.length > output.history.length) target.truncate(output.history.length);
    return { ...clock.finish(output, reason, promptIds.length, promptIds.length - prefix), speculation: summarize(statistics, output.tokenIds.length) };
  };

  const logits = await prefillPrompt(target, promptIds, options.prefillChunkSize ?? 512, options.signal);
  if (!logits) return finish("cancelled");
  drafter.prefill?.(promptIds);
  clock.markPrefilled();
  // The first token comes from the prefill's logits, as in generate(); the target then holds all but the last token.
  let reason = output.push(sampler.sample(logits, output.history));
  clock.markFirstToken();
  while (!reason) {
    await yielder.maybeYield();
    if (options.signal?.aborted) return finish("cancelled");
    const context = output.history;
    const length = context.length;
    // A step adds at most k + 1 tokens (within the limit) at positions length − 1 .. length − 1 + k (within the cache).
    const room = Math.min(output.remaining - 1, target.maxTokens - length);
    const draftTokens = Math.max(0, Math.min(policy.next(), room));
    const draftStart = performance.now();
    const proposal: DraftProposal = draftTokens > 0 ? drafter.propose({ context, count: draftTokens, sampling: sampler }) : { tokens: [], distributions: null };
    if (proposal.tokens.length > draftTokens) throw new RangeError(`${drafter.name} proposed ${proposal.tokens.length} tokens, more than the ${draftTokens} asked for`);
    const verifyStart = performance.now();
    const rows = target.forward(Int32Array.of(context[length - 1], ...proposal.tokens), true);
    const verifyEnd = performance.now();
    const outcome = rule({ logits: rows, vocabSize: config.vocabSize, proposal, history: context, sampler });
    // Roll back past the accepted drafts; the new token from the target is the next step's first input.
    target.truncate(length + outcome.accepted);
    record(statistics, proposal.tokens.length, outcome.accepted, verifyStart - draftStart, verifyEnd - verifyStart);
    policy.record({ proposed: proposal.tokens.length, accepted: outcome.accepted, draftMilliseconds: verifyStart - draftStart, verifyMilliseconds: verifyEnd - verifyStart });
    for (const token of outcome.tokens) {
      reason = output.push(token);
      if (reason) break;
    }
  }
  return finish(reason);
}

/** The counted fields of the statistics (the rest are ratios of them). */
type StatisticsCounters = Omit<SpeculationStatistics, "acceptanceRate" | "acceptanceProbability" | "meanAcceptedTokens" | "meanDraftTokens" | "tokensPerTargetForward">;

function newStatistics(drafter: string, draftTokens: number | "auto", maxDraftTokens: number): StatisticsCounters {
  return {
    drafter,
    draftTokens,
    verifySteps: 0,
    draftingSteps: 0,
    draftedTokens: 0,
    acceptedTokens: 0,
    rejections: 0,
    draftMs: 0,
    verifyMs: 0,
    acceptedHistogram: new Array<number>(maxDraftTokens + 1).fill(0),
  };
}

function record(counters: StatisticsCounters, proposed: number, accepted: number, draftMs: number, verifyMs: number): void {
  counters.verifySteps++;
  counters.draftMs += draftMs;
  counters.verifyMs += verifyMs;
  if (proposed === 0) return;
  counters.draftingSteps++;
  counters.draftedTokens += proposed;
  counters.acceptedTokens += accepted;
  if (accepted < proposed) counters.rejections++;
  counters.acceptedHistogram[accepted]++;
}

/** The statistics of a finished generation that produced `generated` tokens (the first one from the prefill). */
function summarize(counters: StatisticsCounters, generated: number): SpeculationStatistics {
  return {
    ...counters,
    acceptanceRate: counters.draftedTokens > 0 ? counters.acceptedTokens / counters.draftedTokens : 0,
    acceptanceProbability: counters.acceptedTokens + counters.rejections > 0 ? counters.acceptedTokens / (counters.acceptedTokens + counters.rejections) : 0,
    meanAcceptedTokens: counters.draftingSteps > 0 ? counters.acceptedTokens / counters.draftingSteps : 0,
    meanDraftTokens: counters.draftingSteps > 0 ? counters.draftedTokens / counters.draftingSteps : 0,
    tokensPerTargetForward: counters.verifySteps > 0 ? Math.max(0, generated - 1) / counters.verifySteps : 1,
  };
}
