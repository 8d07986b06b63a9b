// The rows of the peer comparison: per (shape, format, threads) one prefill and one decode row, with the medians
// (and ranges) of both engines' interleaved runs, their ratio, inter-token latency percentiles, memory, and how much
// CPU other processes took during the runs. `--json` prints these objects one per line; peers.json holds them all.

import { interTokenLatencies, median, summarize, summarizeLatencies } from "@infer-recipes/harness";
import type { DType } from "@infer-recipes/kernel";

import type { RunMeasurement } from "./peer-protocol.ts";

export type PeerPhase = "prefill" | "decode";

export interface PeerRow {
  shape: string;
  format: string;
  threads: number;
  phase: PeerPhase;
  /** Prompt tokens (prefill) or decoded tokens (decode) per run. */
  tokens: number;
  ours_tokens_per_s: number;
  peer_tokens_per_s: number;
  /** ours ÷ llama.cpp: above 1 means this project is faster. */
  ratio: number;
  ours_tokens_per_s_min: number;
  ours_tokens_per_s_max: number;
  peer_tokens_per_s_min: number;
  peer_tokens_per_s_max: number;
  /** Inter-token latency percentiles over all measured decode runs (null for prefill rows). */
  ours_inter_token_ms: { p50: number; p95: number; p99: number } | null;
  peer_inter_token_ms: { p50: number; p95: number; p99: number } | null;
  /** Peak resident set of each engine's process over its runs of this file (llama.cpp's includes its mmap). */
  ours_peak_memory_bytes: number;
  peer_peak_memory_bytes: number;
  /** Resident set of each engine's process right after loading the file. */
  ours_resident_after_load_bytes: number;
  peer_resident_after_load_bytes: number;
  file_bytes: number;
  /** Median share of all CPU time that other processes took during the measured runs of this row (0..1). */
  others_cpu_share: number;
  /** llama-bench's figure for this row on this machine kind (BASELINES.md; pp512 / tg128 only), or null. */
  llama_bench_tokens_per_s: number | null;
  /** dtype of the output matrix — the tied token_embd/output of Llama 3.2 (q6_k in Q4_0 files). */
  embedding_dtype: DType;
  repetitions: number;
  peer: "llama.cpp";
}

export interface PeerCase {
  shape: string;
  format: string;
  threads: number;
  fileBytes: number;
  embeddingDType: DType;
}

/** Resident-set figures of each engine's worker process. */
export interface EngineMemory {
  ours: { peakBytes: number; afterLoadBytes: number };
  peer: { peakBytes: number; afterLoadBytes: number };
}

/** A worker's run as the benchmark saw it: the measurement, and the share of CPU time others took meanwhile. */
export interface MeasuredRun extends RunMeasurement {
  othersCpuShare: number;
}

function tokensPerSecond(runs: readonly RunMeasurement[], phase: PeerPhase): number[] {
  return runs.map((run) => (phase === "prefill" ? run.prefillTokens / run.prefillMs : run.decodeTokens / run.decodeMs) * 1000);
}

function latencyPercentiles(runs: readonly RunMeasurement[]): { p50: number; p95: number; p99: number } {
  const gaps = runs.flatMap((run) => interTokenLatencies([0, ...run.tokenArrivalMs]));
  const { p50, p95, p99 } = summarizeLatencies(gaps);
  return { p50, p95, p99 };
}

/** The prefill and decode rows of one case from both engines' measured runs (warm-ups left out). */
export function peerRows(
  peerCase: PeerCase,
  ours: readonly MeasuredRun[],
  peer: readonly MeasuredRun[],
  memory: EngineMemory,
  llamaBench: (phase: PeerPhase) => number | null = () => null,
): PeerRow[] {
  if (ours.length === 0 || ours.length !== peer.length) throw new RangeError(`peerRows: need the same number (≥ 1) of runs per engine, got ${ours.length} and ${peer.length}`);
  return (["prefill", "decode"] as const).map((phase) => {
    const oursSummary = summarize(tokensPerSecond(ours, phase));
    const peerSummary = summarize(tokensPerSecond(peer, phase));
    return {
      shape: peerCase.shape,
      format: peerCase.format,
      threads: peerCase.threads,
      phase,
      tokens: phase === "prefill" ? ours[0].prefillTokens : ours[0].decodeTokens,
      ours_tokens_per_s: oursSummary.median,
      peer_tokens_per_s: peerSummary.median,
      ratio: oursSummary.median / peerSummary.median,
      ours_tokens_per_s_min: oursSummary.min,
      ours_tokens_per_s_max: oursSummary.max,
      peer_tokens_per_s_min: peerSummary.min,
      peer_tokens_per_s_max: peerSummary.max,
      ours_inter_token_ms: phase === "decode" ? latencyPercentiles(ours) : null,
      peer_inter_token_ms: phase === "decode" ? latencyPercentiles(peer) : null,
      ours_peak_memory_bytes: memory.ours.peakBytes,
      peer_peak_memory_bytes: memory.peer.peakBytes,
      ours_resident_after_load_bytes: memory.ours.afterLoadBytes,
      peer_resident_after_load_bytes: memory.peer.afterLoadBytes,
      file_bytes: peerCase.fileBytes,
      others_cpu_share: median([...ours, ...peer].map((run) => run.othersCpuShare)),
      llama_bench_tokens_per_s: llamaBench(phase),
      embedding_dtype: peerCase.embeddingDType,
      repetitions: ours.length,
      peer: "llama.cpp",
    };
  });
}
