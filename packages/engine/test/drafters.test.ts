// The drafters on their own, with exact expectations: what prompt lookup proposes for a context (longest n-gram first,
// latest occurrence first, cut at the count and at the context's end), what replay proposes, and what a model drafter
// runs on its sequence (a logged fake): the prefill, the catch-up over the tokens it has not seen after a rollback,
// one forward per further draft token, its limits, and the distributions that go with sampled drafts.
import { describe, expect, it } from "vitest";

import { ModelDrafter, PromptLookupDrafter, ReplayDrafter, Sampler, forwardInChunks, type DraftSampling, type ModelSequence } from "../src/index.ts";

const greedy = new Sampler();
const request = (context: number[], count: number, sampling: DraftSampling = greedy) => ({ context, count, sampling });

describe("PromptLookupDrafter", () => {
  it("proposes what followed the latest earlier occurrence of the longest matching n-gram", () => {
    const drafter = new PromptLookupDrafter();
    const cases: Array<[number[], number, number[]]> = [
      // The last 3 tokens (1 2 3) occurred at 0: propose what followed, up to the count.
      [[1, 2, 3, 9, 8, 1, 2, 3], 2, [9, 8]],
      [[1, 2, 3, 9, 8, 1, 2, 3], 5, [9, 8, 1, 2, 3]],
      // The continuation stops at the end of the context, whatever the count.
      [[5, 6, 5, 6], 4, [5, 6]],
      // Two earlier occurrences of "4": the latest one wins (followed by 7, not 6).
      [[4, 6, 4, 7, 4], 1, [7]],
      // No 3-gram or 2-gram match, a 1-gram one (2 at index 1, followed by 8).
      [[0, 2, 8, 5, 2], 3, [8, 5, 2]],
      // A 2-gram match (3 1) is preferred to the later 1-gram match of 1 (followed by 9).
      [[3, 1, 4, 1, 9, 3, 1], 1, [4]],
      // Nothing matches.
      [[1, 2, 3, 4], 3, []],
      // One token: nothing earlier to match.
      [[1], 3, []],
      // The match may overlap the pattern: 7 7 7 → the 2-gram 7 7 at 0, followed by 7.
      [[7, 7, 7], 4, [7]],
    ];
    for (const [context, count, expected] of cases) {
      expect(drafter.propose(request(context, count)), `context ${context} count ${count}`).toEqual({ tokens: expected, distributions: null });
    }
  });

  it("matches only n-grams between minNgram and maxNgram", () => {
    const context = [3, 1, 4, 1, 9, 3, 1];
    // Only 1-grams: the latest earlier 1 (index 3) is followed by 9.
    expect(new PromptLookupDrafter({ maxNgram: 1 }).propose(request(context, 2)).tokens).toEqual([9, 3]);
    // At least 3-grams: "9 3 1" … "1 9 3 1" occur once only, so nothing.
    expect(new PromptLookupDrafter({ minNgram: 3 }).propose(request(context, 2)).tokens).toEqual([]);
    // Exactly 2: "3 1" at index 0, followed by 4 1.
    expect(new PromptLookupDrafter({ minNgram: 2, maxNgram: 2 }).propose(request(context, 2)).tokens).toEqual([4, 1]);
    // A 4-gram pattern longer than the context allows is skipped down to what fits: [1, 2, 1, 2] matches "1 2" at 0.
    expect(new PromptLookupDrafter({ maxNgram: 4 }).propose(request([1, 2, 1, 2], 3)).tokens).toEqual([1, 2]);
    // The longest n-gram is preferred even when a shorter one occurs later: 3-gram "1 2 3" at 0 (→ 4) over "2 3" at 5 (→ 6).
    expect(new PromptLookupDrafter({ maxNgram: 3 }).propose(request([1, 2, 3, 4, 0, 2, 3, 6, 1, 2, 3], 1)).tokens).toEqual([4]);
    expect(new PromptLookupDrafter({ maxNgram: 2 }).propose(request([1, 2, 3, 4, 0, 2, 3, 6, 1, 2, 3], 1)).tokens).toEqual([6]);
  });

  it("names its n-gram range and refuses an invalid one by name", () => {
    expect(new PromptLookupDrafter().name).toBe("prompt lookup (n-gram 3..1)");
    expect(new PromptLookupDrafter({ maxNgram: 5, minNgram: 2 })).toMatchObject({ name: "prompt lookup (n-gram 5..2)", maxNgram: 5, minNgram: 2 });
    expect(new PromptLookupDrafter({ maxNgram: 1, minNgram: 1 }).name).toBe("prompt lookup (n-gram 1..1)");
    const refused: Array<[{ maxNgram?: number; minNgram?: number }, string]> = [
      [{ minNgram: 0 }, "0..3"],
      [{ minNgram: 1.5 }, "1.5..3"],
      [{ maxNgram: 2.5 }, "1..2.5"],
      [{ minNgram: 3, maxNgram: 2 }, "3..2"],
      [{ maxNgram: 0 }, "1..0"],
    ];
    for (const [options, range] of refused) {
      expect(() => new PromptLookupDrafter(options)).toThrow(new RangeError(`PromptLookupDrafter: n-gram sizes must be integers with 1 ≤ minNgram ≤ maxNgram, got ${range}`));
    }
  });
});

