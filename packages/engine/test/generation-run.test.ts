// The parts the generation loops share, each on its own with exact expectations: the request checks (every message,
// every boundary) and the limit they return, the chunked prefill (what runs, cancellation, the yield of a long prompt),
// the event-loop yielder and the clock (performance.now() scripted, so the timings are exact numbers, not measured),
// the output's stop tokens, stop strings and flushing, the model sequences over a dense and a paged cache, and the
// accuracy checks' cachedLogits and greedyTokens.
import { afterEach, describe, expect, it, vi } from "vitest";

import { CacheError, DenseKvCache, PagedKvCache } from "@infer-recipes/cache";
import { Tensor } from "@infer-recipes/kernel";

import {
  DenseModelSequence,
  EventLoopYielder,
  GenerationClock,
  GenerationError,
  GenerationOutput,
  PagedModelSequence,
  cachedLogits,
  generationLimit,
  greedyTokens,
  prefillPrompt,
  type CausalLanguageModel,
  type GenerationControls,
  type IncrementalDecoder,
  type ModelSequence,
  type PagedBatchEntry,
} from "../src/index.ts";

/** A sequence that logs its forwards and truncations and holds at most maxTokens positions. */
class LoggedSequence implements ModelSequence {
  readonly log: string[] = [];
  constructor(public length = 0, readonly maxTokens = 64) {}
  forward(tokens: Int32Array): Float32Array {
    this.log.push(`forward ${Array.from(tokens).join(" ")}`);
    this.length += tokens.length;
    return Float32Array.of(tokens[tokens.length - 1]);
  }
  truncate(length: number): void {
    this.log.push(`truncate ${length}`);
    this.length = length;
  }
}

describe("generationLimit", () => {
  const prompt = [1, 2, 3];
  it("returns maxTokens (default 256) capped by the context and the cache", () => {
    expect(generationLimit(1000, new LoggedSequence(), prompt, {})).toBe(61); // a cache of 64 positions
    expect(generationLimit(1000, new LoggedSequence(0, 1000), prompt, {})).toBe(256);
    expect(generationLimit(100, new LoggedSequence(0, 1000), prompt, {})).toBe(97); // the context: 100 − 3
    expect(generationLimit(1000, new LoggedSequence(0, 50), prompt, {})).toBe(47); // the cache: 50 − 3
    expect(generationLimit(1000, new LoggedSequence(0, 1000), prompt, { maxTokens: 5 })).toBe(5);
    expect(generationLimit(1000, new LoggedSequence(0, 4), prompt, { maxTokens: 5 })).toBe(1); // the cache holds one more
    expect(generationLimit(8, new LoggedSequence(0, 100), prompt, { maxTokens: 5 })).toBe(5); // exactly fills the context
    expect(generationLimit(8, new LoggedSequence(3, 100), prompt, { maxTokens: 1 })).toBe(1); // a cache holding the prompt
    expect(generationLimit(4, new LoggedSequence(), prompt, { stopStrings: [], maxTokens: 1 })).toBe(1);
  });

  it("refuses a request it cannot run, naming the numbers", () => {
    const refused: Array<[number, ModelSequence, number[], GenerationControls, string]> = [
      [100, new LoggedSequence(), [], {}, "the prompt has no tokens: add at least the BOS token"],
      [100, new LoggedSequence(4), prompt, {}, "the cache holds 4 tokens but the prompt has only 3"],
      [3, new LoggedSequence(), prompt, {}, "the prompt has 3 tokens, but the model's context is 3 tokens"],
      [2, new LoggedSequence(), prompt, {}, "the prompt has 3 tokens, but the model's context is 2 tokens"],
      [100, new LoggedSequence(), prompt, { maxTokens: 0 }, "maxTokens must be a positive integer, got 0"],
      [100, new LoggedSequence(), prompt, { maxTokens: -2 }, "maxTokens must be a positive integer, got -2"],
      [100, new LoggedSequence(), prompt, { maxTokens: 1.5 }, "maxTokens must be a positive integer, got 1.5"],
      [8, new LoggedSequence(), prompt, { maxTokens: 6 }, "prompt (3 tokens) + max tokens (6) = 9 exceeds the context of 8 tokens; lower max tokens to at most 5"],
      [100, new LoggedSequence(0, 3), prompt, {}, "the cache holds at most 3 tokens, fewer than the prompt"],
      [100, new LoggedSequence(), prompt, { stopStrings: ["x"] }, "stop strings need a decoder to see the text"],
    ];
    for (const [context, sequence, promptIds, controls, message] of refused) {
      expect(() => generationLimit(context, sequence, promptIds, controls), message).toThrow(new GenerationError(message));
    }
    expect(() => generationLimit(100, new LoggedSequence(), [], {})).toThrow(expect.objectContaining({ name: "GenerationError" }));
    // A cache holding exactly the prompt, and one with room for exactly one more token, are fine.
    expect(generationLimit(100, new LoggedSequence(3, 4), prompt, {})).toBe(1);
  });
});

