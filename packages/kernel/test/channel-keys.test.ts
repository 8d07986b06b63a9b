// Attention over q8_0 / q4_0 keys grouped per channel (channel-keys.ts: groups of 32 positions, one scale per channel,
// the newest positions in an f32 residual of 64 rows), on the reference backend and every instruction set the native
// backend runs here, dense and paged (blocks of 32 and 64), prefill chunks and decode steps: each query token's result
// equals attention over what it reads decoded to f32 (readsKeyResidual: its own group from the residual while that
// group is not full at its position; exactly on the reference, to float rounding natively) and stays within the
// type's error budget of the f32 cache. Covers full groups, groups a chunk completes (read from the residual by its
// earlier tokens), groups beyond the residual, an empty unfinished group (kvLength a multiple of 32), no full group at
// all, and long contexts split over ranges.

import { describe, expect, it } from "vitest";

import {
  NativeBackend,
  Tensor,
  channelKeyGroupBytes,
  dequantizeTensor,
  quantizeTensor,
  readsKeyResidual,
  residualRowsNeeded,
  type AttentionOptions,
} from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";
import type { AttentionCase } from "./attention-case.ts";
import { isaKernels, restoreBestIsa } from "./isa-kernels.ts";
import { createRandom, maxAbsDiff, randomTensor, relativeError, zerosLike } from "./helpers.ts";

const kernels = isaKernels("channel keys");
const reference = kernels[0].kernel;

const GROUP = 32;
/** Relative error budget against the f32 cache (unit-normal keys and values; values per token as before). */
const errorBudget = { q8_0: 2e-2, q4_0: 0.2 } as const;

/**
 * The per-channel store of keys [length, kvHeads, headDim] as a cache holds it after kvLength positions for queries
 * from startPosition: groups below floor(kvLength / 32)·32 transposed to [channel, 32 positions] and quantized, the
 * newest positions in a residual of 64 rows or as many as the call needs (row p mod rows); and, per query position,
 * the f32 keys that query should see (decoded groups, exact f32 where it reads the residual).
 */
function channelStore(keys: Tensor, dtype: "q8_0" | "q4_0", startPosition: number, kvLength: number, capacity: number) {
  const [, kvHeads, headDim] = keys.shape;
  const width = kvHeads * headDim;
  const source = keys.data as Float32Array;
  const stored = Tensor.zeros(dtype, [capacity, kvHeads, headDim]);
  const rows = Math.max(2 * GROUP, residualRowsNeeded(startPosition, kvLength, true));
  const residual = Tensor.zeros("f32", [rows, kvHeads, headDim]);
  const decoded = new Float32Array(source); // [length, width] the quantized groups decoded
  const groups = Math.floor(kvLength / GROUP);
  for (let group = 0; group < groups; group++) {
    const channels = new Float32Array(width * GROUP);
    for (let slot = 0; slot < GROUP; slot++) for (let c = 0; c < width; c++) channels[c * GROUP + slot] = source[(group * GROUP + slot) * width + c];
    const quantized = quantizeTensor(dtype, [width, GROUP], channels);
    (stored.data as Uint8Array).set(quantized.data as Uint8Array, group * channelKeyGroupBytes(dtype, width));
    const values = dequantizeTensor(quantized);
    for (let slot = 0; slot < GROUP; slot++) for (let c = 0; c < width; c++) decoded[(group * GROUP + slot) * width + c] = values[c * GROUP + slot];
  }
  for (let position = Math.max(0, kvLength - rows); position < kvLength; position++) {
    (residual.data as Float32Array).set(source.subarray(position * width, (position + 1) * width), (position % rows) * width);
  }
  const seenBy = (queryPosition: number): Tensor => {
    const seen = new Float32Array(decoded);
    for (let groupStart = 0; groupStart < kvLength; groupStart += GROUP) {
      if (!readsKeyResidual(groupStart, queryPosition, kvLength)) continue;
      const end = Math.min(kvLength, groupStart + GROUP) * width;
      seen.set(source.subarray(groupStart * width, end), groupStart * width);
    }
    return Tensor.fromFloat32(keys.shape, seen);
  };
  return { stored, residual, seenBy };
}

