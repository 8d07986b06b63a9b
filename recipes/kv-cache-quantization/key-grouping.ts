// The measurement behind the cache's key layout: should keys be quantized per token (blocks of 32 values along one
// position's row of kvHeads × headDim, the layout values use) or per channel (blocks of 32 positions of one channel,
// as KIVI and KVQuant propose because a few key channels carry outliers, what @infer-recipes/cache ships for q8_0 and
// q4_0)? Values are per token either way.
//
// The simulation stores f32 and writes into it what each layout would decode to: per-channel groups are quantized
// when their 32nd position is written and the newest < 32 positions stay f32 meanwhile (KIVI's residual) — exactly
// what the shipped cache reads when positions come one at a time (and the shipped cache reads the same however they
// are chunked), so the "channel" simulation run token by token must reproduce the real quantized cache (a check
// accuracy.ts prints); per-token blocks are q8_0/q4_0 rows. A third, cheaper candidate keeps the
// per-token blocks but first subtracts a per-channel offset from the keys (their mean over the layer's first written
// chunk): exact for attention, since q·(k − μ) shifts every score of a query by the same q·μ, and it takes the
// constant part of outlier channels out of the blocks' scales.

import { DenseKvCache, type DenseKvCacheOptions } from "@infer-recipes/cache";
import { dequantizeTensor, quantizeTensor } from "@infer-recipes/kernel";

/** Positions per per-channel group (one q8_0/q4_0 block). */
const GROUP = 32;

/** How keys are grouped into quantization blocks: per channel (shipped), per token, or per token after centring. */
export type KeyGrouping = "token" | "channel" | "centred";

/** Quantizes then decodes `values` as rows of `width` in a block format (the round trip a cache read sees). */
function roundTrip(dtype: "q8_0" | "q4_0", values: Float32Array, width: number): Float32Array {
  return dequantizeTensor(quantizeTensor(dtype, [values.length / width, width], values));
}

/** An f32 dense cache holding what a q8_0/q4_0 cache with the given key grouping would decode to. */
export class SimulatedKeyGroupingCache extends DenseKvCache {
  constructor(
    options: Omit<DenseKvCacheOptions, "dtype">,
    readonly blockDType: "q8_0" | "q4_0",
    readonly keyGrouping: KeyGrouping,
  ) {
    super({ ...options, dtype: "f32" });
  }

  private readonly offsets: Float32Array[] = [];

  override write(layer: number, start: number, keys: Float32Array, values: Float32Array): void {
    const width = this.keyValueHeadCount * this.headDim;
    const storedValues = roundTrip(this.blockDType, values, width);
    if (this.keyGrouping === "centred") {
      const tokens = keys.length / width;
      if (!this.offsets[layer]) {
        const mean = new Float32Array(width);
        for (let t = 0; t < tokens; t++) for (let c = 0; c < width; c++) mean[c] += keys[t * width + c] / tokens;
        this.offsets[layer] = mean;
      }
      const mean = this.offsets[layer];
      const centred = keys.map((value, index) => value - mean[index % width]);
      const decoded = roundTrip(this.blockDType, centred, width);
      return super.write(layer, start, decoded.map((value, index) => value + mean[index % width]), storedValues);
    }
    if (this.keyGrouping === "token") return super.write(layer, start, roundTrip(this.blockDType, keys, width), storedValues);
    super.write(layer, start, keys, storedValues);
    // Groups completed by this write: quantize each of their channels over the group's 32 positions.
    const end = start + keys.length / width;
    const stored = this.layer(layer).keys.data as Float32Array; // [capacity, kvHeads·headDim]
    const transposed = new Float32Array(width * GROUP); // [channel, position in group]
    for (let group = Math.floor(start / GROUP); (group + 1) * GROUP <= end; group++) {
      const first = group * GROUP;
      for (let position = 0; position < GROUP; position++) {
        for (let channel = 0; channel < width; channel++) transposed[channel * GROUP + position] = stored[(first + position) * width + channel];
      }
      const decoded = roundTrip(this.blockDType, transposed, GROUP);
      for (let position = 0; position < GROUP; position++) {
        for (let channel = 0; channel < width; channel++) stored[(first + position) * width + channel] = decoded[channel * GROUP + position];
      }
    }
  }
}