describe("prefillPrompt", () => {
  it("runs what the sequence does not hold, in chunks, and returns the last chunk's logits", async () => {
    const sequence = new LoggedSequence();
    expect(Array.from((await prefillPrompt(sequence, [1, 2, 3, 4, 5], 2))!)).toEqual([5]);
    expect(sequence.log).toEqual(["forward 1 2", "forward 3 4", "forward 5"]);
    const held = new LoggedSequence(2);
    await prefillPrompt(held, [1, 2, 3, 4, 5], 2);
    expect(held.log).toEqual(["forward 3 4", "forward 5"]);
    const exact = new LoggedSequence();
    await prefillPrompt(exact, [1, 2, 3, 4], 4);
    expect(exact.log).toEqual(["forward 1 2 3 4"]);
  });

  it("reruns the last token when the sequence holds the whole prompt (its logits are needed)", async () => {
    const sequence = new LoggedSequence(3);
    expect(Array.from((await prefillPrompt(sequence, [7, 8, 9], 512))!)).toEqual([9]);
    expect(sequence.log).toEqual(["truncate 2", "forward 9"]);
  });

  it("is cancelled between chunks, and yields to the event loop between the chunks of a long prompt only", async () => {
    const controller = new AbortController();
    const cancelled = new LoggedSequence();
    const forward = cancelled.forward.bind(cancelled);
    cancelled.forward = (tokens) => {
      controller.abort();
      return forward(tokens);
    };
    expect(await prefillPrompt(cancelled, [1, 2, 3, 4, 5], 2, controller.signal)).toBeUndefined();
    expect(cancelled.log).toEqual(["forward 1 2"]);
    const aborted = new LoggedSequence();
    expect(await prefillPrompt(aborted, [1, 2], 2, AbortSignal.abort())).toBeUndefined();
    expect(aborted.log).toEqual([]);

    // A callback queued before the prefill runs during it when the prompt is longer than a chunk, not otherwise:
    // whether it had run at each forward, and once the prefill has returned (a yield after the last chunk too).
    const ranDuring = async (prompt: number[], chunkSize: number, held = 0) => {
      let ran = false;
      const seen: boolean[] = [];
      const sequence = new LoggedSequence(held);
      const forward2 = sequence.forward.bind(sequence);
      sequence.forward = (tokens) => {
        seen.push(ran);
        return forward2(tokens);
      };
      setImmediate(() => (ran = true));
      await prefillPrompt(sequence, prompt, chunkSize);
      return [...seen, ran];
    };
    expect(await ranDuring([1, 2, 3], 2)).toEqual([false, true, true]);
    expect(await ranDuring([1, 2, 3, 4], 4)).toEqual([false, false]);
    expect(await ranDuring([1, 2, 3, 4, 5], 4)).toEqual([false, true, true]);
    // 5 tokens of which the sequence holds 2: 3 to run in chunks of 3, one chunk, no yield.
    expect(await ranDuring([1, 2, 3, 4, 5], 3, 2)).toEqual([false, false]);
    // Held 3 of 6: 3 to run in chunks of 2, two chunks, yields.
    expect(await ranDuring([1, 2, 3, 4, 5, 6], 2, 3)).toEqual([false, true, true]);
  });
});

