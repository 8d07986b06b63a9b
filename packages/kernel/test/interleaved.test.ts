// The interleaved q8_0x16 / q4_0x16 / q4_kx16 / q6_kx16 matmul layouts (formats/interleaved.ts, native/interleave.h):
// the layout byte for byte, packing by the native addon against the TypeScript definition, matmul on packed weights
// against the reference on plain weights (every instruction set, 1 and 3 threads, ragged token counts), results that
// do not depend on which tokens share a call, embedding lookups in packed tables, and the errors for ops that cannot
// read the layout.

import { describe, expect, it } from "vitest";

import {
  Kernel,
  KernelError,
  Tensor,
  createKernel,
  deinterleaveRow,
  deinterleaveTensor,
  interleaveTensor,
  nativeAvailability,
  quantizeTensor,
  type NativeBackend,
} from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { randomTensor, randomValues, yieldToEventLoop, zerosLike } from "./helpers.ts";

// Products below 128 KiB of work run on the calling thread alone (addon.cc); these tests drive the threaded paths on
// small data, so every product is shared.
loadAddon().addon?.setMinimumSharedMatmulBytes?.(0);

const reference = new Kernel(createReferenceBackend());
const availability = nativeAvailability();
const isas = ["avx512", "avx2", "portable"] as const;

type PackableDType = "q8_0" | "q4_0" | "q4_k" | "q6_k" | "f32" | "f16" | "bf16";
const packableDTypes: readonly PackableDType[] = ["q8_0", "q4_0", "q4_k", "q6_k", "f32", "f16", "bf16"];

function quantized(dtype: PackableDType, rows: number, cols: number, seed: number): Tensor {
  return quantizeTensor(dtype, [rows, cols], randomValues(rows * cols, seed, 1, "normal"));
}

/** The bytes of a tensor's storage (any typed array), for byte-for-byte comparisons. */
const storageBytes = (tensor: Tensor) => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);

