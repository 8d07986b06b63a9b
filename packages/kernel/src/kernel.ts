// The public op API: checks every argument (dtype, shape, contiguity, ranges) and then calls the chosen backend.
// Errors name the op, the argument and the shapes involved.

import type { AttentionOptions, Backend, RopeLayout, TopK } from "./backend.ts";
import { channelKeyGroupSize, residualRowsNeeded, storesKeysPerChannel } from "./channel-keys.ts";
import { cacheDTypes, dtypeInfo, interleavedRows, isCacheDType, isInterleaved, plainDType } from "./dtype.ts";
import {
  fail,
  requireContiguous,
  requireFloat32,
  requireInteger,
  requireRank,
  requireShape,
  shapeText,
} from "./errors.ts";
import { deinterleaveTensor } from "./formats/interleaved.ts";
import { lastAxis, type Tensor } from "./tensor.ts";

function requireSameShape(op: string, names: string, a: Tensor, b: Tensor): void {
  const same = a.shape.length === b.shape.length && a.shape.every((size, axis) => size === b.shape[axis]);
  if (!same) fail(op, `${names} must have the same shape, got ${shapeText(a.shape)} and ${shapeText(b.shape)}`);
}

/** Keys and values of an attention call: contiguous, one cache element type for both (f32, f16, bf16, q8_0, q4_0). */
function requireCacheTensors(op: string, keysName: string, keys: Tensor, valuesName: string, values: Tensor, rank: number): void {
  for (const [name, tensor] of [[keysName, keys], [valuesName, values]] as const) {
    if (!isCacheDType(tensor.dtype)) fail(op, `${name} must be a cache element type (${cacheDTypes.join(", ")}), got ${tensor.dtype} ${shapeText(tensor.shape)}`);
    requireContiguous(op, name, tensor);
    requireRank(op, name, tensor, rank);
  }
  if (keys.dtype !== values.dtype) fail(op, `${keysName} (${keys.dtype}) and ${valuesName} (${values.dtype}) must have the same element type`);
}

/** Per-channel keys (options.keyResidual): q8_0 / q4_0 keys, an f32 residual [rows, kvHeads, headDim] long enough for
 *  the call (residualRowsNeeded), and storage in
 *  whole groups of 32 rows (`rows`: the dense capacity or the paged block size). */
function requireKeyResidual(op: string, keys: Tensor, options: AttentionOptions, rowsName: string, rows: number): void {
  const residual = options.keyResidual;
  if (residual === undefined) return;
  if (!isCacheDType(keys.dtype) || !storesKeysPerChannel(keys.dtype)) fail(op, `keyResidual is only for q8_0 / q4_0 keys stored per channel, got ${keys.dtype} keys`);
  requireFloat32(op, "keyResidual", residual);
  requireContiguous(op, "keyResidual", residual);
  const [kvHeads, headDim] = keys.shape.slice(-2);
  const needed = residualRowsNeeded(options.startPosition, options.kvLength, options.causal);
  requireShape(op, "keyResidual", residual, [residual.shape[0], kvHeads, headDim]);
  if (residual.shape[0] < Math.max(1, needed)) fail(op, `keyResidual holds ${residual.shape[0]} positions, but queries from ${options.startPosition} over ${options.kvLength} need ${needed}`);
  if (rows % channelKeyGroupSize !== 0) fail(op, `keys stored per channel need a ${rowsName} that is a multiple of ${channelKeyGroupSize}, got ${rows}`);
}

function requireUnaryPair(op: string, out: Tensor, input: Tensor): void {
  requireFloat32(op, "out", out);
  requireFloat32(op, "input", input);
  requireSameShape(op, "out and input", out, input);
}

function requireBroadcastRow(op: string, a: Tensor, b: Tensor): void {
  const sameShape = a.shape.length === b.shape.length && a.shape.every((size, axis) => size === b.shape[axis]);
  const oneRow = b.shape.length === 1 && b.shape[0] === lastAxis(a);
  if (!sameShape && !oneRow) {
    fail(op, `b must have a's shape ${shapeText(a.shape)} or be one row [${lastAxis(a)}], got ${shapeText(b.shape)}`);
  }
}