describe("ReplayDrafter", () => {
  const recorded = [1, 2, 3, 4, 5, 6];
  it("proposes the recorded continuation of a context that follows the recording", () => {
    const drafter = new ReplayDrafter(recorded);
    expect(drafter.name).toBe("replay");
    expect(drafter.propose(request([1, 2], 3))).toEqual({ tokens: [3, 4, 5], distributions: null });
    expect(drafter.propose(request([1, 2, 3, 4, 5], 3)).tokens).toEqual([6]);
    expect(drafter.propose(request([1], 1)).tokens).toEqual([2]);
    // The context reached the end of the recording, or went past it.
    expect(drafter.propose(request([1, 2, 3, 4, 5, 6], 3)).tokens).toEqual([]);
    expect(drafter.propose(request([1, 2, 3, 4, 5, 6, 7], 3)).tokens).toEqual([]);
    // A context that left the recording anywhere, first token or last, has no recorded continuation.
    expect(drafter.propose(request([9, 2, 3], 2))).toEqual({ tokens: [], distributions: null });
    expect(drafter.propose(request([1, 2, 9], 2)).tokens).toEqual([]);
    expect(drafter.propose(request([1, 9, 3], 2)).tokens).toEqual([]);
  });
});

/** A model sequence that logs what runs on it; its logits: 1 at (last token + 1) mod vocab, 0.5 at (last + 2), else 0. */
class LoggedSequence implements ModelSequence {
  readonly log: string[] = [];
  private readonly tokens: number[] = [];

  constructor(readonly maxTokens: number, private readonly vocab = 8) {}

  get length(): number {
    return this.tokens.length;
  }

  forward(tokens: Int32Array, allLogits = false): Float32Array {
    this.log.push(`forward ${Array.from(tokens).join(" ")}${allLogits ? " (all)" : ""}`);
    this.tokens.push(...tokens);
    const logits = new Float32Array(this.vocab);
    logits[(tokens[tokens.length - 1] + 1) % this.vocab] = 1;
    logits[(tokens[tokens.length - 1] + 2) % this.vocab] = 0.5;
    return logits;
  }

  truncate(length: number): void {
    this.log.push(`truncate ${length}`);
    this.tokens.length = Math.min(this.tokens.length, length);
  }
}

