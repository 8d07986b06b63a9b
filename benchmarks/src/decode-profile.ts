// `pnpm bench decode-profile`: where a decode token's time goes in this project's engine, besides the GEMVs. The
// model's kernel is wrapped so every op call adds its wall time to an entry (matmuls per weight dtype and shape, the
// other ops by name); decode steps are timed whole, and what no op accounts for is the engine's own time (JavaScript,
// cache bookkeeping, tensor allocation). Beside the matmul entries: the weight bytes they stream per token and the
// read bandwidth measured in the same run (a plain streaming read through the same thread pool), so each GEMV's share
// can be read against what streaming its bytes costs at best.

import { NativeBackend, createKernel, nativeAvailability, type Kernel } from "@infer-recipes/kernel";
import { summarize } from "@infer-recipes/harness";
import { LlamaModel, loadModelWeights } from "@infer-recipes/models";

import type { Tensor } from "@infer-recipes/kernel";

/** Calls and summed wall time of one op entry. */
export interface OpTotals {
  calls: number;
  ms: number;
  /** Weight bytes read by the calls (matmul entries; 0 for other ops). */
  weightBytes: number;
}

/** The ops of Kernel a model's forward pass calls, timed by timeKernelOps. */
export const timedOps = ["matmul", "rmsNorm", "layerNorm", "rope", "softmax", "silu", "gelu", "swiglu", "add", "mul", "attention", "pagedAttention", "embedding", "argmax"] as const;

/** The entry a call is counted under: matmuls by weight dtype and shape (each projection, the LM head), the rest by op. */
export function opEntryName(op: string, args: readonly unknown[]): string {
  if (op !== "matmul") return op;
  const weight = args[2] as Tensor;
  return `matmul ${weight.dtype} ${weight.shape[0]}×${weight.shape[1]}`;
}

/**
 * Wraps `kernel`'s ops (on the instance) so that each call adds its wall time, and for matmuls its weight bytes, to
 * `totals` under opEntryName; returns a function that puts the original methods back.
 */
export function timeKernelOps(kernel: Kernel, totals: Map<string, OpTotals>): () => void {
  const target = kernel as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  for (const op of timedOps) {
    const original = target[op];
    if (typeof original !== "function") continue;
    originals.set(op, original);
    target[op] = function timed(this: unknown, ...args: unknown[]) {
      const start = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const name = opEntryName(op, args);
        const entry = totals.get(name) ?? { calls: 0, ms: 0, weightBytes: 0 };
        entry.calls++;
        entry.ms += performance.now() - start;
        if (op === "matmul") entry.weightBytes += (args[2] as Tensor).data.byteLength;
        totals.set(name, entry);
      }
    };
  }
  return () => {
    for (const [op, original] of originals) target[op] = original;
  };
}

/** One entry of a profile: per decode token, medians over the repetitions. */
export interface ProfileEntry {
  name: string;
  calls_per_token: number;
  ms_per_token: number;
  /** ms_per_token ÷ the decode token's median time. */
  share: number;
  /** Matmul entries: weight GB streamed per second while in the call; null for other ops. */
  gbps: number | null;
  /** gbps ÷ the read bandwidth measured in the same run. */
  bandwidth_fraction: number | null;
}

export interface DecodeProfile {
  model: string;
  threads: number;
  prompt_tokens: number;
  decode_tokens: number;
  repetitions: number;
  /** Median ms per decode token (wall time of the whole step: forward pass and argmax). */
  token_ms: number;
  token_ms_min: number;
  token_ms_max: number;
  /** Σ of the ops' time per token, and the rest (the engine's own time). */
  ops_ms: number;
  outside_ops_ms: number;
  /** Weight bytes all matmuls stream per token, and what streaming them costs at the measured read bandwidth. */
  weight_bytes_per_token: number;
  read_gbps: number;
  weights_at_read_bandwidth_ms: number;
  /** Entries, largest first; "outside kernel ops" is the time no op accounts for. */
  entries: ProfileEntry[];
  isa: string;
}

export interface DecodeProfileOptions {
  modelPath: string;
  threads: number;
  promptTokens: number;
  decodeTokens: number;
  repetitions: number;
  progress?: (line: string) => void;
}