/** The dense store's groups (and per-token values) scattered over shuffled blocks of `blockSize` (a multiple of 32). */
function pagedStore(stored: Tensor, values: Tensor, length: number, blockSize: number, seed: number) {
  const [, kvHeads, headDim] = stored.shape;
  const blockCount = Math.ceil(length / blockSize) + 3;
  const keyBlocks = Tensor.zeros(stored.dtype, [blockCount, blockSize, kvHeads, headDim]);
  const valueBlocks = Tensor.zeros(values.dtype, [blockCount, blockSize, kvHeads, headDim]);
  const random = createRandom(seed);
  const physical = Array.from({ length: blockCount - 1 }, (_, index) => index + 1).sort(() => random() - 0.5);
  const blockTable = Int32Array.from(physical.slice(0, Math.ceil(length / blockSize)));
  const rowBytes = (stored.data.length / stored.shape[0]) | 0; // bytes per position (the same for keys and values)
  for (let position = 0; position < length; position++) {
    const target = (blockTable[Math.floor(position / blockSize)] * blockSize + (position % blockSize)) * rowBytes;
    // A group's bytes are those of its 32 rows, so moving rows moves groups (blocks hold whole groups).
    keyBlocks.data.set(stored.data.subarray(position * rowBytes, (position + 1) * rowBytes), target);
    valueBlocks.data.set(values.data.subarray(position * rowBytes, (position + 1) * rowBytes), target);
  }
  return { keyBlocks, valueBlocks, blockTable };
}

type Case = AttentionCase;

const cases: Case[] = [
  { name: "1B heads (32/8 × 64): decode at 300, a chunk of 3, decode with no unfinished group", heads: 32, kvHeads: 8, headDim: 64, length: 320, queries: [[299, 1], [290, 3], [319, 1]], blockSize: 32 },
  { name: "1B heads, 1100 positions over ranges, a chunk with empty ranges", heads: 32, kvHeads: 8, headDim: 64, length: 1100, queries: [[1099, 1], [0, 3, 1100]], blockSize: 64 },
  { name: "3B heads (24/8 × 128): prefill chunk of 70 (groups it completes read from the residual), decode", heads: 24, kvHeads: 8, headDim: 128, length: 90, queries: [[0, 70], [89, 1]], blockSize: 32 },
  { name: "stories260K heads (8/4 × 8): prefill, no full group, a chunk across groups, decode", heads: 8, kvHeads: 4, headDim: 8, length: 150, queries: [[0, 20], [100, 45], [149, 1]], blockSize: 64 },
  { name: "TinyStories-656K heads (8/4 × 16), MQA-like 4 per kv head", heads: 8, kvHeads: 2, headDim: 16, length: 97, queries: [[0, 40], [96, 1]], blockSize: 32 },
  // The AVX-512 group loops take up to four query heads of a kv head at once: 6 is a four and a two, 1 a single head.
  { name: "6 query heads per kv head (12/2 × 64): decode past full groups, a chunk", heads: 12, kvHeads: 2, headDim: 64, length: 200, queries: [[199, 1], [150, 5]], blockSize: 32 },
  { name: "one query head per kv head (4/4 × 128): decode, a chunk", heads: 4, kvHeads: 4, headDim: 128, length: 130, queries: [[129, 1], [64, 9]], blockSize: 64 },
];

