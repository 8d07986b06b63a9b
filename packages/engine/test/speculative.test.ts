// The speculative loop on toy models whose outputs can be predicted exactly: greedy output identical to generate()
// whatever the drafter proposes, one target forward per step over k+1 tokens, the cache rolled back to what was
// kept, generate()'s controls (limit, stop tokens and strings, streaming, cancellation) unchanged, honest statistics;
// and with sampling, the distribution of the generated tokens equal to target-only sampling (a chi-square test against
// the exact distribution, enumerated), which a deliberately wrong acceptance rule fails.

import { describe, expect, it } from "vitest";

import { chiSquareGoodnessOfFit, exactSequenceProbabilities, sequenceIndex } from "@infer-recipes/harness";

import {
  DenseModelSequence,
  ModelDrafter,
  PromptLookupDrafter,
  ReplayDrafter,
  Sampler,
  generate,
  resampleFromTargetOnRejection,
  speculativeGenerate,
  speculativeSampling,
  type AcceptanceRule,
  type Drafter,
  type IncrementalDecoder,
  type SamplingOptions,
} from "../src/index.ts";
import { ScriptedDrafter, TableModel } from "./toy-models.ts";

const VOCAB = 6;
const letters = (): IncrementalDecoder => ({ push: (id) => String.fromCharCode(97 + id), flush: () => "" });

/** The target's greedy continuation of `prompt` (what a perfect drafter would propose). */
async function greedyContinuation(model: TableModel, prompt: number[], count: number): Promise<number[]> {
  return (await generate(model, prompt, { maxTokens: count })).tokenIds;
}

