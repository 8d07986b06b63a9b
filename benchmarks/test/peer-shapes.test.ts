// The peer files' shapes are the published Llama 3.2 1B and 3B (and ChatGLM3-6B) ones: head size, tensor shapes,
// parameter counts, and which matrices each format stores in which dtype; the tiny case (a real file) only on request.
import { describe, expect, it } from "vitest";

import { planPeerModelTensors } from "../src/peer-model-files.ts";
import { defaultPeerShapesOf, isRandomPeerShape, peerShapeConfig, peerShapeFileStem, peerShapesOf } from "../src/peer-shapes.ts";

const elements = (shape: readonly number[]) => shape.reduce((product, size) => product * size, 1);

describe("peer shapes", () => {
  it("offers the real tiny model as a llama case besides 1B and 3B, measured only when asked for", () => {
    expect(peerShapesOf.llama).toEqual(["1b", "3b", "tiny"]);
    expect(defaultPeerShapesOf).toEqual({ llama: ["1b", "3b"], chatglm: ["chatglm3-6b"] });
    expect(peerShapesOf.llama.filter(isRandomPeerShape)).toEqual(["1b", "3b"]);
    expect(["1b", "tiny", "chatglm3-6b"].map((shape) => peerShapeFileStem(shape as "1b"))).toEqual(["llama-3.2-1b", "stories260K", "chatglm3-6b"]);
  });

  it("has the real head sizes (64 for 1B, 128 for 3B)", () => {
    expect(peerShapeConfig("1b")).toMatchObject({ hiddenSize: 2048, layerCount: 16, headCount: 32, keyValueHeadCount: 8, headDim: 64, rotaryDim: 64, intermediateSize: 8192, vocabSize: 128256, tiedEmbeddings: true });
    expect(peerShapeConfig("3b")).toMatchObject({ hiddenSize: 3072, layerCount: 28, headCount: 24, keyValueHeadCount: 8, headDim: 128, rotaryDim: 128, intermediateSize: 8192, vocabSize: 128256, tiedEmbeddings: true });
  });

  it("plans the published parameter counts (1,235,814,400 and 3,212,749,824), tied embeddings stored once", () => {
    for (const [shape, parameters] of [["1b", 1_235_814_400], ["3b", 3_212_749_824]] as const) {
      const planned = planPeerModelTensors(peerShapeConfig(shape), "f16").filter((tensor) => tensor.name !== "rope_freqs.weight");
      expect(planned.reduce((total, tensor) => total + elements(tensor.shape), 0)).toBe(parameters);
      expect(planned.some((tensor) => tensor.name === "output.weight")).toBe(false);
    }
    const layer = planPeerModelTensors(peerShapeConfig("1b"), "q8_0").filter((tensor) => tensor.name.startsWith("blk.0."));
    expect(Object.fromEntries(layer.map((tensor) => [tensor.name, tensor.shape]))).toMatchObject({ "blk.0.attn_q.weight": [2048, 2048], "blk.0.attn_k.weight": [512, 2048], "blk.0.ffn_down.weight": [2048, 8192] });
  });

  it("stores Q4_0 files' tied embedding in Q6_K, as llama-quantize does, and vectors in f32", () => {
    const config = peerShapeConfig("1b");
    expect(planPeerModelTensors(config, "q8_0")[0]).toMatchObject({ name: "token_embd.weight", dtype: "q8_0" });
    const planned = planPeerModelTensors(config, "q4_0");
    expect(planned[0]).toMatchObject({ name: "token_embd.weight", dtype: "q6_k" });
    expect(planned.find((tensor) => tensor.name === "blk.0.ffn_up.weight")!.dtype).toBe("q4_0");
    expect(planned.find((tensor) => tensor.name === "output_norm.weight")!.dtype).toBe("f32");
  });

  it("plans Q4_K_M files as llama-quantize makes them: Q6_K embedding, Q6_K attn_v / ffn_down in half the layers", () => {
    const planned = planPeerModelTensors(peerShapeConfig("3b"), "q4_k_m");
    const dtypes = (suffix: string) => planned.filter((tensor) => tensor.name.endsWith(suffix)).map((tensor) => tensor.dtype);
    expect(planned[0]).toMatchObject({ name: "token_embd.weight", dtype: "q6_k" });
    expect(dtypes("attn_v.weight").filter((dtype) => dtype === "q6_k")).toHaveLength(14);
    expect(dtypes("ffn_down.weight").filter((dtype) => dtype === "q6_k")).toHaveLength(14);
    expect(new Set(dtypes("ffn_up.weight"))).toEqual(new Set(["q4_k"]));
    // Tensor data 2.01 GB; with the vocabulary's metadata, the 2.02 GB of llama-quantize's 3B Q4_K_M file (BASELINES.md).
    expect(planned.reduce((total, tensor) => total + tensor.bytes, 0) / 1e9).toBeCloseTo(2.01, 2);
  });

  it("plans ChatGLM3-6B's 6,243,584,000 parameters as llama.cpp's chatglm tensors, the untied output at Q6_K in Q4_0 files", () => {
    const config = peerShapeConfig("chatglm3-6b");
    expect(config).toMatchObject({ architecture: "chatglm", hiddenSize: 4096, layerCount: 28, headCount: 32, keyValueHeadCount: 2, headDim: 128, rotaryDim: 64, intermediateSize: 13696, vocabSize: 65024, tiedEmbeddings: false });
    const planned = planPeerModelTensors(config, "q4_0");
    expect(planned.reduce((total, tensor) => total + elements(tensor.shape), 0)).toBe(6_243_584_000);
    const byName = Object.fromEntries(planned.map((tensor) => [tensor.name, tensor]));
    expect(byName["blk.0.attn_qkv.weight"]).toMatchObject({ shape: [4608, 4096], dtype: "q4_0" });
    expect(byName["blk.0.attn_qkv.bias"]).toMatchObject({ shape: [4608], dtype: "f32" });
    expect(byName["blk.0.ffn_up.weight"]).toMatchObject({ shape: [27392, 4096], dtype: "q4_0" });
    expect(byName["token_embd.weight"].dtype).toBe("q4_0");
    expect(byName["output.weight"]).toMatchObject({ shape: [65024, 4096], dtype: "q6_k" });
  });
});
