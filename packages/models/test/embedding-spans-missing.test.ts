// checkEmbeddingSpans on a span that has no embeddings at all (a caller's bug, e.g. JSON without the field): the
// RangeError names the position and says "got undefined" instead of failing with a TypeError on .length.

import { describe, expect, it } from "vitest";

import { checkEmbeddingSpans, type EmbeddingSpan } from "../src/index.ts";

describe("checkEmbeddingSpans without embeddings", () => {
  it("says what the span holds: undefined or null", () => {
    for (const embeddings of [undefined, null]) {
      const spans = [{ start: 3, embeddings }] as unknown as EmbeddingSpan[];
      expect(() => checkEmbeddingSpans(spans, 4, "prefill")).toThrow(new RangeError("prefill: an embedding span at position 3 must hold whole rows of 4 floats, got undefined"));
    }
  });
});
