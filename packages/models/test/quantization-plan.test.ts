// The per-tensor types of each quantization scheme, against llama-quantize's rules (src/llama-quant.cpp at b10573):
// which layers' attn_v / ffn_down get Q6_K in Q4_K_M files, the output / tied embedding matrix, the row-size fallbacks,
// and a converted file holding those types.

import path from "node:path";

import { describe, expect, it } from "vitest";

import { convertSafetensorsToGguf, plannedTensorDType, readGguf, usesMoreBits } from "../src/index.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "../src/tiny-models/tiny-llama.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("quantization-plan");

describe("plannedTensorDType", () => {
  it("gives Q6_K to half of attn_v / ffn_down in Q4_K_M: the layers llama-quantize's use_more_bits picks", () => {
    // Worked out by hand from use_more_bits: i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2.
    const moreBits = (layerCount: number) => Array.from({ length: layerCount }, (_, layer) => layer).filter((layer) => usesMoreBits(layer, layerCount));
    expect(moreBits(16)).toEqual([0, 1, 4, 7, 10, 13, 14, 15]); // Llama 3.2 1B
    expect(moreBits(28)).toEqual([0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]); // Llama 3.2 3B
    const context = { layerCount: 16, tiedEmbeddings: true };
    expect(plannedTensorDType("q4_k_m", "blk.4.attn_v.weight", [512, 2048], context)).toBe("q6_k");
    expect(plannedTensorDType("q4_k_m", "blk.5.attn_v.weight", [512, 2048], context)).toBe("q4_k");
    expect(plannedTensorDType("q4_k_m", "blk.15.ffn_down.weight", [2048, 8192], context)).toBe("q6_k");
    expect(plannedTensorDType("q4_k_m", "blk.3.ffn_down.weight", [2048, 8192], context)).toBe("q4_k");
    for (const name of ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_output.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"]) {
      expect(plannedTensorDType("q4_k_m", name, [2048, 2048], context), name).toBe("q4_k");
    }
     // GLM's fused attn_qkv: llama-quantize's Q5_K, which this project lacks, so the next type up; Q4_0 files keep Q4_0.
    expect(plannedTensorDType("q4_k_m", "blk.5.attn_qkv.weight", [4608, 4096], context)).toBe("q6_k");
    expect(plannedTensorDType("q4_0", "blk.5.attn_qkv.weight", [4608, 4096], context)).toBe("q4_0");
  });

  it("keeps the output matrix (a tied token_embd) at Q6_K in Q4_0 and Q4_K_M files, Q8_0 when rows are not 256-blocks", () => {
    const tied = { layerCount: 16, tiedEmbeddings: true };
    const untied = { layerCount: 16, tiedEmbeddings: false };
    expect(plannedTensorDType("q4_0", "token_embd.weight", [128256, 2048], tied)).toBe("q6_k");
    expect(plannedTensorDType("q4_k_m", "token_embd.weight", [128256, 2048], tied)).toBe("q6_k");
    expect(plannedTensorDType("q4_0", "token_embd.weight", [128256, 2048], untied)).toBe("q4_0");
    expect(plannedTensorDType("q4_0", "output.weight", [128256, 2048], untied)).toBe("q6_k");
    expect(plannedTensorDType("q4_0", "token_embd.weight", [32000, 288], tied)).toBe("q8_0"); // stories: 288 columns
    expect(plannedTensorDType("q8_0", "token_embd.weight", [128256, 2048], tied)).toBe("q8_0");
    expect(plannedTensorDType("bf16", "blk.0.attn_q.weight", [2048, 2048], tied)).toBe("bf16");
  });

  it("falls back for partial blocks (Q4_K → Q8_0 where llama-quantize has Q5_0; Q4_0 → F16), and leaves vectors F32", () => {
    const context = { layerCount: 4, tiedEmbeddings: true };
    expect(plannedTensorDType("q4_k_m", "blk.1.attn_q.weight", [128, 128], context)).toBe("q8_0");
    expect(plannedTensorDType("q4_k_m", "blk.1.attn_q.weight", [128, 48], context)).toBe("f16");
    expect(plannedTensorDType("q4_0", "blk.1.ffn_down.weight", [128, 48], context)).toBe("f16");
    expect(plannedTensorDType("q4_k_m", "blk.1.attn_norm.weight", [128], context)).toBe("f32");
  });
});

describe("convertSafetensorsToGguf --quant q4_k_m", () => {
  it("writes each tensor in its planned type, with llama.cpp's file type 15", () => {
    const config = tinyLlamaConfig({ hiddenSize: 256, intermediateSize: 512, headCount: 4, keyValueHeadCount: 2, headDim: 64, rotaryDim: 64, layerCount: 8, tiedEmbeddings: true });
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 9));
    const output = path.join(directory, "model-q4_k_m.gguf");
    const result = convertSafetensorsToGguf(directory, output, { quant: "q4_k_m" });
    const gguf = readGguf(output);
    expect(gguf.metadata.get("general.file_type")).toBe(15);
    for (const tensor of result.tensors) {
      expect(gguf.tensorInfo(tensor.name)!.dtype, tensor.name).toBe(plannedTensorDType("q4_k_m", tensor.name, tensor.shape, config));
    }
    expect(gguf.tensorInfo("token_embd.weight")!.dtype).toBe("q6_k");
    expect(gguf.tensorInfo("blk.0.attn_v.weight")!.dtype).toBe("q6_k"); // 8 layers: use_more_bits picks 0, 3, 6, 7
    expect(gguf.tensorInfo("blk.1.attn_v.weight")!.dtype).toBe("q4_k");
    expect(gguf.tensorInfo("blk.3.ffn_down.weight")!.dtype).toBe("q6_k");
    expect(gguf.tensorInfo("blk.1.ffn_up.weight")!.dtype).toBe("q4_k");
    expect(gguf.tensorInfo("blk.1.ffn_norm.weight")!.dtype).toBe("f32");
  });
});
