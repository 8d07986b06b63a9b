// Keys grouped per channel in q8_0 / q4_0 caches (KIVI; src/channel-keys.ts): a group of 32 positions is quantized
// once, when full, into exactly the bytes of its channels quantized as rows of 32 positions; the newest positions (the
// unfinished group and the last full one) stay in the f32 residual. Attention over the quantized cache stays within
// the type's budget of the f32 cache (reference and native kernels), does not depend on how positions were chunked,
// dense and paged agree; a rollback of up to 32 positions past a group boundary is exact (the cache equals one that
// never held the rolled-back positions), a deeper one re-derives the kept positions from their group, including in a
// block a fork shares (copy-on-write), and a sequence reusing prefix blocks reads the same groups.

import { describe, expect, it } from "vitest";

import {
  Kernel,
  Tensor,
  channelKeyGroupBytes,
  createKernel,
  createReferenceBackend,
  dequantizeTensor,
  nativeAvailability,
  quantizeTensor,
  type CacheDType,
} from "@infer-recipes/kernel";

import { DenseKvCache, PagedKvCache, type PagedSequence } from "../src/index.ts";

const kvHeads = 2, headDim = 32, heads = 4, width = kvHeads * headDim;
const GROUP = 32;

/** Smooth rows [tokens, width] with per-channel offsets (the outlier channels per-channel scales are for). */
function rows(tokens: number, seed: number): Float32Array {
  return Float32Array.from({ length: tokens * width }, (_, index) => Math.sin(seed + index * 0.37) + ((index % width) % 7 === 0 ? 6 : 0));
}

const kernels: Array<{ name: string; kernel: Kernel }> = [{ name: "reference", kernel: new Kernel(createReferenceBackend()) }];
if (nativeAvailability().available) kernels.push({ name: "native", kernel: createKernel({ backend: "native", threads: 2 }) });
const reference = kernels[0].kernel;

type Source = { kind: "dense"; cache: DenseKvCache } | { kind: "paged"; cache: PagedKvCache; sequence: PagedSequence };

/** Attention of `query` [tokens, heads, headDim] (first at `start`) over layer 0 of a cache holding kvLength positions. */
function attend(kernel: Kernel, source: Source, query: Tensor, start: number, kvLength: number): Float32Array {
  const out = Tensor.zeros("f32", query.shape);
  const options = { startPosition: start, kvLength, causal: true, scale: 1 / Math.sqrt(headDim) };
  if (source.kind === "dense") {
    const { keys, values, keyResidual } = source.cache.layer(0);
    kernel.attention(out, query, keys, values, { ...options, keyResidual });
  } else {
    const { keys, values } = source.cache.layer(0);
    kernel.pagedAttention(out, query, keys, values, source.sequence.blockTable, { ...options, keyResidual: source.cache.keyResidual(0, source.sequence) });
  }
  return out.data as Float32Array;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let difference = 0, norm = 0;
  for (let index = 0; index < actual.length; index++) {
    difference += (actual[index] - expected[index]) ** 2;
    norm += expected[index] ** 2;
  }
  return Math.sqrt(difference / norm);
}

function query(tokens: number, seed: number): Tensor {
  return Tensor.fromFloat32([tokens, heads, headDim], Float32Array.from({ length: tokens * heads * headDim }, (_, index) => Math.cos(seed + index * 0.11)));
}

function denseCache(dtype: CacheDType, kernel?: Kernel): DenseKvCache {
  return new DenseKvCache({ layerCount: 1, keyValueHeadCount: kvHeads, headDim, maxTokens: 128, initialTokens: 4, dtype, kernel });
}

function writeDense(cache: DenseKvCache, start: number, keys: Float32Array, values: Float32Array): void {
  cache.reserve(start + keys.length / width);
  cache.write(0, start, keys, values);
  cache.length = start + keys.length / width;
}

function writePaged(cache: PagedKvCache, sequence: PagedSequence, keys: Float32Array, values: Float32Array): void {
  const tokens = keys.length / width;
  if (!cache.reserve(sequence, tokens)) throw new Error("out of blocks");
  cache.write(0, sequence, sequence.length, keys, values);
  cache.append(sequence, Array.from({ length: tokens }, (_, index) => sequence.length + index + 1));
}

const budget = { q8_0: 2e-2, q4_0: 0.15 } as const;

