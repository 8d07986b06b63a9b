// LlamaModel's input checks, forward and forwardBatch, by their whole messages at the edges of each condition (token 0
// and vocabSize − 1 pass, −1 and vocabSize fail; a batch reaching exactly the context passes, one more fails), and a
// refused call leaves the cache as it was. Then the parts of forwardBatch the equivalence tests (llama-batch.test.ts)
// do not reach: embedding spans on an entry that is not the first of the step, a step with more tokens than any
// before it, a step that wants no logits. Last, llamaWeightBytes and llamaDecodeBytes counted by hand.

import { describe, expect, it } from "vitest";

import { Kernel, createReferenceBackend } from "@infer-recipes/kernel";

import {
  LlamaModel,
  assembleLoadedWeights,
  llamaDecodeBytes,
  llamaWeightBytes,
  llamaWeights,
  randomLlamaTensors,
  tinyLlamaConfig,
  type LlamaConfig,
  type LoadedWeights,
} from "../src/index.ts";

// hidden 32, 2 layers, 4 heads of 8, 2 kv heads, vocab 64 (tinyLlamaConfig's defaults).
const config = tinyLlamaConfig({ contextLength: 64, tiedEmbeddings: true });
const kernel = new Kernel(createReferenceBackend());

function loadedWeights(modelConfig: LlamaConfig, seed: number): LoadedWeights {
  return assembleLoadedWeights({
    config: modelConfig,
    tensors: randomLlamaTensors(modelConfig, seed),
    source: { format: "random", path: "(tiny random)", files: [] },
    metadata: new Map(),
  });
}

const model = LlamaModel.fromLoadedWeights(loadedWeights(config, 3), kernel);
/** The same weights under another config (only what the checks read differs). */
const withConfig = (overrides: Partial<LlamaConfig>) => new LlamaModel({ ...config, ...overrides }, model.weights, model.frequencies, kernel);

/** "<name>: <message>" of what `action` throws; fails the test when it throws nothing. */
function thrown(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  throw new Error("expected an error");
}

const ids = (length: number, seed: number) => Int32Array.from({ length }, (_, index) => (index * 13 + seed * 5 + 1) % config.vocabSize);
const rowsOf = (count: number, seed: number) => Float32Array.from({ length: count * config.hiddenSize }, (_, index) => Math.sin(index * 0.37 + seed));

/** Logits of the last token of `tokens` through the dense path, from an empty cache. */
function denseLast(tokens: Int32Array, embeddingSpans?: Array<{ start: number; embeddings: Float32Array }>): number[] {
  return Array.from(model.forward(tokens, model.createCache(), { embeddingSpans }).data as Float32Array);
}

describe("LlamaModel.forward refuses bad input before touching the cache", () => {
  it("no tokens", () => {
    const cache = model.createCache();
    expect(thrown(() => model.forward(new Int32Array(0), cache))).toBe("RangeError: LlamaModel.forward: no tokens");
    expect(cache.length).toBe(0);
  });

  it("a token id below 0 or at vocabSize, anywhere in the chunk; 0 and vocabSize − 1 pass", () => {
    const cache = model.createCache();
    expect(thrown(() => model.forward(Int32Array.of(5, -1, 7), cache))).toBe("RangeError: LlamaModel.forward: token id -1 is outside the vocabulary 0..63");
    expect(thrown(() => model.forward(Int32Array.of(64), cache))).toBe("RangeError: LlamaModel.forward: token id 64 is outside the vocabulary 0..63");
    expect(thrown(() => model.forward(Int32Array.of(3, 2147483647), cache))).toBe("RangeError: LlamaModel.forward: token id 2147483647 is outside the vocabulary 0..63");
    expect(cache.length).toBe(0);
    const logits = model.forward(Int32Array.of(0, 63), cache);
    expect(logits.shape).toEqual([1, 64]);
    expect(cache.length).toBe(2);
  });

  it("an embedding span that is not whole rows, named as forward's", () => {
    const cache = model.createCache();
    const spans = [{ start: 1, embeddings: new Float32Array(40) }];
    expect(thrown(() => model.forward(ids(3, 1), cache, { embeddingSpans: spans }))).toBe(
      "RangeError: LlamaModel.forward: an embedding span at position 1 must hold whole rows of 32 floats, got 40",
    );
    expect(cache.length).toBe(0);
  });
});

