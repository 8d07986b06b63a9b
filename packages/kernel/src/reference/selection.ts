// Picking the largest values: argmax, and topK by partial selection (a size-k min-heap over the input, O(n log k)),
// not a full sort of the vocabulary. Order: larger value first; on equal values the lower index first.

import type { TopK } from "../backend.ts";
import type { Tensor } from "../tensor.ts";

/** Index of the largest value; the first one on ties. input [n]. */
export function argmax(input: Tensor): number {
  const values = input.data as Float32Array; // [n]
  let best = 0;
  for (let index = 1; index < values.length; index++) {
    if (values[index] > values[best]) best = index;
  }
  return best;
}

/** True when entry `first` ranks above entry `second`: larger value, or equal value and lower index. */
function ranksAbove(values: Float32Array, first: number, second: number): boolean {
  return values[first] > values[second] || (values[first] === values[second] && first < second);
}

/** Restores the heap property below `position`: the root is the lowest-ranked entry kept. */
function siftDown(heap: Int32Array, size: number, values: Float32Array, position: number): void {
  for (;;) {
    const left = 2 * position + 1;
    const right = left + 1;
    let lowest = position;
    if (left < size && ranksAbove(values, heap[lowest], heap[left])) lowest = left;
    if (right < size && ranksAbove(values, heap[lowest], heap[right])) lowest = right;
    if (lowest === position) return;
    [heap[position], heap[lowest]] = [heap[lowest], heap[position]];
    position = lowest;
  }
}

/** The k largest values of input [n], largest first. */
export function topK(input: Tensor, k: number): TopK {
  const values = input.data as Float32Array; // [n]
  const heap = new Int32Array(k); // [k] indices of the best k so far; heap[0] is the lowest-ranked of them
  for (let index = 0; index < k; index++) heap[index] = index;
  for (let position = Math.floor(k / 2) - 1; position >= 0; position--) siftDown(heap, k, values, position);
  for (let index = k; index < values.length; index++) {
    if (ranksAbove(values, index, heap[0])) {
      heap[0] = index;
      siftDown(heap, k, values, 0);
    }
  }
  const indices = Int32Array.from(heap).sort((first, second) => (ranksAbove(values, first, second) ? -1 : 1));
  const topValues = new Float32Array(k); // [k]
  for (let rank = 0; rank < k; rank++) topValues[rank] = values[indices[rank]];
  return { indices, values: topValues };
}
