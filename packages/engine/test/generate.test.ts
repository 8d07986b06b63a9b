// The generation loop on a small deterministic model (its next token is always last + 1), so each rule is visible:
// limits, stop tokens, stop strings that never leak into the stream, cancellation and reproducible sampling.
import { afterEach, describe, expect, it, vi } from "vitest";

import { DenseKvCache } from "@infer-recipes/cache";
import { Tensor } from "@infer-recipes/kernel";

import { GenerationError, Sampler, StopStringFilter, generate, type CausalLanguageModel, type IncrementalDecoder } from "../src/index.ts";

const VOCAB = 26;

/** Predicts (last token + 1) mod 26 with a wide margin; counts forward calls and cached tokens. */
class CountingModel implements CausalLanguageModel {
  readonly config = { contextLength: 64, vocabSize: VOCAB };
  forwardCalls: number[] = [];
  createCache(maxTokens = 64): DenseKvCache {
    return new DenseKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, maxTokens: Math.min(maxTokens, 64) });
  }
  forward(tokens: Int32Array, cache: DenseKvCache): Tensor {
    this.forwardCalls.push(tokens.length);
    cache.reserve(cache.length + tokens.length);
    cache.length += tokens.length;
    const logits = new Float32Array(VOCAB).fill(-5);
    logits[(tokens[tokens.length - 1] + 1) % VOCAB] = 5;
    return Tensor.fromFloat32([1, VOCAB], logits);
  }
}

/** Letters a..z; ids 24 and 25 ("y", "z") form one two-byte character to test hold-back. */
function letterDecoder(): IncrementalDecoder {
  return {
    push: (id) => String.fromCharCode(97 + id),
    flush: () => "",
  };
}

afterEach(() => vi.restoreAllMocks());

describe("generate", () => {
  it("greedy: the model's chain, limited by maxTokens, with timings", async () => {
    const model = new CountingModel();
    const pieces: string[] = [];
    const result = await generate(model, [0, 1, 2], { maxTokens: 5, decoder: letterDecoder(), onText: (text) => pieces.push(text) });
    expect(result.tokenIds).toEqual([3, 4, 5, 6, 7]);
    expect(result.text).toBe("defgh");
    expect(pieces.join("")).toBe("defgh");
    expect(result.finishReason).toBe("length");
    expect(model.forwardCalls).toEqual([3, 1, 1, 1, 1]); // prefill once, then one token per step; no wasted last step
    expect(result.cache.length).toBe(7);
  });

  it("stops on a stop token without emitting it", async () => {
    const result = await generate(new CountingModel(), [0], { maxTokens: 20, stopTokenIds: [4] });
    expect(result.tokenIds).toEqual([1, 2, 3]);
    expect(result.finishReason).toBe("stop");
  });

  it("stops at a stop string and never streams any part of it", async () => {
    const pieces: string[] = [];
    const result = await generate(new CountingModel(), [0], { maxTokens: 20, stopStrings: ["efg"], decoder: letterDecoder(), onText: (text) => pieces.push(text) });
    expect(result.text).toBe("bcd");
    expect(pieces.join("")).toBe("bcd");
    expect(result.finishReason).toBe("stop");
  });

  it("prefills in chunks", async () => {
    const model = new CountingModel();
    await generate(model, Array.from({ length: 10 }, (_, index) => index), { maxTokens: 1, prefillChunkSize: 4 });
    expect(model.forwardCalls).toEqual([4, 4, 2]);
  });

  it("refuses a prompt plus max tokens beyond the context, naming the numbers", async () => {
    const model = new CountingModel();
    await expect(generate(model, Array(60).fill(0), { maxTokens: 10 })).rejects.toThrow(GenerationError);
    await expect(generate(model, Array(60).fill(0), { maxTokens: 10 })).rejects.toThrow(/prompt \(60 tokens\) \+ max tokens \(10\) = 70 exceeds the context of 64 tokens/);
    await expect(generate(model, Array(64).fill(0))).rejects.toThrow(/the prompt has 64 tokens, but the model's context is 64/);
    await expect(generate(model, [])).rejects.toThrow(/no tokens/);
  });

  it("is cancelled by an AbortSignal between tokens", async () => {
    const controller = new AbortController();
    const result = await generate(new CountingModel(), [0], {
      maxTokens: 50,
      onToken: (token) => { if (token === 3) controller.abort(); },
      signal: controller.signal,
    });
    expect(result.tokenIds).toEqual([1, 2, 3]);
    expect(result.finishReason).toBe("cancelled");
  });

  it("is cancelled before the prefill by a signal already aborted: no forward, no token", async () => {
    const model = new CountingModel();
    const tokens: number[] = [];
    const result = await generate(model, [0, 1], { maxTokens: 5, signal: AbortSignal.abort(), onToken: (token) => tokens.push(token) });
    expect(result).toMatchObject({ tokenIds: [], text: "", finishReason: "cancelled", promptTokens: 2 });
    expect(model.forwardCalls).toEqual([]);
    expect(tokens).toEqual([]);
  });

  it("times the first token after its sampling: one clock reading after the prefill's (performance.now counts calls)", async () => {
    let now = 0;
    vi.spyOn(performance, "now").mockImplementation(() => now++);
    const result = await generate(new CountingModel(), [0], { maxTokens: 3 });
    expect(result.tokenIds).toEqual([1, 2, 3]);
    // markPrefilled reads the clock, then the first token is sampled and markFirstToken reads it once more.
    expect(result.timeToFirstTokenMs - result.prefillMs).toBe(1);
  });

  it("continues in a cache that already holds the prompt's prefix", async () => {
    const model = new CountingModel();
    const first = await generate(model, [0, 1], { maxTokens: 2 });
    model.forwardCalls = [];
    await generate(model, [0, 1, 2, 3, 7], { maxTokens: 1, cache: first.cache });
    expect(model.forwardCalls).toEqual([2]); // ids 3 and 7 only (the cache held 0, 1, 2, 3 minus the last generated)
  });
});

describe("Sampler", () => {
  const logits = Float32Array.from({ length: 50 }, (_, index) => Math.sin(index) * 3);

  it("is reproducible with a seed and varies across seeds", () => {
    const draw = (seed: number) => { const sampler = new Sampler({ temperature: 1, seed }); return Array.from({ length: 40 }, () => sampler.sample(logits)); };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("top-k 1 and min-p near 1 are greedy; top-k limits the candidates", () => {
    const best = logits.indexOf(Math.max(...logits));
    expect(new Sampler({ temperature: 2, topK: 1, seed: 1 }).sample(logits)).toBe(best);
    expect(new Sampler({ temperature: 2, minP: 0.999, seed: 1 }).sample(logits)).toBe(best);
    const allowed = Array.from(logits).map((value, index) => [value, index]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, index]) => index);
    const sampler = new Sampler({ temperature: 5, topK: 3, seed: 3 });
    for (let draw = 0; draw < 200; draw++) expect(allowed).toContain(sampler.sample(logits));
  });

  it("follows the softmax distribution at temperature 1 (chi-square over 20000 draws)", () => {
    const small = Float32Array.of(0, 1, 2, 0.5);
    const sampler = new Sampler({ temperature: 1, seed: 11 });
    const counts = [0, 0, 0, 0];
    const draws = 20000;
    for (let draw = 0; draw < draws; draw++) counts[sampler.sample(small)]++;
    const total = Array.from(small).reduce((sum, value) => sum + Math.exp(value), 0);
    let chiSquare = 0;
    small.forEach((value, index) => { const expected = (Math.exp(value) / total) * draws; chiSquare += (counts[index] - expected) ** 2 / expected; });
    expect(chiSquare).toBeLessThan(16.27); // p = 0.001 for 3 degrees of freedom
  });

  it("top-p keeps the smallest nucleus", () => {
    const peaked = Float32Array.of(10, 9.9, 0, 0, 0);
    const sampler = new Sampler({ temperature: 1, topP: 0.9, seed: 5 });
    for (let draw = 0; draw < 100; draw++) expect([0, 1]).toContain(sampler.sample(peaked));
  });

  it("repetition penalty demotes tokens already seen", () => {
    const close = Float32Array.of(2, 1.9, 0);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(close, [0])).toBe(1);
    expect(new Sampler({}).sample(close, [0])).toBe(0);
  });

  it("rejects bad options by name", () => {
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP must be in \(0, 1\], got 0/);
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature must be a number ≥ 0/);
  });
});

