// Loads the compiled Node-API addon (build/Release/kernel.node, or INFER_NATIVE_ADDON) and describes its functions.
// Returns the reason instead of throwing when it cannot be loaded, so the caller can fall back and say why.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type FloatArray = Float32Array;
type Bytes = Float32Array | Uint16Array | Uint8Array;

/** Counters of the native thread pool: jobs run, jobs helpers took part in, jobs the caller ran alone while backing
 *  off after a stall, stalls detected (a helper descheduled mid-task), the caller's total wait for helpers, and jobs
 *  run on the caller because the work was too small to share (setMinimumSharedMatmulBytes). */
export interface PoolStatistics {
  /** Jobs (parallel_for calls) run. */
  jobs: number;
  /** Jobs in which at least one helper thread ran a task. */
  sharedJobs: number;
  /** Jobs the caller ran alone while backing off after a stall. */
  soloJobs: number;
  /** Stalls detected: a helper that took a task was descheduled before finishing it. */
  stalls: number;
  /** Total time the caller waited for helpers to finish their tasks. */
  waitMicroseconds: number;
  /** Jobs run on the caller because the work was too small to share (setMinimumSharedMatmulBytes). */
  callerOnlyJobs: number;
}

/** What one pool thread did in a compute peak probe (native/compute_peak.h). */
export interface PeakThreadRun {
  /** The pool thread that ran the task (0 is the calling thread); the task is pinned to it. */
  thread: number;
  /** The OS thread id it ran on (Linux; 0 elsewhere). */
  systemThreadId: number;
  /** The CPU it was on when it finished (-1: unknown). */
  cpu: number;
  /** Arithmetic operations it did (an FMA lane counts 2, a vdpbf16ps lane 4, a vpdpbusd lane 8). */
  operations: number;
  /** Its own run time in seconds, first chain round to last. */
  seconds: number;
  /** The CPU time it got meanwhile, in seconds: less than `seconds` when it was descheduled (-1: unknown). */
  cpuSeconds: number;
}

/** The raw result of the addon's computePeak: each pool thread's run, and the caller's wall time for all of them. */
export interface RawComputePeak {
  wallSeconds: number;
  threads: PeakThreadRun[];
}

/** The addon's kernel tables: "avx512" (with AVX512_BF16 instructions when the CPU has them), "avx512-nobf16"
 *  (AVX-512 without them), "avx2", "portable". */
export type IsaName = "avx512" | "avx512-nobf16" | "avx2" | "portable";

/** The raw addon surface; argument order matches native/addon.cc. */
export interface NativeAddon {
  matmul(out: FloatArray, input: FloatArray, weight: Bytes, dtype: number, tokens: number, rows: number, cols: number): void;
  rmsNorm(out: FloatArray, input: FloatArray, weight: FloatArray, rows: number, dim: number, epsilon: number): void;
  layerNorm(out: FloatArray, input: FloatArray, weight: FloatArray, bias: FloatArray | null, rows: number, dim: number, epsilon: number): void;
  rope(x: FloatArray, positions: Int32Array, frequencies: FloatArray, tokens: number, heads: number, headDim: number, interleaved: boolean): void;
  softmax(out: FloatArray, input: FloatArray, rows: number, n: number): void;
  silu(out: FloatArray, input: FloatArray): void;
  gelu(out: FloatArray, input: FloatArray): void;
  swiglu(out: FloatArray, gate: FloatArray, up: FloatArray): void;
  add(out: FloatArray, a: FloatArray, b: FloatArray): void;
  mul(out: FloatArray, a: FloatArray, b: FloatArray): void;
  /** keys/values [capacity, kvHeads, headDim] in the cache element type `dtype` (dtype code; absent: f32). With
   *  keyResidual [rows, kvHeads, headDim] f32, q8_0 / q4_0 keys are grouped per channel (src/channel-keys.ts). */
  attention(
    out: FloatArray, query: FloatArray, keys: Bytes, values: Bytes,
    tokens: number, heads: number, kvHeads: number, headDim: number, capacity: number,
    startPosition: number, kvLength: number, causal: boolean, scale: number, dtype?: number, keyResidual?: FloatArray,
  ): void;
  /** Blocks in the cache element type `dtype` (absent: f32). Absent from addons built before paged attention existed
   *  (the backend then gathers blocks instead). */
  pagedAttention?(
    out: FloatArray, query: FloatArray, keyBlocks: Bytes, valueBlocks: Bytes, blockTable: Int32Array,
    tokens: number, heads: number, kvHeads: number, headDim: number, blockCount: number, blockSize: number,
    startPosition: number, kvLength: number, causal: boolean, scale: number, dtype?: number, keyResidual?: FloatArray,
  ): void;
  embedding(out: FloatArray, table: Bytes, dtype: number, ids: Int32Array, dim: number, vocab: number): void;
  quantize(out: Bytes, input: FloatArray, dtype: number, count: number): boolean;
  /** Writes the q8_0 / q4_0 matrix `input` [rows, cols] into `out` in the interleaved layout (native/interleave.h).
   *  Absent from addons built before that layout existed (packWeight then keeps the plain layout). */
  interleave?(out: Bytes, input: Bytes, dtype: number, rows: number, cols: number): void;
  dequantize(out: FloatArray, input: Bytes, dtype: number, count: number): void;
  argmax(input: FloatArray): number;
  /** Runs 12 independent chains of one vector instruction (f32 FMA, vdpbf16ps or vpdpbusd) on every pool thread at
   *  once, each thread its own pinned task for at least `milliseconds`; null when the CPU lacks the instruction. The
   *  benchmark's compute yardstick. Absent from older addons. */
  computePeak?(kind: "fma" | "bf16" | "vnni", milliseconds: number): RawComputePeak | null;
  /** Reads every byte once over the thread pool; returns a checksum. The benchmark's bandwidth yardstick. */
  streamRead(data: Bytes, fourStreams?: boolean): number;
  setThreads(threads: number): void;
  /** The thread pool's counters since it was created or resized (native/thread_pool.h). Absent from older addons. */
  poolStatistics?(): PoolStatistics;
  /** A diagnostic job of `tasks` tasks that busy-wait callerMicroseconds on the calling thread and sleep
   *  helperMicroseconds on a helper; returns the thread that ran each task. Tests drive the pool's back-off with it. */
  poolProbe?(tasks: number, callerMicroseconds: number, helperMicroseconds: number): Int32Array;
  /** Matmuls whose weight bytes × tokens fall below this run on the calling thread (default 128 KiB); returns the
   *  previous value. Tests set 0 to drive the threaded paths on small data. Absent from older addons. */
  setMinimumSharedMatmulBytes?(bytes: number): number;
  threads(): number;
  selectIsa(name: IsaName): boolean;
  features(): { avx2: boolean; avx512: boolean; avx512bf16: boolean; isa: string; hardwareThreads: number };
}

export type AddonLoad = { addon: NativeAddon; path: string } | { addon: null; reason: string };

let cached: AddonLoad | undefined;

/** build/Release/kernel.node, or the file INFER_NATIVE_ADDON names (the coverage build: scripts/coverage-native.mjs). */
export function addonPath(): string {
  const override = process.env.INFER_NATIVE_ADDON;
  if (override) return resolve(override);
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "Release", "kernel.node");
}

export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    cached = { addon: null, reason: `${path} does not exist (build it with \`pnpm build\`; it needs a C++ toolchain)` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(path) as NativeAddon, path };
  } catch (error) {
    cached = { addon: null, reason: `${path} failed to load: ${(error as Error).message}` };
  }
  return cached;
}