describe("speculative greedy decoding on a toy model", () => {
  const prompt = [1, 2, 3];

  it("is token for token generate()'s output, whatever the drafter proposes", async () => {
    const target = new TableModel(VOCAB, 1);
    const expected = await generate(target, prompt, { maxTokens: 30 });
    const truth = [...prompt, ...expected.tokenIds];
    const drafters: Drafter[] = [
      new ScriptedDrafter((context) => truth[context.length]), // always right
      new ScriptedDrafter((context) => (truth[context.length] + 1) % VOCAB), // always wrong
      new ScriptedDrafter((context, index) => (index < 2 ? truth[context.length] : 0)), // right twice, then guessing
      new ScriptedDrafter(() => undefined), // proposes nothing
      new PromptLookupDrafter({ maxNgram: 2 }),
      new ReplayDrafter(truth),
    ];
    for (const drafter of drafters) {
      for (const draftTokens of [1, 3, 8, "auto"] as const) {
        const result = await speculativeGenerate(target, prompt, { drafter, draftTokens, maxTokens: 30 });
        expect(result.tokenIds, `${drafter.name} k=${draftTokens}`).toEqual(expected.tokenIds);
        expect(result.finishReason).toBe("length");
        expect(result.cache.length).toBeLessThanOrEqual(prompt.length + 30);
        expect(result.cache.length).toBeGreaterThanOrEqual(prompt.length + 29);
      }
    }
  });

  it("verifies k drafts in one forward over k+1 tokens and keeps only the accepted positions", async () => {
    const target = new TableModel(VOCAB, 2);
    const truth = [...prompt, ...(await greedyContinuation(target, prompt, 20))];
    // Right for the first draft of each step, wrong for the second and third.
    const drafter = new ScriptedDrafter((context, index) => (index === 0 ? truth[context.length] : (truth[context.length] + 1) % VOCAB));
    target.forwardCalls.length = 0;
    const result = await speculativeGenerate(target, prompt, { drafter, draftTokens: 3, maxTokens: 9 });
    expect(result.tokenIds).toEqual(truth.slice(3, 12));
    // Prefill, then each step: 1 accepted + 1 replacement = 2 tokens per verify of 4; the first token from the prefill.
    // The last step has 2 tokens left, so it drafts 1 (verify of 2).
    expect(target.forwardCalls).toEqual([3, 4, 4, 4, 2]);
    expect(result.speculation).toMatchObject({ verifySteps: 4, draftingSteps: 4, draftedTokens: 10, acceptedTokens: 4, acceptanceRate: 0.4, meanAcceptedTokens: 1, tokensPerTargetForward: 2 });
    expect(result.speculation.acceptedHistogram.slice(0, 4)).toEqual([0, 4, 0, 0]);
    // The cache holds the prompt and the output but its last token (not run yet), nothing of the rejected drafts.
    expect(result.cache.length).toBe(prompt.length + 9 - 1);
  });

  it("never drafts past the token limit, and a perfect drafter emits k+1 tokens per step", async () => {
    const target = new TableModel(VOCAB, 3);
    const truth = [...prompt, ...(await greedyContinuation(target, prompt, 20))];
    const drafter = new ScriptedDrafter((context) => truth[context.length]);
    target.forwardCalls.length = 0;
    const result = await speculativeGenerate(target, prompt, { drafter, draftTokens: 4, maxTokens: 13 });
    expect(result.tokenIds).toEqual(truth.slice(3, 16));
    // 1 token from the prefill, then 5 + 5 + 2: the last step asks for only 1 draft (2 tokens left).
    expect(drafter.requests).toEqual([4, 4, 1]);
    expect(target.forwardCalls).toEqual([3, 5, 5, 2]);
    expect(result.speculation.tokensPerTargetForward).toBe(4);
  });

  it("stops at a stop token or stop string inside an accepted run, streams what generate() streams, and is cancellable", async () => {
    const target = new TableModel(VOCAB, 4);
    const expected = await generate(target, prompt, { maxTokens: 40 });
    const truth = [...prompt, ...expected.tokenIds];
    const drafter = new ScriptedDrafter((context) => truth[context.length]);
    const stopToken = expected.tokenIds[6];
    const stopped = await speculativeGenerate(target, prompt, { drafter, draftTokens: 4, maxTokens: 40, stopTokenIds: [stopToken] });
    expect(stopped.tokenIds).toEqual(expected.tokenIds.slice(0, expected.tokenIds.indexOf(stopToken)));
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.cache.length).toBeLessThanOrEqual(prompt.length + stopped.tokenIds.length);

    const text = expected.tokenIds.map((id) => String.fromCharCode(97 + id)).join("");
    const stop = text.slice(7, 9);
    const reference: string[] = [];
    const plain = await generate(target, prompt, { maxTokens: 40, stopStrings: [stop], decoder: letters(), onText: (piece) => reference.push(piece) });
    const pieces: string[] = [];
    const speculative = await speculativeGenerate(target, prompt, { drafter, draftTokens: 4, maxTokens: 40, stopStrings: [stop], decoder: letters(), onText: (piece) => pieces.push(piece) });
    expect(speculative.text).toBe(plain.text);
    expect(pieces.join("")).toBe(reference.join(""));
    expect(speculative.finishReason).toBe("stop");

    const controller = new AbortController();
    const cancelled = await speculativeGenerate(target, prompt, {
      drafter,
      draftTokens: 4,
      maxTokens: 40,
      signal: controller.signal,
      onToken: () => controller.abort(),
    });
    expect(cancelled.finishReason).toBe("cancelled");
    expect(cancelled.tokenIds.length).toBeLessThanOrEqual(5);
  });

  it("continues in a cache that holds the prompt's prefix, as generate() does", async () => {
    const target = new TableModel(VOCAB, 5);
    const first = await generate(target, prompt, { maxTokens: 4 });
    const next = [...prompt, ...first.tokenIds, 4, 0];
    const expected = await generate(target, next, { maxTokens: 10 });
    const drafter = new PromptLookupDrafter();
    const resumed = await speculativeGenerate(target, next, { drafter, maxTokens: 10, cache: first.cache });
    expect(resumed.tokenIds).toEqual(expected.tokenIds);
  });
});

