// The native backend: every op runs in the C++ addon on the tensors' own memory (no copies), threaded inside the
// addon. The few things without a native version (top-k, encoding q4_k/q6_k) use the reference code; attention reads
// caches of every cache element type natively, dense or paged (over the block table; an f32 paged cache can also
// gather its blocks first).

import type { AttentionOptions, Backend, RopeLayout, TopK } from "../backend.ts";
import { dtypeInfo, interleavedDType } from "../dtype.ts";
import { canInterleave, quantizeTensorInto } from "../formats/index.ts";
import { topK } from "../reference/selection.ts";
import { lastAxis, Tensor } from "../tensor.ts";
import type { IsaName, NativeAddon, PeakThreadRun, PoolStatistics } from "./addon.ts";

/** A compute peak probe over the thread pool (NativeBackend.computePeak). */
export interface ComputePeak {
  /** Each pool thread's run, in thread order: every thread ran its own task. */
  threads: PeakThreadRun[];
  /** Σ over threads of operations ÷ seconds: the rate of all threads running at once (operations per second). */
  operationsPerSecond: number;
  /** All operations over the caller's wall time, which includes waking the helpers (operations per second). */
  wallOperationsPerSecond: number;
  /** The caller's wall time for the whole probe, in seconds. */
  wallSeconds: number;
}
import { PagedGatherScratch } from "./paged-gather.ts";

function floats(tensor: Tensor): Float32Array {
  return tensor.data as Float32Array;
}

/**
 * The C++ backend: every op runs in the Node-API addon on the tensors' own memory, with AVX-512 VNNI, AVX2 or portable
 * kernels chosen at run time (INFER_NATIVE_ISA to force one) and its own thread pool. Made by {@link createKernel}.
 */
export class NativeBackend implements Backend {
  /** Always `"native"`. */
  readonly name = "native" as const;
  private readonly pagedScratch = new PagedGatherScratch();
  /**
   * How paged attention runs: "blocks" walks the block table in the addon (when the addon has it), "gather" copies
   * the sequence's blocks into a contiguous scratch buffer and runs the contiguous kernel (the fallback, kept to
   * measure against).
   */
  pagedAttentionMode: "blocks" | "gather";

  /** @internal Use {@link createKernel}, which loads the addon. */
  constructor(private readonly addon: NativeAddon, threads: number) {
    addon.setThreads(threads);
    this.pagedAttentionMode = addon.pagedAttention ? "blocks" : "gather";
  }

  get threads(): number {
    return this.addon.threads();
  }

  /** Resizes the addon's thread pool. */
  setThreads(threads: number): void {
    this.addon.setThreads(threads);
  }

  /** The instruction set the addon's matmul kernels use ("avx512", "avx512-nobf16", "avx2" or "portable"). */
  get isa(): string {
    return this.addon.features().isa;
  }

  /** Switches the matmul kernels to another instruction set; returns false when this CPU cannot run it. */
  selectIsa(name: IsaName): boolean {
    return this.addon.selectIsa(name);
  }

  /**
   * Reads every byte of `data` once over the thread pool and returns a checksum: the machine's streaming read
   * bandwidth, the yardstick benchmarks compare memory-bound kernels against. `fourStreams` reads four parts side
   * by side, as a GEMV tile reads four weight rows, which keeps more misses in flight than one sequential stream.
   */
  streamRead(data: Uint8Array, fourStreams = false): number {
    return this.addon.streamRead(data, fourStreams);
  }

  /** The native thread pool's counters since it was created or last resized (setThreads), or undefined with an older
   *  addon: how often helpers shared jobs, how often the pool backed off to the calling thread after a stall. */
  poolStatistics(): PoolStatistics | undefined {
    return this.addon.poolStatistics?.();
  }

  /**
   * The arithmetic peak of this machine for one instruction over the thread pool (an FMA lane counts 2 operations, a
   * vdpbf16ps lane 4, a vpdpbusd lane 8): every pool thread runs independent chains of it in a task pinned to that
   * thread for at least `milliseconds`, timed by the thread itself; undefined when the CPU (or an older addon) lacks
   * the instruction. The yardstick benchmarks compare compute-bound kernels against.
   */
  computePeak(kind: "fma" | "bf16" | "vnni", milliseconds = 200): ComputePeak | undefined {
    const raw = this.addon.computePeak?.(kind, milliseconds);
    if (!raw) return undefined;
    const operations = raw.threads.reduce((total, thread) => total + thread.operations, 0);
    return {
      threads: raw.threads,
      operationsPerSecond: raw.threads.reduce((total, thread) => total + thread.operations / thread.seconds, 0),
      wallOperationsPerSecond: operations / raw.wallSeconds,
      wallSeconds: raw.wallSeconds,
    };
  }

