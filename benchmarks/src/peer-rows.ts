// The rows of the peer comparison: per (shape, format, threads) one prefill and one decode row, with the medians
// (and ranges) of the engines' interleaved runs (ours, llama.cpp through node-llama-cpp, llama.cpp's own llama-bench;
// the two llama.cpp engines are each optional), ours ÷ each, inter-token latency percentiles, memory, how much CPU
// other processes took during the runs, and how much context ours decoded after (the prompt, or BOS alone for the tiny
// case), and ours' runs one by one with what its thread pool did in each. `--json` prints these objects one per line;
// peers.json holds them all.

import { interTokenLatencies, median, summarize, summarizeLatencies } from "@infer-recipes/harness";
import type { DType } from "@infer-recipes/kernel";

import type { PoolCounters, RunMeasurement } from "./peer-protocol.ts";

export type PeerPhase = "prefill" | "decode";

export interface PeerRow {
  shape: string;
  format: string;
  threads: number;
  phase: PeerPhase;
  /** Prompt tokens (prefill) or decoded tokens (decode) per run. */
  tokens: number;
  /** Decode rows: tokens in ours' context before the first decoded token — the prompt, or 1 (BOS alone) for a case
   *  that decodes from BOS (the tiny model; llama-bench's tg test then starts from an empty context). Prefill: null. */
  decode_after_tokens: number | null;
  ours_tokens_per_s: number;
  ours_tokens_per_s_min: number;
  ours_tokens_per_s_max: number;
  /** llama.cpp through node-llama-cpp (null when that engine was not run). */
  peer_tokens_per_s: number | null;
  peer_tokens_per_s_min: number | null;
  peer_tokens_per_s_max: number | null;
  /** ours ÷ node-llama-cpp: above 1 means this project is faster (null when node-llama-cpp was not run). */
  ratio: number | null;
  /** llama-bench's tokens/s: measured in this run (llama_bench_source "measured"), else BASELINES.md's figure for the
   *  case (pp512 / tg128 only), else null. */
  llama_bench_tokens_per_s: number | null;
  llama_bench_tokens_per_s_min: number | null;
  llama_bench_tokens_per_s_max: number | null;
  llama_bench_source: "measured" | "BASELINES.md" | null;
  /** ours ÷ llama-bench measured in this run (null when llama-bench was not run). */
  ratio_llama_bench: number | null;
  /** Inter-token latency percentiles over all measured decode runs (null for prefill rows and engines not run). */
  ours_inter_token_ms: { p50: number; p95: number; p99: number } | null;
  peer_inter_token_ms: { p50: number; p95: number; p99: number } | null;
  /** Peak resident set of each engine's process over its runs of this file (llama.cpp's includes its mmap). */
  ours_peak_memory_bytes: number;
  peer_peak_memory_bytes: number | null;
  /** Resident set of each engine's process right after loading the file. */
  ours_resident_after_load_bytes: number;
  peer_resident_after_load_bytes: number | null;
  file_bytes: number;
  /** How the file was made (this project's writer, or llama-quantize). */
  made_by: string;
  /** Median share of all CPU time that other processes took during the measured runs of this row (0..1). */
  others_cpu_share: number;
  /** Multi-thread llama-bench runs of this row during which others took ≥ {@link contendedCpuShare} of the CPU:
   *  llama.cpp's spin-waiting threads collapse then, so such a row is not a comparison. null on a row merged from a
   *  part that predates the per-run count (`pnpm bench peers-merge`): its median others' CPU share decides instead. */
  llama_bench_contended_runs: number | null;
  /** dtype of the output matrix — the tied token_embd/output of Llama 3.2 (q6_k in Q4_0 and Q4_K_M files). */
  embedding_dtype: DType;
  repetitions: number;
  /** Ours' measured runs of this row, in the order they ran: the phase's tokens/s, what the native thread pool did over
   *  the phase, and over the whole run the share of CPU others took, the worker's page faults and its involuntary
   *  context switches (null where not reported). Absent on rows of parts that predate it. */
  ours_runs?: OursRun[];
  peer: "llama.cpp";
  /** Merged reports only (`pnpm bench peers-merge`): the part (results directory of one `pnpm bench peers` run,
   *  relative to the merged report) whose run measured this row. */
  measured_in?: string;
}

/** One of ours' measured runs, as a row lists it. */
export interface OursRun {
  tokens_per_s: number;
  /** Over the whole run (prefill and decode). */
  others_cpu_share: number;
  page_faults: number | null;
  involuntary_context_switches: number | null;
  /** Over the row's phase. */
  pool: PoolCounters | null;
}

/** Share of all CPU time other processes may take during a multi-thread llama-bench run before it counts as
 *  contended (its threads wait for each other at every op, so a busy core stalls them all). */
