// Loading GLM models from every format users hold them in: THUDM's Hugging Face checkpoints as safetensors and as
// PyTorch .bin files (single and sharded), llama.cpp's chatglm GGUF (written directly and by the converter), with
// quantize-on-load — all give the same decoder tensors and logits — and the clear errors for what cannot be loaded:
// ChatGLM-6B v1 configs, shapes contradicting the config, missing tensors, pickles that are not just tensors, legacy
// and truncated checkpoints.

import fs from "node:fs";
import path from "node:path";

import { createKernel, dequantizeTensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  LlamaModel,
  ModelFileError,
  UnpicklingRefused,
  convertHfModelToGguf,
  glmConfigJson,
  glmLayerTensorNames,
  glmTensorNames,
  llamaLayerTensorNames,
  loadModelWeights,
  randomGlmTensors,
  readGguf,
  tinyGlmConfig,
  writeGlmGgufModel,
  writeGlmHfModel,
  writePyTorchCheckpoint,
  type LoadedWeights,
} from "../src/index.ts";
import { expectSameTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("glm-loaders");
// A ChatGLM3-shaped toy: 4 heads in 2 groups of 16, RoPE on 8 of 16 dimensions, rope_ratio 2 (base 20000).
const config = tinyGlmConfig({ hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 8, intermediateSize: 96, vocabSize: 80, ropeTheta: 20000 });
const glmTensors = randomGlmTensors(config, 3);
const prompt = Int32Array.from({ length: 12 }, (_, index) => (index * 29 + 3) % config.vocabSize);

function logits(loaded: LoadedWeights): Float32Array {
  const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend: "reference" }));
  return model.forward(prompt, model.createCache(), { allLogits: true }).data as Float32Array;
}

function expectSameDecoderTensors(actual: LoadedWeights, expected: LoadedWeights): void {
  expect([...actual.tensors.keys()].sort()).toEqual([...expected.tensors.keys()].sort());
  for (const [name, tensor] of expected.tensors) expectSameTensor(actual.tensors.get(name), tensor, name);
}

describe("GLM checkpoints in every format load to the same decoder", () => {
  const reference = (() => {
    const directory = temporary();
    writeGlmHfModel(directory, config, glmTensors);
    return loadModelWeights(directory);
  })();

  it("reads THUDM's config.json and splits the fused matrices into the decoder's", () => {
    expect(reference.config).toEqual({ ...config, rmsNormEpsilon: 1e-5 });
    expect(reference.source.format).toBe("safetensors");
    const fused = glmTensors.get(glmLayerTensorNames(1).queryKeyValue)!.data as Float32Array;
    const names = llamaLayerTensorNames(1);
    const queryRows = config.headCount * config.headDim;
    const keyRows = config.keyValueHeadCount * config.headDim;
    expect(reference.tensors.get(names.query)!.shape).toEqual([queryRows, 64]);
    expect(Array.from(reference.tensors.get(names.key)!.data as Float32Array)).toEqual(Array.from(fused.subarray(queryRows * 64, (queryRows + keyRows) * 64)));
    expect(Array.from(reference.tensors.get(names.valueBias)!.data as Float32Array)).toEqual(
      Array.from((glmTensors.get(glmLayerTensorNames(1).queryKeyValueBias)!.data as Float32Array).subarray(queryRows + keyRows)),
    );
    const gateUp = glmTensors.get(glmLayerTensorNames(0).gateUp)!.data as Float32Array;
    expect(Array.from(reference.tensors.get(llamaLayerTensorNames(0).up)!.data as Float32Array)).toEqual(Array.from(gateUp.subarray(96 * 64)));
    expect(reference.tensors.get("lm_head.weight")).not.toBe(reference.tensors.get("model.embed_tokens.weight"));
    expect(reference.ropeFrequencies).toEqual(Float32Array.from([0, 1, 2, 3], (index) => 1 / Math.pow(20000, (2 * index) / 8)));
  });

  for (const [label, options] of [
    ["sharded safetensors", { shards: 3 }],
    ["a PyTorch pytorch_model.bin", { format: "pytorch" }],
    ["sharded PyTorch checkpoints", { format: "pytorch", shards: 2 }],
  ] as const) {
    it(`loads ${label}`, () => {
      const directory = temporary();
      writeGlmHfModel(directory, config, glmTensors, options);
      const loaded = loadModelWeights(directory);
      expect(loaded.source.format).toBe("format" in options ? "pytorch" : "safetensors");
      expectSameDecoderTensors(loaded, reference);
    });
  }

  it("loads f16 PyTorch checkpoints as f16 and quantizes them on load", () => {
    const directory = temporary();
    writeGlmHfModel(directory, config, randomGlmTensors(config, 3, "f16"), { format: "pytorch" });
    expect(loadModelWeights(directory).tensors.get(llamaLayerTensorNames(0).gate)!.dtype).toBe("f16");
    const quantized = loadModelWeights(directory, { dtype: "q8_0" });
    expect(quantized.tensors.get(llamaLayerTensorNames(0).query)!.dtype).toBe("q8_0");
    expect(quantized.tensors.get(llamaLayerTensorNames(0).queryBias)!.dtype).toBe("f32");
    const exact = logits(loadModelWeights(directory, { dtype: "f32" }));
    const difference = logits(quantized).reduce((largest, value, index) => Math.max(largest, Math.abs(value - exact[index])), 0);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThan(0.05);
  });

  it("loads a llama.cpp chatglm GGUF with the same tensors and logits", () => {
    const file = path.join(temporary(), "tiny-glm.gguf");
    writeGlmGgufModel(file, config, glmTensors);
    const gguf = readGguf(file);
    expect(gguf.metadata.get("general.architecture")).toBe("chatglm");
    expect(gguf.tensors.map((tensor) => tensor.name).slice(0, 4)).toEqual(["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_qkv.weight", "blk.0.attn_qkv.bias"]);
    const loaded = loadModelWeights(file);
    expect(loaded.config).toEqual({ ...config, rmsNormEpsilon: Math.fround(1e-5) });
    expectSameDecoderTensors(loaded, reference);
    expect(logits(loaded)).toEqual(logits(reference));
  });

  it("converts safetensors and PyTorch checkpoints to a chatglm GGUF (f32 exactly, q8_0 quantized)", () => {
    for (const format of ["safetensors", "pytorch"] as const) {
      const directory = temporary();
      writeGlmHfModel(directory, config, glmTensors, { format });
      const output = path.join(directory, "converted.gguf");
      const result = convertHfModelToGguf(directory, output, { quant: "f32" });
      expect(result.tensors.map((tensor) => tensor.name)).toContain("blk.1.ffn_up.weight");
      const gguf = readGguf(output);
      expect(gguf.metadata.get("chatglm.rope.dimension_count")).toBe(8);
      expect(gguf.metadata.get("chatglm.rope.freq_base")).toBe(20000);
      expect(gguf.metadata.get("tokenizer.ggml.add_bos_token")).toBe(false);
      expect(gguf.tensorInfo("blk.0.ffn_up.weight")!.shape).toEqual([2 * 96, 64]);
      expectSameDecoderTensors(loadModelWeights(output), reference);
    }
    const directory = temporary();
    writeGlmHfModel(directory, config, glmTensors);
    const output = path.join(directory, "converted-q8_0.gguf");
    convertHfModelToGguf(directory, output, { quant: "q8_0" });
    const quantized = loadModelWeights(output);
    expect(quantized.tensors.get(llamaLayerTensorNames(0).key)!.dtype).toBe("q8_0");
    const stored = dequantizeTensor(quantized.tensors.get(llamaLayerTensorNames(0).key)!);
    const original = reference.tensors.get(llamaLayerTensorNames(0).key)!.data as Float32Array;
    expect(stored.reduce((largest, value, index) => Math.max(largest, Math.abs(value - original[index])), 0)).toBeLessThan(0.01);
  });
});