describe("StopStringFilter", () => {
  it("holds back a possible stop-string start and releases it when it turns out not to be one", () => {
    const filter = new StopStringFilter(["</s>"]);
    expect(filter.push("hello <")).toEqual({ text: "hello ", stopped: false });
    expect(filter.push("b>")).toEqual({ text: "<b>", stopped: false });
    expect(filter.push(" end</")).toEqual({ text: " end", stopped: false });
    expect(filter.push("s> more")).toEqual({ text: "", stopped: true });
    expect(filter.output).toBe("hello <b> end");
  });

  it("stops at the earliest of several stop strings, wherever each one sits in the list", () => {
    // Both complete in one chunk: the earlier one wins although it is listed second.
    const both = new StopStringFilter(["B", "A"]);
    expect(both.push("xxAyyB")).toEqual({ text: "xx", stopped: true });
    expect(both.output).toBe("xx");
    // A stop string at the very start of the text releases nothing, even when a later one also completes.
    const atStart = new StopStringFilter(["A", "B"]);
    expect(atStart.push("AxB")).toEqual({ text: "", stopped: true });
    // A stop string that does not occur does not undo one that does.
    const missing = new StopStringFilter(["A", "Z"]);
    expect(missing.push("xA")).toEqual({ text: "x", stopped: true });
  });

  it("releases the text before a stop string that arrives whole in one chunk", () => {
    const filter = new StopStringFilter(["END"]);
    expect(filter.push("hello END world")).toEqual({ text: "hello ", stopped: true });
    expect(filter.output).toBe("hello ");
  });

  it("flush releases what was held back; no stop strings (or only empty ones) hold nothing back", () => {
    const filter = new StopStringFilter(["END"]);
    expect(filter.push("ab E")).toEqual({ text: "ab ", stopped: false });
    expect(filter.flush()).toBe("E");
    expect(filter.output).toBe("ab E");
    expect(new StopStringFilter([]).push("abc")).toEqual({ text: "abc", stopped: false });
    const empty = new StopStringFilter(["", "END"]);
    expect(empty.push("abc")).toEqual({ text: "abc", stopped: false });
    expect(empty.push("E")).toEqual({ text: "", stopped: false });
  });
});