export const contendedCpuShare = 0.15;

export interface PeerCase {
  shape: string;
  format: string;
  threads: number;
  fileBytes: number;
  embeddingDType: DType;
  madeBy: string;
  /** Ours decoded after BOS alone rather than after the prompt (the tiny case). */
  decodeFromBos?: boolean;
}

/** Resident-set figures of each engine's worker process (node-llama-cpp's absent when it was not run). */
export interface EngineMemory {
  ours: { peakBytes: number; afterLoadBytes: number };
  peer?: { peakBytes: number; afterLoadBytes: number };
}

/** The measured runs of each engine for one case (warm-ups left out); the llama.cpp engines that were not run are absent. */
export interface CaseRuns {
  ours: readonly MeasuredRun[];
  peer?: readonly MeasuredRun[];
  llamaBench?: readonly MeasuredRun[];
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

/** The prefill and decode rows of one case from the engines' measured runs (warm-ups left out). `llamaBenchReference`
 *  gives BASELINES.md's figure, used when llama-bench was not run. */
export function peerRows(
  peerCase: PeerCase,
  runs: CaseRuns,
  memory: EngineMemory,
  llamaBenchReference: (phase: PeerPhase) => number | null = () => null,
): PeerRow[] {
  const { ours, peer, llamaBench } = runs;
  for (const [name, other] of [["node-llama-cpp", peer], ["llama-bench", llamaBench]] as const) {
    if (ours.length === 0 || (other !== undefined && other.length !== ours.length)) {
      throw new RangeError(`peerRows: need the same number (≥ 1) of runs per engine, got ${ours.length} (ours) and ${other?.length ?? 0} (${name})`);
    }
  }
  return (["prefill", "decode"] as const).map((phase) => {
    const oursPerSecond = tokensPerSecond(ours, phase);
    const oursSummary = summarize(oursPerSecond);
    const peerSummary = peer ? summarize(tokensPerSecond(peer, phase)) : null;
    const benchSummary = llamaBench ? summarize(tokensPerSecond(llamaBench, phase)) : null;
    const reference = benchSummary ? null : llamaBenchReference(phase);
    return {
      shape: peerCase.shape,
      format: peerCase.format,
      threads: peerCase.threads,
      phase,
      tokens: phase === "prefill" ? ours[0].prefillTokens : ours[0].decodeTokens,
      decode_after_tokens: phase === "prefill" ? null : peerCase.decodeFromBos ? 1 : ours[0].prefillTokens,
      ours_tokens_per_s: oursSummary.median,
      ours_tokens_per_s_min: oursSummary.min,
      ours_tokens_per_s_max: oursSummary.max,
      peer_tokens_per_s: peerSummary?.median ?? null,
      peer_tokens_per_s_min: peerSummary?.min ?? null,
      peer_tokens_per_s_max: peerSummary?.max ?? null,
      ratio: peerSummary ? oursSummary.median / peerSummary.median : null,
      llama_bench_tokens_per_s: benchSummary?.median ?? reference,
      llama_bench_tokens_per_s_min: benchSummary?.min ?? null,
      llama_bench_tokens_per_s_max: benchSummary?.max ?? null,
      llama_bench_source: benchSummary ? "measured" : reference === null ? null : "BASELINES.md",
      ratio_llama_bench: benchSummary ? oursSummary.median / benchSummary.median : null,
      ours_inter_token_ms: phase === "decode" ? latencyPercentiles(ours) : null,
      peer_inter_token_ms: phase === "decode" && peer ? latencyPercentiles(peer) : null,
      ours_peak_memory_bytes: memory.ours.peakBytes,
      peer_peak_memory_bytes: memory.peer?.peakBytes ?? null,
      ours_resident_after_load_bytes: memory.ours.afterLoadBytes,
      peer_resident_after_load_bytes: memory.peer?.afterLoadBytes ?? null,
      file_bytes: peerCase.fileBytes,
      made_by: peerCase.madeBy,
      others_cpu_share: median([...ours, ...(peer ?? []), ...(llamaBench ?? [])].map((run) => run.othersCpuShare)),
      llama_bench_contended_runs: peerCase.threads > 1 ? (llamaBench ?? []).filter((run) => run.othersCpuShare >= contendedCpuShare).length : 0,
      embedding_dtype: peerCase.embeddingDType,
      repetitions: ours.length,
      ours_runs: ours.map((run, index) => ({ tokens_per_s: oursPerSecond[index], others_cpu_share: run.othersCpuShare, page_faults: run.pageFaults ?? null, involuntary_context_switches: run.involuntaryContextSwitches ?? null, pool: run.pool?.[phase] ?? null })),
      peer: "llama.cpp",
    };
  });
}
