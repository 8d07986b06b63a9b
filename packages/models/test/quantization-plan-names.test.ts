// plannedTensorDType for the names the more-bits rule does not apply to: an untied token embedding in a q4_k_m file
// keeps the scheme's q4_k (llama-quantize has no token_embd rule for Q4_K_M), and only a decoder layer's name (one that
// starts with blk.N.) counts as a layer: a vision tower's v.blk.N.attn_v.weight gets no more bits.

import { describe, expect, it } from "vitest";

import { plannedTensorDType, usesMoreBits } from "../src/index.ts";

describe("plannedTensorDType outside the decoder layers", () => {
  const context = { layerCount: 16, tiedEmbeddings: false };

  it("an untied token embedding is q4_k in a q4_k_m file", () => {
    expect(plannedTensorDType("q4_k_m", "token_embd.weight", [128256, 2048], context)).toBe("q4_k");
  });

  it("a name with blk.N. inside it is not a decoder layer", () => {
    expect(usesMoreBits(0, 16)).toBe(true);
    expect(plannedTensorDType("q4_k_m", "blk.0.attn_v.weight", [512, 2048], context)).toBe("q6_k");
    expect(plannedTensorDType("q4_k_m", "v.blk.0.attn_v.weight", [512, 2048], context)).toBe("q4_k");
    expect(plannedTensorDType("q4_k_m", "v.blk.0.ffn_down.weight", [2048, 8192], context)).toBe("q4_k");
  });
});