describe("the clock and the yielder (performance.now scripted)", () => {
  afterEach(() => vi.restoreAllMocks());

  function scriptClock(times: number[]) {
    return vi.spyOn(performance, "now").mockImplementation(() => {
      const time = times.shift();
      if (time === undefined) throw new Error("performance.now called more often than scripted");
      return time;
    });
  }

  function output(tokens: number[]): GenerationOutput {
    const out = new GenerationOutput({}, [0], 100);
    for (const token of tokens) out.push(token);
    return out;
  }

  it("reports time to first token, prefill and decode times and rates", () => {
    // started 100, prefilled 150, first token 160, finished 560.
    scriptClock([100, 150, 160, 560]);
    const clock = new GenerationClock();
    clock.markPrefilled();
    expect(clock.firstTokenAt).toBe(150);
    clock.markFirstToken();
    const timings = clock.finish(output([1, 2, 3, 4, 5]), "length", 12, 10);
    expect(timings).toEqual({
      tokenIds: [1, 2, 3, 4, 5],
      text: "",
      finishReason: "length",
      promptTokens: 12,
      timeToFirstTokenMs: 60,
      prefillMs: 50,
      decodeMs: 400,
      prefillTokensPerSecond: 200, // 10 tokens in 50 ms
      decodeTokensPerSecond: 10, // 4 tokens after the first in 400 ms
    });
  });

  it("reports zero rates where nothing was timed or generated", () => {
    scriptClock([100, 200]);
    // Cancelled before the prefill: no milestone marked, nothing generated.
    expect(new GenerationClock().finish(output([]), "cancelled", 3, 3)).toMatchObject({ prefillMs: 0, decodeMs: 100, timeToFirstTokenMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 });
    // One token only: no decode rate, even with time spent.
    scriptClock([0, 10, 10, 30]);
    const one = new GenerationClock();
    one.markPrefilled();
    one.markFirstToken();
    expect(one.finish(output([4]), "stop", 2, 2)).toMatchObject({ decodeMs: 20, decodeTokensPerSecond: 0, prefillTokensPerSecond: 200 });
    // Two tokens in no measurable time: no rate rather than infinity.
    scriptClock([0, 0, 0, 0]);
    const instant = new GenerationClock();
    instant.markPrefilled();
    instant.markFirstToken();
    expect(instant.finish(output([4, 5]), "length", 2, 2)).toMatchObject({ decodeMs: 0, decodeTokensPerSecond: 0, prefillTokensPerSecond: 0 });
  });

  it("the yielder yields once 2 ms have passed since the last yield, and not before", async () => {
    const times = [0, 1.9, 2, 2.5, 3.9, 4.0, 10];
    vi.spyOn(performance, "now").mockImplementation(() => times.shift()!);
    const yielder = new EventLoopYielder(); // last = 0
    const yielded = async () => {
      let ran = false;
      setImmediate(() => (ran = true));
      await yielder.maybeYield();
      return ran;
    };
    expect(await yielded()).toBe(false); // 1.9 ms
    expect(await yielded()).toBe(true); // 2 ms: yields, last = 2.5
    expect(await yielded()).toBe(false); // 3.9: 1.4 ms since 2.5
    expect(await yielded()).toBe(false); // 4.0: 1.5 ms
    expect(await yielded()).toBe(true); // 10
  });
});

/** Letters a..z; flush() returns `tail`. */
function letters(tail = ""): IncrementalDecoder {
  return { push: (id) => String.fromCharCode(97 + id), flush: () => tail };
}

