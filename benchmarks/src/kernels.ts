// The kernel benchmark: native matrix-vector (decode) and matrix-matrix (prefill) products at Llama 3.2 1B/3B
// shapes for each weight format and thread count, next to the machine's streaming read bandwidth measured in the
// same run. GEMV rotates through copies of the weights totalling several times the last-level cache, so every call
// streams its weights from RAM exactly as a decode step does. GEMM is compared with the machine's arithmetic peak
// (independent f32 FMA and bf16 dot-product chains, one task pinned to each thread of the same pool, at least 100 ms
// each), measured interleaved with each case.

import { NativeBackend, Tensor, createKernel, type ComputePeak, type DType, type Kernel } from "@infer-recipes/kernel";

import { lastLevelCacheBytes } from "@infer-recipes/harness";
import { copiesOf, randomActivations, randomWeights } from "@infer-recipes/models";
import { summarize } from "@infer-recipes/harness";

export interface KernelCase {
  op: "gemv" | "gemm";
  /** The weight format as stored in files (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k). */
  format: DType;
  /** "packed": the weights go through Kernel.packWeight first, as models do (q8_0 / q4_0 become the interleaved
   *  q8_0x16 / q4_0x16 on AVX-512). "rows": the plain row layout, kept as a side-by-side comparison. */
  layout: "packed" | "rows";
  rows: number;
  cols: number;
  tokens: number;
  threads: number;
}

export interface KernelResult extends KernelCase {
  /** Median milliseconds per call, with the spread over the measured repetitions. */
  ms: number;
  ms_min: number;
  ms_max: number;
  /** Weight bytes streamed per second (GB = 1e9 bytes). */
  gbps: number;
  /** 2·rows·cols·tokens operations per second, in 1e9. */
  gops: number;
  /** Plain sequential streaming read at the same thread count, measured interleaved with this case. */
  stream_gbps: number;
  /** gbps ÷ stream_gbps: how close a memory-bound call comes to the machine's plain read bandwidth. */
  bandwidth_fraction: number;
  /** The same read from four streams side by side (as a 4-row GEMV tile reads): often the higher of the two. */
  stream4_gbps: number;
  /** gbps ÷ stream4_gbps. */
  bandwidth_fraction_four_streams: number;
  weight_bytes: number;
  working_set_bytes: number;
  isa: string;
  /** The dtype the kernel computed on: the format, or its interleaved layout (q8_0x16, q4_0x16) when packed. */
  weight_dtype: DType;
  /** GEMM only: the f32 FMA peak at the same thread count (an FMA lane counts 2 operations), in 1e9 operations per
   *  second, summed over the threads (each ran its own pinned task at the same time): the highest of the measurements
   *  interleaved with this case; null for GEMV or without AVX2 + FMA. */
  fma_peak_gops: number | null;
  /** That measurement's figure per pool thread (thread 0 is the calling thread). */
  fma_peak_per_thread_gops: number[] | null;
  /** gops ÷ fma_peak_gops: how close a compute-bound call comes to the FMA peak. */
  fma_peak_fraction: number | null;
  /** GEMM only: the vdpbf16ps peak (a lane counts 4 operations: two products, two sums), summed over the threads as
   *  the FMA peak is; null without AVX512_BF16. */
  bf16_peak_gops: number | null;
  /** That measurement's figure per pool thread. */
  bf16_peak_per_thread_gops: number[] | null;
  /** bf16 GEMM only: gops ÷ bf16_peak_gops, the fraction of the peak of the instruction the bf16 GEMM runs on. */
  bf16_peak_fraction: number | null;
}

export interface KernelBenchmarkOptions {
  quick: boolean;
  /** Only these formats (default: every format of the run). */
  formats?: readonly DType[];
  /** Only these thread counts (default: 1 and 2). */
  threads?: readonly number[];
  /** Called with a one-line status before each case. */
  progress?: (message: string) => void;
}

/** [rows, cols] of a weight: [8192, 2048] is the 1B gate/up projection, [2048, 8192] its down projection. */
const LLAMA_SHAPES: readonly [number, number][] = [
  [2048, 8192],
  [8192, 2048],
  [3072, 8192],
  [8192, 3072],
];
const LM_HEAD: [number, number] = [128256, 2048];