describe("interleaved layout (TypeScript definition)", () => {
  it("q4_0x16: per block, 16 scales then 4 chunks of 64 bytes holding 4 nibble bytes of each row", () => {
    const plain = quantized("q4_0", 16, 64, 1); // 2 blocks per row, 18 bytes each
    const packed = interleaveTensor(plain);
    expect(packed.dtype).toBe("q4_0x16");
    expect(packed.data.length).toBe(plain.data.length);
    const source = plain.data as Uint8Array, bytes = packed.data as Uint8Array;
    for (let row = 0; row < 16; row++) {
      for (let block = 0; block < 2; block++) {
        const plainBlock = row * 36 + block * 18;
        const groupBlock = block * 16 * 18;
        expect(bytes[groupBlock + 2 * row]).toBe(source[plainBlock]);
        expect(bytes[groupBlock + 2 * row + 1]).toBe(source[plainBlock + 1]);
        for (let index = 0; index < 16; index++) {
          expect(bytes[groupBlock + 32 + Math.floor(index / 4) * 64 + row * 4 + (index % 4)]).toBe(source[plainBlock + 2 + index]);
        }
      }
    }
  });

  it("q8_0x16: values stored as value + 128 (byte XOR 0x80) in 8 chunks", () => {
    const plain = quantized("q8_0", 32, 32, 2); // 2 groups, 1 block per row
    const bytes = interleaveTensor(plain).data as Uint8Array, source = plain.data as Uint8Array;
    for (const row of [0, 5, 16, 31]) {
      const group = Math.floor(row / 16), inGroup = row % 16;
      const groupStart = group * 16 * 34;
      expect(bytes[groupStart + 2 * inGroup]).toBe(source[row * 34]);
      for (let index = 0; index < 32; index++) {
        expect(bytes[groupStart + 32 + Math.floor(index / 4) * 64 + inGroup * 4 + (index % 4)]).toBe(source[row * 34 + 2 + index] ^ 0x80);
      }
    }
  });

  it("q4_kx16: per block, 16 d, 16 dmin, then 35 words (3 of packed scales, 32 of nibbles) of 16 rows each", () => {
    const plain = quantized("q4_k", 32, 512, 15); // 2 groups, 2 blocks per row, 144 bytes each
    const bytes = interleaveTensor(plain).data as Uint8Array, source = plain.data as Uint8Array;
    for (const row of [0, 7, 16, 31]) {
      const group = Math.floor(row / 16), inGroup = row % 16;
      for (let block = 0; block < 2; block++) {
        const plainBlock = row * 288 + block * 144;
        const groupBlock = group * 16 * 288 + block * 16 * 144;
        for (let byte = 0; byte < 2; byte++) {
          expect(bytes[groupBlock + 2 * inGroup + byte]).toBe(source[plainBlock + byte]); // d
          expect(bytes[groupBlock + 32 + 2 * inGroup + byte]).toBe(source[plainBlock + 2 + byte]); // dmin
        }
        for (let index = 0; index < 140; index++) {
          expect(bytes[groupBlock + 64 + Math.floor(index / 4) * 64 + inGroup * 4 + (index % 4)]).toBe(source[plainBlock + 4 + index]);
        }
      }
    }
  });

  it("q6_kx16: per block, 52 words (ql, qh, scales) of 16 rows each, then the 16 d", () => {
    const plain = quantized("q6_k", 16, 256, 16);
    const bytes = interleaveTensor(plain).data as Uint8Array, source = plain.data as Uint8Array;
    for (let row = 0; row < 16; row++) {
      for (let index = 0; index < 208; index++) {
        expect(bytes[Math.floor(index / 4) * 64 + row * 4 + (index % 4)]).toBe(source[row * 210 + index]);
      }
      expect(bytes[52 * 64 + 2 * row]).toBe(source[row * 210 + 208]);
      expect(bytes[52 * 64 + 2 * row + 1]).toBe(source[row * 210 + 209]);
    }
  });

  it("f32x16 / f16x16: each column's 16 rows together; bf16x16: each column pair's 16 rows, pair by pair", () => {
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const plain = quantizeTensor(dtype, [32, 6], randomValues(32 * 6, 18, 1, "normal"));
      const packed = interleaveTensor(plain);
      expect(packed.dtype).toBe(`${dtype}x16`);
      expect(packed.data.constructor).toBe(plain.data.constructor);
      for (const [row, column] of [[0, 0], [5, 1], [17, 4], [31, 5]]) {
        const group = Math.floor(row / 16) * 16 * 6, r = row % 16;
        const index = dtype === "bf16" ? group + Math.floor(column / 2) * 32 + 2 * r + (column % 2) : group + column * 16 + r;
        expect(packed.data[index], `${dtype} (${row}, ${column})`).toBe(plain.data[row * 6 + column]);
      }
    }
    expect(() => interleaveTensor(quantizeTensor("bf16", [16, 5], randomValues(80, 19)))).toThrow(/bf16 \[16, 5\].*even number of columns/);
  });

  it("round-trips: deinterleave(interleave(w)) is w byte for byte, and deinterleaveRow gives each plain row", () => {
    for (const dtype of packableDTypes) {
      const cols = dtype.endsWith("_k") ? 512 : dtype.startsWith("q") ? 96 : 38;
      const plain = quantized(dtype, 48, cols, 3);
      const packed = interleaveTensor(plain);
      const back = deinterleaveTensor(packed);
      expect(back.dtype).toBe(dtype);
      expect(storageBytes(back).equals(storageBytes(plain))).toBe(true);
      const rowLength = plain.data.length / 48;
      for (const row of [0, 17, 47]) {
        const expected = plain.data.subarray(row * rowLength, (row + 1) * rowLength);
        expect(Array.from(deinterleaveRow(packed, row)), `${dtype} row ${row}`).toEqual(Array.from(expected));
      }
    }
  });

  it("rejects matrices it cannot interleave, naming dtype and shape", () => {
    expect(() => interleaveTensor(quantized("q4_0", 24, 32, 4))).toThrow(/q4_0 \[24, 32\].*multiple of 16/);
    expect(() => interleaveTensor(randomTensor([20, 32], 5))).toThrow(/f32 \[20, 32\]/);
  });

  it("the reference backend keeps the plain layout and computes on interleaved weights all the same", () => {
    const plain = quantized("q4_0", 32, 96, 6);
    expect(reference.packWeight(plain)).toBe(plain);
    const input = randomTensor([3, 96], 7, 2, "normal");
    const expected = zerosLike([3, 32]), actual = zerosLike([3, 32]);
    reference.matmul(expected, input, plain);
    reference.matmul(actual, input, interleaveTensor(plain));
    expect(Array.from(actual.data)).toEqual(Array.from(expected.data));
  });

  it("dequantize and embedding read interleaved weights; quantize and odd row counts are refused with the reason", () => {
    for (const [dtype, cols] of [["q8_0", 64], ["q6_k", 256]] as const) {
      const plain = quantized(dtype, 32, cols, 8);
      const packed = interleaveTensor(plain);
      const expected = zerosLike([32, cols]), actual = zerosLike([32, cols]);
      reference.dequantize(expected, plain);
      reference.dequantize(actual, packed);
      expect(Array.from(actual.data)).toEqual(Array.from(expected.data));
      const ids = Int32Array.of(0, 31, 17, 17);
      const plainRows = zerosLike([4, cols]), packedRows = zerosLike([4, cols]);
      reference.embedding(plainRows, plain, ids);
      reference.embedding(packedRows, packed, ids);
      expect(Array.from(packedRows.data), `${dtype} embedding`).toEqual(Array.from(plainRows.data));
    }
    expect(() => reference.embedding(zerosLike([1, 32]), new Tensor("q4_0x16", [24, 32], new Uint8Array(24 * 18)), Int32Array.of(0))).toThrow(/embedding: q4_0x16 table \[24, 32\] must have a multiple of 16 rows/);
    expect(() => reference.quantize(Tensor.zeros("q8_0x16", [16, 64]), zerosLike([16, 64]))).toThrow(KernelError);
    const odd = new Tensor("q4_0x16", [24, 32], new Uint8Array(24 * 18));
    expect(() => reference.matmul(zerosLike([1, 24]), zerosLike([1, 32]), odd)).toThrow(/matmul: q4_0x16 weight \[24, 32\] must have a multiple of 16 rows/);
  });
});

