// Small exact models for the generation-loop tests: a toy language model whose next-token logits are a fixed random
// table indexed by the last two tokens (so a test can enumerate its exact distribution), with a KV cache that
// honours truncation; and a scripted drafter that proposes what a test tells it to.

import { DenseKvCache } from "@infer-recipes/cache";
import { Tensor } from "@infer-recipes/kernel";

import { SeededRandom, type CausalLanguageModel, type DraftProposal, type DraftRequest, type Drafter } from "../src/index.ts";

/** Next-token logits from a table over (previous token, token); the "cache" remembers token ids by position. */
export class TableModel implements CausalLanguageModel {
  readonly config: { contextLength: number; vocabSize: number };
  /** Tokens per forward call, in order. */
  readonly forwardCalls: number[] = [];
  private readonly table: Float32Array; // [vocab · vocab, vocab]
  private readonly positions = new WeakMap<DenseKvCache, number[]>();

  constructor(vocabSize: number, seed: number, options: { contextLength?: number; spread?: number } = {}) {
    this.config = { contextLength: options.contextLength ?? 64, vocabSize };
    const random = new SeededRandom(seed);
    const spread = options.spread ?? 2;
    this.table = Float32Array.from({ length: vocabSize ** 3 }, () => (random.next() * 2 - 1) * spread);
  }

  createCache(maxTokens = this.config.contextLength): DenseKvCache {
    return new DenseKvCache({ layerCount: 1, keyValueHeadCount: 1, headDim: 1, maxTokens: Math.min(maxTokens, this.config.contextLength) });
  }

  /** The logits [vocab] after `previous` then `token`. */
  logitsAfter(previous: number, token: number): Float32Array {
    const vocab = this.config.vocabSize;
    const row = (previous * vocab + token) * vocab;
    return this.table.slice(row, row + vocab);
  }

  forward(tokens: Int32Array, cache: DenseKvCache, options: { allLogits?: boolean } = {}): Tensor {
    this.forwardCalls.push(tokens.length);
    let ids = this.positions.get(cache);
    if (!ids) this.positions.set(cache, (ids = []));
    ids.length = cache.length; // positions past the cache's length were rolled back
    cache.reserve(cache.length + tokens.length);
    const vocab = this.config.vocabSize;
    const rows: Float32Array[] = [];
    for (const token of tokens) {
      rows.push(this.logitsAfter(ids.at(-1) ?? 0, token));
      ids.push(token);
    }
    cache.length += tokens.length;
    const kept = options.allLogits ? rows : rows.slice(-1);
    const data = new Float32Array(kept.length * vocab);
    kept.forEach((row, index) => data.set(row, index * vocab));
    return Tensor.fromFloat32([kept.length, vocab], data);
  }
}

/** Proposes `guess(context, index)` for each requested position (a deterministic drafter: point masses). */
export class ScriptedDrafter implements Drafter {
  readonly name = "scripted";
  readonly requests: number[] = [];

  constructor(private readonly guess: (context: readonly number[], index: number) => number | undefined) {}

  propose({ context, count }: DraftRequest): DraftProposal {
    this.requests.push(count);
    const tokens: number[] = [];
    for (let index = 0; index < count; index++) {
      const token = this.guess([...context, ...tokens], index);
      if (token === undefined) break;
      tokens.push(token);
    }
    return { tokens, distributions: null };
  }
}
