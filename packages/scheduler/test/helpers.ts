// Test models for the scheduler: a counting model whose next token is always (last + 1) mod vocab (so every rule is
// visible in the ids) and that records each step's batch; a tiny random Llama on the reference backend (exact
// arithmetic, so a request's greedy output is the same alone or in any batch); a letter decoder.

import { PagedKvCache } from "@infer-recipes/cache";
import type { IncrementalDecoder } from "@infer-recipes/engine";
import { Kernel, createReferenceBackend, type CacheDType } from "@infer-recipes/kernel";
import { LlamaModel, assembleLoadedWeights, randomLlamaTensors, tinyLlamaConfig } from "@infer-recipes/models";

import type { BatchEntry, BatchLanguageModel } from "../src/index.ts";

export class CountingBatchModel implements BatchLanguageModel {
  readonly config: { contextLength: number; vocabSize: number };
  /** Per step: [sequence id, tokens] of every entry. */
  readonly steps: Array<Array<[number, number]>> = [];

  constructor(vocabSize = 26, contextLength = 256) {
    this.config = { contextLength, vocabSize };
  }

  forwardBatch(batch: readonly BatchEntry[], cache: PagedKvCache): Array<Float32Array | null> {
    this.steps.push(batch.map((entry) => [entry.sequence.id, entry.tokens.length]));
    return batch.map(({ tokens, sequence, logits }) => {
      cache.append(sequence, tokens);
      if (logits === false) return null;
      const row = new Float32Array(this.config.vocabSize).fill(-5);
      row[(tokens[tokens.length - 1] + 1) % this.config.vocabSize] = 5;
      return row;
    });
  }
}

export function countingCache(blockCount = 64, blockSize = 4): PagedKvCache {
  return new PagedKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, blockSize, blockCount });
}

/** Token id i is the letter 'a' + i. */
export function letterDecoder(): IncrementalDecoder {
  return { push: (id) => String.fromCharCode(97 + (id % 26)), flush: () => "" };
}

export const tinyConfig = tinyLlamaConfig({ vocabSize: 64, contextLength: 128, eosTokenIds: [2] });

/** tinyConfig with heads of 16 (2 kv heads × 16 = one q8_0/q4_0 block per position): for the quantized caches. */
export const tinyBlockConfig = tinyLlamaConfig({ vocabSize: 64, contextLength: 128, eosTokenIds: [2], hiddenSize: 64, intermediateSize: 96, headDim: 16, rotaryDim: 16 });

/** The tiny random Llama (hidden 32, GQA 4/2 heads, 2 layers; or `config`) on the reference backend, its caches
 *  (dense and paged) in `cacheDType`. */
export function tinyLlama(config = tinyConfig, cacheDType: CacheDType = "f32"): LlamaModel {
  const loaded = assembleLoadedWeights({
    config,
    tensors: randomLlamaTensors(config, 5),
    source: { format: "random", path: "(tiny random)", files: [] },
    metadata: new Map(),
  });
  return LlamaModel.fromLoadedWeights(loaded, new Kernel(createReferenceBackend()), { cacheDType });
}
