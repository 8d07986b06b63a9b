// The batched forward over a paged cache gives every sequence the logits LlamaModel.forward gives it alone over a
// dense cache: sequences joining and leaving between steps, chunked prefill mixed with decode, prompts that reuse a
// cached prefix, a forked sequence. Bit for bit on the reference backend (same ops in the same order); within a small
// tolerance on the native backend, f32 and Q8_0 weights. Bad batches are refused with the sequence and the numbers.

import { describe, expect, it } from "vitest";

import { Kernel, createKernel, createReferenceBackend, nativeAvailability, type DType } from "@infer-recipes/kernel";

import { LlamaModel, assembleLoadedWeights, randomLlamaTensors, tinyLlamaConfig, type BatchSequence } from "../src/index.ts";

const config = tinyLlamaConfig({
  hiddenSize: 64, intermediateSize: 128, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16, layerCount: 2,
  vocabSize: 96, contextLength: 256, ropeTheta: 500000, tiedEmbeddings: true,
});

function tinyModel(kernel: Kernel, dtype?: DType): LlamaModel {
  const loaded = assembleLoadedWeights(
    { config, tensors: randomLlamaTensors(config, 11), source: { format: "random", path: "(tiny random)", files: [] }, metadata: new Map() },
    { dtype },
  );
  return LlamaModel.fromLoadedWeights(loaded, kernel);
}

const prompt = (length: number, seed: number) => Array.from({ length }, (_, index) => (index * 31 + seed * 7 + 3) % config.vocabSize);

/** Logits of every position of `ids` through the dense path (one forward with allLogits): what each sequence must get. */
function denseLogits(model: LlamaModel, ids: number[]): Float32Array[] {
  const cache = model.createCache();
  const logits = model.forward(Int32Array.from(ids), cache, { allLogits: true }).data as Float32Array;
  return ids.map((_, index) => logits.slice(index * config.vocabSize, (index + 1) * config.vocabSize));
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let largest = 0;
  for (let index = 0; index < a.length; index++) largest = Math.max(largest, Math.abs(a[index] - b[index]));
  return largest;
}

const kernels: Array<[string, Kernel]> = [["reference", new Kernel(createReferenceBackend())]];
if (nativeAvailability().available) kernels.push(["native", createKernel({ backend: "native", threads: 2 })]);

describe("forwardBatch equals forward, sequence by sequence", () => {
  for (const [backend, kernel] of kernels) {
    for (const dtype of backend === "native" ? (["f32", "q8_0"] as const) : (["f32"] as const)) {
      it(`${backend}, ${dtype} weights: joins, leaves, chunked prefill, prefix reuse`, () => {
        const model = tinyModel(kernel, dtype === "f32" ? undefined : dtype);
        const cache = model.createPagedCache({ blockCount: 40, blockSize: 8 });
        const texts = [prompt(37, 1), prompt(5, 2), prompt(20, 3), [...prompt(37, 1).slice(0, 24), ...prompt(6, 4)]];
        const expected = texts.map((ids) => denseLogits(model, ids));
        const sequences = texts.map(() => cache.createSequence());
        const done = texts.map(() => 0); // tokens of each text already run
        const reused = texts.map(() => 0); // tokens of each text found in the prefix cache
        const compare = (text: number, logits: Float32Array | null) => {
          expect(logits).not.toBeNull();
          const want = expected[text][done[text] - 1];
          if (backend === "reference") expect(Array.from(logits!)).toEqual(Array.from(want));
          else expect(maxDifference(logits!, want)).toBeLessThan(dtype === "f32" ? 1e-4 : 5e-2);
        };
        // Each step: [text, tokens to run]; a text starts when first named and runs chunks or single tokens.
        const steps: Array<Array<[number, number]>> = [
          [[0, 16], [1, 5]],           // text 0 chunk 1 (no logits), text 1 whole prompt
          [[0, 16], [2, 3]],           // text 0 chunk 2, text 2 starts (text 1 has left)
          [[0, 5], [2, 17]],           // text 0 last chunk, text 2 rest
          [[3, 0]],                    // text 3 reuses text 0's cached prefix (0 = the rest in one step)
        ];
        for (const step of steps) {
          const batch: BatchSequence[] = [];
          const names: number[] = [];
          for (const [text, requested] of step) {
            const sequence = sequences[text];
            if (done[text] === 0) done[text] = reused[text] = cache.matchPrefix(sequence, texts[text]);
            const count = requested === 0 ? texts[text].length - done[text] : requested;
            expect(cache.reserve(sequence, count)).toBe(true);
            const tokens = Int32Array.from(texts[text].slice(done[text], done[text] + count));
            done[text] += count;
            batch.push({ tokens, sequence, logits: done[text] === texts[text].length });
            names.push(text);
          }
          const logits = model.forwardBatch(batch, cache);
          names.forEach((text, index) => {
            if (batch[index].logits) compare(text, logits[index]);
            else expect(logits[index]).toBeNull();
          });
        }
        expect(reused).toEqual([0, 0, 0, 24]); // text 3 shares 3 full blocks of 8 with text 0
        expect(sequences[3].length).toBe(texts[3].length);
        expect(done[3]).toBe(texts[3].length);
        cache.free(sequences[1]);
        // Decode: feed the same continuation to texts 0, 2 and 3 together, plus a fork of text 2 that diverges.
        const fork = cache.fork(sequences[2]);
        const continuation = [5, 9, 14, 2];
        const grown = [0, 2, 3].map((text) => [...texts[text], ...continuation]);
        const forkIds = [...texts[2], 40, 41, 42, 43];
        const wanted = [...grown.map((ids) => denseLogits(model, ids)), denseLogits(model, forkIds)];
        const members = [sequences[0], sequences[2], sequences[3], fork];
        for (let step = 0; step < continuation.length; step++) {
          const batch = members.map((sequence, index) => {
            expect(cache.reserve(sequence, 1)).toBe(true);
            return { sequence, tokens: Int32Array.of(index === 3 ? forkIds[texts[2].length + step] : continuation[step]) };
          });
          const logits = model.forwardBatch(batch, cache);
          members.forEach((sequence, index) => {
            const want = wanted[index][sequence.length - 1];
            if (backend === "reference") expect(Array.from(logits[index]!)).toEqual(Array.from(want));
            else expect(maxDifference(logits[index]!, want)).toBeLessThan(dtype === "f32" ? 1e-4 : 5e-2);
          });
        }
        for (const sequence of members) cache.free(sequence);
        cache.pool.checkInvariants();
        expect(cache.pool.usedBlocks).toBe(0);
      });
    }
  }
});