/**
 * Every op a model runs, on one backend. Each call validates its arguments (dtype, shape, contiguity; a clear
 * {@link KernelError} otherwise) and writes into tensors the caller allocated, so a forward pass allocates nothing
 * in its hot loop. Make one with {@link createKernel}.
 *
 * @example
 * ```ts
 * import { Tensor, createKernel } from "@infer-recipes/kernel";
 *
 * const kernel = createKernel({ threads: 2 }); // native when the addon loads, else the reference backend
 * const weight = Tensor.fromFloat32([3, 4], Float32Array.from({ length: 12 }, (_, index) => index / 10)); // [rows, cols]
 * const q8 = Tensor.zeros("q8_0", [3, 32]);
 * kernel.quantize(q8, Tensor.zeros("f32", [3, 32])); // block formats need rows of 32 values
 * const input = Tensor.fromFloat32([1, 4], Float32Array.of(1, 2, 3, 4)); // [tokens, cols]
 * const out = Tensor.zeros("f32", [1, 3]); // [tokens, rows]
 * kernel.matmul(out, input, weight);
 * console.log(kernel.name, kernel.threads, out.data);
 * ```
 */
export class Kernel {
  constructor(
    /** The backend that computes (reference or native). */
    readonly backend: Backend,
  ) {}

  /** The backend's name: "reference" or "native". */
  get name(): Backend["name"] {
    return this.backend.name;
  }

  /** Worker threads the backend's ops use. */
  get threads(): number {
    return this.backend.threads;
  }

  /** Sets the worker threads (≥ 1; the reference backend always uses 1). */
  setThreads(threads: number): void {
    requireInteger("setThreads", "threads", threads, 1);
    this.backend.setThreads(threads);
  }

  /** out [tokens, rows] = input [tokens, cols] · weight [rows, cols]ᵀ. One token is a matrix-vector product (decode). */
  matmul(out: Tensor, input: Tensor, weight: Tensor): void {
    const op = "matmul";
    requireFloat32(op, "out", out);
    requireFloat32(op, "input", input);
    requireContiguous(op, "weight", weight);
    requireRank(op, "out", out, 2);
    requireRank(op, "input", input, 2);
    requireRank(op, "weight", weight, 2);
    const [tokens, cols] = input.shape;
    const [rows, weightCols] = weight.shape;
    if (weightCols !== cols) {
      fail(op, `input ${shapeText(input.shape)} and weight ${shapeText(weight.shape)} disagree on the inner size (${cols} vs ${weightCols})`);
    }
    requireShape(op, "out", out, [tokens, rows]);
    const { blockSize } = dtypeInfo[weight.dtype];
    if (cols % blockSize !== 0) fail(op, `${weight.dtype} weight rows must be a multiple of ${blockSize} values, got ${cols}`);
    if (isInterleaved(weight.dtype) && rows % interleavedRows !== 0) {
      fail(op, `${weight.dtype} weight ${shapeText(weight.shape)} must have a multiple of ${interleavedRows} rows`);
    }
    if (weight.dtype === "bf16x16" && cols % 2 !== 0) fail(op, `bf16x16 weight ${shapeText(weight.shape)} must have an even number of columns`);
    this.backend.matmul(out, input, weight);
  }

  /**
   * The weight matrix [rows, cols] in the layout this backend's matmul reads fastest, for a model to keep instead of
   * the loaded one, or `weight` itself when its layout is already the best. The native backend on AVX-512 interleaves
   * q8_0 / q4_0 / q4_k / q6_k / f32 / f16 / bf16 matrices whose rows are a multiple of 16 (q8_0x16 … bf16x16, see
   * formats/interleaved.ts); the result holds the same values and works with every backend's matmul, embedding and
   * dequantize, and gives the same matmul results as the plain matrix on the native backend.
   *
   * By default the result is a new tensor and `weight` is left as it was. With `inPlace` the result reuses weight's
   * storage (no second copy of the matrix, as loaders want): `weight` must not be used afterwards.
   */
  packWeight(
    weight: Tensor,
    options: {
      /** Reuse weight's storage (then `weight` must not be used afterwards). */
      inPlace?: boolean;
    } = {},
  ): Tensor {
    requireContiguous("packWeight", "weight", weight);
    requireRank("packWeight", "weight", weight, 2);
    return this.backend.packWeight?.(weight, options.inPlace ?? false) ?? weight;
  }

