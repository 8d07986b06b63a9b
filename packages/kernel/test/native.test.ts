// Every native op against the reference op on random inputs: each instruction-set path the CPU can run
// (avx512, avx2, portable), 1 and 3 threads, and sizes that are not multiples of the block or vector width.
// When the addon is missing the suite is skipped with the reason, unless INFER_REQUIRE_NATIVE=1 (CI), where it fails.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
  Kernel,
  NativeBackend,
  Tensor,
  allDTypes,
  createKernel,
  dtypeInfo,
  nativeAvailability,
  quantizeTensor,
  ropeFrequencies,
  type DType,
} from "../src/index.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { attentionNaive } from "../src/reference/attention.ts";
import { loadAddon } from "../src/native/addon.ts";
import { maxAbsDiff, randomTensor, randomValues, yieldToEventLoop, zerosLike } from "./helpers.ts";

// Products below 128 KiB of work run on the calling thread alone (addon.cc); these tests drive the threaded paths on
// small data, so every product is shared.
loadAddon().addon?.setMinimumSharedMatmulBytes?.(0);

const availability = nativeAvailability();
const required = process.env.INFER_REQUIRE_NATIVE === "1";
if (!availability.available) {
  const message = `native addon unavailable: ${availability.reason}`;
  if (required) throw new Error(`INFER_REQUIRE_NATIVE=1 but the ${message}`);
  console.warn(`skipping native-vs-reference tests: ${message}`);
}

const reference = new Kernel(createReferenceBackend());
// "avx512-nobf16": the AVX-512 kernels without AVX512_BF16 instructions (bf16 weights widened to f32), as on CPUs
// that lack them.
const isas = ["avx512", "avx512-nobf16", "avx2", "portable"] as const;

function nativeKernel(threads: number): { kernel: Kernel; backend: NativeBackend } {
  const kernel = createKernel({ backend: "native", threads });
  return { kernel, backend: kernel.backend as NativeBackend };
}

/** Σ_c |input[t, c]| · |weight[r, c]| for every output: the natural scale of a dot product's rounding error. */
function magnitudes(input: Tensor, weight: Float32Array, rows: number): Float32Array {
  const [tokens, cols] = input.shape;
  const x = input.data as Float32Array;
  const out = new Float32Array(tokens * rows);
  for (let t = 0; t < tokens; t++)
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += Math.abs(x[t * cols + c]) * Math.abs(weight[r * cols + c]);
      out[t * rows + r] = sum;
    }
  return out;
}

function expectWithin(actual: Float32Array, expected: Float32Array, scale: Float32Array | number, tolerance: number, what: string): void {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const bound = typeof scale === "number" ? scale : scale[i];
    const error = Math.abs(actual[i] - expected[i]) / Math.max(bound, 1e-30);
    if (!(error <= worst)) worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
  }
  expect(worst, `${what}: worst relative error ${worst}`).toBeLessThanOrEqual(tolerance);
}

/** Runs `body` with a native kernel on `isa` (skipping the test when the CPU cannot run it), then puts the default
 *  selection back (it is process-wide) — after the body's promise settles when it returns one (bodies that yield to
 *  the event loop between cases). */
function onIsa<Result extends void | Promise<void>>(isa: (typeof isas)[number], threads: number, context: { skip: () => void }, body: (kernel: Kernel) => Result): Result {
  const { kernel, backend } = nativeKernel(threads);
  if (!backend.selectIsa(isa)) context.skip();
  const restore = () => void (backend.selectIsa("avx512") || backend.selectIsa("avx2") || backend.selectIsa("portable"));
  let result: Result;
  try {
    result = body(kernel);
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore) as Result;
  restore();
  return result;
}