describe("forwardBatch with allLogits (a speculative verify over a paged cache)", () => {
  for (const [backend, kernel] of kernels) {
    it(`${backend}: every token's logits of that entry, bit for bit as the dense forward, beside last-only entries`, () => {
      const model = tinyModel(kernel);
      const cache = model.createPagedCache({ blockCount: 20, blockSize: 4 });
      const verified = prompt(11, 5), other = prompt(7, 6);
      const [first, second] = [cache.createSequence(), cache.createSequence()];
      cache.reserve(first, 6);
      cache.reserve(second, 7);
      model.forwardBatch([{ sequence: first, tokens: Int32Array.from(verified.slice(0, 6)), logits: false }, { sequence: second, tokens: Int32Array.from(other) }], cache);
      // Five more tokens of `verified` with all their logits, and one more token of `other` with its last logits only.
      cache.reserve(first, 5);
      cache.reserve(second, 1);
      const [all, last] = model.forwardBatch([
        { sequence: first, tokens: Int32Array.from(verified.slice(6)), allLogits: true },
        { sequence: second, tokens: Int32Array.of(3) },
      ], cache);
      const expected = denseLogits(model, verified).slice(6);
      expect(all!.length).toBe(5 * config.vocabSize);
      expected.forEach((want, row) => expect(Array.from(all!.subarray(row * config.vocabSize, (row + 1) * config.vocabSize))).toEqual(Array.from(want)));
      expect(Array.from(last!)).toEqual(Array.from(denseLogits(model, [...other, 3])[7]));
    });
  }
});

describe("forwardBatch refuses bad batches", () => {
  const model = tinyModel(new Kernel(createReferenceBackend()));
  const cache = model.createPagedCache({ blockCount: 8, blockSize: 4 });

  it("names the sequence and the numbers", () => {
    const sequence = cache.createSequence();
    expect(() => model.forwardBatch([{ sequence, tokens: Int32Array.of(1, 2) }], cache)).toThrow(/sequence 0 needs 2 positions but has 0 reserved/);
    cache.reserve(sequence, 2);
    expect(() => model.forwardBatch([{ sequence, tokens: Int32Array.of(1, 200) }], cache)).toThrow(/sequence 0: token id 200 is outside the vocabulary 0..95/);
    expect(() => model.forwardBatch([{ sequence, tokens: Int32Array.of(1) }, { sequence, tokens: Int32Array.of(2) }], cache)).toThrow(/sequence 0 appears twice/);
    expect(() => model.forwardBatch([], cache)).toThrow(/empty batch/);
    const other = new LlamaModel({ ...config, layerCount: 1 }, model.weights, model.frequencies, model.kernel);
    expect(() => other.forwardBatch([{ sequence, tokens: Int32Array.of(1) }], cache)).toThrow(/the cache holds 2 layers/);
  });
});