describe("GenerationOutput", () => {
  it("records tokens, reports them, streams their text, and ends at the limit", () => {
    const tokens: number[] = [];
    const texts: string[] = [];
    const out = new GenerationOutput({ decoder: letters(), onToken: (token) => tokens.push(token), onText: (text) => texts.push(text) }, [5, 6], 3);
    expect(out.remaining).toBe(3);
    expect(out.push(0)).toBeNull();
    expect(out.push(1)).toBeNull();
    expect(out.remaining).toBe(1);
    expect(out.push(2)).toBe("length");
    expect(out.remaining).toBe(0);
    expect(out.tokenIds).toEqual([0, 1, 2]);
    expect(out.history).toEqual([5, 6, 0, 1, 2]);
    expect(tokens).toEqual([0, 1, 2]);
    expect(texts).toEqual(["a", "b", "c"]);
    expect(out.text).toBe("abc");
  });

  it("a stop token ends it unseen; a stop string ends it with the text before it", () => {
    const seen: number[] = [];
    const stopped = new GenerationOutput({ stopTokenIds: [3, 9], onToken: (token) => seen.push(token) }, [0], 10);
    expect(stopped.push(1)).toBeNull();
    expect(stopped.push(9)).toBe("stop");
    expect(stopped.tokenIds).toEqual([1]);
    expect(stopped.history).toEqual([0, 1]);
    expect(seen).toEqual([1]);

    const texts: string[] = [];
    const strings = new GenerationOutput({ stopStrings: ["cd"], decoder: letters(), onText: (text) => texts.push(text) }, [0], 10);
    expect([0, 1, 2].map((token) => strings.push(token))).toEqual([null, null, null]);
    expect(texts).toEqual(["a", "b"]); // "c" held back: it may start "cd"
    expect(strings.push(3)).toBe("stop");
    expect(strings.tokenIds).toEqual([0, 1, 2, 3]);
    strings.close("stop");
    expect(texts).toEqual(["a", "b"]);
    expect(strings.text).toBe("ab");
    // A stop string wins over the limit on the same token.
    expect(new GenerationOutput({ stopStrings: ["a"], decoder: letters() }, [0], 1).push(0)).toBe("stop");
  });

  it("close() releases the held-back text and the decoder's tail once, unless a stop string ended it", () => {
    const texts: string[] = [];
    const out = new GenerationOutput({ stopStrings: ["cd"], decoder: letters("x"), onText: (text) => texts.push(text) }, [0], 10);
    out.push(2); // "c" held back
    expect(texts).toEqual([]);
    out.close("length");
    expect(texts).toEqual(["cx"]); // the tail "x" rules "cd" out: both released by the filter's push
    out.close("length");
    expect(texts).toEqual(["cx"]);
    expect(out.text).toBe("cx");

    // The tail itself may complete the stop string: then nothing after it is released.
    const completing: string[] = [];
    const completed = new GenerationOutput({ stopStrings: ["cd"], decoder: letters("d!"), onText: (text) => completing.push(text) }, [0], 10);
    completed.push(1);
    completed.push(2);
    completed.close("length");
    expect(completing).toEqual(["b"]);
    expect(completed.text).toBe("b");

    // The tail is held back as a possible stop-string start, then flushed.
    const held: string[] = [];
    const holding = new GenerationOutput({ stopStrings: ["cd"], decoder: letters("c"), onText: (text) => held.push(text) }, [0], 10);
    holding.push(0);
    holding.close("cancelled");
    expect(held).toEqual(["a", "c"]);

    // Without a decoder there is no text; with a decoder but nothing to release, onText is not called with "".
    const silent: string[] = [];
    const quiet = new GenerationOutput({ decoder: { push: () => "", flush: () => "" }, onText: (text) => silent.push(text) }, [0], 10);
    quiet.push(1);
    quiet.close("length");
    expect(silent).toEqual([]);
    const idsOnly = new GenerationOutput({ onText: (text) => silent.push(text) }, [0], 10);
    idsOnly.push(1);
    idsOnly.close("length");
    expect(idsOnly.text).toBe("");
    expect(silent).toEqual([]);
  });
});

