// The loaders' shared last step on hand-made tensors: tied embeddings aliased in either direction, vectors made f32,
// Q/K rows (and their biases) re-laid out only when the layout changes, quantize-on-load of the matrices, packing
// that keeps a tied embedding shared, and the RoPE frequencies of the result.

import { Tensor, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  assembleLoadedWeights,
  llamaLayerTensorNames,
  llamaRopeFrequencies,
  randomLlamaTensors,
  reorderLlamaRopeWeights,
  reorderRopeRows,
  tinyLlamaConfig,
  type LlamaConfig,
} from "../src/index.ts";

const source = { format: "random" as const, path: "(test)", files: [] };
const config = tinyLlamaConfig();

describe("assembleLoadedWeights", () => {
  it("aliases a tied embedding and output in whichever direction the file stores them", () => {
    const tied: LlamaConfig = { ...config, tiedEmbeddings: true };
    const onlyEmbedding = randomLlamaTensors(tied, 1);
    onlyEmbedding.delete("lm_head.weight");
    const fromEmbedding = assembleLoadedWeights({ config: tied, tensors: onlyEmbedding, source, metadata: new Map() });
    expect(fromEmbedding.tensors.get("lm_head.weight")).toBe(fromEmbedding.tensors.get("model.embed_tokens.weight"));

    const onlyOutput = randomLlamaTensors(tied, 1);
    const output = onlyEmbedding.get("model.embed_tokens.weight")!;
    onlyOutput.delete("model.embed_tokens.weight");
    onlyOutput.set("lm_head.weight", output);
    const fromOutput = assembleLoadedWeights({ config: tied, tensors: onlyOutput, source, metadata: new Map() });
    expect(fromOutput.tensors.get("model.embed_tokens.weight")).toBe(output);
    expect(fromOutput.tensors.get("lm_head.weight")).toBe(output);

    // Untied: a missing output is not made up from the embedding.
    const untied = randomLlamaTensors(config, 1);
    untied.delete("lm_head.weight");
    expect(() => assembleLoadedWeights({ config, tensors: untied, source, metadata: new Map() })).toThrow(/\(test\): tensor "lm_head\.weight": missing/);
  });

  it("makes vectors f32, keeps matrices as stored unless a dtype is asked, and computes the RoPE frequencies", () => {
    const tensors = randomLlamaTensors(config, 2, "f16");
    tensors.set("model.norm.weight", new Tensor("f16", [32], new Uint16Array(32).fill(0x3c00)));
    const loaded = assembleLoadedWeights({ config, tensors, source, metadata: new Map([["k", 1]]) });
    expect(loaded.tensors.get("model.norm.weight")!.dtype).toBe("f32");
    expect((loaded.tensors.get("model.norm.weight")!.data as Float32Array)[0]).toBe(1);
    expect(loaded.tensors.get(llamaLayerTensorNames(0).gate)!.dtype).toBe("f16");
    expect(loaded.ropeFrequencies).toEqual(llamaRopeFrequencies(config));
    expect(loaded.source).toBe(source);
    expect(loaded.metadata.get("k")).toBe(1);
    expect(loaded.config).toBe(config);
    const quantized = assembleLoadedWeights({ config, tensors, source, metadata: new Map() }, { dtype: "q8_0" });
    expect(quantized.tensors.get(llamaLayerTensorNames(1).down)!.dtype).toBe("q8_0");
    expect(quantized.tensors.get("model.norm.weight")!.dtype).toBe("f32");
  });

  it("re-lays out Q/K rows only when asked for the other layout, and says so in the config", () => {
    const tensors = randomLlamaTensors(config, 3);
    const same = assembleLoadedWeights({ config, tensors, source, metadata: new Map() }, { ropeLayout: "half" });
    expect(same.config).toBe(config);
    expect(same.tensors.get(llamaLayerTensorNames(0).query)).toBe(tensors.get(llamaLayerTensorNames(0).query));
    const other = assembleLoadedWeights({ config, tensors, source, metadata: new Map() }, { ropeLayout: "interleaved" });
    expect(other.config).toEqual({ ...config, ropeLayout: "interleaved" });
    const query = llamaLayerTensorNames(1).query;
    expect(other.tensors.get(query)!.data).toEqual(reorderRopeRows(tensors.get(query)!, config.headCount, "half", "interleaved").data);
  });

  it.skipIf(!nativeAvailability().available)("packs the matrices for the native kernel, a tied embedding once and still shared (skipped without the addon)", () => {
    const native = createKernel({ backend: "native", threads: 1 });
    const tied: LlamaConfig = { ...config, tiedEmbeddings: true };
    const tensors = randomLlamaTensors(tied, 4);
    tensors.delete("lm_head.weight");
    const packed = assembleLoadedWeights({ config: tied, tensors, source, metadata: new Map() }, { dtype: "q8_0", packFor: native });
    expect(packed.tensors.get(llamaLayerTensorNames(0).query)!.dtype).toBe("q8_0x16");
    expect(packed.tensors.get("lm_head.weight")!.dtype).toBe("q8_0x16");
    expect(packed.tensors.get("model.embed_tokens.weight")).toBe(packed.tensors.get("lm_head.weight"));
    expect(packed.tensors.get("model.norm.weight")!.dtype).toBe("f32");
  });
});

describe("reorderLlamaRopeWeights", () => {
  it("re-lays out every layer's Q and K rows, and their biases when the config has them, sharing the rest", () => {
    const biased: LlamaConfig = { ...config, attentionBias: true };
    const tensors = randomLlamaTensors(biased, 5);
    for (let layer = 0; layer < biased.layerCount; layer++) {
      const names = llamaLayerTensorNames(layer);
      tensors.set(names.queryBias, Tensor.fromFloat32([32], Float32Array.from({ length: 32 }, (_, index) => index)));
      tensors.set(names.keyBias, Tensor.fromFloat32([16], Float32Array.from({ length: 16 }, (_, index) => 100 + index)));
    }
    const reordered = reorderLlamaRopeWeights(tensors, biased, "interleaved");
    for (let layer = 0; layer < biased.layerCount; layer++) {
      const names = llamaLayerTensorNames(layer);
      expect(reordered.get(names.key)!.data, names.key).toEqual(reorderRopeRows(tensors.get(names.key)!, biased.keyValueHeadCount, "half", "interleaved").data);
      expect(reordered.get(names.queryBias)!.data).toEqual(reorderRopeRows(tensors.get(names.queryBias)!, biased.headCount, "half", "interleaved").data);
      expect(reordered.get(names.keyBias)!.data).toEqual(reorderRopeRows(tensors.get(names.keyBias)!, biased.keyValueHeadCount, "half", "interleaved").data);
      expect(reordered.get(names.value)).toBe(tensors.get(names.value));
    }
    expect(Array.from(reordered.get(llamaLayerTensorNames(0).keyBias)!.data as Float32Array).slice(0, 4)).toEqual([100, 104, 101, 105]);
    const unbiased = reorderLlamaRopeWeights(tensors, config, "interleaved");
    expect(unbiased.get(llamaLayerTensorNames(0).keyBias)).toBe(tensors.get(llamaLayerTensorNames(0).keyBias));
  });
});
