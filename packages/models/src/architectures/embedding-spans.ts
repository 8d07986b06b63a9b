// Input embeddings that replace the token embeddings at some positions of a sequence: how a vision-language model
// feeds image embeddings to its language model. The prompt holds one placeholder token (<image>) per image
// embedding; after the token embeddings are looked up, the rows of each span overwrite the placeholders'. Spans are
// placed by absolute position in the sequence, so chunked prefill, a cache that already holds part of the prompt,
// and batched steps all find the rows that fall into their positions.

import type { Tensor } from "@infer-recipes/kernel";

/** Rows that replace the token embeddings of consecutive positions (an image's embeddings at its <image> tokens). */
export interface EmbeddingSpan {
  /** Position in the sequence of the first row. */
  start: number;
  /** [rows, hidden] f32: rows replace the embeddings of positions start .. start + rows − 1. */
  embeddings: Float32Array;
}

/** Positions a span covers. */
export function spanLength(span: EmbeddingSpan, hidden: number): number {
  return span.embeddings.length / hidden;
}

/** Checks spans against the model width: whole rows, non-negative and non-overlapping positions. */
export function checkEmbeddingSpans(spans: readonly EmbeddingSpan[], hidden: number, what: string): void {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let end = 0;
  for (const span of sorted) {
    if (!(span.embeddings instanceof Float32Array) || span.embeddings.length === 0 || span.embeddings.length % hidden !== 0) {
      throw new RangeError(`${what}: an embedding span at position ${span.start} must hold whole rows of ${hidden} floats, got ${span.embeddings?.length}`);
    }
    if (!Number.isInteger(span.start) || span.start < end) {
      throw new RangeError(`${what}: embedding spans must start at non-negative positions and not overlap (one starts at ${span.start}, the previous ends at ${end})`);
    }
    end = span.start + spanLength(span, hidden);
  }
}

/**
 * Overwrites the rows of `residual` [count, hidden] that hold positions start .. start + count − 1 with the span rows
 * that fall into them.
 */
export function applyEmbeddingSpans(residual: Tensor, start: number, count: number, spans: readonly EmbeddingSpan[], hidden: number): void {
  const rows = residual.data as Float32Array; // [count, hidden]
  for (const span of spans) {
    const spanEnd = span.start + spanLength(span, hidden);
    const from = Math.max(start, span.start);
    const to = Math.min(start + count, spanEnd);
    if (from >= to) continue;
    rows.set(span.embeddings.subarray((from - span.start) * hidden, (to - span.start) * hidden), (from - start) * hidden);
  }
}
