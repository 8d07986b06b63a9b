// Rotary position embedding, in place. For token t at position p and pair i (i < rotaryDim / 2):
//   angle = p · frequencies[i] (float64), (a, b) → (a·cos − b·sin, a·sin + b·cos), stored as float32.
// "half" rotates the pair (i, i + rotaryDim/2); "interleaved" rotates (2i, 2i + 1). Dims ≥ rotaryDim are untouched.

import type { RopeLayout } from "../backend.ts";
import type { Tensor } from "../tensor.ts";

/** Rotates x [tokens, heads, headDim] by each token's position. frequencies [rotaryDim / 2]. */
export function rope(x: Tensor, positions: Int32Array, frequencies: Float32Array, layout: RopeLayout): void {
  const [tokens, heads, headDim] = x.shape;
  const values = x.data as Float32Array; // [tokens, heads, headDim]
  const pairs = frequencies.length; // rotaryDim / 2
  for (let token = 0; token < tokens; token++) {
    for (let pair = 0; pair < pairs; pair++) {
      const angle = positions[token] * frequencies[pair];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const first = layout === "half" ? pair : 2 * pair; // index of a within the head
      const second = layout === "half" ? pair + pairs : 2 * pair + 1; // index of b within the head
      for (let head = 0; head < heads; head++) {
        const headStart = (token * heads + head) * headDim;
        const a = values[headStart + first];
        const b = values[headStart + second];
        values[headStart + first] = a * cos - b * sin;
        values[headStart + second] = a * sin + b * cos;
      }
    }
  }
}