/** The cases of the full run (or the quick subset): every shape × format × thread count. */
export function kernelCases(quick: boolean): KernelCase[] {
  const cases: KernelCase[] = [];
  const threadCounts = [1, 2];
  const layout = "packed";
  // The targets (q8_0 / q4_0 GEMV at 2 threads, GEMM with 512 tokens) also in the plain row layout, measured
  // in the same run, to show what packing gains.
  const rowLayoutComparison = () => {
    for (const format of ["q8_0", "q4_0"] as const) {
      for (const [rows, cols] of [[2048, 8192], [8192, 2048]] as const) cases.push({ op: "gemv", format, layout: "rows", rows, cols, tokens: 1, threads: 2 });
      cases.push({ op: "gemm", format, layout: "rows", rows: 2048, cols: 8192, tokens: 512, threads: 2 });
    }
  };
  if (quick) {
    for (const threads of threadCounts)
      for (const format of ["q8_0", "q4_0"] as const)
        for (const [rows, cols] of [[2048, 8192], [8192, 2048]] as const) cases.push({ op: "gemv", format, layout, rows, cols, tokens: 1, threads });
    for (const format of ["q8_0", "q4_0"] as const) cases.push({ op: "gemm", format, layout, rows: 2048, cols: 8192, tokens: 512, threads: 2 });
    rowLayoutComparison();
    return cases;
  }
  const formats: DType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];
  for (const threads of threadCounts)
    for (const format of formats) {
      for (const [rows, cols] of LLAMA_SHAPES) cases.push({ op: "gemv", format, layout, rows, cols, tokens: 1, threads });
      cases.push({ op: "gemv", format, layout, rows: LM_HEAD[0], cols: LM_HEAD[1], tokens: 1, threads });
    }
  for (const threads of threadCounts)
    for (const format of formats)
      for (const tokens of [128, 512])
        for (const [rows, cols] of [[2048, 8192], [8192, 2048]] as const) cases.push({ op: "gemm", format, layout, rows, cols, tokens, threads });
  rowLayoutComparison();
  return cases;
}

function nativeKernel(threads: number): { kernel: Kernel; backend: NativeBackend } {
  const kernel = createKernel({ backend: "native", threads });
  return { kernel, backend: kernel.backend as NativeBackend };
}

/** One streaming read of `buffer`, in GB/s. */
function streamOnce(backend: NativeBackend, buffer: Uint8Array, fourStreams: boolean): number {
  const start = process.hrtime.bigint();
  backend.streamRead(buffer, fourStreams);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return buffer.byteLength / 1e9 / seconds;
}

/** Each pool thread's own run of the peak probe, at least this long: long enough for clock ramps and a scheduler
 *  tick not to matter. */
const peakMilliseconds = 100;

/** One measurement of the `kind` peak over the backend's thread pool (every thread its own pinned task). */
function peakOnce(backend: NativeBackend, kind: "fma" | "bf16"): ComputePeak | null {
  return backend.computePeak(kind, peakMilliseconds) ?? null;
}

/** The highest of the measured peaks (by the threads' summed rate): a busy machine only ever lowers a peak, so the
 *  best run is the closest. Its total and per-thread figures in 1e9 operations per second. */
function highestPeak(peaks: readonly (ComputePeak | null)[]): { total: number; perThread: number[] } | null {
  const present = peaks.filter((peak): peak is ComputePeak => peak !== null);
  if (present.length === 0) return null;
  const best = present.reduce((highest, peak) => (peak.operationsPerSecond > highest.operationsPerSecond ? peak : highest));
  return { total: best.operationsPerSecond / 1e9, perThread: best.threads.map((run) => run.operations / run.seconds / 1e9) };
}

function gemvRepetitions(quick: boolean): number {
  return quick ? 5 : 7;
}