  /** On AVX-512, q8_0 / q4_0 / q4_k / q6_k / f32 / f16 / bf16 matrices with a multiple of 16 rows go to the
   *  interleaved layout (interleave.h). */
  packWeight(weight: Tensor, inPlace: boolean): Tensor | undefined {
    const packed = interleavedDType(weight.dtype);
    if (packed === undefined || !this.isa.startsWith("avx512") || !this.addon.interleave || !canInterleave(weight.dtype, weight.shape)) return undefined;
    const [rows, cols] = weight.shape;
    // The same typed array kind as the weight (float layouts keep Float32Array / Uint16Array storage).
    const out = inPlace ? weight.data : weight.data instanceof Float32Array ? new Float32Array(weight.data.length)
      : weight.data instanceof Uint16Array ? new Uint16Array(weight.data.length) : new Uint8Array(weight.data.length);
    this.addon.interleave(out, weight.data, dtypeInfo[weight.dtype].code, rows, cols);
    return new Tensor(packed, weight.shape, out);
  }

  matmul(out: Tensor, input: Tensor, weight: Tensor): void {
    const [tokens, cols] = input.shape;
    this.addon.matmul(floats(out), floats(input), weight.data, dtypeInfo[weight.dtype].code, tokens, weight.shape[0], cols);
  }

  rmsNorm(out: Tensor, input: Tensor, weight: Tensor, epsilon: number): void {
    const dim = lastAxis(input);
    this.addon.rmsNorm(floats(out), floats(input), floats(weight), input.size / dim, dim, epsilon);
  }

  layerNorm(out: Tensor, input: Tensor, weight: Tensor, bias: Tensor | null, epsilon: number): void {
    const dim = lastAxis(input);
    this.addon.layerNorm(floats(out), floats(input), floats(weight), bias ? floats(bias) : null, input.size / dim, dim, epsilon);
  }

  rope(x: Tensor, positions: Int32Array, frequencies: Float32Array, layout: RopeLayout): void {
    const [tokens, heads, headDim] = x.shape;
    this.addon.rope(floats(x), positions, frequencies, tokens, heads, headDim, layout === "interleaved");
  }

  softmax(out: Tensor, input: Tensor): void {
    const n = lastAxis(input);
    this.addon.softmax(floats(out), floats(input), input.size / n, n);
  }

  silu(out: Tensor, input: Tensor): void {
    this.addon.silu(floats(out), floats(input));
  }

  gelu(out: Tensor, input: Tensor): void {
    this.addon.gelu(floats(out), floats(input));
  }

  swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
    this.addon.swiglu(floats(out), floats(gate), floats(up));
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    this.addon.add(floats(out), floats(a), floats(b));
  }

  mul(out: Tensor, a: Tensor, b: Tensor): void {
    this.addon.mul(floats(out), floats(a), floats(b));
  }

  attention(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
    const [tokens, heads, headDim] = query.shape;
    const [capacity, kvHeads] = keys.shape;
    this.addon.attention(
      floats(out), floats(query), keys.data, values.data,
      tokens, heads, kvHeads, headDim, capacity,
      options.startPosition, options.kvLength, options.causal, options.scale, dtypeInfo[keys.dtype].code,
      options.keyResidual ? floats(options.keyResidual) : undefined,
    );
  }

  pagedAttention(out: Tensor, query: Tensor, keyBlocks: Tensor, valueBlocks: Tensor, blockTable: Int32Array, options: AttentionOptions): void {
    const [tokens, heads, headDim] = query.shape;
    const [blockCount, blockSize, kvHeads] = keyBlocks.shape;
    // The gather path (f32 only) copies the sequence's blocks into a contiguous buffer first: kept to measure against.
    if (this.addon.pagedAttention && (this.pagedAttentionMode === "blocks" || keyBlocks.dtype !== "f32")) {
      this.addon.pagedAttention(
        floats(out), floats(query), keyBlocks.data, valueBlocks.data, blockTable,
        tokens, heads, kvHeads, headDim, blockCount, blockSize,
        options.startPosition, options.kvLength, options.causal, options.scale, dtypeInfo[keyBlocks.dtype].code,
        options.keyResidual ? floats(options.keyResidual) : undefined,
      );
      return;
    }
    const { keys, values } = this.pagedScratch.gather(keyBlocks, valueBlocks, blockTable, options.kvLength);
    this.addon.attention(
      floats(out), floats(query), keys, values,
      tokens, heads, kvHeads, headDim, options.kvLength,
      options.startPosition, options.kvLength, options.causal, options.scale,
    );
  }

  embedding(out: Tensor, table: Tensor, ids: Int32Array): void {
    const [vocab, dim] = table.shape;
    this.addon.embedding(floats(out), table.data, dtypeInfo[table.dtype].code, ids, dim, vocab);
  }

  quantize(out: Tensor, input: Tensor): void {
    if (!this.addon.quantize(out.data, floats(input), dtypeInfo[out.dtype].code, input.size)) {
      quantizeTensorInto(out, floats(input));
    }
  }

  dequantize(out: Tensor, input: Tensor): void {
    this.addon.dequantize(floats(out), input.data, dtypeInfo[input.dtype].code, input.size);
  }

  argmax(input: Tensor): number {
    return this.addon.argmax(floats(input));
  }

  topK(input: Tensor, k: number): TopK {
    return topK(input, k);
  }
}