  /** RMS normalization per row: out = input / sqrt(mean(input²) + epsilon) · weight. out, input [rows, dim]; weight [dim]. */
  rmsNorm(out: Tensor, input: Tensor, weight: Tensor, epsilon: number): void {
    const op = "rmsNorm";
    requireUnaryPair(op, out, input);
    requireFloat32(op, "weight", weight);
    requireShape(op, "weight", weight, [lastAxis(input)]);
    if (!(epsilon >= 0)) fail(op, `epsilon must be ≥ 0, got ${epsilon}`);
    this.backend.rmsNorm(out, input, weight, epsilon);
  }

  /** Layer normalization per row: out = (input − mean) / sqrt(variance + epsilon) · weight + bias (bias may be null). */
  layerNorm(out: Tensor, input: Tensor, weight: Tensor, bias: Tensor | null, epsilon: number): void {
    const op = "layerNorm";
    requireUnaryPair(op, out, input);
    requireFloat32(op, "weight", weight);
    requireShape(op, "weight", weight, [lastAxis(input)]);
    if (bias) {
      requireFloat32(op, "bias", bias);
      requireShape(op, "bias", bias, [lastAxis(input)]);
    }
    if (!(epsilon >= 0)) fail(op, `epsilon must be ≥ 0, got ${epsilon}`);
    this.backend.layerNorm(out, input, weight, bias, epsilon);
  }

  /** Rotary position embedding, in place. x [tokens, heads, headDim]; frequencies from `ropeFrequencies`. */
  rope(x: Tensor, positions: Int32Array, frequencies: Float32Array, layout: RopeLayout): void {
    const op = "rope";
    requireFloat32(op, "x", x);
    requireRank(op, "x", x, 3);
    const [tokens, , headDim] = x.shape;
    if (positions.length !== tokens) fail(op, `positions has ${positions.length} entries for ${tokens} tokens in x ${shapeText(x.shape)}`);
    if (frequencies.length * 2 > headDim) {
      fail(op, `rotary dimension ${frequencies.length * 2} exceeds head dimension ${headDim} of x ${shapeText(x.shape)}`);
    }
    if (layout !== "half" && layout !== "interleaved") fail(op, `layout must be "half" or "interleaved", got ${String(layout)}`);
    for (let index = 0; index < positions.length; index++) {
      if (positions[index] < 0) fail(op, `positions[${index}] is negative (${positions[index]})`);
    }
    this.backend.rope(x, positions, frequencies, layout);
  }

  /** Softmax over the last axis of each row. out and input share a shape (they may be the same tensor). */
  softmax(out: Tensor, input: Tensor): void {
    requireUnaryPair("softmax", out, input);
    this.backend.softmax(out, input);
  }

  /** out = input · sigmoid(input), element-wise. */
  silu(out: Tensor, input: Tensor): void {
    requireUnaryPair("silu", out, input);
    this.backend.silu(out, input);
  }

  /** GELU (tanh approximation), element-wise. */
  gelu(out: Tensor, input: Tensor): void {
    requireUnaryPair("gelu", out, input);
    this.backend.gelu(out, input);
  }

  /** out = silu(gate) · up, the Llama feed-forward activation. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
    const op = "swiglu";
    requireUnaryPair(op, out, gate);
    requireFloat32(op, "up", up);
    requireSameShape(op, "gate and up", gate, up);
    this.backend.swiglu(out, gate, up);
  }

  /** out = a + b, element-wise; b has a's shape or is one row broadcast over a's rows. */
  add(out: Tensor, a: Tensor, b: Tensor): void {
    const op = "add";
    requireUnaryPair(op, out, a);
    requireFloat32(op, "b", b);
    requireBroadcastRow(op, a, b);
    this.backend.add(out, a, b);
  }

  /** out = a · b, element-wise; b has a's shape or is one row broadcast over a's rows. */
  mul(out: Tensor, a: Tensor, b: Tensor): void {
    const op = "mul";
    requireUnaryPair(op, out, a);
    requireFloat32(op, "b", b);
    requireBroadcastRow(op, a, b);
    this.backend.mul(out, a, b);
  }

