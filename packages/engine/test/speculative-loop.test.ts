// The speculative loop's bookkeeping, exactly, on a chain model (the next token is last + 1, with last + 2 a close
// second so a repetition penalty can tell): what each verify forward runs, how far the target is rolled back, every
// statistic (performance.now scripted, so the times are exact counts, not measurements), the zero cases, a drafter
// that proposes too much, a target whose room shrinks while it generates, the prefill hook, and the rule's inputs.
import { afterEach, describe, expect, it, vi } from "vitest";

import { DenseKvCache } from "@infer-recipes/cache";
import { Tensor } from "@infer-recipes/kernel";

import {
  DenseModelSequence,
  generate,
  speculativeGenerate,
  speculativeGenerateOn,
  speculativeSampling,
  type CausalLanguageModel,
  type DraftRequest,
  type Drafter,
  type ModelSequence,
  type Verification,
} from "../src/index.ts";
import { ScriptedDrafter } from "./toy-models.ts";

const VOCAB = 10;

/** Logits after `token`: 2 at token + 1, 1.9 at token + 2 (mod 10), 0 elsewhere. */
function chainRow(token: number): Float32Array {
  const row = new Float32Array(VOCAB);
  row[(token + 1) % VOCAB] = 2;
  row[(token + 2) % VOCAB] = 1.9;
  return row;
}

/** The chain as a model over a dense cache; logs the tokens of each forward. */
class ChainModel implements CausalLanguageModel {
  readonly config = { contextLength: 64, vocabSize: VOCAB };
  readonly forwards: string[] = [];
  /** A simulated clock (ms) that only the forward passes advance, 5 ms a token, for tests that read timings. */
  clock = 0;
  createCache(maxTokens = 64): DenseKvCache {
    return new DenseKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, maxTokens });
  }
  forward(tokens: Int32Array, cache: DenseKvCache, options: { allLogits?: boolean } = {}): Tensor {
    this.forwards.push(`${Array.from(tokens).join(" ")}${options.allLogits ? " (all)" : ""}`);
    this.clock += 5 * tokens.length;
    cache.reserve(cache.length + tokens.length);
    cache.length += tokens.length;
    const rows = Array.from(options.allLogits ? tokens : tokens.slice(-1), chainRow);
    const data = new Float32Array(rows.length * VOCAB);
    rows.forEach((row, index) => data.set(row, index * VOCAB));
    return Tensor.fromFloat32([rows.length, VOCAB], data);
  }
}

/** The chain as a bare model sequence whose room (maxTokens) a test can change while it generates. */
class ChainSequence implements ModelSequence {
  readonly log: string[] = [];
  length = 0;
  constructor(public maxTokens: number) {}
  forward(tokens: Int32Array, allLogits = false): Float32Array {
    this.log.push(`forward ${Array.from(tokens).join(" ")}`);
    this.length += tokens.length;
    const rows = Array.from(allLogits ? tokens : tokens.slice(-1), chainRow);
    const data = new Float32Array(rows.length * VOCAB);
    rows.forEach((row, index) => data.set(row, index * VOCAB));
    return data;
  }
  truncate(length: number): void {
    this.log.push(`truncate ${length}`);
    this.length = length;
  }
}

const next = (context: readonly number[]) => (context[context.length - 1] + 1) % VOCAB;

afterEach(() => vi.restoreAllMocks());

