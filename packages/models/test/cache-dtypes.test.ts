// A Llama model over caches in every element type (f16, bf16, q8_0, q4_0), on both backends: logits of a prefill and
// the decode steps after it stay within each type's KL budget of the f32 cache; the paged cache (forwardBatch) gives
// what the dense cache gives for the same type; the model's default cache type reaches createCache and
// createPagedCache; a type that cannot serve the head size is refused when the model is built.

import { describe, expect, it } from "vitest";

import { Kernel, cacheDTypes, createKernel, createReferenceBackend, nativeAvailability, storesKeysPerChannel, type CacheDType } from "@infer-recipes/kernel";

import { LlamaModel, assembleLoadedWeights, randomLlamaTensors, tinyLlamaConfig, type LlamaConfig } from "../src/index.ts";

const config = tinyLlamaConfig({
  hiddenSize: 64, intermediateSize: 128, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16, layerCount: 2,
  vocabSize: 96, contextLength: 256, ropeTheta: 500000, tiedEmbeddings: true,
});

function tinyModel(kernel: Kernel, modelConfig: LlamaConfig = config, cacheDType?: CacheDType): LlamaModel {
  const loaded = assembleLoadedWeights({ config: modelConfig, tensors: randomLlamaTensors(modelConfig, 5), source: { format: "random", path: "(tiny random)", files: [] }, metadata: new Map() });
  return LlamaModel.fromLoadedWeights(loaded, kernel, { cacheDType });
}

const ids = Array.from({ length: 40 }, (_, index) => (index * 37 + 11) % config.vocabSize);
const prefill = 32;

/** Logits [ids.length, vocab]: one prefill of `prefill` tokens over a dense cache, then one token at a time. */
function denseLogits(model: LlamaModel, dtype: CacheDType): Float32Array {
  const vocab = config.vocabSize;
  const out = new Float32Array(ids.length * vocab);
  const cache = model.createCache(64, dtype);
  expect(cache.dtype).toBe(dtype);
  out.set(model.forward(Int32Array.from(ids.slice(0, prefill)), cache, { allLogits: true }).data as Float32Array);
  for (let position = prefill; position < ids.length; position++) out.set(model.forward(Int32Array.of(ids[position]), cache).data as Float32Array, position * vocab);
  return out;
}

/** The same through a paged cache of `dtype` (blocks of 8; 32 for q8_0 / q4_0, whose keys are grouped per channel in
 *  32 positions): a prefill chunk, then decode steps; logits of the last prefill token and of every decode step. */
function pagedLogits(model: LlamaModel, dtype: CacheDType): Float32Array[] {
  const cache = model.createPagedCache({ blockCount: 12, blockSize: storesKeysPerChannel(dtype) ? 32 : 8, dtype });
  expect(cache.dtype).toBe(dtype);
  const sequence = cache.createSequence();
  const result: Float32Array[] = [];
  cache.reserve(sequence, prefill);
  result.push(model.forwardBatch([{ tokens: Int32Array.from(ids.slice(0, prefill)), sequence }], cache)[0]!);
  for (let position = prefill; position < ids.length; position++) {
    cache.reserve(sequence, 1);
    result.push(model.forwardBatch([{ tokens: Int32Array.of(ids[position]), sequence }], cache)[0]!);
  }
  return result;
}

/** Mean KL(p ‖ q) of the softmax of each row of two [rows, vocab] logit arrays. */
function meanKl(p: Float32Array, q: Float32Array, vocab: number): number {
  let total = 0;
  const rows = p.length / vocab;
  for (let row = 0; row < rows; row++) {
    const softmax = (logits: Float32Array) => {
      const slice = logits.subarray(row * vocab, (row + 1) * vocab);
      const maximum = Math.max(...slice);
      const exps = Array.from(slice, (value) => Math.exp(value - maximum));
      const sum = exps.reduce((a, b) => a + b, 0);
      return exps.map((value) => value / sum);
    };
    const a = softmax(p), b = softmax(q);
    for (let index = 0; index < vocab; index++) if (a[index] > 0) total += a[index] * Math.log(a[index] / b[index]);
  }
  return total / rows;
}

/** KL budget against the f32 cache for this random tiny model, about 5–30× what each type measures (f16 3e-8, bf16
 *  1.4e-6, q8_0 1.7e-5, q4_0 2.7e-3): a decoding bug (a wrong scale, a wrong nibble order) lands far above. */
const klBudget: Record<CacheDType, number> = { f32: 1e-12, f16: 1e-6, bf16: 1e-5, q8_0: 1e-4, q4_0: 1e-2 };

const kernels: Array<[string, Kernel]> = [["reference", new Kernel(createReferenceBackend())]];
if (nativeAvailability().available) kernels.push(["native", createKernel({ backend: "native", threads: 2 })]);

describe("LlamaModel over caches of every element type", () => {
  for (const [backend, kernel] of kernels) {
    const model = tinyModel(kernel);
    const f32 = denseLogits(model, "f32");
    for (const dtype of cacheDTypes) {
      it(`${backend}, ${dtype} cache: within its KL budget of the f32 cache; paged equals dense`, () => {
        const dense = denseLogits(model, dtype);
        const kl = meanKl(f32, dense, config.vocabSize);
        expect(kl, `mean KL of the ${dtype} cache`).toBeLessThanOrEqual(klBudget[dtype]);
        const paged = pagedLogits(model, dtype);
        const vocab = config.vocabSize;
        paged.forEach((logits, step) => {
          const position = prefill - 1 + step;
          const want = dense.subarray(position * vocab, (position + 1) * vocab);
          if (backend === "reference") expect(Array.from(logits), `position ${position}`).toEqual(Array.from(want));
          else for (let index = 0; index < vocab; index++) expect(Math.abs(logits[index] - want[index]), `position ${position}`).toBeLessThan(1e-4);
        });
      });
    }
  }

  it("uses the model's cache type by default and refuses one the head size cannot take", () => {
    const reference = new Kernel(createReferenceBackend());
    const model = tinyModel(reference, config, "q4_0");
    expect(model.cacheDType).toBe("q4_0");
    expect(model.createCache().dtype).toBe("q4_0");
    expect(model.createPagedCache({ blockCount: 4 }).dtype).toBe("q4_0");
    expect(model.createCache(16, "f16").dtype).toBe("f16");
    const wide = { ...config, hiddenSize: 160, headCount: 2, keyValueHeadCount: 1, headDim: 80, rotaryDim: 80 };
    expect(() => tinyModel(reference, wide, "q8_0")).toThrow(/LlamaModel: a q8_0 KV cache .* 1 kv heads of 80\. Element types that serve it: f32, f16, bf16/);
  });
});
