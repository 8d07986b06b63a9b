// The interleaved q8_0x16 / q4_0x16 matmul layouts (formats/interleaved.ts, native/interleave.h): the layout byte for
// byte, packing by the native addon against the TypeScript definition, matmul on packed weights against the reference
// on plain weights (every instruction set, 1 and 3 threads, ragged token counts), results that do not depend on which
// tokens share a call, and the errors for ops that cannot read the layout.

import { describe, expect, it } from "vitest";

import {
  Kernel,
  KernelError,
  Tensor,
  createKernel,
  deinterleaveTensor,
  interleaveTensor,
  nativeAvailability,
  quantizeTensor,
  type NativeBackend,
} from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { randomTensor, randomValues, zerosLike } from "./helpers.ts";

const reference = new Kernel(createReferenceBackend());
const availability = nativeAvailability();
const isas = ["avx512", "avx2", "portable"] as const;

function quantized(dtype: "q8_0" | "q4_0", rows: number, cols: number, seed: number): Tensor {
  return quantizeTensor(dtype, [rows, cols], randomValues(rows * cols, seed, 1, "normal"));
}

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

  it("round-trips: deinterleave(interleave(w)) is w byte for byte", () => {
    for (const dtype of ["q8_0", "q4_0"] as const) {
      const plain = quantized(dtype, 48, 96, 3);
      const back = deinterleaveTensor(interleaveTensor(plain));
      expect(back.dtype).toBe(dtype);
      expect(Buffer.from(back.data as Uint8Array).equals(Buffer.from(plain.data as Uint8Array))).toBe(true);
    }
  });

  it("rejects matrices it cannot interleave, naming dtype and shape", () => {
    expect(() => interleaveTensor(quantized("q4_0", 24, 32, 4))).toThrow(/q4_0 \[24, 32\].*multiple of 16/);
    expect(() => interleaveTensor(randomTensor([16, 32], 5))).toThrow(/f32 \[16, 32\]/);
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

  it("dequantize reads interleaved weights; embedding, quantize and odd row counts are refused with the reason", () => {
    const plain = quantized("q8_0", 16, 64, 8);
    const packed = interleaveTensor(plain);
    const expected = zerosLike([16, 64]), actual = zerosLike([16, 64]);
    reference.dequantize(expected, plain);
    reference.dequantize(actual, packed);
    expect(Array.from(actual.data)).toEqual(Array.from(expected.data));
    expect(() => reference.embedding(zerosLike([1, 64]), packed, Int32Array.of(0))).toThrow(/embedding: table is q8_0x16.*packWeight/);
    expect(() => reference.quantize(Tensor.zeros("q8_0x16", [16, 64]), zerosLike([16, 64]))).toThrow(KernelError);
    const odd = new Tensor("q4_0x16", [24, 32], new Uint8Array(24 * 18));
    expect(() => reference.matmul(zerosLike([1, 24]), zerosLike([1, 32]), odd)).toThrow(/matmul: q4_0x16 weight \[24, 32\] must have a multiple of 16 rows/);
  });
});

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

  it("packWeight interleaves q8_0 / q4_0 on AVX-512 exactly as the TypeScript definition, and leaves other weights alone", (context) => {
    const { kernel, backend } = avx512Kernel(2, context);
    try {
      for (const dtype of ["q8_0", "q4_0"] as const) {
        const plain = quantized(dtype, 64, 160, 9);
        const packed = kernel.packWeight(plain);
        expect(packed.dtype).toBe(`${dtype}x16`);
        expect(Buffer.from(packed.data as Uint8Array).equals(Buffer.from(interleaveTensor(plain).data as Uint8Array))).toBe(true);
        expect(Buffer.from(plain.data as Uint8Array).equals(Buffer.from(quantized(dtype, 64, 160, 9).data as Uint8Array)), "source untouched").toBe(true);
      }
      // In place (as loaders pack): the result reuses the weight's own bytes and holds the same layout.
      for (const dtype of ["q8_0", "q4_0"] as const) {
        const owned = quantized(dtype, 48, 2176, 14);
        const expected = interleaveTensor(owned);
        const storage = owned.data;
        const packed = kernel.packWeight(owned, { inPlace: true });
        expect(packed.data.buffer, "same storage").toBe(storage.buffer);
        expect(packed.data.byteOffset).toBe(storage.byteOffset);
        expect(Buffer.from(packed.data as Uint8Array).equals(Buffer.from(expected.data as Uint8Array)), `${dtype} in place`).toBe(true);
      }
      const odd = quantized("q4_0", 20, 32, 10);
      expect(kernel.packWeight(odd)).toBe(odd);
      // The addon packs in place only into the very same bytes: a shifted, overlapping output is refused.
      const addon = loadAddon().addon!;
      const storage = new Uint8Array(32 * 18 + 18);
      expect(() => addon.interleave!(storage.subarray(18), storage.subarray(0, 32 * 18), 4, 32, 32)).toThrow(/out must be input itself or not overlap it/);
      const floats = randomTensor([16, 32], 11);
      expect(kernel.packWeight(floats)).toBe(floats);
    } finally {
      restoreDefaultIsa(backend);
    }
  });

  // Packed weights against the reference on the plain ones. Both sides quantize activations identically and take
  // exact integer block sums; they differ only in the order float block results are added: 1e-5 of Σ|x||w|.
  for (const isa of isas) {
    for (const threads of [1, 3]) {
      it(`matmul on ${isa}, ${threads} thread(s): GEMV, every token-tile remainder, prefill chunks`, (context) => {
        const { kernel, backend } = nativeKernel(threads);
        if (!backend.selectIsa(isa)) context.skip();
        try {
          for (const dtype of ["q8_0", "q4_0"] as const) {
            // [1 | 3 | 6, 1552, long]: rows long enough (≥ 36 KiB per 16-row group) for the four-group decode tiles (one
            // pass of 1 or 3 tokens, or passes of 4 + 2), and 97 groups, so that each thread's tasks hold four groups or
            // more, with groups left over.
            const longRows = dtype === "q4_0" ? 4096 : 2176;
            const cases: number[][] = [[1, 16, 32], [1, 48, 96], [1, 1552, longRows], [3, 1552, longRows], [6, 1552, longRows], [2, 32, 320], [3, 32, 320], [4, 16, 96], [7, 32, 64], [8, 16, 64], [13, 32, 96], [70, 48, 1088]];
            // And one case with all-zero activation blocks (quantization scale 0): a whole token and a block
            // of each other token.
            for (const [tokens, rows, cols, zeroBlocks] of [...cases, [5, 32, 96, 1]]) {
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
                  // A zero token has magnitude 0 and must come out exactly 0; NaN counts as the worst error.
                  const error = Math.abs(actual.data[t * rows + r] - expected.data[t * rows + r]) / Math.max(magnitude, 1e-30);
                  worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
                }
              }
              expect(worst, `${dtype} ${isa} tokens=${tokens} rows=${rows} cols=${cols}`).toBeLessThanOrEqual(1e-5);
            }
          }
        } finally {
          restoreDefaultIsa(backend);
        }
      });
    }
  }

  // On the AVX-512 kernels (the AVX2 ones are not row-independent yet: see row-independence.test.ts).
  it("a token's result is bit-identical alone and in any batch (continuous batching relies on it)", (context) => {
    const { kernel, backend } = avx512Kernel(2, context);
    try {
      // Short rows (one tile kind for every batch size) and long rows (a lone token takes the four-group decode tile).
      for (const [dtype, rows, cols] of [["q8_0", 64, 256], ["q4_0", 64, 256], ["q8_0", 1552, 2176], ["q4_0", 1552, 4096]] as const) {
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
    } finally {
      restoreDefaultIsa(backend);
    }
  });
});
