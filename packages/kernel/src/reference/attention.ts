// Scaled dot-product attention over a key/value cache, two ways:
//   attentionNaive: for each query token and head, materialize all scores, mask, softmax, weighted sum of values.
//   attentionFlash: the same result computed over key blocks of 64 with an online softmax (running maximum,
//                   running sum, and an accumulator rescaled whenever the maximum grows), as fast kernels do.
// Everything is accumulated in float64; only the output is rounded to float32.
//
// Shapes: out, query [tokens, heads, headDim] f32; keys, values [capacity, kvHeads, headDim], rows < kvLength valid,
// in any cache dtype (f32, f16, bf16, q8_0, q4_0): each key and value row is decoded where the loop reads it
// (CacheRowReader; q8_0 / q4_0 keys grouped per channel through ChannelKeyReader), so a quantized cache is never
// expanded into a decoded copy.
// Query token t sits at position startPosition + t; causal attention lets it see keys 0 .. startPosition + t.
// Grouped-query attention: head h reads kv head floor(h / (heads / kvHeads)).

import type { AttentionOptions } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { CacheRowReader } from "./cache-rows.ts";
import { keyRowReader } from "./channel-key-rows.ts";

export const flashKeyBlock = 64;

interface AttentionLayout {
  tokens: number;
  heads: number;
  headDim: number;
  /** Query heads sharing one kv head. */
  groupSize: number;
}

function layoutOf(query: Tensor, keys: Tensor): AttentionLayout {
  const [tokens, heads, headDim] = query.shape;
  const kvHeads = keys.shape[1];
  return { tokens, heads, headDim, groupSize: heads / kvHeads };
}

/** Number of keys query token `token` may see. */
function visibleKeys(token: number, options: AttentionOptions): number {
  return options.causal ? Math.min(options.kvLength, options.startPosition + token + 1) : options.kvLength;
}

/** Position of query token `token` for the key reader: its own position when causal; Infinity (sees every position
 *  as stored) otherwise. */
export function queryPosition(token: number, options: AttentionOptions): number {
  return options.causal ? options.startPosition + token : Infinity;
}

/** scale · (query row · key row), in float64. */
export function score(queryValues: Float32Array, queryStart: number, keyValues: Float32Array, keyStart: number, headDim: number, scale: number): number {
  let dot = 0;
  for (let index = 0; index < headDim; index++) dot += queryValues[queryStart + index] * keyValues[keyStart + index];
  return dot * scale;
}

/** Reference attention: full score vector, softmax, weighted sum. */
export function attentionNaive(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
  const { tokens, heads, headDim, groupSize } = layoutOf(query, keys);
  const queryValues = query.data as Float32Array; // [tokens, heads, headDim]
  const keyRows = keyRowReader(keys, options); // [capacity, kvHeads, headDim], per token or per channel
  const valueRows = new CacheRowReader(values); // [capacity, kvHeads, headDim]
  const outValues = out.data as Float32Array; // [tokens, heads, headDim]
  const scores = new Float64Array(options.kvLength); // [kvLength] scores, then probabilities, of one (token, head)
  const accumulator = new Float64Array(headDim); // [headDim]
  for (let token = 0; token < tokens; token++) {
    const visible = visibleKeys(token, options);
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryStart = (token * heads + head) * headDim;
      let maximum = -Infinity;
      for (let key = 0; key < visible; key++) {
        scores[key] = score(queryValues, queryStart, keyRows.values, keyRows.read(key, kvHead, key, queryPosition(token, options)), headDim, options.scale);
        maximum = Math.max(maximum, scores[key]);
      }
      let sum = 0;
      for (let key = 0; key < visible; key++) {
        scores[key] = Math.exp(scores[key] - maximum);
        sum += scores[key];
      }
      accumulator.fill(0);
      for (let key = 0; key < visible; key++) {
        const valueStart = valueRows.read(key, kvHead);
        const probability = scores[key] / sum;
        for (let index = 0; index < headDim; index++) accumulator[index] += probability * valueRows.values[valueStart + index];
      }
      for (let index = 0; index < headDim; index++) outValues[queryStart + index] = accumulator[index];
    }
  }
}

/** Tiled attention with an online softmax over key blocks of `flashKeyBlock`. */
export function attentionFlash(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
  const { tokens, heads, headDim, groupSize } = layoutOf(query, keys);
  const queryValues = query.data as Float32Array; // [tokens, heads, headDim]
  const keyRows = keyRowReader(keys, options); // [capacity, kvHeads, headDim], per token or per channel
  const valueRows = new CacheRowReader(values); // [capacity, kvHeads, headDim]
  const outValues = out.data as Float32Array; // [tokens, heads, headDim]
  const blockScores = new Float64Array(flashKeyBlock); // [flashKeyBlock] scores of the current key block
  const accumulator = new Float64Array(headDim); // [headDim] Σ e^(score − runningMaximum) · value
  for (let token = 0; token < tokens; token++) {
    const visible = visibleKeys(token, options);
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryStart = (token * heads + head) * headDim;
      let runningMaximum = -Infinity;
      let runningSum = 0; // Σ e^(score − runningMaximum) over the keys seen so far
      accumulator.fill(0);
      for (let blockStart = 0; blockStart < visible; blockStart += flashKeyBlock) {
        const blockLength = Math.min(flashKeyBlock, visible - blockStart);
        let blockMaximum = -Infinity;
        for (let offset = 0; offset < blockLength; offset++) {
          blockScores[offset] = score(queryValues, queryStart, keyRows.values, keyRows.read(blockStart + offset, kvHead, blockStart + offset, queryPosition(token, options)), headDim, options.scale);
          blockMaximum = Math.max(blockMaximum, blockScores[offset]);
        }
        // Rescale what was accumulated under the old maximum to the new one (e^−∞ = 0 on the first block).
        const newMaximum = Math.max(runningMaximum, blockMaximum);
        const correction = Math.exp(runningMaximum - newMaximum);
        runningSum *= correction;
        for (let index = 0; index < headDim; index++) accumulator[index] *= correction;
        for (let offset = 0; offset < blockLength; offset++) {
          const weight = Math.exp(blockScores[offset] - newMaximum);
          const valueStart = valueRows.read(blockStart + offset, kvHead);
          runningSum += weight;
          for (let index = 0; index < headDim; index++) accumulator[index] += weight * valueRows.values[valueStart + index];
        }
        runningMaximum = newMaximum;
      }
      for (let index = 0; index < headDim; index++) outValues[queryStart + index] = accumulator[index] / runningSum;
    }
  }
}