describe.skipIf(!availability.available)("native backend vs reference", () => {
  const columnsFor = (dtype: DType) => (dtypeInfo[dtype].blockSize === 256 ? [256, 768] : dtypeInfo[dtype].blockSize === 32 ? [32, 96, 320] : [7, 45, 160]);

  /** One native matmul against the reference; `edit` may alter the encoded weight bytes first. */
  function checkMatmul(kernel: Kernel, isa: string, dtype: DType, tokens: number, rows: number, cols: number, edit?: (bytes: Uint8Array) => void,
                       editInput?: (values: Float32Array) => void): void {
    const seed = tokens * 1000 + rows + cols;
    const weightValues = randomValues(rows * cols, seed, 1, "normal");
    const weight = quantizeTensor(dtype, [rows, cols], weightValues);
    edit?.(weight.data as Uint8Array);
    const input = randomTensor([tokens, cols], seed + 1, 2, "normal");
    editInput?.(input.data as Float32Array);
    const expected = zerosLike([tokens, rows]);
    const actual = zerosLike([tokens, rows]);
    reference.matmul(expected, input, weight);
    kernel.matmul(actual, input, weight);
    const decoded = new Float32Array(rows * cols);
    reference.dequantize(Tensor.fromFloat32([rows, cols], decoded), weight);
    // Both sides quantize activations identically and take exact integer block sums, so they differ
    // only in the order the float block results are added: 1e-5 of Σ|x||w| covers float32 summation.
    expectWithin(actual.data as Float32Array, expected.data as Float32Array, magnitudes(input, decoded, rows), 1e-5,
      `${dtype} ${isa} tokens=${tokens} rows=${rows} cols=${cols}`);
  }

  for (const isa of isas) {
    for (const threads of [1, 3]) {
      describe(`matmul on ${isa}, ${threads} thread(s)`, () => {
        for (const dtype of allDTypes) {
          it(`${dtype} weights, GEMV and GEMM, ragged sizes`, (context) => {
            onIsa(isa, threads, context, (kernel) => {
              for (const cols of columnsFor(dtype)) {
                // Every token count up to a tile (the decode tiles take 1-4 tokens, K-quant tiles 1-4, float prefill
                // tiles 4 with a remainder) and row counts leaving every remainder after the 3- and 4-row tiles.
                for (const [tokens, rows] of [[1, 37], [1, 4], [2, 14], [4, 23], [5, 19], [6, 14], [9, 66]]) checkMatmul(kernel, isa, dtype, tokens, rows, cols);
              }
            });
          });
        }

        // Prefill-sized products: enough tokens for several token tiles and rows long enough that the kernels split
        // the inner dimension into chunks (accumulating partial sums), with ragged rows, tokens and columns; and the
        // small token counts kernels may treat specially (a few tokens, exactly one tile of 8).
        it("prefill GEMM: 67 tokens, long rows, ragged sizes; 3 and 8 tokens", (context) =>
          onIsa(isa, threads, context, async (kernel) => {
            for (const dtype of allDTypes) {
              const cols = dtypeInfo[dtype].blockSize === 256 ? 1280 : dtypeInfo[dtype].blockSize === 32 ? 1088 : 1031;
              checkMatmul(kernel, isa, dtype, 67, 37, cols);
              for (const tokens of [3, 8]) checkMatmul(kernel, isa, dtype, tokens, 13, columnsFor(dtype).at(-1)!);
              await yieldToEventLoop();
            }
            // Float GEMMs in packed panels: several row tasks of 128 rows with a ragged last panel (300 = 2 × 128 + 32
            // + 12), column blocks of 512 with a ragged (odd) last one, a token tile of 12 and a remainder of 8.
            for (const dtype of ["f32", "f16", "bf16"] as const) checkMatmul(kernel, isa, dtype, 20, 300, 545);
            // q8_0 may hold −128 (ggml's quantizer never writes it, other encoders can): its magnitude does not fit
            // in int8, which kernels that take |w| or negate w must handle. Set every 7th value byte to −128.
            const setMinimum = (bytes: Uint8Array) => {
              for (let block = 0; block < bytes.length; block += 34) for (let i = 2; i < 34; i += 7) bytes[block + i] = 0x80;
            };
            for (const tokens of [1, 6]) checkMatmul(kernel, isa, "q8_0", tokens, 9, 96, setMinimum);
          }));

        // Activations larger than the kernels keep in L2 (AVX-512 integer GEMM: tokens × block pairs × 64 bytes over
        // 256 KiB, i.e. tokens × pairs > 4096) switch the loop order to token tiles outermost. 67 × 65 pairs (129
        // blocks: an odd one, so a half pair) and 65 × 64 pairs, with token and row counts that leave remainders after
        // the 4-token and 4-row tiles.
        // Every register-tile shape the float kernels instantiate: decode (1-4 tokens) with 4-row tiles and 1-3 rows
        // left over, on ragged columns (the scalar tail); prefill (5-8 tokens: tiles of 4 with 1-4 left) with 3-row tiles
        // and 1-2 rows left over, on one chunk of columns and on two (the second accumulates). Row counts stay within
        // one task (the kernels split rows in tasks of at least 16 for decode and 8 for prefill).
        it("float GEMV and GEMM: every rows × tokens tile remainder, f32, f16 and bf16", (context) => {
          onIsa(isa, threads, context, (kernel) => {
            for (const dtype of ["f32", "f16", "bf16"] as const) {
              for (const tokens of [1, 2, 3, 4]) for (const rows of [5, 6, 7, 8, 37]) checkMatmul(kernel, isa, dtype, tokens, rows, 45);
              for (const tokens of [5, 6, 7, 8]) for (const rows of [4, 5]) for (const cols of [45, 1031]) checkMatmul(kernel, isa, dtype, tokens, rows, cols);
              // AVX-512 prefill (8 tokens or more) in 12-token tiles: every tile width (8–19 tokens leave 8–12, or 12
              // and 1–7), over two column blocks of 512 (the second accumulates), with a last panel of 18 rows
              // (50 = 32 + 18: its second half partly masked).
              for (let tokens = 8; tokens <= 19; tokens++) checkMatmul(kernel, isa, dtype, tokens, 50, 600);
            }
          });
        });

        // Integer prefill over two token groups (9 and 13 tokens) and rows longer than one chunk of blocks (1088
        // columns: the second chunk accumulates), with 4-row tiles leaving 1-3 rows; and activation blocks that are all
        // zero (their quantization scale is 0, which the quantizers must not divide by), in decode and prefill.
        it("integer GEMM: chunk accumulation on every row-tile remainder; all-zero activation blocks", (context) => {
          onIsa(isa, threads, context, (kernel) => {
            for (const dtype of ["q8_0", "q4_0"] as const) {
              for (const tokens of [9, 13]) for (const rows of [5, 6, 7]) checkMatmul(kernel, isa, dtype, tokens, rows, 1088);
            }
            // Zero the second block of every token, and all of the first token.
            const zeroBlocks = (cols: number) => (values: Float32Array) => {
              for (let start = 0; start < values.length; start += cols) values.fill(0, start + 32, start + 64);
              values.fill(0, 0, cols);
            };
            for (const dtype of allDTypes) {
              const cols = dtypeInfo[dtype].blockSize === 256 ? 512 : 96;
              for (const tokens of [1, 6, 9]) checkMatmul(kernel, isa, dtype, tokens, 7, cols, undefined, zeroBlocks(cols));
            }
          });
        });

        it("integer GEMM with activations beyond L2: q8_0 and q4_0, 65-67 tokens × 4096-4128 columns", (context) => {
          onIsa(isa, threads, context, (kernel) => {
            for (const dtype of ["q8_0", "q4_0"] as const) {
              checkMatmul(kernel, isa, dtype, 67, 37, 4128);
              checkMatmul(kernel, isa, dtype, 65, 21, 4096);
            }
          });
        });
      });
    }
  }

  // The ops outside the matmul tables follow the selected ISA too (attention and SiLU/SwiGLU have AVX2 and portable
  // paths). The kernel is made in beforeAll: the thread count belongs to the addon and is set when a kernel is made.
  for (const [isa, threads] of isas.flatMap((isa) => [1, 3].map((threads) => [isa, threads] as const))) {
    describe(`other ops on ${isa}, ${threads} thread(s)`, () => {
      let kernel!: Kernel;
      let selected = false;
      beforeAll(() => {
        const native = nativeKernel(threads);
        kernel = native.kernel;
        selected = native.backend.selectIsa(isa);
      });
      beforeEach((context) => {
        if (!selected) context.skip();
      });
      afterAll(() => {
        const backend = kernel.backend as NativeBackend;
        backend.selectIsa("avx512") || backend.selectIsa("avx2") || backend.selectIsa("portable");
      });

      it("rmsNorm and layerNorm (with and without bias)", () => {
        for (const [rows, dim] of [[1, 7], [5, 96], [3, 2051]]) {
          const input = randomTensor([rows, dim], rows + dim, 3, "normal");
          const weight = randomTensor([dim], dim, 1, "normal");
          const bias = randomTensor([dim], dim + 1, 1, "normal");
          for (const op of ["rms", "layer", "layer-no-bias"] as const) {
            const expected = zerosLike([rows, dim]), actual = zerosLike([rows, dim]);
            if (op === "rms") {
              reference.rmsNorm(expected, input, weight, 1e-5);
              kernel.rmsNorm(actual, input, weight, 1e-5);
            } else {
              reference.layerNorm(expected, input, weight, op === "layer" ? bias : null, 1e-5);
              kernel.layerNorm(actual, input, weight, op === "layer" ? bias : null, 1e-5);
            }
            // Outputs are O(|weight|); float32 products after a double-precision mean: 2e-6 absolute.
            expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), `${op} ${rows}x${dim}`).toBeLessThan(2e-6 * 8);
          }
        }
      });

      it("rope: half and interleaved layouts, partial rotary dimension, llama3 scaling", () => {
        const cases = [
          { heads: 3, headDim: 64, rotaryDim: 64, layout: "half" as const, scaling: undefined },
          { heads: 2, headDim: 64, rotaryDim: 32, layout: "interleaved" as const, scaling: undefined },
          { heads: 4, headDim: 128, rotaryDim: 128, layout: "half" as const,
            scaling: { type: "llama3" as const, factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 } },
        ];
        for (const { heads, headDim, rotaryDim, layout, scaling } of cases) {
          const tokens = 5;
          const frequencies = ropeFrequencies({ rotaryDim, theta: 500000, scaling });
          const positions = Int32Array.from([0, 1, 17, 4095, 131071]);
          const original = randomTensor([tokens, heads, headDim], headDim + heads, 1, "normal");
          const expected = new Tensor("f32", original.shape, (original.data as Float32Array).slice());
          const actual = new Tensor("f32", original.shape, (original.data as Float32Array).slice());
          reference.rope(expected, positions, frequencies, layout);
          kernel.rope(actual, positions, frequencies, layout);
          // Same double-precision angles; one float32 rotation: 1e-6 absolute on unit-scale inputs.
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-5);
        }
      });

      it("softmax, silu, gelu, swiglu, add and mul (with row broadcast)", () => {
        const shape = [4, 1001];
        const a = randomTensor(shape, 1, 6, "normal");
        const b = randomTensor(shape, 2, 6, "normal");
        const row = randomTensor([1001], 3, 2, "normal");
        const pairs: [string, (kernel: Kernel, out: Tensor) => void, number][] = [
          ["softmax", (k, out) => k.softmax(out, a), 1e-7],           // probabilities ≤ 1; float32 exp
          ["silu", (k, out) => k.silu(out, a), 1e-5],                 // |x| ≤ ~25: float32 exp/divide
          ["gelu", (k, out) => k.gelu(out, a), 1e-5],
          ["swiglu", (k, out) => k.swiglu(out, a, b), 1e-4],          // products of two O(10) values
          ["add", (k, out) => k.add(out, a, b), 0],                   // exact in float32 either way
          ["add row", (k, out) => k.add(out, a, row), 0],
          ["mul", (k, out) => k.mul(out, a, b), 0],
          ["mul row", (k, out) => k.mul(out, a, row), 0],
        ];
        for (const [name, run, tolerance] of pairs) {
          const expected = zerosLike(shape), actual = zerosLike(shape);
          run(reference, expected);
          run(kernel, actual);
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), name).toBeLessThanOrEqual(tolerance);
        }
        // SiLU/SwiGLU/GELU/add/mul over more than 16384 values run in chunks across the pool (a prefill's
        // activations); add and mul with a row broadcast in chunks of whole rows.
        const wide = [5, 4001];
        const gate = randomTensor(wide, 4, 6, "normal"), up = randomTensor(wide, 5, 6, "normal");
        const rows = randomTensor([3001, 12], 6, 6, "normal"), bias = randomTensor([12], 7, 2, "normal");
        for (const [name, run, tolerance] of [
          ["silu (chunked)", (k: Kernel, out: Tensor) => k.silu(out, gate), 1e-5],
          ["swiglu (chunked)", (k: Kernel, out: Tensor) => k.swiglu(out, gate, up), 1e-4],
          ["gelu (chunked)", (k: Kernel, out: Tensor) => k.gelu(out, gate), 1e-5],
          ["add (chunked)", (k: Kernel, out: Tensor) => k.add(out, gate, up), 0],
          ["mul (chunked)", (k: Kernel, out: Tensor) => k.mul(out, gate, up), 0],
        ] as const) {
          const expected = zerosLike(wide), actual = zerosLike(wide);
          run(reference, expected);
          run(kernel, actual);
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), name).toBeLessThanOrEqual(tolerance);
        }
        for (const [name, run] of [
          ["add row (chunked)", (k: Kernel, out: Tensor) => k.add(out, rows, bias)],
          ["mul row (chunked)", (k: Kernel, out: Tensor) => k.mul(out, rows, bias)],
        ] as const) {
          const expected = zerosLike(rows.shape), actual = zerosLike(rows.shape);
          run(reference, expected);
          run(kernel, actual);
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), name).toBeLessThanOrEqual(0);
        }
      });

      it("flash attention matches naive attention: causal, full, GQA, MQA, chunked prefill, partial cache, very wide groups, tiled full attention", () => {
        const cases = [
          { tokens: 1, heads: 8, kvHeads: 2, headDim: 64, capacity: 300, kvLength: 200, start: 199, causal: true },
          { tokens: 7, heads: 4, kvHeads: 4, headDim: 24, capacity: 64, kvLength: 20, start: 13, causal: true },
          { tokens: 70, heads: 6, kvHeads: 1, headDim: 32, capacity: 160, kvLength: 150, start: 80, causal: true },
          { tokens: 5, heads: 4, kvHeads: 2, headDim: 40, capacity: 130, kvLength: 129, start: 0, causal: false },
          // 66 query heads per kv head: a group wider than the 16 heads the AVX-512 kernel takes side by side.
          { tokens: 3, heads: 66, kvHeads: 1, headDim: 16, capacity: 40, kvLength: 30, start: 27, causal: true },
          { tokens: 2, heads: 66, kvHeads: 1, headDim: 16, capacity: 40, kvLength: 30, start: 0, causal: false },
          // Full attention of many queries (the vision encoder's): the tiled kernel on AVX-512 (full_attention.h) —
          // blocks of 32 queries and tiles of 64 keys, both with a short last one; GQA; heads of 64 and 128.
          { tokens: 70, heads: 4, kvHeads: 2, headDim: 64, capacity: 150, kvLength: 139, start: 0, causal: false },
          { tokens: 32, heads: 2, kvHeads: 2, headDim: 128, capacity: 70, kvLength: 64, start: 6, causal: false },
          // Heads of 64 in full attention with fewer than 32 queries: the per-token loop, not the tiled kernel.
          { tokens: 9, heads: 4, kvHeads: 2, headDim: 64, capacity: 80, kvLength: 75, start: 0, causal: false },
          // Heads of 12 (not a multiple of 8): AVX2's dot products and value sums take their scalar tails.
          { tokens: 3, heads: 6, kvHeads: 2, headDim: 12, capacity: 50, kvLength: 45, start: 42, causal: true },
        ];
        for (const c of cases) {
          const query = randomTensor([c.tokens, c.heads, c.headDim], c.tokens + c.headDim, 1, "normal");
          const keys = randomTensor([c.capacity, c.kvHeads, c.headDim], c.capacity, 1, "normal");
          const values = randomTensor([c.capacity, c.kvHeads, c.headDim], c.capacity + 1, 1, "normal");
          // Rows past kvLength must never be read: poison them.
          (keys.data as Float32Array).fill(Number.NaN, c.kvLength * c.kvHeads * c.headDim);
          (values.data as Float32Array).fill(Number.NaN, c.kvLength * c.kvHeads * c.headDim);
          const options = { startPosition: c.start, kvLength: c.kvLength, causal: c.causal, scale: 1 / Math.sqrt(c.headDim) };
          const expected = zerosLike(query.shape), actual = zerosLike(query.shape);
          attentionNaive(expected, query, keys, values, options);
          kernel.attention(actual, query, keys, values, options);
          // Weighted averages of unit-scale values; float32 online softmax vs double naive: 2e-5 absolute.
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), JSON.stringify(c)).toBeLessThan(2e-5);
        }
      });

      it("embedding, quantize and dequantize for every dtype", () => {
        const vocab = 11, dim = 512;
        const values = randomValues(vocab * dim, 5, 1, "normal");
        const ids = Int32Array.from([0, 10, 3, 3, 7]);
        for (const dtype of allDTypes) {
          const table = quantizeTensor(dtype, [vocab, dim], values);
          const expected = zerosLike([ids.length, dim]), actual = zerosLike([ids.length, dim]);
          reference.embedding(expected, table, ids);
          kernel.embedding(actual, table, ids);
          // Decoding is exact arithmetic on the stored values.
          expect(maxAbsDiff(actual.data as Float32Array, expected.data as Float32Array), `embedding ${dtype}`).toBe(0);

          const decodedExpected = zerosLike([vocab, dim]), decodedActual = zerosLike([vocab, dim]);
          reference.dequantize(decodedExpected, table);
          kernel.dequantize(decodedActual, table);
          expect(maxAbsDiff(decodedActual.data as Float32Array, decodedExpected.data as Float32Array), `dequantize ${dtype}`).toBe(0);

          const encodedExpected = Tensor.zeros(dtype, [vocab, dim]), encodedActual = Tensor.zeros(dtype, [vocab, dim]);
          const input = Tensor.fromFloat32([vocab, dim], values);
          reference.quantize(encodedExpected, input);
          kernel.quantize(encodedActual, input);
          // ggml's reference rounding on both sides: byte-identical encodings.
          expect(Buffer.from(encodedActual.data.buffer).equals(Buffer.from(encodedExpected.data.buffer)), `quantize ${dtype}`).toBe(true);
        }
      });

      // Conversions at the edges: infinities, NaN, values that overflow f16 (≥ 65520 rounds to infinity) or just fit,
      // subnormals; and q8_0/q4_0 blocks that are all zero (scale 0: nothing may be divided by it). Byte for byte as
      // the reference encodes them.
      it("quantize at the edges: infinities, NaN, f16 overflow, subnormals, all-zero blocks", () => {
        const edges = [Infinity, -Infinity, Number.NaN, -Number.NaN, 65519, 65520, -70000, 65504, 1e-7, -3e-8, 0, -0, 1, -2.5];
        const values = new Float32Array(128);
        values.set(edges);
        values.fill(0, 32, 64); // block 1 all zero; blocks 2-3 ordinary
        values.set(randomValues(64, 21, 1, "normal"), 64);
        for (const dtype of ["f16", "bf16"] as const) {
          const expected = Tensor.zeros(dtype, [1, 128]), actual = Tensor.zeros(dtype, [1, 128]);
          const input = Tensor.fromFloat32([1, 128], values);
          reference.quantize(expected, input);
          kernel.quantize(actual, input);
          expect(Array.from(new Uint16Array(actual.data.buffer)), dtype).toEqual(Array.from(new Uint16Array(expected.data.buffer)));
        }
        const finite = values.slice(32); // q8_0/q4_0 of infinities are not meaningful: the zero block and ordinary ones
        for (const dtype of ["q8_0", "q4_0"] as const) {
          const expected = Tensor.zeros(dtype, [1, 96]), actual = Tensor.zeros(dtype, [1, 96]);
          const input = Tensor.fromFloat32([1, 96], finite);
          reference.quantize(expected, input);
          kernel.quantize(actual, input);
          expect(Buffer.from(actual.data.buffer).equals(Buffer.from(expected.data.buffer)), dtype).toBe(true);
        }
      });

      it("argmax and topK", () => {
        const logits = randomTensor([128256], 9, 10, "normal");
        expect(kernel.argmax(logits)).toBe(reference.argmax(logits));
        const top = kernel.topK(logits, 40);
        const expectedTop = reference.topK(logits, 40);
        expect(Array.from(top.indices)).toEqual(Array.from(expectedTop.indices));
      });
    });
  }

  it("native errors name the op when sizes disagree with the arrays", () => {
    // Below the Tensor layer (which checks shapes itself), the addon checks every array against the sizes it is
    // given, so a wrong call from TypeScript is an exception and never a read past the end of a buffer.
    const load = loadAddon();
    if (!load.addon) throw new Error(load.reason);
    const out = new Float32Array(4);
    const input = new Float32Array(8);
    const weight = new Uint8Array(64); // 2 rows of 8 f32 where the call claims 4 rows
    expect(() => load.addon!.matmul(out, input, weight, 0, 1, 4, 8)).toThrow(/native matmul: argument 2 holds 64 bytes, needs 128/);
    // Only the plain storage dtypes have an interleaved layout (dtype code 7 is q8_0x16, already interleaved).
    expect(() => load.addon!.interleave!(new Uint8Array(16 * 34), new Uint8Array(16 * 34), 7, 16, 32)).toThrow(/only q8_0, q4_0, q4_k, q6_k, f32, f16 and bf16 have an interleaved layout/);
    expect(() => load.addon!.matmul(out, input, weight, 99, 1, 2, 8)).toThrow(/native matmul: unknown dtype code 99/);
    // Attention caches: only f32, f16, bf16, q8_0 and q4_0, and the block types only where a position's row is whole
    // blocks and a head is whole blocks or lies inside one.
    const query = new Float32Array(4 * 48), cache = new Uint8Array(4096);
    const attend = (dtype: number, kvHeads: number, headDim: number) => () =>
      load.addon!.attention(new Float32Array(2 * headDim), query.subarray(0, 2 * headDim), cache, cache, 1, 2, kvHeads, headDim, 4, 0, 4, true, 1, dtype);
    expect(attend(5, 2, 32)).toThrow(/dtype code 5 is not a cache element type that can store 2 kv heads of 32/);
    expect(attend(3, 1, 8)).toThrow(/dtype code 3 is not a cache element type that can store 1 kv heads of 8/); // 8 values: part of a block
    expect(attend(4, 2, 48)).toThrow(/dtype code 4 is not a cache element type that can store 2 kv heads of 48/); // a head across blocks
    expect(attend(3, 2, 16)).not.toThrow(); // 32 values: one block holds both heads
  });
});