describe("attention over keys grouped per channel", () => {
  for (const testCase of cases) {
    const { heads, kvHeads, headDim, length, queries, blockSize } = testCase;
    const seed = length + headDim + 11;
    const keys = randomTensor([length, kvHeads, headDim], seed, 1, "normal");
    const values = randomTensor([length, kvHeads, headDim], seed + 1, 1, "normal");
    for (const dtype of ["q8_0", "q4_0"] as const) {
      it(`${testCase.name}, ${dtype}`, () => {
        const storedValues = quantizeTensor(dtype, values.shape, values.data as Float32Array);
        const decodedValues = Tensor.fromFloat32(values.shape, dequantizeTensor(storedValues));
        const capacity = Math.ceil(length / GROUP) * GROUP;
        const denseValues = Tensor.zeros(dtype, [capacity, kvHeads, headDim]);
        denseValues.data.set(storedValues.data);
        for (const [start, tokens, kvLength = start + tokens] of queries) {
          const store = channelStore(keys, dtype, start, kvLength, capacity);
          const paged = pagedStore(store.stored, denseValues, length, blockSize, seed + start);
          const query = randomTensor([tokens, heads, headDim], seed + start + 7, 1, "normal");
          const options: AttentionOptions = { startPosition: start, kvLength, causal: true, scale: 1 / Math.sqrt(headDim) };
          const withResidual: AttentionOptions = { ...options, keyResidual: store.residual };
          const exact = zerosLike(query.shape);
          reference.attention(exact, query, keys, values, options);
          // f32 attention of each query token over what it reads, decoded: the oracle.
          const onStored = zerosLike(query.shape);
          const row = heads * headDim;
          for (let token = 0; token < tokens; token++) {
            const one = Tensor.fromFloat32([1, heads, headDim], (query.data as Float32Array).slice(token * row, (token + 1) * row));
            const out = zerosLike([1, heads, headDim]);
            reference.attention(out, one, store.seenBy(start + token), decodedValues, { ...options, startPosition: start + token });
            (onStored.data as Float32Array).set(out.data as Float32Array, token * row);
          }
          for (const { name, kernel, isa } of kernels) {
            const dense = zerosLike(query.shape);
            const fromBlocks = zerosLike(query.shape);
            if (isa) (kernel.backend as NativeBackend).selectIsa(isa);
            try {
              kernel.attention(dense, query, store.stored, denseValues, withResidual);
              kernel.pagedAttention(fromBlocks, query, paged.keyBlocks, paged.valueBlocks, paged.blockTable, withResidual);
            } finally {
              if (isa) restoreBestIsa(kernel.backend as NativeBackend);
            }
            const what = `${name}, tokens ${start}..${start + tokens - 1}, kvLength ${kvLength}`;
            if (!isa) {
              expect(maxAbsDiff(dense, onStored), what).toBe(0);
              expect(maxAbsDiff(fromBlocks, onStored), what).toBe(0);
            } else {
              expect(maxAbsDiff(dense, onStored), what).toBeLessThan(1e-4);
              expect(maxAbsDiff(fromBlocks, dense), what).toBeLessThan(1e-5);
            }
            expect(relativeError(dense, exact), what).toBeLessThan(errorBudget[dtype]);
          }
        }
      });
    }
  }

  it("non-causal queries read every full group quantized, the unfinished one from the residual (every ISA)", () => {
    const [kvHeads, headDim, heads, length] = [2, 32, 4, 70];
    const keys = randomTensor([length, kvHeads, headDim], 5, 1, "normal");
    const values = Tensor.zeros("q8_0", [96, kvHeads, headDim]);
    values.data.set(quantizeTensor("q8_0", [length, kvHeads, headDim], randomTensor([length, kvHeads, headDim], 6, 1, "normal").data as Float32Array).data);
    const decodedValues = Tensor.fromFloat32([96, kvHeads, headDim], dequantizeTensor(values));
    const store = channelStore(keys, "q8_0", 0, length, 96);
    const query = randomTensor([2, heads, headDim], 7, 1, "normal");
    const options: AttentionOptions = { startPosition: 0, kvLength: length, causal: false, scale: 0.2 };
    const padded = Tensor.zeros("f32", [96, kvHeads, headDim]);
    padded.data.set(store.seenBy(Infinity).data);
    const expected = zerosLike(query.shape);
    reference.attention(expected, query, padded, decodedValues, options);
    for (const { name, kernel, isa } of kernels) {
      const out = zerosLike(query.shape);
      if (isa) (kernel.backend as NativeBackend).selectIsa(isa);
      try {
        kernel.attention(out, query, store.stored, values, { ...options, keyResidual: store.residual });
      } finally {
        if (isa) restoreBestIsa(kernel.backend as NativeBackend);
      }
      expect(maxAbsDiff(out, expected), name).toBeLessThan(1e-5);
    }
  });

  it("the native addon refuses a residual with keys not q8_0 / q4_0, storage not in groups of 32, or too few rows", () => {
    const addon = loadAddon().addon;
    if (!addon) return;
    const out = new Float32Array(4 * 32), query = new Float32Array(4 * 32);
    const q8 = new Uint8Array(64 * 2 * 34), f16 = new Uint16Array(64 * 2 * 32);
    const residual = new Float32Array(64 * 2 * 32);
    // attention(out, query, keys, values, tokens, heads, kvHeads, headDim, capacity, startPosition, kvLength, causal, scale, dtype, keyResidual)
    expect(() => addon.attention(out, query, f16, f16, 1, 4, 2, 32, 64, 39, 40, true, 1, 1, residual)).toThrow(/needs q8_0 or q4_0 keys/);
    expect(() => addon.attention(out, query, q8, q8, 1, 4, 2, 32, 40, 39, 40, true, 1, 3, residual)).toThrow(/whole groups of 32 positions, got 40/);
    expect(() => addon.attention(out, query, q8, q8, 1, 4, 2, 32, 64, 0, 40, true, 1, 3, residual.subarray(0, 16 * 64))).toThrow(/holds 16 positions, needs 40/);
  });

  it("refuses a residual for keys that are not q8_0 / q4_0, of the wrong shape, or storage not in whole groups", () => {
    const query = zerosLike([1, 4, 32]);
    const residual = Tensor.zeros("f32", [64, 2, 32]);
    const short = { startPosition: 0, kvLength: 40, causal: true, scale: 1, keyResidual: Tensor.zeros("f32", [32, 2, 32]) };
    const options: AttentionOptions = { startPosition: 0, kvLength: 1, causal: true, scale: 1, keyResidual: residual };
    const f16 = Tensor.zeros("f16", [32, 2, 32]);
    expect(() => reference.attention(zerosLike([1, 4, 32]), query, f16, f16, options)).toThrow(/keyResidual is only for q8_0 \/ q4_0 keys stored per channel, got f16 keys/);
    const q8 = Tensor.zeros("q8_0", [32, 2, 32]);
    expect(() => reference.attention(zerosLike([1, 4, 32]), query, q8, q8, { ...options, keyResidual: Tensor.zeros("f32", [64, 4, 32]) })).toThrow(/keyResidual must have shape \[64, 2, 32\]/);
    const q8long = Tensor.zeros("q8_0", [64, 2, 32]);
    expect(() => reference.attention(zerosLike([40, 4, 32]), zerosLike([40, 4, 32]), q8long, q8long, short)).toThrow(/keyResidual holds 32 positions, but queries from 0 over 40 need 40/);
    const unaligned = Tensor.zeros("q8_0", [40, 2, 32]);
    expect(() => reference.attention(zerosLike([1, 4, 32]), query, unaligned, unaligned, options)).toThrow(/need a capacity that is a multiple of 32, got 40/);
    const blocks = Tensor.zeros("q4_0", [3, 16, 2, 32]);
    expect(() => reference.pagedAttention(zerosLike([1, 4, 32]), query, blocks, blocks, Int32Array.of(1), options)).toThrow(/need a block size that is a multiple of 32, got 16/);
  });
});