/** P(first `length` generated tokens = each sequence) under target-only sampling, enumerated exactly. */
function exactDistribution(model: TableModel, prompt: number[], length: number, options: SamplingOptions): Float64Array {
  const sampler = new Sampler(options);
  return exactSequenceProbabilities(prompt, length, VOCAB, (history) => sampler.distribution(model.logitsAfter(history.at(-2) ?? 0, history.at(-1)!), history));
}

async function sampledCounts(runs: number, generateOnce: (seed: number) => Promise<number[]>, length: number): Promise<number[]> {
  const counts = new Array<number>(VOCAB ** length).fill(0);
  for (let run = 1; run <= runs; run++) {
    // Seeds spread over the 32-bit range (Knuth's multiplicative hash of the run number).
    const ids = await generateOnce(Math.imul(run, 2654435761) >>> 0);
    expect(ids.length).toBe(length);
    counts[sequenceIndex(ids, VOCAB)]++;
  }
  return counts;
}

describe("speculative sampling keeps the target's distribution (chi-square against the exact one)", () => {
  // False-alarm rate of each check: 1e-3 (the seeds are fixed, so a run is reproducible).
  const alpha = 1e-3;
  const prompt = [1, 2];
  const length = 3;
  const runs = 3000;
  const target = new TableModel(VOCAB, 11);
  const draftModel = new TableModel(VOCAB, 12); // an independent table: often disagrees with the target
  const configurations: Array<[string, SamplingOptions]> = [
    ["temperature 1", { temperature: 1 }],
    ["temperature 0.7, top-k 3", { temperature: 0.7, topK: 3 }],
    ["temperature 1.3, top-p 0.8, repetition penalty 1.3", { temperature: 1.3, topP: 0.8, repetitionPenalty: 1.3 }],
  ];
  const speculative = (options: SamplingOptions, rule: AcceptanceRule) => async (seed: number) => {
    const drafter = new ModelDrafter(new DenseModelSequence(draftModel, draftModel.createCache()));
    const result = await speculativeGenerate(target, prompt, { ...options, seed, drafter, draftTokens: 2, maxTokens: length, acceptance: rule });
    return result.tokenIds;
  };

  for (const [name, options] of configurations) {
    it(`${name}: the lossless rule passes, target-only sampling passes`, async () => {
      const expected = exactDistribution(target, prompt, length, options);
      const fit = chiSquareGoodnessOfFit(await sampledCounts(runs, speculative(options, speculativeSampling), length), expected);
      expect(fit.pValue, `chi-square ${fit.statistic.toFixed(1)} over ${fit.degreesOfFreedom} degrees of freedom`).toBeGreaterThan(alpha);
      const plain = chiSquareGoodnessOfFit(await sampledCounts(runs, async (seed) => (await generate(target, prompt, { ...options, seed, maxTokens: length })).tokenIds, length), expected);
      expect(plain.pValue).toBeGreaterThan(alpha);
    });
  }

  it("a wrong rule (a rejected draft replaced by a draw from p, not from max(0, p − q)) fails", async () => {
    const options = configurations[0][1];
    const fit = chiSquareGoodnessOfFit(await sampledCounts(runs, speculative(options, resampleFromTargetOnRejection), length), exactDistribution(target, prompt, length, options));
    expect(fit.pValue).toBeLessThan(alpha);
  });

  it("a prompt-lookup drafter (point-mass drafts) keeps the distribution too", async () => {
    const options = configurations[1][1];
    const lookupPrompt = [1, 2, 3, 1, 2];
    const fit = chiSquareGoodnessOfFit(
      await sampledCounts(runs, async (seed) => (await speculativeGenerate(target, lookupPrompt, { ...options, seed, drafter: new PromptLookupDrafter(), draftTokens: 2, maxTokens: length })).tokenIds, length),
      exactDistribution(target, lookupPrompt, length, options),
    );
    expect(fit.pValue).toBeGreaterThan(alpha);
  });
});
