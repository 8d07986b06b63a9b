// llama.cpp as the peer of bench.ts: its llama-bench on the same GGUF file, decode after `depth` positions with the
// KV cache in each type llama.cpp offers (-ctk/-ctv: f32, f16, bf16, q8_0, q4_0), flash attention on (llama.cpp needs it
// for a quantized V cache), the same thread count. llama-bench fills the depth with a real prefill, so this is slow
// (minutes per depth): only the depths asked for. The binary is the user's own llama.cpp build (never part of this
// repository); the figure is the median of its per-repetition tokens/s.

import { spawnSync } from "node:child_process";

import { cacheDTypes, type CacheDType } from "@infer-recipes/kernel";

/** One llama-bench measurement. */
export interface PeerFigure {
  depth: number;
  cacheDType: CacheDType;
  /** Median over repetitions of decode tokens/s. */
  tokensPerSecond: number;
  /** "llama.cpp llama-bench (build <commit>): -d … -ctk … -fa 1 -t …". */
  description: string;
}

interface LlamaBenchRecord {
  build_commit: string;
  type_k: string;
  n_depth: number;
  n_gen: number;
  avg_ts: number;
  samples_ts?: number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `llamaBench` once per cache type over all depths; throws with its stderr when it fails. */
export function runLlamaBench(
  llamaBench: string,
  model: string,
  options: { depths: readonly number[]; decodeTokens: number; runs: number; threads: number; cacheTypes?: readonly CacheDType[] },
): PeerFigure[] {
  const figures: PeerFigure[] = [];
  for (const dtype of options.cacheTypes ?? cacheDTypes) {
    const args = ["-m", model, "-t", String(options.threads), "-fa", "1", "-ctk", dtype, "-ctv", dtype, "-d", options.depths.join(","), "-p", "0", "-n", String(options.decodeTokens), "-r", String(options.runs), "-o", "json"];
    process.stderr.write(`  ${llamaBench} ${args.join(" ")}\n`);
    const run = spawnSync(llamaBench, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`llama-bench failed (exit ${run.status}): ${run.error?.message ?? run.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    for (const record of JSON.parse(run.stdout) as LlamaBenchRecord[]) {
      const tokensPerSecond = record.samples_ts && record.samples_ts.length > 0 ? median(record.samples_ts) : record.avg_ts;
      figures.push({
        depth: record.n_depth,
        cacheDType: dtype,
        tokensPerSecond,
        description: `llama.cpp llama-bench (build ${record.build_commit}): ${args.filter((argument) => argument !== model).join(" ").replace("-o json", "").trim()}`,
      });
      process.stderr.write(`  llama.cpp, depth ${record.n_depth}, ${dtype} cache: ${tokensPerSecond.toFixed(2)} tok/s\n`);
    }
  }
  return figures;
}