describe("ModelDrafter", () => {
  it("refuses a sequence that is not empty, and is named", () => {
    const used = new LoggedSequence(16);
    used.forward(Int32Array.of(1, 2));
    expect(() => new ModelDrafter(used)).toThrow(new RangeError("ModelDrafter: the draft sequence must start empty, it holds 2 positions"));
    expect(new ModelDrafter(new LoggedSequence(16)).name).toBe("draft model");
    expect(new ModelDrafter(new LoggedSequence(16), { name: "1B" }).name).toBe("1B");
  });

  it("prefills all but the last prompt token; the first proposal runs that one and drafts greedily", () => {
    const sequence = new LoggedSequence(16);
    const drafter = new ModelDrafter(sequence);
    drafter.prefill([1, 2, 3]);
    expect(sequence.log).toEqual(["truncate 0", "forward 1 2"]);
    sequence.log.length = 0;
    // Greedy: 3 → 4 → 5 → 6; each draft but the last is fed back.
    expect(drafter.propose(request([1, 2, 3], 3))).toEqual({ tokens: [4, 5, 6], distributions: null });
    expect(sequence.log).toEqual(["truncate 2", "forward 3", "forward 4", "forward 5"]);
    expect(sequence.length).toBe(5);
  });

  it("rolls back to the longest prefix it shares with the context and runs only the rest", () => {
    const sequence = new LoggedSequence(32);
    const drafter = new ModelDrafter(sequence);
    drafter.propose(request([1, 2, 3], 3)); // holds 1 2 3 4 5
    sequence.log.length = 0;
    // The target accepted 4 and replaced 5 by 7: keep 1 2 3 4, run 7.
    expect(drafter.propose(request([1, 2, 3, 4, 7], 2)).tokens).toEqual([0, 1]);
    expect(sequence.log).toEqual(["truncate 4", "forward 7", "forward 0"]);
    sequence.log.length = 0;
    // Every draft accepted and one more token: it holds 1 2 3 4 7 0 and runs the new tokens 1 2.
    expect(drafter.propose(request([1, 2, 3, 4, 7, 0, 1, 2], 1)).tokens).toEqual([3]);
    expect(sequence.log).toEqual(["truncate 6", "forward 1 2"]);
    sequence.log.length = 0;
    // The same context again: it holds all of it, and reruns the last token for its logits.
    expect(drafter.propose(request([1, 2, 3, 4, 7, 0, 1, 2], 1)).tokens).toEqual([3]);
    expect(sequence.log).toEqual(["truncate 7", "forward 2"]);
    sequence.log.length = 0;
    // A different context from the first token on: everything again.
    expect(drafter.propose(request([5, 6], 1)).tokens).toEqual([7]);
    expect(sequence.log).toEqual(["truncate 0", "forward 5 6"]);
  });

  it("catches up in chunks of chunkSize and prefills only a context of 2 to maxTokens tokens", () => {
    const sequence = new LoggedSequence(8);
    const drafter = new ModelDrafter(sequence, { chunkSize: 2 });
    drafter.prefill([1]);
    drafter.prefill([1, 2, 3, 4, 5, 6, 7, 0, 1]); // longer than the draft's 8 positions
    expect(sequence.log).toEqual([]);
    drafter.prefill([1, 2, 3, 4, 5, 6, 7, 0]); // exactly 8: runs the first 7, 2 at a time
    expect(sequence.log).toEqual(["truncate 0", "forward 1 2", "forward 3 4", "forward 5 6", "forward 7"]);
    const two = new LoggedSequence(8);
    new ModelDrafter(two).prefill([4, 5]);
    expect(two.log).toEqual(["truncate 0", "forward 4"]);
  });

  it("drafts no more than its sequence holds, and nothing for an empty context", () => {
    const sequence = new LoggedSequence(6);
    const drafter = new ModelDrafter(sequence);
    // 4 context tokens in 6 positions: drafts at positions 4 and 5 are fed back only up to position 5 → 3 drafts.
    expect(drafter.propose(request([1, 2, 3, 4], 8)).tokens).toEqual([5, 6, 7]);
    expect(sequence.length).toBe(6);
    const full = new ModelDrafter(new LoggedSequence(4));
    expect(full.propose(request([1, 2, 3, 4], 3)).tokens).toEqual([5]); // one draft: nothing fed back
    expect(full.propose(request([1, 2, 3, 4, 5], 3))).toEqual({ tokens: [], distributions: null }); // no room at all
    const empty = new LoggedSequence(4);
    expect(new ModelDrafter(empty).propose(request([], 2))).toEqual({ tokens: [], distributions: null });
    expect(empty.log).toEqual([]);
  });

  it("samples drafts from the sampler's distribution after the context and the drafts before, and returns those distributions", () => {
    const calls: string[] = [];
    const sampling: DraftSampling = {
      greedy: false,
      distribution: (logits, previous) => {
        calls.push(`distribution ${Array.from(previous).join(" ")}`);
        return Float64Array.from(logits);
      },
      draw: (probabilities) => {
        calls.push("draw");
        return (probabilities.indexOf(1) + 1) % 8; // not the greedy choice, so the fed-back token shows it was drawn
      },
      sample: () => {
        throw new Error("a sampled draft must not call sample()");
      },
    };
    const sequence = new LoggedSequence(16);
    const proposal = new ModelDrafter(sequence).propose({ context: [1, 2], count: 2, sampling });
    // After 2 the logits favour 3; drawn 4, fed back; then the logits favour 5, drawn 6.
    expect(proposal.tokens).toEqual([4, 6]);
    expect(proposal.distributions!.map((row) => row.indexOf(1))).toEqual([3, 5]);
    expect(calls).toEqual(["distribution 1 2", "draw", "distribution 1 2 4", "draw"]);
    expect(sequence.log).toEqual(["truncate 0", "forward 1 2", "forward 4"]);
  });

  it("greedy drafts are the sampler's choice after the context and the drafts before them", () => {
    const seen: string[] = [];
    const sampling: DraftSampling = {
      greedy: true,
      distribution: () => {
        throw new Error("a greedy draft must not call distribution()");
      },
      draw: () => {
        throw new Error("a greedy draft must not call draw()");
      },
      sample: (logits, previous) => {
        seen.push(Array.from(previous).join(" "));
        return logits.indexOf(1);
      },
    };
    expect(new ModelDrafter(new LoggedSequence(16)).propose({ context: [1, 2], count: 3, sampling })).toEqual({ tokens: [3, 4, 5], distributions: null });
    expect(seen).toEqual(["1 2", "1 2 3", "1 2 3 4"]);
    // With the real sampler's repetition penalty: after 2 the favourite 3 is in the context (1 / 3 < 0.5), so 4 wins.
    expect(new ModelDrafter(new LoggedSequence(16)).propose(request([3, 2], 1, new Sampler({ repetitionPenalty: 3 }))).tokens).toEqual([4]);
    expect(new ModelDrafter(new LoggedSequence(16)).propose(request([1, 2], 1, new Sampler({ repetitionPenalty: 3 }))).tokens).toEqual([3]);
  });
});

describe("forwardInChunks", () => {
  it("runs the tokens in chunks and returns the last chunk's logits; refuses no tokens", () => {
    const sequence = new LoggedSequence(16);
    const logits = forwardInChunks(sequence, [1, 2, 3, 4, 5], 2);
    expect(sequence.log).toEqual(["forward 1 2", "forward 3 4", "forward 5"]);
    expect(Array.from(logits).indexOf(1)).toBe(6);
    const exact = new LoggedSequence(16);
    forwardInChunks(exact, [1, 2, 3, 4], 2);
    expect(exact.log).toEqual(["forward 1 2", "forward 3 4"]);
    expect(() => forwardInChunks(sequence, [], 2)).toThrow(new RangeError("forwardInChunks: no tokens"));
  });
});