/** A model whose logits row for token t is t + 0.5·position one-hot-ish: row[(t + position) mod vocab] = 1. */
class PositionModel implements CausalLanguageModel {
  readonly config = { contextLength: 32, vocabSize: 5 };
  readonly calls: string[] = [];
  readonly createdCaches: number[] = [];
  createCache(maxTokens = 32): DenseKvCache {
    this.createdCaches.push(maxTokens);
    return new DenseKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, maxTokens });
  }
  forward(tokens: Int32Array, cache: DenseKvCache, options: { allLogits?: boolean } = {}): Tensor {
    this.calls.push(`${Array.from(tokens).join(" ")}${options.allLogits ? " (all)" : ""}`);
    const vocab = this.config.vocabSize;
    const rows: Float32Array[] = [];
    for (let index = 0; index < tokens.length; index++) {
      const row = new Float32Array(vocab);
      row[(tokens[index] + cache.length + index) % vocab] = 1;
      rows.push(row);
    }
    cache.reserve(cache.length + tokens.length);
    cache.length += tokens.length;
    const kept = options.allLogits ? rows : rows.slice(-1);
    const data = new Float32Array(kept.length * vocab);
    kept.forEach((row, index) => data.set(row, index * vocab));
    return Tensor.fromFloat32([kept.length, vocab], data);
  }
}

describe("cachedLogits and greedyTokens", () => {
  it("cachedLogits: every position's logits, the first half prefilled in chunks, the rest one at a time", () => {
    const model = new PositionModel();
    const tokens = [3, 1, 4, 1, 0, 2, 2];
    const logits = cachedLogits(model, tokens, 2);
    // Half of 7 is 3: chunks [3 1] and [4], then 1, 0, 2, 2 one at a time; the cache sized for every token plus one.
    expect(model.calls).toEqual(["3 1 (all)", "4 (all)", "1", "0", "2", "2"]);
    expect(model.createdCaches).toEqual([8]);
    const best = Array.from({ length: tokens.length }, (_, position) => Array.from(logits.subarray(position * 5, position * 5 + 5)).indexOf(1));
    expect(best).toEqual(tokens.map((token, position) => (token + position) % 5));
    const defaults = new PositionModel();
    cachedLogits(defaults, Array.from({ length: 150 }, () => 1));
    expect(defaults.calls.slice(0, 3)).toEqual([`${new Array(64).fill(1).join(" ")} (all)`, `${new Array(11).fill(1).join(" ")} (all)`, "1"]);
    expect(defaults.calls.length).toBe(2 + 75);
    // A first half that is a whole number of chunks: no empty forward after the last chunk.
    const even = new PositionModel();
    cachedLogits(even, [3, 1, 4, 1, 0, 2, 2, 4], 2);
    expect(even.calls).toEqual(["3 1 (all)", "4 1 (all)", "0", "2", "2", "4"]);
    const single = new PositionModel();
    expect(Array.from(cachedLogits(single, [2]))).toEqual([0, 0, 1, 0, 0]); // token 2 at position 0
    expect(single.calls).toEqual(["2"]);
  });

  it("greedyTokens: the argmax chain from a fresh cache, no forward after the last token", () => {
    const model = new PositionModel();
    // After [2, 0] (positions 0, 1): row[(0 + 1) mod 5] → 1; then token 1 at position 2 → 3; then 3 at 3 → 1.
    expect(greedyTokens(model, [2, 0], 3)).toEqual([1, 3, 1]);
    expect(model.calls).toEqual(["2 0", "1", "3"]);
    expect(model.createdCaches).toEqual([6]);
    expect(greedyTokens(new PositionModel(), [4], 1)).toEqual([4]);
  });
});