for (const dtype of ["q8_0", "q4_0"] as const) {
  describe(`${dtype} keys grouped per channel`, () => {
    it("quantizes a group once it is full, into its channels' blocks; keeps newer positions in f32 (both encoders)", () => {
      const keys = rows(40, 1);
      const channels = new Float32Array(width * GROUP); // group 0 as [channel, position]
      for (let slot = 0; slot < GROUP; slot++) for (let c = 0; c < width; c++) channels[c * GROUP + slot] = keys[slot * width + c];
      const expected = quantizeTensor(dtype, [width, GROUP], channels).data as Uint8Array;
      for (const kernel of [undefined, ...kernels.slice(1).map((entry) => entry.kernel)]) {
        const cache = denseCache(dtype, kernel);
        writeDense(cache, 0, keys.subarray(0, 3 * width), keys.subarray(0, 3 * width));
        writeDense(cache, 3, keys.subarray(3 * width), keys.subarray(3 * width)); // grows 4 → 64 positions
        const { keys: stored, keyResidual } = cache.layer(0);
        expect(Array.from((stored.data as Uint8Array).subarray(0, expected.length))).toEqual(Array.from(expected));
        // Positions 0..39 at rows p mod 64: the full group 0 and the unfinished group 1, all in f32.
        expect(Array.from((keyResidual!.data as Float32Array).subarray(0, 40 * width))).toEqual(Array.from(keys));
      }
    });

    it("attention within the budget of the f32 cache; dense and paged agree; reference and native agree", () => {
      const keys = rows(100, 2), values = rows(100, 3);
      const f32 = denseCache("f32");
      const dense = denseCache(dtype);
      const paged = new PagedKvCache({ layerCount: 1, keyValueHeadCount: kvHeads, headDim, blockCount: 6, dtype });
      expect(paged.blockSize).toBe(32);
      const sequence = paged.createSequence();
      // A prefill of 45 then decode steps: groups complete inside a chunk and on a single-token write.
      for (const [from, to] of [[0, 45], [45, 46], [46, 64], [64, 65], [65, 100]]) {
        writeDense(f32, from, keys.subarray(from * width, to * width), values.subarray(from * width, to * width));
        writeDense(dense, from, keys.subarray(from * width, to * width), values.subarray(from * width, to * width));
        writePaged(paged, sequence, keys.subarray(from * width, to * width), values.subarray(from * width, to * width));
        const q = query(to - from, to);
        const exact = attend(reference, { kind: "dense", cache: f32 }, q, from, to);
        const fromReference = attend(reference, { kind: "dense", cache: dense }, q, from, to);
        expect(relativeError(fromReference, exact), `${from}..${to}`).toBeLessThan(budget[dtype]);
        for (const { name, kernel } of kernels) {
          const denseOut = attend(kernel, { kind: "dense", cache: dense }, q, from, to);
          const pagedOut = attend(kernel, { kind: "paged", cache: paged, sequence }, q, from, to);
          expect(relativeError(denseOut, fromReference), `${name} ${from}..${to}`).toBeLessThan(1e-5);
          expect(relativeError(pagedOut, denseOut), `${name} paged ${from}..${to}`).toBeLessThan(1e-6);
        }
      }
    });

    it("a rollback of up to 32 positions past a group boundary is exact; a deeper one re-derives the kept positions (dense)", () => {
      const keys = rows(100, 4), values = rows(100, 5);
      const newer = rows(26, 6), newerValues = rows(26, 8);
      // Shallow: 40 positions, back to 20 (into group 0, which is full and quantized), then 20..45 anew: the cache holds
      // exactly what a cache that never saw positions 20..39 holds (group 0 quantized from the same f32 rows).
      const rolledBack = denseCache(dtype), direct = denseCache(dtype);
      writeDense(rolledBack, 0, keys.subarray(0, 40 * width), values.subarray(0, 40 * width));
      rolledBack.truncate(20);
      writeDense(direct, 0, keys.subarray(0, 20 * width), values.subarray(0, 20 * width));
      for (const target of [rolledBack, direct]) writeDense(target, 20, newer, newerValues);
      expect(Array.from(rolledBack.layer(0).keys.data)).toEqual(Array.from(direct.layer(0).keys.data));
      const last = query(3, 9);
      for (const { name, kernel } of kernels) {
        expect(Array.from(attend(kernel, { kind: "dense", cache: rolledBack }, last, 43, 46)), name).toEqual(Array.from(attend(kernel, { kind: "dense", cache: direct }, last, 43, 46)));
      }

      // Deep: 100 positions, back to 20 (the residual kept 64..99 after decode steps): positions 0..19 are re-derived
      // from group 0 (what every query past position 31 read for them); rewritten positions stay within the budget.
      const f32 = denseCache("f32"), cache = denseCache(dtype);
      for (const target of [f32, cache]) {
        writeDense(target, 0, keys.subarray(0, 40 * width), values.subarray(0, 40 * width));
        for (let position = 40; position < 100; position++) writeDense(target, position, keys.subarray(position * width, (position + 1) * width), values.subarray(position * width, (position + 1) * width));
      }
      expect(cache.layer(0).keyResidual!.shape[0]).toBe(64);
      const groupZero = dequantizeTensor(new Tensor(dtype, [width, GROUP], (cache.layer(0).keys.data as Uint8Array).slice(0, channelKeyGroupBytes(dtype, width))));
      for (const target of [f32, cache]) target.truncate(20);
      const residual = cache.layer(0).keyResidual!.data as Float32Array;
      for (let position = 0; position < 20; position++) {
        for (let channel = 0; channel < width; channel++) expect(residual[position * width + channel]).toBe(groupZero[channel * GROUP + position]);
      }
      for (const target of [f32, cache]) writeDense(target, 20, newer, newerValues); // group 0 quantized again
      for (const { name, kernel } of kernels) {
        expect(relativeError(attend(kernel, { kind: "dense", cache }, last, 43, 46), attend(reference, { kind: "dense", cache: f32 }, last, 43, 46)), name).toBeLessThan(budget[dtype]);
      }
    });

    it("results do not depend on chunking: a chunk completing two groups equals one token at a time", () => {
      const keys = rows(68, 20), values = rows(68, 21);
      const chunked = denseCache(dtype);
      writeDense(chunked, 0, keys.subarray(0, 28 * width), values.subarray(0, 28 * width));
      writeDense(chunked, 28, keys.subarray(28 * width), values.subarray(28 * width)); // completes groups 0 and 1
      expect(chunked.layer(0).keyResidual!.shape[0]).toBe(128); // positions 0..67 for the chunk's queries
      const q = query(40, 22);
      const row = heads * headDim;
      for (const { name, kernel } of kernels) {
        const together = attend(kernel, { kind: "dense", cache: chunked }, q, 28, 68);
        const alone = new Float32Array(together.length);
        const stepped = denseCache(dtype);
        writeDense(stepped, 0, keys.subarray(0, 28 * width), values.subarray(0, 28 * width));
        for (let token = 0; token < 40; token++) {
          const position = 28 + token;
          writeDense(stepped, position, keys.subarray(position * width, (position + 1) * width), values.subarray(position * width, (position + 1) * width));
          const one = Tensor.fromFloat32([1, heads, headDim], (q.data as Float32Array).slice(token * row, (token + 1) * row));
          alone.set(attend(kernel, { kind: "dense", cache: stepped }, one, position, position + 1), token * row);
        }
        expect(relativeError(together, alone), name).toBeLessThan(kernel === reference ? 1e-12 : 1e-6);
        expect(stepped.layer(0).keyResidual!.shape[0]).toBe(64);
      }
    });

    it("paged: a fork rolls back into the group its parent shares, copies the block on write; prefix sharing reads the same groups", () => {
      const paged = new PagedKvCache({ layerCount: 1, keyValueHeadCount: kvHeads, headDim, blockCount: 10, dtype });
      const dense = denseCache(dtype), f32 = denseCache("f32");
      const keys = rows(40, 10), values = rows(40, 11);
      const parent = paged.createSequence();
      writePaged(paged, parent, keys, values);
      const q = query(1, 12);
      const parentBefore = attend(reference, { kind: "paged", cache: paged, sequence: parent }, q, 39, 40);

      const child = paged.fork(parent);
      paged.truncate(child, 20);
      for (const target of [dense, f32]) {
        writeDense(target, 0, keys, values);
        target.truncate(20);
      }
      const newer = rows(30, 13), newerValues = rows(30, 14);
      writePaged(paged, child, newer, newerValues);
      expect(child.blockTable[0]).not.toBe(parent.blockTable[0]); // the shared group was copied before it was rewritten
      for (const target of [dense, f32]) writeDense(target, 20, newer, newerValues);
      const later = query(1, 15);
      for (const { name, kernel } of kernels) {
        const childOut = attend(kernel, { kind: "paged", cache: paged, sequence: child }, later, 49, 50);
        expect(relativeError(childOut, attend(kernel, { kind: "dense", cache: dense }, later, 49, 50)), name).toBeLessThan(1e-6);
        expect(relativeError(childOut, attend(reference, { kind: "dense", cache: f32 }, later, 49, 50)), name).toBeLessThan(budget[dtype]);
      }
      expect(Array.from(attend(reference, { kind: "paged", cache: paged, sequence: parent }, q, 39, 40))).toEqual(Array.from(parentBefore));

      // The parent's first block (a full group) is in the prefix cache: a sequence with the same tokens reuses it.
      const other = paged.createSequence();
      expect(paged.matchPrefix(other, [...parent.tokens, 99])).toBe(32);
      expect(other.blockTable[0]).toBe(parent.blockTable[0]);
      paged.reserve(other, 8);
      paged.write(0, other, 32, keys.subarray(32 * width), values.subarray(32 * width));
      paged.append(other, parent.tokens.slice(32));
      expect(Array.from(attend(reference, { kind: "paged", cache: paged, sequence: other }, q, 39, 40))).toEqual(Array.from(parentBefore));
      for (const sequence of [parent, child, other]) paged.free(sequence);
      paged.pool.checkInvariants();
    });
  });
}

describe("block sizes for keys grouped per channel", () => {
  it("defaults to blocks of 32 and refuses blocks that would split a group", () => {
    expect(PagedKvCache.defaultBlockSize("q4_0")).toBe(32);
    expect(PagedKvCache.defaultBlockSize("f16")).toBe(16);
    expect(() => new PagedKvCache({ layerCount: 1, keyValueHeadCount: kvHeads, headDim, blockSize: 16, blockCount: 4, dtype: "q8_0" })).toThrow(
      /PagedKvCache: a q8_0 cache quantizes keys per channel in groups of 32 positions, which must not straddle blocks: blockSize must be a multiple of 32, got 16/,
    );
  });
});