describe("the speculative loop's bookkeeping", () => {
  it("one forward per step over the last token and the drafts, rolled back to the accepted ones; exact statistics", async () => {
    let now = 0;
    vi.spyOn(performance, "now").mockImplementation(() => now++);
    const model = new ChainModel();
    // Right at the first position of each step, wrong (last + 5) after it.
    const drafter = new ScriptedDrafter((context, index) => (index === 0 ? next(context) : (context[context.length - 1] + 5) % VOCAB));
    const result = await speculativeGenerate(model, [0], { drafter, draftTokens: 3, maxTokens: 9 });
    expect(result.tokenIds).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Prefill [0] gives 1; each step verifies 1 right and 2 wrong drafts (1 accepted + the target's token); the last
    // step has 2 tokens left, so it drafts 1, which is accepted, plus the bonus token.
    expect(model.forwards).toEqual(["0", "1 2 7 2 (all)", "3 4 9 4 (all)", "5 6 1 6 (all)", "7 8 (all)"]);
    expect(drafter.requests).toEqual([3, 3, 3, 1]);
    // The cache holds everything but the last token: the rejected drafts are gone.
    expect(result.cache.length).toBe(9);
    expect(result.speculation).toEqual({
      drafter: "scripted",
      draftTokens: 3,
      verifySteps: 4,
      draftingSteps: 4,
      draftedTokens: 10,
      acceptedTokens: 4,
      rejections: 3,
      acceptanceRate: 0.4,
      acceptanceProbability: 4 / 7,
      meanAcceptedTokens: 1,
      meanDraftTokens: 2.5,
      tokensPerTargetForward: 2,
      draftMs: 4, // one tick of the scripted clock per step for the draft, one for the verify
      verifyMs: 4,
      acceptedHistogram: [0, 4, 0, 0],
    });
  });

  it("a step without drafts counts as a verify step only; ratios over no drafting are 0", async () => {
    const model = new ChainModel();
    const silent = new ScriptedDrafter(() => undefined);
    const result = await speculativeGenerate(model, [3], { drafter: silent, draftTokens: 2, maxTokens: 4 });
    expect(result.tokenIds).toEqual([4, 5, 6, 7]);
    expect(model.forwards).toEqual(["3", "4 (all)", "5 (all)", "6 (all)"]);
    expect(result.speculation).toMatchObject({ verifySteps: 3, draftingSteps: 0, draftedTokens: 0, rejections: 0, acceptanceRate: 0, acceptanceProbability: 0, meanAcceptedTokens: 0, meanDraftTokens: 0, tokensPerTargetForward: 1, acceptedHistogram: [0, 0, 0] });
    // draftTokens 0: the drafter is never asked.
    const never = new ScriptedDrafter(() => 1);
    const plain = await speculativeGenerate(new ChainModel(), [3], { drafter: never, draftTokens: 0, maxTokens: 3 });
    expect(plain.tokenIds).toEqual([4, 5, 6]);
    expect(never.requests).toEqual([]);
    expect(plain.speculation.acceptedHistogram).toEqual([0]);
  });

  it("every draft rejected: rejections and the histogram's zero bucket; a one-token generation has no verify step", async () => {
    const wrong = new ScriptedDrafter((context) => (context[context.length - 1] + 5) % VOCAB);
    const result = await speculativeGenerate(new ChainModel(), [0], { drafter: wrong, draftTokens: 2, maxTokens: 5 });
    // Steps of k = 2, 2, 1 (each one token of the target's), then no room for a draft: k = 0 for the last token.
    expect(result.tokenIds).toEqual([1, 2, 3, 4, 5]);
    expect(result.speculation).toMatchObject({ verifySteps: 4, draftingSteps: 3, draftedTokens: 5, acceptedTokens: 0, rejections: 3, acceptanceRate: 0, acceptanceProbability: 0, meanAcceptedTokens: 0, meanDraftTokens: 5 / 3, tokensPerTargetForward: 1, acceptedHistogram: [3, 0, 0] });
    const one = await speculativeGenerate(new ChainModel(), [0], { drafter: wrong, draftTokens: 2, maxTokens: 1 });
    expect(one.tokenIds).toEqual([1]);
    expect(one.speculation).toMatchObject({ verifySteps: 0, tokensPerTargetForward: 1 });
  });

  it("cancelled before the prefill: nothing generated, the settings in the statistics (auto: a histogram of maxDraftTokens + 1)", async () => {
    const drafter = new ScriptedDrafter(next);
    const result = await speculativeGenerate(new ChainModel(), [0, 1], { drafter, maxDraftTokens: 3, signal: AbortSignal.abort() });
    expect(result.finishReason).toBe("cancelled");
    expect(result.tokenIds).toEqual([]);
    expect(result.speculation).toMatchObject({ drafter: "scripted", draftTokens: "auto", verifySteps: 0, acceptedHistogram: [0, 0, 0, 0], tokensPerTargetForward: 1 });
    expect(drafter.requests).toEqual([]);
    const defaults = await speculativeGenerate(new ChainModel(), [0, 1], { drafter, signal: AbortSignal.abort() });
    expect(defaults.speculation.acceptedHistogram).toEqual(new Array(9).fill(0));
  });

  it("a stop token inside an accepted run rolls the target back to the tokens output", async () => {
    const drafter = new ScriptedDrafter(next);
    const result = await speculativeGenerate(new ChainModel(), [0], { drafter, draftTokens: 4, stopTokenIds: [4] });
    expect(result.tokenIds).toEqual([1, 2, 3]);
    expect(result.finishReason).toBe("stop");
    // The verify ran 1 2 3 4 5; the output stops before 4: the cache keeps 0 1 2 3.
    expect(result.cache.length).toBe(4);
  });

  it("refuses a drafter that proposes more tokens than asked, by name", async () => {
    const greedy: Drafter = { name: "eager", propose: ({ count }: DraftRequest) => ({ tokens: new Array(count + 1).fill(1), distributions: null }) };
    await expect(speculativeGenerate(new ChainModel(), [0], { drafter: greedy, draftTokens: 2, maxTokens: 8 })).rejects.toThrow(new RangeError("eager proposed 3 tokens, more than the 2 asked for"));
  });

  it("drafts no more than the target's room, which may shrink while it generates (a paged cache others use)", async () => {
    const sequence = new ChainSequence(20);
    const asked: number[] = [];
    const drafter: Drafter = {
      name: "counting",
      propose: ({ context, count }) => {
        asked.push(count);
        if (asked.length === 1) sequence.maxTokens = 9; // another sequence took the rest
        return { tokens: Array.from({ length: count }, (_, index) => (context[context.length - 1] + 1 + index) % VOCAB), distributions: null };
      },
    };
    const result = await speculativeGenerateOn(sequence, { contextLength: 64, vocabSize: VOCAB }, [0], { drafter, draftTokens: 4, maxTokens: 12 });
    // Prefill gives 1 (context of 2); step 1 drafts 4, all accepted, plus the bonus: a context of 7 in a room of 9, so
    // step 2 drafts 2 (→ 10), and after that there is no room to draft at all: plain steps to the limit.
    expect(asked).toEqual([4, 2]);
    expect(result.tokenIds).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
    expect(sequence.log.slice(0, 4)).toEqual(["forward 0", "forward 1 2 3 4 5", "truncate 6", "forward 6 7 8"]);
  });

  it("tells the drafter the prompt before the first token, and the rule the verification it judges", async () => {
    const prefills: number[][] = [];
    const verifications: Array<{ vocabSize: number; rows: number; proposal: number[]; history: number[]; greedy: boolean }> = [];
    const drafter: Drafter = {
      name: "hooked",
      prefill: (context) => prefills.push([...context]),
      propose: ({ context, count }) => ({ tokens: [next(context)].slice(0, count), distributions: null }),
    };
    const rule = (verification: Verification) => {
      verifications.push({ vocabSize: verification.vocabSize, rows: verification.logits.length / VOCAB, proposal: [...verification.proposal.tokens], history: [...verification.history], greedy: verification.sampler.greedy });
      return speculativeSampling(verification);
    };
    const result = await speculativeGenerate(new ChainModel(), [5, 6], { drafter, draftTokens: 2, maxTokens: 5, acceptance: rule });
    expect(result.tokenIds).toEqual([7, 8, 9, 0, 1]);
    expect(prefills).toEqual([[5, 6]]);
    expect(verifications).toEqual([
      { vocabSize: VOCAB, rows: 2, proposal: [8], history: [5, 6, 7], greedy: true },
      { vocabSize: VOCAB, rows: 2, proposal: [0], history: [5, 6, 7, 8, 9], greedy: true },
    ]);
  });

  it("is generate() token for token with a repetition penalty (the first token sees the prompt)", async () => {
    // After 0 the chain prefers 1 (logit 2) over 2 (1.9); with 1 in the prompt and a penalty of 1.2, 2 wins.
    const options = { repetitionPenalty: 1.2, maxTokens: 12 };
    const expected = (await generate(new ChainModel(), [1, 0], options)).tokenIds;
    expect(expected[0]).toBe(2);
    for (const draftTokens of [1, 3] as const) {
      const result = await speculativeGenerate(new ChainModel(), [1, 0], { ...options, drafter: new ScriptedDrafter(next), draftTokens });
      expect(result.tokenIds, `k = ${draftTokens}`).toEqual(expected);
    }
  });

  it("continues after a prefix in the target's cache; timings from a clock only the forward passes advance (5 ms a token)", async () => {
    for (const speculative of [true, false]) {
      const model = new ChainModel();
      const cache = model.createCache();
      new DenseModelSequence(model, cache).forward(Int32Array.of(0, 1, 2));
      model.forwards.length = 0;
      vi.spyOn(performance, "now").mockImplementation(() => model.clock);
      const start = model.clock;
      const options = { maxTokens: 3, cache };
      const result = speculative ? await speculativeGenerate(model, [0, 1, 2, 3, 4], { ...options, drafter: new ScriptedDrafter(next), draftTokens: 2 }) : await generate(model, [0, 1, 2, 3, 4], options);
      vi.restoreAllMocks();
      expect(model.clock - start).toBe(20);
      expect(model.forwards[0]).toBe("3 4");
      expect(result.tokenIds).toEqual([5, 6, 7]);
      // Prefill: the 2 uncached tokens in 10 ms; the first token then (sampling takes no simulated time); decoding:
      // generate() runs 6 and 7 (5 ms each), speculation verifies 6 7 once (10 ms): 2 tokens after the first in 10 ms.
      expect(result).toMatchObject({ promptTokens: 5, prefillMs: 10, prefillTokensPerSecond: 200, timeToFirstTokenMs: 10, decodeMs: 10, decodeTokensPerSecond: 200 });
      if ("speculation" in result) expect(result.speculation).toMatchObject({ draftMs: 0, verifyMs: 10, verifySteps: 1 });
    }
  });
});

describe("the loop's remaining rules", () => {
  it("a stop token as the target's own token: the target already holds exactly the output, so no second rollback", async () => {
    const sequence = new ChainSequence(20);
    const result = await speculativeGenerateOn(sequence, { contextLength: 64, vocabSize: VOCAB }, [0], { drafter: new ScriptedDrafter(next), draftTokens: 1, stopTokenIds: [3] });
    expect(result.tokenIds).toEqual([1, 2]);
    // The verify ran 1 2 (→ 3 positions) and kept them: the bonus token 3 is the stop token, history 0 1 2.
    expect(sequence.log).toEqual(["forward 0", "forward 1 2", "truncate 3"]);
  });

  it("the acceptance probability is accepted ÷ (accepted + rejections), also when rejections outnumber acceptances", async () => {
    // Right only at the first position of the first step: 1 accepted, then 2 rejections.
    const drafter = new ScriptedDrafter((context, index) => (context.length === 2 && index === 0 ? next(context) : (context[context.length - 1] + 5) % VOCAB));
    const result = await speculativeGenerate(new ChainModel(), [0], { drafter, draftTokens: 2, maxTokens: 5 });
    expect(result.tokenIds).toEqual([1, 2, 3, 4, 5]);
    expect(result.speculation).toMatchObject({ acceptedTokens: 1, rejections: 2, acceptanceProbability: 1 / 3, draftedTokens: 3 });
  });

  it("auto draft length learns from each step: drafts accepted make k grow", async () => {
    const drafter = new ScriptedDrafter(next);
    // Assumed costs (free drafts, verify + 10 % a token): k = 2 at the prior α = 0.5, more once drafts are accepted.
    const assumedCosts = { draftPerToken: 0, verify: (tokens: number) => 1 + 0.1 * (tokens - 1) };
    const result = await speculativeGenerate(new ChainModel(), [0], { drafter, draftTokens: "auto", assumedCosts, maxTokens: 30 });
    expect(result.tokenIds).toEqual(Array.from({ length: 30 }, (_, index) => (index + 1) % VOCAB));
    expect(drafter.requests[0]).toBe(2);
    expect(drafter.requests[1]).toBeGreaterThan(2);
    // Measured costs: drafting costs nothing on the clock the forward passes advance, so k grows too.
    const model = new ChainModel();
    vi.spyOn(performance, "now").mockImplementation(() => model.clock);
    const measured = new ScriptedDrafter(next);
    await speculativeGenerate(model, [0], { drafter: measured, maxTokens: 40 });
    vi.restoreAllMocks();
    expect(measured.requests[0]).toBe(1);
    expect(Math.max(...measured.requests)).toBeGreaterThanOrEqual(3);
  });

  it("auto draft length decides on durations, not clock readings: the same choices whatever the clock shows at the start", async () => {
    // Free drafts and a verify costing 5 ms a token: a few long drafts are tried, then one-token probes. Started at
    // 0 ms or at 1e6 ms, the policy sees the same durations, so it asks for the same draft lengths.
    const requests = async (start: number) => {
      const model = new ChainModel();
      model.clock = start;
      vi.spyOn(performance, "now").mockImplementation(() => model.clock);
      const drafter = new ScriptedDrafter(next);
      const result = await speculativeGenerate(model, [0], { drafter, maxTokens: 40 });
      vi.restoreAllMocks();
      expect(result.tokenIds).toHaveLength(40);
      return drafter.requests;
    };
    const fromZero = await requests(0);
    expect(fromZero.slice(0, 5)).toEqual([1, 4, 1, 1, 8]);
    expect(fromZero.slice(5).every((count) => count === 1)).toBe(true);
    expect(await requests(1e6)).toEqual(fromZero);
  });
});