describe("model sequences", () => {
  it("a dense sequence: its cache's length, the smaller of the cache's and the context's limits, truncation", () => {
    const model = new PositionModel();
    const sequence = new DenseModelSequence(model, model.createCache(40));
    expect(sequence.maxTokens).toBe(32); // the context
    expect(new DenseModelSequence(model, model.createCache(10)).maxTokens).toBe(10);
    expect(Array.from(sequence.forward(Int32Array.of(1, 2)))).toEqual([0, 0, 0, 1, 0]);
    expect(Array.from(sequence.forward(Int32Array.of(1, 2), true))).toEqual([0, 0, 0, 1, 0, 1, 0, 0, 0, 0]); // positions 2 and 3
    expect(model.calls).toEqual(["1 2", "1 2 (all)"]);
    expect(sequence.length).toBe(4);
    sequence.truncate(1);
    expect(sequence.length).toBe(1);
  });

  /** A paged model that only stores positions (keys and values are not needed here). */
  class PagedToy {
    readonly config = { contextLength: 40, vocabSize: 3 };
    readonly batches: string[] = [];
    forwardBatch(batch: readonly PagedBatchEntry[], cache: PagedKvCache): Array<Float32Array | null> {
      return batch.map((entry) => {
        this.batches.push(`${Array.from(entry.tokens).join(" ")}${entry.allLogits ? " (all)" : ""}`);
        cache.append(entry.sequence, entry.tokens);
        return new Float32Array(entry.allLogits ? entry.tokens.length * 3 : 3).fill(entry.sequence.length);
      });
    }
  }

  it("a paged sequence: reserves before each forward, its room is the free blocks plus its unused reserved rows, capped by the context", () => {
    const cache = new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, blockSize: 4, blockCount: 5 }); // 4 usable blocks: 16 positions
    const model = new PagedToy();
    const sequence = new PagedModelSequence(model, cache);
    expect(sequence.length).toBe(0);
    expect(sequence.maxTokens).toBe(16);
    expect(Array.from(sequence.forward(Int32Array.of(1, 2, 0)))).toEqual([3, 3, 3]);
    expect(sequence.length).toBe(3);
    expect(sequence.maxTokens).toBe(16); // 3 stored + 1 reserved row + 3 free blocks of 4
    expect(sequence.forward(Int32Array.of(1, 1), true).length).toBe(6);
    expect(model.batches).toEqual(["1 2 0", "1 1 (all)"]);
    sequence.truncate(2);
    expect(sequence.length).toBe(2);
    expect(sequence.maxTokens).toBe(16);
    const other = new PagedModelSequence(model, cache);
    other.forward(Int32Array.of(0, 0, 0, 0, 0)); // 2 blocks
    expect(sequence.maxTokens).toBe(2 + 2 + 4);
    // More than the free blocks hold: a CacheError naming the sequence and the blocks.
    expect(() => sequence.forward(Int32Array.of(...new Array(7).fill(1)))).toThrow(
      new CacheError(`paged sequence ${sequence.sequence.id}: 7 more positions need 2 blocks, but only 1 of 4 are free`),
    );
    // The context caps it.
    const small = new PagedModelSequence({ ...model, config: { contextLength: 3, vocabSize: 3 }, forwardBatch: model.forwardBatch.bind(model) }, new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, blockSize: 4, blockCount: 5 }));
    expect(small.maxTokens).toBe(3);
  });
});

describe("GenerationOutput without the optional parts", () => {
  it("streams with a decoder but no onText, and closes, without calling a missing callback", () => {
    const out = new GenerationOutput({ decoder: letters("x"), stopStrings: ["zz"] }, [0], 5);
    expect(out.push(0)).toBeNull(); // "a" released
    expect(out.push(25)).toBeNull(); // "z" held back
    out.close("length");
    expect(out.text).toBe("azx");
    const flushOnly = new GenerationOutput({ decoder: letters(), stopStrings: ["zz"] }, [0], 5);
    flushOnly.push(25);
    flushOnly.close("length"); // the held-back "z" released by the final flush
    expect(flushOnly.text).toBe("z");
  });

  it("without stop strings nothing is held back, whatever the text", () => {
    const texts: string[] = [];
    const words = ["S", "Str", "Stryker was here"];
    const out = new GenerationOutput({ decoder: { push: (id) => words[id], flush: () => "" }, onText: (text) => texts.push(text) }, [0], 5);
    [0, 1, 2].forEach((id) => out.push(id));
    expect(texts).toEqual(words);
    expect(out.text).toBe(words.join(""));
  });

  it("a stop token ends it without releasing text held back for a stop string", () => {
    const texts: string[] = [];
    const out = new GenerationOutput({ decoder: letters("y"), stopStrings: ["cd"], stopTokenIds: [7], onText: (text) => texts.push(text) }, [0], 10);
    out.push(0);
    out.push(2); // "c" held back
    expect(out.push(7)).toBe("stop");
    out.close("stop");
    expect(texts).toEqual(["a"]);
    expect(out.text).toBe("a");
  });
});