  /**
   * Causal or full attention of query [tokens, heads, headDim] over keys/values [capacity, kvHeads, headDim]. Keys and
   * values may be in any cache element type (f32, f16, bf16, q8_0, q4_0: see CacheDType); they are decoded inside the
   * attention loop. With `options.keyResidual`, q8_0 / q4_0 keys are grouped per channel (channel-keys.ts).
   */
  attention(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
    const op = "attention";
    for (const [name, tensor] of [["out", out], ["query", query]] as const) {
      requireFloat32(op, name, tensor);
      requireRank(op, name, tensor, 3);
    }
    requireCacheTensors(op, "keys", keys, "values", values, 3);
    requireSameShape(op, "out and query", out, query);
    requireSameShape(op, "keys and values", keys, values);
    const [tokens, heads, headDim] = query.shape;
    const [capacity, kvHeads, keyDim] = keys.shape;
    if (keyDim !== headDim) fail(op, `query ${shapeText(query.shape)} and keys ${shapeText(keys.shape)} disagree on the head dimension`);
    if (kvHeads === 0 || heads % kvHeads !== 0) {
      fail(op, `query heads (${heads}) must be a multiple of key/value heads (${kvHeads}); shapes ${shapeText(query.shape)}, ${shapeText(keys.shape)}`);
    }
    const { startPosition, kvLength, causal, scale } = options;
    requireInteger(op, "startPosition", startPosition, 0);
    requireInteger(op, "kvLength", kvLength, 1);
    if (kvLength > capacity) fail(op, `kvLength ${kvLength} exceeds the key/value capacity ${capacity} of ${shapeText(keys.shape)}`);
    if (causal && startPosition + tokens > kvLength) {
      fail(op, `causal attention needs keys up to position ${startPosition + tokens - 1}, but only ${kvLength} are cached`);
    }
    if (!Number.isFinite(scale)) fail(op, `scale must be finite, got ${scale}`);
    requireKeyResidual(op, keys, options, "capacity", capacity);
    this.backend.attention(out, query, keys, values, options);
  }

  /**
   * Attention of query [tokens, heads, headDim] over one sequence's keys/values stored in a paged cache:
   * keyBlocks, valueBlocks [blockCount, blockSize, kvHeads, headDim]; position p lives in block
   * blockTable[floor(p / blockSize)], row p mod blockSize. Block 0 is the cache's null block and never valid here.
   * The blocks may be in any cache element type, as for attention.
   */
  pagedAttention(out: Tensor, query: Tensor, keyBlocks: Tensor, valueBlocks: Tensor, blockTable: Int32Array, options: AttentionOptions): void {
    const op = "pagedAttention";
    for (const [name, tensor] of [["out", out], ["query", query]] as const) {
      requireFloat32(op, name, tensor);
      requireRank(op, name, tensor, 3);
    }
    requireCacheTensors(op, "keyBlocks", keyBlocks, "valueBlocks", valueBlocks, 4);
    requireSameShape(op, "out and query", out, query);
    requireSameShape(op, "keyBlocks and valueBlocks", keyBlocks, valueBlocks);
    if (!(blockTable instanceof Int32Array)) fail(op, `blockTable must be an Int32Array, got ${Object.prototype.toString.call(blockTable)}`);
    const [tokens, heads, headDim] = query.shape;
    const [blockCount, blockSize, kvHeads, keyDim] = keyBlocks.shape;
    if (keyDim !== headDim) fail(op, `query ${shapeText(query.shape)} and keyBlocks ${shapeText(keyBlocks.shape)} disagree on the head dimension`);
    if (kvHeads === 0 || heads % kvHeads !== 0) {
      fail(op, `query heads (${heads}) must be a multiple of key/value heads (${kvHeads}); shapes ${shapeText(query.shape)}, ${shapeText(keyBlocks.shape)}`);
    }
    if (blockSize === 0) fail(op, `keyBlocks ${shapeText(keyBlocks.shape)} has blocks of 0 positions`);
    const { startPosition, kvLength, causal, scale } = options;
    requireInteger(op, "startPosition", startPosition, 0);
    requireInteger(op, "kvLength", kvLength, 1);
    const blocksNeeded = Math.ceil(kvLength / blockSize);
    if (blocksNeeded > blockTable.length) {
      fail(op, `kvLength ${kvLength} needs ${blocksNeeded} blocks of ${blockSize} positions, but the block table has ${blockTable.length} entries`);
    }
    for (let index = 0; index < blocksNeeded; index++) {
      const block = blockTable[index];
      if (block === 0) fail(op, `blockTable[${index}] is the null block 0 (positions ${index * blockSize}..${Math.min(kvLength, (index + 1) * blockSize) - 1} were never allocated)`);
      if (block < 0 || block >= blockCount) fail(op, `blockTable[${index}] = ${block} is outside the ${blockCount} blocks of keyBlocks ${shapeText(keyBlocks.shape)}`);
    }
    if (causal && startPosition + tokens > kvLength) {
      fail(op, `causal attention needs keys up to position ${startPosition + tokens - 1}, but only ${kvLength} are cached`);
    }
    if (!Number.isFinite(scale)) fail(op, `scale must be finite, got ${scale}`);
    requireKeyResidual(op, keyBlocks, options, "block size", blockSize);
    this.backend.pagedAttention(out, query, keyBlocks, valueBlocks, blockTable, options);
  }

