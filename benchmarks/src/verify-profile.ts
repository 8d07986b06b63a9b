// `pnpm bench verify-profile`: where a speculative verify pass — one forward over m tokens (the last accepted token
// and m − 1 drafts, logits of every position) — spends the time it takes beyond one decode token. Forwards over 1 and
// m tokens run interleaved after the same context (the cache rolled back after each), every kernel op timed by
// decode-profile.ts's wrapper (matmuls per weight dtype and shape, the other ops by name); per entry the medians at 1
// and at m tokens, their ratio, and its share of the extra time. What no op accounts for is the engine's own time.

import { createKernel, nativeAvailability, type DType } from "@infer-recipes/kernel";
import { summarize } from "@infer-recipes/harness";
import { LlamaModel, llama32Config, loadModelWeights, randomLlamaWeights, type Llama32Size } from "@infer-recipes/models";

import { timeKernelOps, type OpTotals } from "./decode-profile.ts";

/** Which model the profile runs. */
export type VerifyProfileModel =
  | {
      /** A model file (e.g. the peer benchmark's random-weight GGUF, output matrix as llama-quantize types it). */
      path: string;
    }
  | {
      /** Random weights of a Llama 3.2 shape, every matrix in `dtype` (the speculative-decoding recipe's verify model). */
      shape: Llama32Size;
      dtype: DType;
    };

export interface VerifyProfileOptions {
  model: VerifyProfileModel;
  threads: number;
  /** Tokens in the cache before each measured forward. */
  contextTokens: number;
  /** The verify sizes m to compare with one token (each ≥ 2). */
  tokens: readonly number[];
  /** Timed rounds (each runs every size once) after one warm-up round. */
  rounds: number;
  progress?: (line: string) => void;
}

/** One op entry at one token and at m tokens (medians over the rounds, ms per forward). */
export interface VerifyProfileEntry {
  name: string;
  calls: number;
  one_ms: number;
  many_ms: number;
  /** many_ms ÷ one_ms. */
  ratio: number;
  /** many_ms − one_ms. */
  extra_ms: number;
  /** extra_ms ÷ the whole forward's extra time. */
  extra_share: number;
}

/** The comparison of one verify size m with one token. */
export interface VerifySizeProfile {
  tokens: number;
  forward_ms: number;
  one_token_ms: number;
  /** forward_ms ÷ one_token_ms: what the speculative-decoding recipe's verify-cost target bounds (≤ 1.4 at m = 5). */
  ratio: number;
  entries: VerifyProfileEntry[];
}

export interface VerifyProfile {
  model: string;
  threads: number;
  context_tokens: number;
  rounds: number;
  isa: string;
  sizes: VerifySizeProfile[];
}

const OUTSIDE = "outside kernel ops (engine, JavaScript)";

/** Profiles forwards over each size in options.tokens against one token, interleaved, op by op. */
export function profileVerify(options: VerifyProfileOptions): VerifyProfile {
  const availability = nativeAvailability();
  if (!availability.available) throw new Error(`the verify profile measures the native backend, which is unavailable: ${availability.reason}`);
  for (const size of options.tokens) if (!(Number.isInteger(size) && size >= 2)) throw new RangeError(`verify sizes must be integers ≥ 2, got ${size}`);
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const spec = options.model;
  const loaded = "path" in spec ? loadModelWeights(spec.path, { packFor: kernel }) : randomLlamaWeights(llama32Config(spec.shape, { contextLength: 4096 }), spec.dtype, { packFor: kernel });
  const model = LlamaModel.fromLoadedWeights(loaded, kernel);
  const label = "path" in spec ? spec.path : `Llama 3.2 ${spec.shape.toUpperCase()} shape, every matrix ${spec.dtype}, random weights`;
  const sizes = [1, ...options.tokens];
  const cache = model.createCache(options.contextTokens + Math.max(...sizes) + 8);
  const vocabulary = Math.min(model.config.vocabSize, 100_000);
  model.forward(Int32Array.from({ length: options.contextTokens }, (_, index) => (index * 7919 + 13) % vocabulary), cache);

  // Per size: the whole forward's time and the op totals of every timed round.
  const runs = sizes.map(() => [] as Array<{ ms: number; totals: Map<string, OpTotals> }>);
  for (let round = 0; round <= options.rounds; round++) {
    for (const [index, size] of sizes.entries()) {
      const input = Int32Array.from({ length: size }, (_, position) => (position * 31 + round * 17 + 5) % vocabulary);
      const totals = new Map<string, OpTotals>();
      const restore = timeKernelOps(kernel, totals);
      const start = performance.now();
      try {
        model.forward(input, cache, { allLogits: size > 1 });
      } finally {
        restore();
      }
      const ms = performance.now() - start;
      cache.truncate(options.contextTokens);
      if (round > 0) runs[index].push({ ms, totals });
    }
    if (round > 0) options.progress?.(`  round ${round}/${options.rounds}: ${sizes.map((size, index) => `${size} token${size > 1 ? "s" : ""} ${runs[index].at(-1)!.ms.toFixed(1)} ms`).join(", ")}`);
  }

  const median = (values: number[]) => summarize(values).median;
  const entryMs = (index: number, name: string) =>
    median(runs[index].map((run) => (name === OUTSIDE ? Math.max(0, run.ms - [...run.totals.values()].reduce((sum, entry) => sum + entry.ms, 0)) : run.totals.get(name)?.ms ?? 0)));
  const one = median(runs[0].map((run) => run.ms));
  const names = [...new Set(runs.flatMap((list) => list.flatMap((run) => [...run.totals.keys()]))), OUTSIDE];
  return {
    model: label,
    threads: options.threads,
    context_tokens: options.contextTokens,
    rounds: options.rounds,
    isa: (kernel.backend as { isa?: string }).isa ?? kernel.backend.name,
    sizes: sizes.slice(1).map((size, offset) => {
      const index = offset + 1;
      const forward = median(runs[index].map((run) => run.ms));
      const entries = names.map((name): VerifyProfileEntry => {
        const oneMs = entryMs(0, name), manyMs = entryMs(index, name);
        return {
          name,
          calls: runs[index][0].totals.get(name)?.calls ?? 0,
          one_ms: oneMs,
          many_ms: manyMs,
          ratio: oneMs > 0 ? manyMs / oneMs : Number.NaN,
          extra_ms: manyMs - oneMs,
          extra_share: (manyMs - oneMs) / (forward - one),
        };
      });
      entries.sort((a, b) => b.extra_ms - a.extra_ms);
      return { tokens: size, forward_ms: forward, one_token_ms: one, ratio: forward / one, entries };
    }),
  };
}
