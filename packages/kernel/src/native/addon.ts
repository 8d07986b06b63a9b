// Loads the compiled Node-API addon (build/Release/kernel.node, or INFER_NATIVE_ADDON) and describes its functions.
// Returns the reason instead of throwing when it cannot be loaded, so the caller can fall back and say why.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type FloatArray = Float32Array;
type Bytes = Float32Array | Uint16Array | Uint8Array;

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
  /** keys/values [capacity, kvHeads, headDim] in the cache element type `dtype` (dtype code; absent: f32). */
  attention(
    out: FloatArray, query: FloatArray, keys: Bytes, values: Bytes,
    tokens: number, heads: number, kvHeads: number, headDim: number, capacity: number,
    startPosition: number, kvLength: number, causal: boolean, scale: number, dtype?: number,
  ): void;
  /** Blocks in the cache element type `dtype` (absent: f32). Absent from addons built before paged attention existed
   *  (the backend then gathers blocks instead). */
  pagedAttention?(
    out: FloatArray, query: FloatArray, keyBlocks: Bytes, valueBlocks: Bytes, blockTable: Int32Array,
    tokens: number, heads: number, kvHeads: number, headDim: number, blockCount: number, blockSize: number,
    startPosition: number, kvLength: number, causal: boolean, scale: number, dtype?: number,
  ): void;
  embedding(out: FloatArray, table: Bytes, dtype: number, ids: Int32Array, dim: number, vocab: number): void;
  quantize(out: Bytes, input: FloatArray, dtype: number, count: number): boolean;
  /** Writes the q8_0 / q4_0 matrix `input` [rows, cols] into `out` in the interleaved layout (native/interleave.h).
   *  Absent from addons built before that layout existed (packWeight then keeps the plain layout). */
  interleave?(out: Bytes, input: Bytes, dtype: number, rows: number, cols: number): void;
  dequantize(out: FloatArray, input: Bytes, dtype: number, count: number): void;
  argmax(input: FloatArray): number;
  /** Reads every byte once over the thread pool; returns a checksum. The benchmark's bandwidth yardstick. */
  streamRead(data: Bytes, fourStreams?: boolean): number;
  setThreads(threads: number): void;
  threads(): number;
  selectIsa(name: "avx512" | "avx2" | "portable"): boolean;
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