describe("LlamaModel.forwardBatch refuses bad batches with the whole message, before running any entry", () => {
  it("a paged cache shaped for another model: layers, kv heads or head size", () => {
    const expectRefused = (overrides: Partial<LlamaConfig>, message: string) => {
      const cache = withConfig(overrides).createPagedCache({ blockCount: 4, blockSize: 4 });
      const sequence = cache.createSequence();
      cache.reserve(sequence, 1);
      expect(thrown(() => model.forwardBatch([{ sequence, tokens: Int32Array.of(1) }], cache))).toBe(`CacheError: LlamaModel.forwardBatch: ${message}`);
      expect(sequence.length).toBe(0);
    };
    expectRefused({ layerCount: 3 }, "the cache holds 3 layers × 2 kv heads × 8, the model needs 2 × 2 × 8");
    expectRefused({ keyValueHeadCount: 1 }, "the cache holds 2 layers × 1 kv heads × 8, the model needs 2 × 2 × 8");
    expectRefused({ keyValueHeadCount: 4 }, "the cache holds 2 layers × 4 kv heads × 8, the model needs 2 × 2 × 8");
    expectRefused({ headDim: 4, rotaryDim: 4 }, "the cache holds 2 layers × 2 kv heads × 4, the model needs 2 × 2 × 8");
  });

  it("an entry without tokens, named by its index and its sequence", () => {
    const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });
    const [first, second] = [cache.createSequence(), cache.createSequence()];
    cache.reserve(first, 2);
    cache.reserve(second, 2);
    expect(thrown(() => model.forwardBatch([{ sequence: first, tokens: Int32Array.of(1, 2) }, { sequence: second, tokens: new Int32Array(0) }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: entry 1 (sequence 1) has no tokens",
    );
    expect(thrown(() => model.forwardBatch([{ sequence: second, tokens: new Int32Array(0) }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: entry 0 (sequence 1) has no tokens",
    );
    expect([first.length, second.length]).toEqual([0, 0]);
  });

  it("a token id below 0 or at vocabSize; 0 and vocabSize − 1 pass", () => {
    const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });
    const [first, second] = [cache.createSequence(), cache.createSequence()];
    cache.reserve(first, 2);
    cache.reserve(second, 2);
    const refused = (tokens: Int32Array) => thrown(() => model.forwardBatch([{ sequence: first, tokens: Int32Array.of(1) }, { sequence: second, tokens }], cache));
    expect(refused(Int32Array.of(4, -1))).toBe("RangeError: LlamaModel.forwardBatch: sequence 1: token id -1 is outside the vocabulary 0..63");
    expect(refused(Int32Array.of(64))).toBe("RangeError: LlamaModel.forwardBatch: sequence 1: token id 64 is outside the vocabulary 0..63");
    expect([first.length, second.length]).toEqual([0, 0]);
    const [a, b] = model.forwardBatch([{ sequence: first, tokens: Int32Array.of(0) }, { sequence: second, tokens: Int32Array.of(63, 0) }], cache);
    expect(Array.from(a!)).toEqual(denseLast(Int32Array.of(0)));
    expect(Array.from(b!)).toEqual(denseLast(Int32Array.of(63, 0)));
  });

  it("an embedding span that is not whole rows, named by its sequence", () => {
    const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });
    const sequence = cache.createSequence();
    cache.reserve(sequence, 3);
    const embeddingSpans = [{ start: 0, embeddings: new Float32Array(33) }];
    expect(thrown(() => model.forwardBatch([{ sequence, tokens: ids(3, 2), embeddingSpans }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: sequence 0: an embedding span at position 0 must hold whole rows of 32 floats, got 33",
    );
    expect(sequence.length).toBe(0);
  });

  it("an entry reaching past the context length (counting what the sequence holds); exactly the context passes", () => {
    const short = withConfig({ contextLength: 10 });
    const cache = short.createPagedCache({ blockCount: 8, blockSize: 4 });
    const [first, second] = [cache.createSequence(), cache.createSequence()];
    cache.reserve(first, 12);
    cache.reserve(second, 12);
    expect(thrown(() => short.forwardBatch([{ sequence: first, tokens: ids(11, 1) }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: sequence 0 would reach 11 positions, past the context of 10",
    );
    expect(first.length).toBe(0);
    short.forwardBatch([{ sequence: first, tokens: ids(6, 1), logits: false }, { sequence: second, tokens: ids(10, 2) }], cache);
    expect([first.length, second.length]).toEqual([6, 10]);
    expect(thrown(() => short.forwardBatch([{ sequence: first, tokens: ids(5, 3) }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: sequence 0 would reach 11 positions, past the context of 10",
    );
    expect(thrown(() => short.forwardBatch([{ sequence: second, tokens: Int32Array.of(1) }], cache))).toBe(
      "RangeError: LlamaModel.forwardBatch: sequence 1 would reach 11 positions, past the context of 10",
    );
    expect([first.length, second.length]).toEqual([6, 10]);
    short.forwardBatch([{ sequence: first, tokens: ids(4, 3), logits: false }], cache);
    expect(first.length).toBe(10);
  });
});

describe("LlamaModel.forwardBatch beyond the equivalence tests", () => {
  it("places the embedding spans of an entry that is not the first of the step at that entry's rows", () => {
    const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });
    const [first, second] = [cache.createSequence(), cache.createSequence()];
    const firstIds = ids(5, 1), secondIds = ids(6, 2);
    const embeddingSpans = [{ start: 2, embeddings: rowsOf(3, 7) }];
    cache.reserve(first, 5);
    cache.reserve(second, 6);
    const [a, b] = model.forwardBatch([{ sequence: first, tokens: firstIds }, { sequence: second, tokens: secondIds, embeddingSpans }], cache);
    expect(Array.from(a!)).toEqual(denseLast(firstIds));
    const withSpans = denseLast(secondIds, embeddingSpans);
    expect(withSpans).not.toEqual(denseLast(secondIds));
    expect(Array.from(b!)).toEqual(withSpans);
  });

  it("a step with more tokens than any before it gets the same logits as the dense forward", () => {
    const cache = model.createPagedCache({ blockCount: 16, blockSize: 4 });
    const sequence = cache.createSequence();
    const tokens = ids(41, 4);
    cache.reserve(sequence, 1);
    model.forwardBatch([{ sequence, tokens: tokens.subarray(0, 1) }], cache);
    cache.reserve(sequence, 40);
    const [last] = model.forwardBatch([{ sequence, tokens: tokens.subarray(1) }], cache);
    expect(Array.from(last!)).toEqual(denseLast(tokens));
  });

  it("a step where no entry wants logits returns null for each and still extends every sequence", () => {
    const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });
    const [first, second] = [cache.createSequence(), cache.createSequence()];
    cache.reserve(first, 3);
    cache.reserve(second, 2);
    expect(model.forwardBatch([{ sequence: first, tokens: ids(3, 1), logits: false }, { sequence: second, tokens: ids(2, 2), logits: false }], cache)).toEqual([null, null]);
    expect([first.length, second.length]).toEqual([3, 2]);
  });
});

describe("llamaWeightBytes and llamaDecodeBytes", () => {
  // f32, hidden 32, intermediate 64, 2 layers, q 32×32, k/v 16×32 (2 kv heads of 8), vocab 64. Per layer: two norms
  // 2·32·4 = 256, q and o 2·4096, k and v 2·2048, gate/up/down 3·8192 → 37 120 bytes; the embedding (and an untied
  // output) 64·32·4 = 8192; the final norm 128.
  const layers = 2 * 37_120;

  it("counts every tensor once, a tied embedding/output matrix once", () => {
    const tied = llamaWeights(loadedWeights(tinyLlamaConfig({ tiedEmbeddings: true }), 1));
    const untied = llamaWeights(loadedWeights(tinyLlamaConfig({ tiedEmbeddings: false }), 1));
    expect(tied.output).toBe(tied.embedding);
    expect(llamaWeightBytes(tied)).toBe(8192 + 128 + layers);
    expect(llamaWeightBytes(untied)).toBe(2 * 8192 + 128 + layers);
  });

  it("a decode step streams the layers and the output matrix, not the embedding", () => {
    const tied = llamaWeights(loadedWeights(tinyLlamaConfig({ tiedEmbeddings: true }), 1));
    const untied = llamaWeights(loadedWeights(tinyLlamaConfig({ tiedEmbeddings: false }), 1));
    expect(llamaDecodeBytes(tied)).toBe(8192 + layers);
    expect(llamaDecodeBytes(untied)).toBe(8192 + layers);
  });

  it("counts the attention biases with their layer, and q8_0 matrices at 34 bytes per 32 weights", () => {
    const biased = llamaWeights(loadedWeights(tinyLlamaConfig({ attentionBias: true }), 1));
    // biases: q 32 + k 16 + v 16 floats = 256 bytes per layer.
    expect(llamaWeightBytes(biased)).toBe(2 * 8192 + 128 + layers + 2 * 256);
    expect(llamaDecodeBytes(biased)).toBe(8192 + layers + 2 * 256);
    const config = tinyLlamaConfig();
    const quantized = llamaWeights(assembleLoadedWeights(
      { config, tensors: randomLlamaTensors(config, 1), source: { format: "random", path: "(tiny random)", files: [] }, metadata: new Map() },
      { dtype: "q8_0" },
    ));
    // A [rows, 32] matrix is rows blocks of 34 bytes: q, o 32 rows; k, v 16; gate, up 64; down 32 rows of 64 (2 blocks).
    const layerBytes = 256 + 34 * (32 + 32 + 16 + 16 + 64 + 64 + 2 * 32);
    const matrix = 34 * 64; // embedding / output [64, 32]
    expect(quantized.layers[0].query.dtype).toBe("q8_0");
    expect(llamaWeightBytes(quantized)).toBe(2 * matrix + 128 + 2 * layerBytes);
    expect(llamaDecodeBytes(quantized)).toBe(matrix + 2 * layerBytes);
  });
});
