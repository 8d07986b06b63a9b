// Paged attention against dense attention: the same keys and values scattered over random physical blocks (the
// reference walks the block table; the native backend walks it in C++, or gathers the blocks and runs its contiguous
// kernel) must give what attention over the contiguous keys gives — causal and full, GQA and MQA, decode, whole
// prefill and chunked prefill, head sizes that are not a multiple of the vector width.
// Also the argument checks: bad block tables are named with the entry, the block and the numbers.

import { describe, expect, it, onTestFinished } from "vitest";

import { Kernel, NativeBackend, Tensor, createKernel, nativeAvailability, type AttentionOptions } from "../src/index.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { createRandom, maxAbsDiff, randomTensor, zerosLike } from "./helpers.ts";

interface PagedLayout {
  keyBlocks: Tensor; // [blockCount, blockSize, kvHeads, headDim]
  valueBlocks: Tensor; // [blockCount, blockSize, kvHeads, headDim]
  blockTable: Int32Array; // [ceil(length / blockSize)]
}

/** Scatters keys/values [length, kvHeads, headDim] over randomly chosen physical blocks (never block 0), the rest NaN. */
function scatter(keys: Tensor, values: Tensor, length: number, blockSize: number, blockCount: number, seed: number): PagedLayout {
  const [, kvHeads, headDim] = keys.shape;
  const rowWidth = kvHeads * headDim;
  const keyBlocks = Tensor.zeros("f32", [blockCount, blockSize, kvHeads, headDim]);
  const valueBlocks = Tensor.zeros("f32", [blockCount, blockSize, kvHeads, headDim]);
  (keyBlocks.data as Float32Array).fill(NaN);
  (valueBlocks.data as Float32Array).fill(NaN);
  const random = createRandom(seed);
  const physical = Array.from({ length: blockCount - 1 }, (_, index) => index + 1);
  for (let index = physical.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [physical[index], physical[other]] = [physical[other], physical[index]];
  }
  const blockTable = Int32Array.from(physical.slice(0, Math.ceil(length / blockSize)));
  for (let position = 0; position < length; position++) {
    const target = (blockTable[Math.floor(position / blockSize)] * blockSize + (position % blockSize)) * rowWidth;
    (keyBlocks.data as Float32Array).set((keys.data as Float32Array).subarray(position * rowWidth, (position + 1) * rowWidth), target);
    (valueBlocks.data as Float32Array).set((values.data as Float32Array).subarray(position * rowWidth, (position + 1) * rowWidth), target);
  }
  return { keyBlocks, valueBlocks, blockTable };
}

// [name, kernel, the instruction set selected while a case runs (the blocks kernel has AVX2 and portable paths)]
const kernels: Array<[string, Kernel, "portable"?]> = [["reference", new Kernel(createReferenceBackend())]];
if (nativeAvailability().available) {
  for (const mode of ["blocks", "gather", "blocks, portable"] as const) {
    const kernel = createKernel({ backend: "native", threads: 2 });
    (kernel.backend as NativeBackend).pagedAttentionMode = mode === "gather" ? "gather" : "blocks";
    kernels.push([`native (${mode})`, kernel, mode === "blocks, portable" ? "portable" : undefined]);
  }
} else console.warn(`paged attention: native backend skipped: ${(nativeAvailability() as { reason: string }).reason}`);

/** Selects `isa` on the native kernel for the running test and restores the previous one when it ends. */
function useIsa(kernel: Kernel, isa: "portable"): void {
  const backend = kernel.backend as NativeBackend;
  const previous = backend.isa as "avx512" | "avx2" | "portable";
  backend.selectIsa(isa);
  onTestFinished(() => void backend.selectIsa(previous));
}

const cases: Array<{ name: string; heads: number; kvHeads: number; headDim: number; blockSize: number; length: number; chunks: number[]; causal: boolean }> = [
  { name: "GQA decode, 1 token over 37 keys", heads: 8, kvHeads: 2, headDim: 16, blockSize: 4, length: 37, chunks: [36, 1], causal: true },
  { name: "GQA whole prefill of 70 tokens", heads: 4, kvHeads: 2, headDim: 8, blockSize: 16, length: 70, chunks: [70], causal: true },
  { name: "MQA chunked prefill 33 + 40 + 27", heads: 6, kvHeads: 1, headDim: 32, blockSize: 8, length: 100, chunks: [33, 40, 27], causal: true },
  { name: "MHA full (non-causal) attention, block size 1", heads: 2, kvHeads: 2, headDim: 8, blockSize: 1, length: 19, chunks: [19], causal: false },
  { name: "Llama-3.2 head layout, 130 keys in blocks of 16", heads: 32, kvHeads: 8, headDim: 64, blockSize: 16, length: 130, chunks: [128, 2], causal: true },
  { name: "head size 12 (not a vector multiple), 3 heads per kv head, 150 keys", heads: 6, kvHeads: 2, headDim: 12, blockSize: 5, length: 150, chunks: [7, 140, 3], causal: true },
];