describe("GLM files that cannot be loaded say why", () => {
  function writeWith(edit: (json: Record<string, unknown>) => void, tensors = glmTensors): string {
    const directory = temporary();
    writeGlmHfModel(directory, config, tensors);
    const json = glmConfigJson(config);
    edit(json);
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(json));
    return directory;
  }

  it("refuses ChatGLM-6B v1 and settings the decoder does not implement, naming the field", () => {
    expect(() => loadModelWeights(writeWith((json) => (json.position_encoding_2d = true)))).toThrow(/field "model_type": this is ChatGLM-6B \(v1/);
    expect(() => loadModelWeights(writeWith((json) => (json.rmsnorm = false)))).toThrow(/field "rmsnorm": expected true/);
    expect(() => loadModelWeights(writeWith((json) => (json.add_bias_linear = true)))).toThrow(/field "add_bias_linear": expected false/);
    expect(() => loadModelWeights(writeWith((json) => delete json.padded_vocab_size))).toThrow(/field "padded_vocab_size": is required but missing/);
  });

  it("names the fused tensor whose shape contradicts the config, and a missing tensor under its GLM name", () => {
    expect(() => loadModelWeights(writeWith((json) => (json.multi_query_group_num = 1)))).toThrow(
      /tensor "transformer\.encoder\.layers\.0\.self_attention\.query_key_value\.weight": shape \[128, 64\] contradicts the config: expected 96 rows = \(headCount \+ 2 · keyValueHeadCount\) · headDim/,
    );
    const withoutOutput = new Map(glmTensors);
    withoutOutput.delete(glmTensorNames.output);
    expect(() => loadModelWeights(writeWith(() => {}, withoutOutput))).toThrow(/tensor "transformer\.output_layer\.weight": missing/);
  });

  it("refuses pickles that would do more than rebuild tensors, legacy checkpoints and truncated ones", () => {
    const directory = temporary();
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(glmConfigJson(config)));
    const file = path.join(directory, "pytorch_model.bin");
    // protocol 2: GLOBAL os.system, ("echo pwned",), REDUCE, STOP — what a malicious checkpoint does.
    const evil = Uint8Array.from([0x80, 2, ...new TextEncoder().encode("cos\nsystem\n"), 0x58, 10, 0, 0, 0, ...new TextEncoder().encode("echo pwned"), 0x85, 0x52, 0x2e]);
    writePyTorchCheckpoint(file, new Map(), { dataPickle: evil });
    expect(() => loadModelWeights(directory)).toThrow(UnpicklingRefused);
    expect(() => loadModelWeights(directory)).toThrow(/pytorch_model\.bin: data\.pkl: refusing the global os\.system: only tensors/);

    fs.writeFileSync(file, Buffer.from([0x80, 2, 0x7d, 0x2e])); // a bare pickle: torch's pre-1.6 format
    expect(() => loadModelWeights(directory)).toThrow(/not a ZIP archive: PyTorch checkpoints in the legacy/);

    writePyTorchCheckpoint(file, new Map(glmTensors));
    fs.truncateSync(file, fs.statSync(file).size - 100);
    expect(() => loadModelWeights(directory)).toThrow(ModelFileError);
    expect(() => loadModelWeights(directory)).toThrow(/pytorch_model\.bin: file is truncated or damaged/);
  });
});