/** Runs one case: GEMV cycles through weight copies larger than the caches; GEMM reuses one copy (compute-bound). */
export function runKernelCase(kase: KernelCase, streamBuffer: Uint8Array, quick: boolean): KernelResult {
  const { kernel, backend } = nativeKernel(kase.threads);
  const loaded = randomWeights(kase.format, kase.rows, kase.cols);
  const weight = kase.layout === "packed" ? kernel.packWeight(loaded) : loaded;
  const weightBytes = weight.data.byteLength;
  const cache = lastLevelCacheBytes() ?? 32 * 1024 ** 2;
  const workingSetTarget = kase.op === "gemv" ? Math.max(512 * 1024 ** 2, 4 * cache) : weightBytes;
  const copies = copiesOf(weight, Math.max(1, Math.ceil(workingSetTarget / weightBytes)));
  const input = randomActivations(kase.tokens, kase.cols);
  const out = Tensor.zeros("f32", [kase.tokens, kase.rows]);

  const callsPerRepetition = kase.op === "gemv" ? Math.max(copies.length, 8) : 1;
  const run = () => {
    const start = process.hrtime.bigint();
    for (let call = 0; call < callsPerRepetition; call++) backend.matmul(out, input, copies[call % copies.length]);
    return Number(process.hrtime.bigint() - start) / 1e6 / callsPerRepetition;
  };
  run(); // warm-up: page in the copies, settle the thread pool
  const repetitions = kase.op === "gemv" ? gemvRepetitions(quick) : quick ? 3 : 5;
  const times: number[] = [];
  const streams: number[] = [];
  const fourStreams: number[] = [];
  const fmaPeaks: (ComputePeak | null)[] = [];
  const bf16Peaks: (ComputePeak | null)[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    streams.push(streamOnce(backend, streamBuffer, false));
    if (kase.op === "gemm") fmaPeaks.push(peakOnce(backend, "fma"));
    times.push(run());
    fourStreams.push(streamOnce(backend, streamBuffer, true));
    if (kase.op === "gemm") bf16Peaks.push(peakOnce(backend, "bf16"));
  }
  const time = summarize(times);
  const stream = summarize(streams).median;
  const stream4 = summarize(fourStreams).median;
  const seconds = time.median / 1000;
  const gbps = weightBytes / 1e9 / seconds;
  const gops = (2 * kase.rows * kase.cols * kase.tokens) / 1e9 / seconds;
  const fmaPeak = highestPeak(fmaPeaks);
  const bf16Peak = highestPeak(bf16Peaks);
  return {
    ...kase,
    ms: time.median,
    ms_min: time.min,
    ms_max: time.max,
    gbps,
    gops,
    stream_gbps: stream,
    bandwidth_fraction: gbps / stream,
    stream4_gbps: stream4,
    bandwidth_fraction_four_streams: gbps / stream4,
    weight_bytes: weightBytes,
    working_set_bytes: weightBytes * copies.length,
    isa: backend.isa,
    weight_dtype: weight.dtype,
    fma_peak_gops: fmaPeak?.total ?? null,
    fma_peak_per_thread_gops: fmaPeak?.perThread ?? null,
    fma_peak_fraction: fmaPeak === null ? null : gops / fmaPeak.total,
    bf16_peak_gops: bf16Peak?.total ?? null,
    bf16_peak_per_thread_gops: bf16Peak?.perThread ?? null,
    bf16_peak_fraction: bf16Peak === null || kase.format !== "bf16" ? null : gops / bf16Peak.total,
  };
}

/** Runs every case in order, yielding each result as soon as it is measured. */
export function* runKernelBenchmark(options: KernelBenchmarkOptions): Generator<KernelResult> {
  // The yardstick: a plain read of 1 GiB (far beyond any cache), through the same thread pool.
  const streamBuffer = new Uint8Array(1024 ** 3);
  for (let offset = 0; offset < streamBuffer.length; offset += 4096) streamBuffer[offset] = offset & 0xff;
  const cases = kernelCases(options.quick).filter(
    (kase) => (options.formats === undefined || options.formats.includes(kase.format)) && (options.threads === undefined || options.threads.includes(kase.threads)),
  );
  for (const [index, kase] of cases.entries()) {
    options.progress?.(`[${index + 1}/${cases.length}] ${kase.op} ${kase.format}${kase.layout === "rows" ? " (row layout)" : ""} ${kase.rows}×${kase.cols} tokens=${kase.tokens} threads=${kase.threads}`);
    yield runKernelCase(kase, streamBuffer, options.quick);
  }
}
