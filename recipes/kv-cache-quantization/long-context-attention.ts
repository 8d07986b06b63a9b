// Attention at long context with the Llama 3.2 1B head layout (32 query heads, 8 key/value heads of 64): random
// keys and values for 2k..32k positions, written into a dense cache of each element type (as the model writes them:
// q8_0 / q4_0 keys grouped per channel with their f32 residual); one decode query at the last position and
// a 4-token chunk ending there (the prefill path). Reports the relative error of the attention output against the f32
// cache on the reference backend, and how far the native backend is from the reference on the same stored cache.
// Random data, not a model: what this isolates is the kernel reading a quantized cache over tens of thousands of
// positions (the native backend splits such a context into position ranges merged afterwards).

import { DenseKvCache, type LayerKeyValues } from "@infer-recipes/cache";
import { Kernel, Tensor, cacheDTypes, createKernel, nativeAvailability, type AttentionOptions, type CacheDType } from "@infer-recipes/kernel";
import { createRandom } from "@infer-recipes/models";

/** Llama 3.2 1B: query heads, key/value heads, head size. */
const HEADS = 32, KV_HEADS = 8, HEAD_DIM = 64;

/** One (context length, element type) measurement. */
export interface LongContextRow {
  positions: number;
  cache_dtype: CacheDType;
  /** ‖out − out(f32 cache)‖ / ‖out(f32 cache)‖ on the reference backend, decode query and prefill chunk together. */
  relative_error_reference: number;
  /** The same for the native backend (undefined without the addon). */
  relative_error_native?: number;
  /** ‖native − reference‖ / ‖reference‖ on the same stored cache. */
  native_vs_reference?: number;
}

/** Values uniform in [−scale, scale), [count]. */
function uniform(count: number, seed: number, scale: number): Float32Array {
  const random = createRandom(seed);
  const out = new Float32Array(count);
  for (let index = 0; index < count; index++) out[index] = (random() * 2 - 1) * scale;
  return out;
}

function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  let difference = 0, norm = 0;
  for (let index = 0; index < expected.length; index++) {
    difference += (actual[index] - expected[index]) ** 2;
    norm += expected[index] ** 2;
  }
  return Math.sqrt(difference / norm);
}

/** Attention outputs of the decode query and of the 4-token chunk, concatenated. */
function attend(kernel: Kernel, queries: Tensor[], stored: LayerKeyValues, positions: number): Float32Array {
  const outputs = queries.map((query) => {
    const tokens = query.shape[0];
    const out = Tensor.zeros("f32", query.shape);
    const options: AttentionOptions = { startPosition: positions - tokens, kvLength: positions, causal: true, scale: 1 / Math.sqrt(HEAD_DIM), keyResidual: stored.keyResidual };
    kernel.attention(out, query, stored.keys, stored.values, options);
    return out.data as Float32Array;
  });
  const joined = new Float32Array(outputs.reduce((sum, output) => sum + output.length, 0));
  let offset = 0;
  for (const output of outputs) {
    joined.set(output, offset);
    offset += output.length;
  }
  return joined;
}

/** Measures every cache element type at each context length; `progress` hears one line per length. */
export function measureLongContextAttention(lengths: readonly number[], progress: (line: string) => void = () => {}): LongContextRow[] {
  const reference = createKernel({ backend: "reference" });
  const native = nativeAvailability().available ? createKernel({ backend: "native" }) : undefined;
  const rows: LongContextRow[] = [];
  for (const positions of lengths) {
    progress(`long-context attention, ${positions} positions`);
    const width = KV_HEADS * HEAD_DIM;
    const keys = uniform(positions * width, positions + 1, 1); // [positions, kvHeads, headDim]
    const values = uniform(positions * width, positions + 2, 1);
    // Queries 4× the keys' scale, so the softmax is peaked (score std ≈ 1.3) rather than near uniform.
    const queries = [1, 4].map((tokens, index) => Tensor.fromFloat32([tokens, HEADS, HEAD_DIM], uniform(tokens * HEADS * HEAD_DIM, positions + 10 + index, 4)));
    const store = (dtype: CacheDType): LayerKeyValues => {
      const cache = new DenseKvCache({ layerCount: 1, keyValueHeadCount: KV_HEADS, headDim: HEAD_DIM, maxTokens: positions, initialTokens: positions, dtype });
      cache.write(0, 0, keys, values);
      cache.length = positions;
      return cache.layer(0);
    };
    const exact = attend(reference, queries, store("f32"), positions);
    for (const dtype of cacheDTypes) {
      const stored = store(dtype);
      const onReference = attend(reference, queries, stored, positions);
      const row: LongContextRow = { positions, cache_dtype: dtype, relative_error_reference: relativeDifference(onReference, exact) };
      if (native) {
        const onNative = attend(native, queries, stored, positions);
        row.relative_error_native = relativeDifference(onNative, exact);
        row.native_vs_reference = relativeDifference(onNative, onReference);
      }
      rows.push(row);
    }
  }
  return rows;
}