describe("pagedAttention equals attention over the same keys laid out contiguously", () => {
  for (const [backendName, kernel, isa] of kernels) {
    for (const testCase of cases) {
      it(`${backendName}: ${testCase.name}`, () => {
        if (isa) useIsa(kernel, isa);
        const { heads, kvHeads, headDim, blockSize, length, chunks, causal } = testCase;
        const seed = length * 31 + heads;
        const keys = randomTensor([length, kvHeads, headDim], seed + 1); // [length, kvHeads, headDim]
        const values = randomTensor([length, kvHeads, headDim], seed + 2); // [length, kvHeads, headDim]
        const blockCount = Math.ceil(length / blockSize) + 5;
        const paged = scatter(keys, values, length, blockSize, blockCount, seed);
        let start = 0;
        for (const tokens of chunks) {
          const query = randomTensor([tokens, heads, headDim], seed + 3 + start); // [tokens, heads, headDim]
          const options: AttentionOptions = { startPosition: start, kvLength: causal ? start + tokens : length, causal, scale: 1 / Math.sqrt(headDim) };
          const dense = zerosLike([tokens, heads, headDim]);
          const viaBlocks = zerosLike([tokens, heads, headDim]);
          kernel.attention(dense, query, keys, values, options);
          kernel.pagedAttention(viaBlocks, query, paged.keyBlocks, paged.valueBlocks, paged.blockTable, options);
          if (backendName === "reference") expect(Array.from(viaBlocks.data)).toEqual(Array.from(dense.data));
          else {
            expect(maxAbsDiff(viaBlocks, dense)).toBeLessThan(1e-5);
            const oracle = zerosLike([tokens, heads, headDim]);
            kernels[0][1].pagedAttention(oracle, query, paged.keyBlocks, paged.valueBlocks, paged.blockTable, options);
            expect(maxAbsDiff(viaBlocks, oracle)).toBeLessThan(1e-5);
          }
          start += tokens;
        }
      });
    }
  }
});

describe("pagedAttention validation", () => {
  const kernel = new Kernel(createReferenceBackend());
  const query = zerosLike([1, 4, 8]);
  const blocks = zerosLike([6, 4, 2, 8]);
  const options: AttentionOptions = { startPosition: 8, kvLength: 9, causal: true, scale: 1 };

  it("names a null-block entry, an out-of-range entry and a short table", () => {
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, blocks, Int32Array.of(1, 0, 2), options)).toThrow(
      /pagedAttention: blockTable\[1\] is the null block 0 \(positions 4..7 were never allocated\)/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, blocks, Int32Array.of(1, 2, 6), options)).toThrow(
      /pagedAttention: blockTable\[2\] = 6 is outside the 6 blocks of keyBlocks \[6, 4, 2, 8\]/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, blocks, Int32Array.of(1, 2), options)).toThrow(
      /pagedAttention: kvLength 9 needs 3 blocks of 4 positions, but the block table has 2 entries/,
    );
  });

  it("checks shapes, heads and positions", () => {
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, zerosLike([6, 4, 3, 8]), zerosLike([6, 4, 3, 8]), Int32Array.of(1, 2, 3), options)).toThrow(
      /query heads \(4\) must be a multiple of key\/value heads \(3\)/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, zerosLike([6, 4, 2, 16]), zerosLike([6, 4, 2, 16]), Int32Array.of(1, 2, 3), options)).toThrow(
      /disagree on the head dimension/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, zerosLike([6, 4, 2, 8]).reshape([6, 8, 8]), Int32Array.of(1, 2, 3), options)).toThrow(
      /valueBlocks must have 4 dimensions/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, blocks, Int32Array.of(1, 2, 3), { ...options, startPosition: 9 })).toThrow(
      /causal attention needs keys up to position 9, but only 9 are cached/,
    );
    expect(() => kernel.pagedAttention(zerosLike([1, 4, 8]), query, blocks, blocks, [1, 2, 3] as unknown as Int32Array, options)).toThrow(
      /blockTable must be an Int32Array/,
    );
  });
});
