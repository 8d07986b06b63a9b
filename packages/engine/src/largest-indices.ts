// The indices of the largest scores, largest first (the lower index first on ties): what top-k and top-p sampling
// keep. A bounded min-heap selects them in one pass over the vocabulary (O(vocab · log count)), and only the
// selected few are sorted, so top-k over a 128K vocabulary costs about a millisecond, not a full sort.

/** Indices of the `count` largest `scores`, largest first; on equal scores the lower index ranks first. */
export function largestIndices(scores: Float32Array, count: number): Int32Array {
  const size = Math.max(0, Math.min(count, scores.length));
  if (size === 0) return new Int32Array(0);
  // heap[0] is the worst of the best `size` seen so far (smallest score; on equal scores the higher index).
  const heap = new Int32Array(size);
  const worse = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  let filled = 0;
  for (let index = 0; index < scores.length; index++) {
    if (filled < size) {
      // Sift up.
      let position = filled++;
      heap[position] = index;
      while (position > 0) {
        const parent = (position - 1) >> 1;
        if (!worse(heap[position], heap[parent])) break;
        [heap[position], heap[parent]] = [heap[parent], heap[position]];
        position = parent;
      }
      continue;
    }
    // Indices arrive in increasing order, so an equal score never beats what is kept.
    if (!(scores[index] > scores[heap[0]])) continue;
    heap[0] = index;
    // Sift down.
    let position = 0;
    for (;;) {
      const left = 2 * position + 1, right = left + 1;
      let smallest = position;
      if (left < size && worse(heap[left], heap[smallest])) smallest = left;
      if (right < size && worse(heap[right], heap[smallest])) smallest = right;
      if (smallest === position) break;
      [heap[position], heap[smallest]] = [heap[smallest], heap[position]];
      position = smallest;
    }
  }
  return Int32Array.from(Array.from(heap).sort((a, b) => scores[b] - scores[a] || a - b));
}