/** A streaming read of `buffer` through the kernel's pool, in GB/s. */
function readBandwidth(backend: NativeBackend, buffer: Uint8Array): number {
  const start = performance.now();
  backend.streamRead(buffer);
  return buffer.byteLength / 1e9 / ((performance.now() - start) / 1000);
}

/** Profiles decoding `decodeTokens` greedy tokens after a `promptTokens` prompt at `threads` threads. */
export function profileDecode(options: DecodeProfileOptions, streamBuffer: Uint8Array): DecodeProfile {
  const availability = nativeAvailability();
  if (!availability.available) throw new Error(`the decode profile measures the native backend, which is unavailable: ${availability.reason}`);
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const backend = kernel.backend as NativeBackend;
  const model = LlamaModel.fromLoadedWeights(loadModelWeights(options.modelPath, { packFor: kernel }), kernel);
  const cache = model.createCache(options.promptTokens + options.decodeTokens + 8);
  const prompt = Int32Array.from({ length: options.promptTokens }, (_, index) => (index * 7919 + 11) % Math.min(model.config.vocabSize, 100_000));
  const greedy = (tokens: Int32Array) => kernel.argmax(model.forward(tokens, cache));

  const decodeOnce = (totals: Map<string, OpTotals> | null): number[] => {
    cache.clear();
    let token = greedy(prompt);
    const restore = totals ? timeKernelOps(kernel, totals) : () => {};
    const times: number[] = [];
    try {
      for (let step = 0; step < options.decodeTokens; step++) {
        const start = performance.now();
        token = greedy(Int32Array.of(token));
        times.push(performance.now() - start);
      }
    } finally {
      restore();
    }
    return times;
  };

  decodeOnce(null); // warm-up: every weight read once, the pool settled
  const perRepetition: Array<{ tokenMs: number; totals: Map<string, OpTotals> }> = [];
  const reads: number[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    reads.push(readBandwidth(backend, streamBuffer));
    const totals = new Map<string, OpTotals>();
    const times = decodeOnce(totals);
    const tokenMs = times.reduce((sum, value) => sum + value, 0) / times.length;
    perRepetition.push({ tokenMs, totals });
    options.progress?.(`  ${options.threads} thread${options.threads === 1 ? "" : "s"}, run ${repetition + 1}/${options.repetitions}: ${tokenMs.toFixed(2)} ms/token`);
  }
  const tokens = options.decodeTokens;
  const token = summarize(perRepetition.map((run) => run.tokenMs));
  const readGbps = summarize(reads).median;
  const names = [...new Set(perRepetition.flatMap((run) => [...run.totals.keys()]))];
  const entries: ProfileEntry[] = names.map((name) => {
    const ms = summarize(perRepetition.map((run) => (run.totals.get(name)?.ms ?? 0) / tokens)).median;
    const first = perRepetition[0].totals.get(name) ?? { calls: 0, ms: 0, weightBytes: 0 };
    const bytes = first.weightBytes / tokens;
    const gbps = bytes > 0 ? bytes / 1e9 / (ms / 1000) : null;
    return { name, calls_per_token: first.calls / tokens, ms_per_token: ms, share: ms / token.median, gbps, bandwidth_fraction: gbps === null ? null : gbps / readGbps };
  });
  const opsMs = entries.reduce((sum, entry) => sum + entry.ms_per_token, 0);
  const outside = Math.max(0, token.median - opsMs);
  entries.push({ name: "outside kernel ops (engine, JavaScript)", calls_per_token: 0, ms_per_token: outside, share: outside / token.median, gbps: null, bandwidth_fraction: null });
  entries.sort((a, b) => b.ms_per_token - a.ms_per_token);
  const weightBytes = [...perRepetition[0].totals.values()].reduce((sum, entry) => sum + entry.weightBytes, 0) / tokens;
  return {
    model: options.modelPath,
    threads: options.threads,
    prompt_tokens: options.promptTokens,
    decode_tokens: tokens,
    repetitions: options.repetitions,
    token_ms: token.median,
    token_ms_min: token.min,
    token_ms_max: token.max,
    ops_ms: opsMs,
    outside_ops_ms: outside,
    weight_bytes_per_token: weightBytes,
    read_gbps: readGbps,
    weights_at_read_bandwidth_ms: (weightBytes / 1e9 / readGbps) * 1000,
    entries,
    isa: backend.isa,
  };
}