// The reference side of the long-row cases is slow TypeScript: on a loaded 2-core machine a test takes about a minute.
const heavyTestTimeout = 240_000;

describe.skipIf(!availability.available)("interleaved layout on the native backend", () => {
  function nativeKernel(threads: number): { kernel: Kernel; backend: NativeBackend } {
    const kernel = createKernel({ backend: "native", threads });
    return { kernel, backend: kernel.backend as NativeBackend };
  }

  /** The selection is process-wide: put back the best one (what createKernel picks without INFER_NATIVE_ISA). */
  function restoreDefaultIsa(backend: NativeBackend): void {
    backend.selectIsa("avx512") || backend.selectIsa("avx2") || backend.selectIsa("portable");
  }

  /**
   * An AVX-512 kernel (packWeight interleaves only there), whatever INFER_NATIVE_ISA says; skips the test on CPUs
   * without AVX-512. Call restoreDefaultIsa afterwards.
   */
  function avx512Kernel(threads: number, context: { skip: () => void }): { kernel: Kernel; backend: NativeBackend } {
    const native = nativeKernel(threads);
    if (!native.backend.selectIsa("avx512")) context.skip();
    return native;
  }

  /** `kernel` on `isa` (skipping the test when the CPU cannot run it) for `body`; the default selection is put back
   *  once the body's promise settles. */
  async function onIsa(isa: string, threads: number, context: { skip: () => void }, body: (kernel: Kernel) => Promise<void>): Promise<void> {
    const { kernel, backend } = nativeKernel(threads);
    if (!backend.selectIsa(isa as (typeof isas)[number])) context.skip();
    try {
      await body(kernel);
    } finally {
      restoreDefaultIsa(backend);
    }
  }

  it("packWeight interleaves every weight dtype on AVX-512 exactly as the TypeScript definition, and leaves what it cannot alone", (context) => {
    const { kernel, backend } = avx512Kernel(2, context);
    try {
      for (const dtype of packableDTypes) {
        const cols = dtype.endsWith("_k") ? 512 : 160;
        const plain = quantized(dtype, 64, cols, 9);
        const packed = kernel.packWeight(plain);
        expect(packed.dtype).toBe(`${dtype}x16`);
        expect(storageBytes(packed).equals(storageBytes(interleaveTensor(plain)))).toBe(true);
        expect(storageBytes(plain).equals(storageBytes(quantized(dtype, 64, cols, 9))), "source untouched").toBe(true);
      }
      // In place (as loaders pack): the result reuses the weight's own bytes and holds the same layout.
      for (const dtype of packableDTypes) {
        const owned = quantized(dtype, 48, dtype.endsWith("_k") ? 2304 : 2176, 14);
        const expected = interleaveTensor(owned);
        const storage = owned.data;
        const packed = kernel.packWeight(owned, { inPlace: true });
        expect(packed.data.buffer, "same storage").toBe(storage.buffer);
        expect(packed.data.byteOffset).toBe(storage.byteOffset);
        expect(storageBytes(packed).equals(storageBytes(expected)), `${dtype} in place`).toBe(true);
      }
      const odd = quantized("q4_0", 20, 32, 10);
      expect(kernel.packWeight(odd)).toBe(odd);
      // The addon packs in place only into the very same bytes: a shifted, overlapping output is refused.
      const addon = loadAddon().addon!;
      const storage = new Uint8Array(32 * 18 + 18);
      expect(() => addon.interleave!(storage.subarray(18), storage.subarray(0, 32 * 18), 4, 32, 32)).toThrow(/out must be input itself or not overlap it/);
      const oddBf16 = quantized("bf16", 16, 33, 11);
      expect(kernel.packWeight(oddBf16), "bf16x16 needs an even number of columns").toBe(oddBf16);
    } finally {
      restoreDefaultIsa(backend);
    }
  });

  /**
   * The worst |packed − reference| / Σ|x||w| over the outputs of a packed matmul against the reference on the plain
   * weight. With `zeroBlocks`, the first token and one block of every other token are all zero (an activation block
   * whose quantization scale is 0): a zero token has magnitude 0 and must come out exactly 0; NaN counts as the worst.
   */
  function worstPackedError(kernel: Kernel, dtype: PackableDType, tokens: number, rows: number, cols: number, zeroBlocks = false): number {
    const plain = quantized(dtype, rows, cols, tokens * 7 + rows + cols);
    const packed = interleaveTensor(plain);
    const input = randomTensor([tokens, cols], tokens + cols, 2, "normal");
    if (zeroBlocks) {
      const values = input.data as Float32Array;
      values.fill(0, 0, cols);
      for (let start = cols; start < values.length; start += cols) values.fill(0, start + 32, start + 64);
    }
    const expected = zerosLike([tokens, rows]), actual = zerosLike([tokens, rows]);
    reference.matmul(expected, input, plain);
    kernel.matmul(actual, input, packed);
    const decoded = zerosLike([rows, cols]);
    reference.dequantize(decoded, plain);
    const x = input.data as Float32Array, w = decoded.data as Float32Array;
    let worst = 0;
    for (let t = 0; t < tokens; t++) {
      for (let r = 0; r < rows; r++) {
        let magnitude = 0;
        for (let c = 0; c < cols; c++) magnitude += Math.abs(x[t * cols + c] * w[r * cols + c]);
        const error = Math.abs(actual.data[t * rows + r] - expected.data[t * rows + r]) / Math.max(magnitude, 1e-30);
        worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
      }
    }
    return worst;
  }

  // Packed weights against the reference on the plain ones. Both sides quantize activations identically and take
  // exact integer block sums; they differ only in float rounding: the order float block results are added, and for
  // the K-quants the float32 products of the integer sums with d·dx and dmin·dx: 1e-5 of Σ|x||w|.
  for (const isa of isas) {
    for (const threads of [1, 3]) {
      it(`matmul on ${isa}, ${threads} thread(s): GEMV, every token-tile remainder, prefill chunks`, (context) =>
        onIsa(isa, threads, context, async (kernel) => {
          for (const dtype of ["q8_0", "q4_0"] as const) {
            // [1..4, 1552, long]: rows long enough (≥ 36 KiB per 16-row group) for the four-group decode tiles (1 to 4
            // tokens), and 97 groups, so that each thread's tasks hold four groups or more, with groups left over;
            // [6, 1552, long]: a small batch over them takes the prefetching tiles instead, fetching across groups.
            // 2–8 tokens on short rows: the prefetching tiles of every width; 10–15 and 70: a tile of 8 and the
            // tiles of 2–7 left over (not prefetching), and prefill chunks.
            const longRows = dtype === "q4_0" ? 4096 : 2176;
            const cases = [[1, 16, 32], [1, 48, 96], [1, 1552, longRows], [2, 1552, longRows], [3, 1552, longRows], [4, 1552, longRows], [6, 1552, longRows], [2, 32, 320], [3, 32, 320], [4, 16, 96], [5, 32, 64], [6, 16, 96], [7, 32, 64], [8, 16, 64], [10, 16, 64], [11, 16, 64], [12, 16, 64], [13, 32, 96], [15, 16, 64], [70, 48, 1088]];
            for (const [tokens, rows, cols] of cases) {
              expect(worstPackedError(kernel, dtype, tokens, rows, cols), `${dtype} ${isa} tokens=${tokens} rows=${rows} cols=${cols}`).toBeLessThanOrEqual(1e-5);
              await yieldToEventLoop();
            }
            // And one case with all-zero activation blocks (quantization scale 0).
            expect(worstPackedError(kernel, dtype, 5, 32, 96, true), `${dtype} ${isa} zero blocks`).toBeLessThanOrEqual(1e-5);
          }
        }), heavyTestTimeout);

      it(`K-quant matmul on ${isa}, ${threads} thread(s): GEMV, every token-tile remainder, prefill chunks`, (context) =>
        onIsa(isa, threads, context, async (kernel) => {
          for (const dtype of ["q4_k", "q6_k"] as const) {
            // Token counts 1–5 cover every tile width and remainder; 5–8, small batches (a group's tiles of 4 and the
            // rest together), 9 a tile plus a remainder past them, 70 two prefill chunks.
            const cases = [[1, 16, 256], [1, 48, 768], [2, 32, 512], [3, 16, 256], [4, 32, 256], [5, 48, 512], [7, 160, 256], [8, 32, 256], [9, 16, 512], [70, 32, 256]];
            // Decode and a small batch over many groups (97: several per task and thread, prefetching across group
            // boundaries).
            if (isa === "avx512") cases.push([3, 1552, dtype === "q4_k" ? 4096 : 3072], [6, 1552, 1024]);
            for (const [tokens, rows, cols] of cases) {
              expect(worstPackedError(kernel, dtype, tokens, rows, cols), `${dtype} ${isa} tokens=${tokens} rows=${rows} cols=${cols}`).toBeLessThanOrEqual(1e-5);
              await yieldToEventLoop();
            }
            expect(worstPackedError(kernel, dtype, 5, 32, 512, true), `${dtype} ${isa} zero blocks`).toBeLessThanOrEqual(1e-5);
          }
        }), heavyTestTimeout);
    }
  }

  // "avx512-nobf16" (the AVX-512 table for CPUs without AVX512_BF16) dispatches packed integer weights to the same
  // kernels as "avx512": decode, a small batch and a prefill on each packed integer layout.
  it("matmul on avx512-nobf16: packed q8_0, q4_0, q4_k and q6_k weights", (context) =>
    onIsa("avx512-nobf16", 2, context, async (kernel) => {
      for (const dtype of ["q8_0", "q4_0", "q4_k", "q6_k"] as const) {
        const cols = dtype === "q4_k" || dtype === "q6_k" ? 512 : 96;
        for (const tokens of [1, 5, 13]) {
          expect(worstPackedError(kernel, dtype, tokens, 32, cols), `${dtype} tokens=${tokens}`).toBeLessThanOrEqual(1e-5);
          await yieldToEventLoop();
        }
      }
    }));

  // Interleaved float weights against the reference: f32/f16 in float64 over the decoded weights, bf16 over bf16-rounded
  // activations; only the summation order differs: 1e-5 of Σ|x||w| (measured ~1e-7).
  for (const isa of ["avx512", "avx512-nobf16", "avx2", "portable"] as const) {
    it(`float x16 matmul on ${isa}: decode tiles, packed-panel prefill, ragged columns`, (context) =>
      onIsa(isa, 3, context, async (kernel) => {
        for (const dtype of ["f32", "f16", "bf16"] as const) {
          // 1, 2 and 6 (4 + 2) tokens over 97 groups: the decode tiles of four groups side by side (a thread's task
          // holds five groups or more) and the single groups left over; 8–19 tokens: every width of the prefill's
          // 12-token tile, over two column blocks of 512 (the second accumulates, 88 columns) and a last panel of one
          // 16-row group.
          const cases = [[1, 16, 38], [3, 48, 262], [5, 32, 38], [13, 160, 262], [20, 48, 558], [1, 1552, 38], [2, 1552, 38], [6, 1552, 38]];
          for (let tokens = 8; tokens <= 19; tokens++) cases.push([tokens, 48, 600]);
          for (const [tokens, rows, cols] of cases) {
            expect(worstPackedError(kernel, dtype, tokens, rows, cols), `${dtype} ${isa} tokens=${tokens} rows=${rows} cols=${cols}`).toBeLessThanOrEqual(1e-5);
            await yieldToEventLoop(); // keep vitest's worker answering its runner under load
          }
        }
      }));
  }

  // Prefill on interleaved float weights (read in place, f16x16 converted as loaded) gives the same bits whichever
  // threads take which row tasks: 80 rows (a task of 64 + 16), 1100 columns (blocks of 512, 512, 76), ragged tiles.
  it("AVX-512: float x16 prefill gives the same bits on 1, 2 and 3 threads", (context) => {
    const kernels = [1, 2, 3].map((threads) => avx512Kernel(threads, context));
    try {
      // 80 rows: one task row block; 272 rows: three (the last one partial), each split into token parts of whole
      // 12-token tiles when the pool has several threads (25 tokens: tiles 12 + 13 at 2 threads, 12 + 12 + 1 at 3).
      for (const dtype of ["f32", "f16", "bf16"] as const) {
        for (const rows of [80, 272]) {
          const packed = interleaveTensor(quantized(dtype, rows, 1100, 31));
          for (const tokens of [9, 25, 61]) {
            const input = randomTensor([tokens, 1100], tokens, 2, "normal");
            const outs = kernels.map(({ kernel, backend }, index) => {
              // The kernels share the native pool: set its thread count for each one's call.
              backend.setThreads(index + 1);
              const out = zerosLike([tokens, rows]);
              kernel.matmul(out, input, packed);
              return Array.from(out.data);
            });
            expect(outs[1], `${dtype} ${rows} rows ${tokens} tokens, 2 threads`).toEqual(outs[0]);
            expect(outs[2], `${dtype} ${rows} rows ${tokens} tokens, 3 threads`).toEqual(outs[0]);
          }
        }
      }
    } finally {
      restoreDefaultIsa(kernels[0].backend);
    }
  });

  it("AVX-512: float weights give the same results packed and plain, alone and in any batch", (context) =>
    // Packing and the one-chain-per-output rule are AVX-512's.
    onIsa("avx512", 2, context, async (kernel) => {
      for (const dtype of ["f32", "f16", "bf16"] as const) {
        const plain = quantized(dtype, 64, 558, 20);
        const packed = kernel.packWeight(plain);
        for (const tokens of [3, 13]) {
          await yieldToEventLoop();
          const input = randomTensor([tokens, 558], 21, 2, "normal");
          const fromPlain = zerosLike([tokens, 64]), fromPacked = zerosLike([tokens, 64]);
          kernel.matmul(fromPlain, input, plain);
          kernel.matmul(fromPacked, input, packed);
          expect(Array.from(fromPacked.data), `${dtype} ${tokens} tokens packed vs plain`).toEqual(Array.from(fromPlain.data));
          for (let t = 0; t < tokens; t++) {
            const alone = zerosLike([1, 64]);
            kernel.matmul(alone, new Tensor("f32", [1, 558], (input.data as Float32Array).slice(t * 558, (t + 1) * 558)), packed);
            expect(Array.from(alone.data), `${dtype} token ${t} of ${tokens}`).toEqual(Array.from(fromPacked.data.subarray(t * 64, (t + 1) * 64)));
          }
        }
      }
    }));

  it("embedding reads packed tables (an LM head tied to the embedding) exactly as the plain ones", () => {
    const { kernel } = nativeKernel(2);
    for (const [dtype, cols] of [["q8_0", 96], ["q4_0", 64], ["q4_k", 256], ["q6_k", 512], ["f32", 37], ["f16", 37], ["bf16", 38]] as const) {
      const plain = quantized(dtype, 48, cols, 17);
      const packed = interleaveTensor(plain);
      const ids = Int32Array.of(47, 0, 16, 31, 16);
      const expected = zerosLike([ids.length, cols]), actual = zerosLike([ids.length, cols]);
      kernel.embedding(expected, plain, ids);
      kernel.embedding(actual, packed, ids);
      expect(Array.from(actual.data), dtype).toEqual(Array.from(expected.data));
    }
  });

  // On the AVX-512 kernels (the AVX2 ones are not row-independent yet: see row-independence.test.ts).
  it("a token's result is bit-identical alone and in any batch (continuous batching relies on it)", (context) =>
    onIsa("avx512", 2, context, async (kernel) => {
      // Short rows (one tile kind for every batch size) and long rows (a lone token takes the four-group decode tile).
      for (const [dtype, rows, cols] of [["q8_0", 64, 256], ["q4_0", 64, 256], ["q8_0", 1552, 2176], ["q4_0", 1552, 4096], ["q4_k", 64, 512], ["q6_k", 64, 512], ["q4_k", 1552, 4096]] as const) {
        await yieldToEventLoop();
        const packed = kernel.packWeight(quantized(dtype, rows, cols, 12));
        // 6 tokens: a decode batch (on long rows, the four-group tiles in passes of 4 + 2); 13: token tiles of 8 + 5.
        for (const tokens of [6, 13]) {
          const input = randomTensor([tokens, cols], 13, 2, "normal");
          const batched = zerosLike([tokens, rows]);
          kernel.matmul(batched, input, packed);
          for (let t = 0; t < tokens; t++) {
            const alone = zerosLike([1, rows]);
            kernel.matmul(alone, new Tensor("f32", [1, cols], (input.data as Float32Array).slice(t * cols, (t + 1) * cols)), packed);
            expect(Array.from(alone.data), `${dtype} ${rows}×${cols} token ${t} of ${tokens}`).toEqual(Array.from(batched.data.subarray(t * rows, (t + 1) * rows)));
          }
        }
      }
    }));
});