  /** out [ids.length, dim] = rows of table [vocab, dim] (any dtype, also a packWeight layout: an LM head tied to the
   *  embedding is packed for matmul and still serves lookups), dequantized to f32. */
  embedding(out: Tensor, table: Tensor, ids: Int32Array): void {
    const op = "embedding";
    requireFloat32(op, "out", out);
    requireContiguous(op, "table", table);
    requireRank(op, "table", table, 2);
    const [vocab, dim] = table.shape;
    if (isInterleaved(table.dtype) && vocab % interleavedRows !== 0) fail(op, `${table.dtype} table ${shapeText(table.shape)} must have a multiple of ${interleavedRows} rows`);
    requireShape(op, "out", out, [ids.length, dim]);
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index];
      if (id < 0 || id >= vocab) fail(op, `ids[${index}] = ${id} is outside the table's ${vocab} rows`);
    }
    this.backend.embedding(out, table, ids);
  }

  /** Encodes input (f32) into out's dtype; shapes must match and rows must be whole blocks. */
  quantize(out: Tensor, input: Tensor): void {
    const op = "quantize";
    requireFloat32(op, "input", input);
    requireContiguous(op, "out", out);
    requireSameShape(op, "out and input", out, input);
    if (isInterleaved(out.dtype)) fail(op, `out is ${out.dtype}, a matmul-only layout: quantize to ${plainDType(out.dtype)} and use packWeight`);
    const { blockSize } = dtypeInfo[out.dtype];
    if (lastAxis(input) % blockSize !== 0) fail(op, `${out.dtype} rows must be a multiple of ${blockSize} values, got ${shapeText(input.shape)}`);
    this.backend.quantize(out, input);
  }

  /** out (f32) = the values of `input` in any dtype (interleaved layouts included), same shape. */
  dequantize(out: Tensor, input: Tensor): void {
    const op = "dequantize";
    requireFloat32(op, "out", out);
    requireContiguous(op, "input", input);
    requireSameShape(op, "out and input", out, input);
    this.backend.dequantize(out, isInterleaved(input.dtype) ? deinterleaveTensor(input) : input);
  }

  /** Index of the largest value of `input` (f32, any shape, read flat). */
  argmax(input: Tensor): number {
    requireFloat32("argmax", "input", input);
    if (input.size === 0) fail("argmax", "input is empty");
    return this.backend.argmax(input.reshape([input.size]));
  }

  /** The k largest values of `input` (f32, read flat), largest first, with their indices. */
  topK(input: Tensor, k: number): TopK {
    requireFloat32("topK", "input", input);
    requireInteger("topK", "k", k, 1);
    if (k > input.size) fail("topK", `k = ${k} exceeds the ${input.size} values of input ${shapeText(input.shape)}`);
    return this.backend.topK(input.reshape([input.size]), k);
  }
}
