// The seeded random helpers tiny models and benchmarks are built from (tiny-models/random-tensors.ts and
// random-weights.ts): mulberry32's published sequence, value ranges, the tensor comparison's messages, and random
// weights whose exponents and block scales sit where the file header says.

import { createKernel, dequantizeTensor, dtypeInfo, Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { bytesOf, createRandom, expectSameTensor, randomTensor, randomValues } from "../src/tiny-models/random-tensors.ts";
import { copiesOf, randomActivations, randomLlamaWeights, randomWeights } from "../src/tiny-models/random-weights.ts";
import { llamaRopeFrequencies, tinyLlamaConfig } from "../src/index.ts";

describe("seeded random values", () => {
  it("createRandom is mulberry32: seed 1 starts 0.6270739405881613 (the published first value)", () => {
    const random = createRandom(1);
    expect([random(), random(), random()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const negative = createRandom(-1); // the seed is taken as an unsigned 32-bit integer
    const unsigned = createRandom(0xffffffff);
    expect([negative(), negative()]).toEqual([unsigned(), unsigned()]);
    const many = createRandom(7);
    for (let index = 0; index < 2000; index++) {
      const value = many();
      expect(value >= 0 && value < 1).toBe(true);
    }
  });

  it("randomValues spreads them over [−scale, scale); randomTensor encodes them in the dtype", () => {
    expect(Array.from(randomValues(2, 1))).toEqual(Array.from(Float32Array.of(2 * 0.6270739405881613 - 1, 2 * 0.002735721180215478 - 1)));
    expect(Array.from(randomValues(2, 1, 4))).toEqual(Array.from(Float32Array.of((2 * 0.6270739405881613 - 1) * 4, (2 * 0.002735721180215478 - 1) * 4)));
    const values = randomValues(4000, 3, 0.5);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...values)).toBeLessThan(0.5);
    expect(Math.min(...values)).toBeLessThan(-0.49);
    expect(Math.max(...values)).toBeGreaterThan(0.49);
    const tensor = randomTensor("f32", [2, 3], 5, 2);
    expect(tensor.shape).toEqual([2, 3]);
    expect(Array.from(tensor.data)).toEqual(Array.from(randomValues(6, 5, 2)));
    const quantized = randomTensor("q8_0", [1, 32], 5);
    expect(quantized.dtype).toBe("q8_0");
    const back = dequantizeTensor(quantized);
    const original = randomValues(32, 5);
    for (let index = 0; index < 32; index++) expect(Math.abs(back[index] - original[index])).toBeLessThan(0.01);
  });
});

describe("expectSameTensor and bytesOf", () => {
  it("passes identical tensors and names the first difference: missing, dtype, shape, then the first differing byte", () => {
    const a = Tensor.fromFloat32([2], Float32Array.of(1, 2));
    expect(Array.from(bytesOf(a))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    expect(expectSameTensor(Tensor.fromFloat32([2], Float32Array.of(1, 2)), a)).toBeUndefined();
    expect(() => expectSameTensor(undefined, a, "w")).toThrow(new Error("w: tensor missing"));
    expect(() => expectSameTensor(new Tensor("f16", [2], Uint16Array.of(1, 2)), a, "w")).toThrow(new Error("w: dtype f16, expected f32"));
    expect(() => expectSameTensor(new Tensor("f16", [2], Uint16Array.of(1, 2)), a)).toThrow(new Error("dtype f16, expected f32"));
    expect(() => expectSameTensor(Tensor.fromFloat32([1, 2], Float32Array.of(1, 2)), a, "w")).toThrow(new Error("w: shape [1,2], expected [2]"));
    expect(() => expectSameTensor(Tensor.fromFloat32([2], Float32Array.of(1, 3)), a, "w")).toThrow(new Error("w: storage differs first at byte 6 of 8"));
    expect(() => expectSameTensor(Tensor.fromFloat32([2], Float32Array.of(-1, 2)), a)).toThrow(new Error("storage differs first at byte 3 of 8"));
    const view = new Tensor("f32", [1], new Float32Array([9, 1, 2]).subarray(1, 2));
    expect(Array.from(bytesOf(view))).toEqual([0, 0, 0x80, 0x3f]);
  });
});

describe("random weights for benchmarks", () => {
  it("keep every float's magnitude in [2^-7, 2^-6) and every block scale at 2^-8, in every dtype", () => {
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const values = dequantizeTensor(randomWeights(dtype, 8, 64));
      expect(values.length).toBe(512);
      for (const value of values) {
        expect(Math.abs(value), dtype).toBeGreaterThanOrEqual(2 ** -7);
        expect(Math.abs(value), dtype).toBeLessThan(2 ** -6);
      }
      expect(values.some((value) => value < 0) && values.some((value) => value > 0), dtype).toBe(true);
    }
    const scaleOffsets = { q8_0: [0], q4_0: [0], q4_k: [0, 2], q6_k: [208] } as const;
    for (const [dtype, offsets] of Object.entries(scaleOffsets) as Array<[keyof typeof scaleOffsets, readonly number[]]>) {
      const tensor = randomWeights(dtype, 4, 512);
      const bytes = bytesOf(tensor);
      const { blockBytes } = dtypeInfo[dtype];
      expect(bytes.length).toBe(4 * (512 / dtypeInfo[dtype].blockSize) * blockBytes);
      for (let block = 0; block < bytes.length; block += blockBytes) {
        for (const offset of offsets) expect([bytes[block + offset], bytes[block + offset + 1]], `${dtype} block at ${block}`).toEqual([0x00, 0x1c]);
      }
      expect(dequantizeTensor(tensor).every(Number.isFinite), dtype).toBe(true); // "ordinary finite numbers"
    }
  });

  it("fill more than one 64 KiB stretch with random bits (no zero tail)", () => {
    const tensor = randomWeights("f32", 1, 40000); // 160000 bytes: three stretches
    const words = new Uint32Array(tensor.data.buffer);
    const tail = Array.from(words.subarray(words.length - 2000)).map((word) => word & 0x7fffff);
    expect(new Set(tail).size).toBeGreaterThan(1900);
  });

  it("copiesOf makes independent copies after the original; randomActivations is the same fixed sequence every call", () => {
    const original = Tensor.fromFloat32([2], Float32Array.of(1, 2));
    const copies = copiesOf(original, 3);
    expect(copies.length).toBe(3);
    expect(copies[0]).toBe(original);
    expect(copies[1].data).not.toBe(original.data);
    expect(Array.from(copies[2].data)).toEqual([1, 2]);
    expect(copies[2].shape).toEqual([2]);
    copies[1].data[0] = 5;
    expect(Array.from(original.data)).toEqual([1, 2]);
    expect(copiesOf(original, 1)).toEqual([original]);
    const activations = randomActivations(3, 1);
    expect(activations.shape).toEqual([3, 1]);
    expect(Array.from(activations.data)).toEqual(Array.from(Float32Array.of(0.6551540484651923, 0.30481433868408203, -0.36751651763916016)));
    expect(Array.from(randomActivations(3, 1).data)).toEqual(Array.from(activations.data));
  });

  it("randomLlamaWeights: every tensor of the config, norms 1, matrices in the dtype, a tied output sharing the embedding", () => {
    for (const tiedEmbeddings of [true, false]) {
      const config = tinyLlamaConfig({ tiedEmbeddings, hiddenSize: 64, intermediateSize: 64, headDim: 16, rotaryDim: 16 });
      const weights = randomLlamaWeights(config, "q8_0");
      expect(weights.config).toBe(config);
      expect(weights.source).toEqual({ format: "random", path: "(random q8_0 weights)", files: [] });
      expect(weights.metadata.size).toBe(0);
      expect(Array.from(weights.ropeFrequencies)).toEqual(Array.from(llamaRopeFrequencies(config)));
      expect(weights.tensors.size).toBe(3 + 9 * config.layerCount);
      expect(weights.tensors.get("model.layers.1.input_layernorm.weight")!.dtype).toBe("f32");
      expect(new Set(weights.tensors.get("model.norm.weight")!.data)).toEqual(new Set([1]));
      expect(weights.tensors.get("model.layers.0.mlp.down_proj.weight")!.dtype).toBe("q8_0");
      expect(weights.tensors.get("lm_head.weight") === weights.tensors.get("model.embed_tokens.weight")).toBe(tiedEmbeddings);
      expect(weights.tensors.get("lm_head.weight")!.shape).toEqual([64, 64]);
    }
    const packed = randomLlamaWeights(tinyLlamaConfig({ hiddenSize: 64, intermediateSize: 64, headDim: 16, rotaryDim: 16 }), "q8_0", { packFor: createKernel({ backend: "native" }) });
    expect(packed.tensors.get("model.layers.0.mlp.down_proj.weight")!.dtype).not.toBe("q8_0");
    expect(packed.tensors.get("model.norm.weight")!.dtype).toBe("f32");
  });
});
