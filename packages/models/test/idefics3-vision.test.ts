// The Idefics3 / SmolVLM vision side on tiny random models: the encoder + connector against a plain float64
// implementation of the definitions (test/helpers/naive-idefics3-vision.ts) on both backends, the same embeddings
// from the Hugging Face directory and from llama.cpp's GGUF pair, quantized vision weights close to f32, and bad
// files refused with the file and tensor named.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { createKernel, nativeAvailability, type BackendName } from "@infer-recipes/kernel";

import {
  extractPatches,
  loadIdefics3HfModel,
  loadMmprojGguf,
  loadModelWeights,
  pixelShuffle,
  randomIdefics3Tensors,
  readGguf,
  SiglipVisionEncoder,
  tinyIdefics3Config,
  writeIdefics3GgufPair,
  writeIdefics3HfModel,
  writeMmprojGguf,
  type LoadedVisionWeights,
} from "../src/index.ts";
import { naiveIdefics3Vision } from "./helpers/naive-idefics3-vision.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const temporary = useTemporaryDirectories("idefics3-vision");
const model = tinyIdefics3Config();
const tensors = randomIdefics3Tensors(model, 7);

function randomPixels(tiles: number, size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: tiles * 3 * size * size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index] - b[index]));
  return worst;
}

function loadBoth(): { hf: LoadedVisionWeights; gguf: LoadedVisionWeights; directory: string; mmproj: string; text: string } {
  const directory = temporary();
  writeIdefics3HfModel(path.join(directory, "hf"), model, tensors);
  const text = path.join(directory, "text.gguf");
  const mmproj = path.join(directory, "mmproj.gguf");
  writeIdefics3GgufPair(text, mmproj, model, tensors);
  return { hf: loadIdefics3HfModel(path.join(directory, "hf")).vision, gguf: loadMmprojGguf(mmproj), directory, mmproj, text };
}

describe("the connector's pieces", () => {
  it("extractPatches lays each patch out as (channel, y, x), patches row-major per tile", () => {
    const size = 4, patch = 2;
    const pixels = Float32Array.from({ length: 2 * 3 * size * size }, (_, index) => index);
    const patches = new Float32Array(2 * 4 * 12);
    extractPatches(patches, pixels, 2, size, patch);
    // tile 1, patch (py 1, px 0): channel 2, y 0..1, x 0..1 are its values 8..11
    const row = (1 * 2 + 1) * 2 + 0;
    const at = (channel: number, y: number, x: number) => pixels[((1 * 3 + channel) * size + 2 + y) * size + x];
    expect([...patches.subarray(row * 12 + 8, row * 12 + 12)]).toEqual([at(2, 0, 0), at(2, 0, 1), at(2, 1, 0), at(2, 1, 1)]);
  });

  it("pixelShuffle folds each 2×2 block of patches into one token", () => {
    const side = 4, hidden = 3, scale = 2;
    const patches = Float32Array.from({ length: side * side * hidden }, (_, index) => index);
    const out = new Float32Array(patches.length);
    pixelShuffle(out, patches, 1, side, hidden, scale);
    // token (1, 0) holds patches (2,0) (2,1) (3,0) (3,1) in that order
    const patch = (row: number, col: number) => [...patches.subarray((row * side + col) * hidden, (row * side + col + 1) * hidden)];
    expect([...out.subarray(2 * 12, 3 * 12)]).toEqual([...patch(2, 0), ...patch(2, 1), ...patch(3, 0), ...patch(3, 1)]);
  });
});

describe("SiglipVisionEncoder against a plain float64 implementation", () => {
  const { hf } = loadBoth();
  const pixels = randomPixels(3, model.vision.imageSize, 11);
  const expected = naiveIdefics3Vision(pixels, 3, tensors.vision, model.vision);
  for (const backend of backends) {
    it(`${backend}: 3 tiles in groups of 2, within 2e-4 of the definition`, () => {
      const encoder = SiglipVisionEncoder.fromLoadedWeights(hf, createKernel({ backend, threads: 2 }));
      const progress: number[] = [];
      const embeddings = encoder.encode(pixels, 3, { tilesPerBatch: 2, onProgress: (done) => progress.push(done) });
      expect(embeddings.length).toBe(3 * 4 * model.text.hiddenSize);
      expect(progress).toEqual([2, 3]);
      expect(maxAbsDiff(embeddings, expected)).toBeLessThan(2e-4);
      // Tiles are independent: one tile alone gives its rows of the batch.
      const second = encoder.encode(pixels.subarray(3 * 32 * 32, 2 * 3 * 32 * 32), 1);
      expect(maxAbsDiff(second, embeddings.subarray(4 * 64, 8 * 64))).toBeLessThan(1e-5);
    });
  }
});

describe("SiglipVisionEncoder with heads of 64 and 64 patches a tile (the native tiled full attention)", () => {
  // The vision encoder's shape of attention (many queries, heads of 64), where the AVX-512 kernels take the tiled
  // full attention (kernel full_attention.h) instead of the per-token loop.
  const wide = tinyIdefics3Config({ vision: { hiddenSize: 128, headCount: 2, intermediateSize: 160, imageSize: 64 } });
  const wideTensors = randomIdefics3Tensors(wide, 13);
  const directory = temporary();
  writeIdefics3HfModel(directory, wide, wideTensors);
  const weights = loadIdefics3HfModel(directory).vision;
  const pixels = randomPixels(2, wide.vision.imageSize, 17);
  const expected = naiveIdefics3Vision(pixels, 2, wideTensors.vision, wide.vision);
  for (const backend of backends) {
    it(`${backend}: 2 tiles of 64 patches, within 2e-4 of the definition`, () => {
      const embeddings = SiglipVisionEncoder.fromLoadedWeights(weights, createKernel({ backend, threads: 2 })).encode(pixels, 2);
      expect(embeddings.length).toBe(2 * 16 * wide.text.hiddenSize);
      expect(maxAbsDiff(embeddings, expected)).toBeLessThan(2e-4);
    });
  }
});

describe("loading", () => {
  it("the HF directory and the mmproj GGUF give identical weights and embeddings", () => {
    const { hf, gguf } = loadBoth();
    expect({ ...gguf.config, layerNormEpsilon: Math.fround(gguf.config.layerNormEpsilon) }).toEqual({ ...hf.config, layerNormEpsilon: Math.fround(hf.config.layerNormEpsilon) });
    const kernel = createKernel({ backend: backends.at(-1), threads: 2 });
    const pixels = randomPixels(2, 32, 3);
    const a = SiglipVisionEncoder.fromLoadedWeights(hf, kernel).encode(pixels, 2);
    const b = SiglipVisionEncoder.fromLoadedWeights(gguf, kernel).encode(pixels, 2);
    expect(maxAbsDiff(a, b)).toBe(0);
  });

  it("the mmproj file carries what llama.cpp's clip loader reads", () => {
    const { mmproj } = loadBoth();
    const file = readGguf(mmproj);
    expect(Object.fromEntries([...file.metadata].filter(([key]) => key.startsWith("clip.")).map(([key, value]) => [key, ArrayBuffer.isView(value) ? [...(value as Float32Array)] : value]))).toEqual({
      "clip.projector_type": "idefics3",
      "clip.has_vision_encoder": true,
      "clip.use_gelu": true,
      "clip.vision.projection_dim": 64,
      "clip.vision.image_size": 32,
      "clip.vision.patch_size": 8,
      "clip.vision.embedding_length": 64,
      "clip.vision.feed_forward_length": 96,
      "clip.vision.block_count": 2,
      "clip.vision.attention.head_count": 4,
      "clip.vision.attention.layer_norm_epsilon": expect.closeTo(1e-6, 12),
      "clip.vision.projector.scale_factor": 2,
      "clip.vision.image_mean": [0.5, 0.5, 0.5],
      "clip.vision.image_std": [0.5, 0.5, 0.5],
      "clip.vision.preproc_image_size": 64,
    });
    expect(file.tensorInfo("v.patch_embd.weight")).toMatchObject({ dimensions: [8, 8, 3, 64], ggmlTypeName: "F32" });
    expect(file.tensorInfo("v.blk.1.ffn_up.weight")).toMatchObject({ dimensions: [64, 96] });
    expect(file.tensorInfo("v.blk.1.ffn_down.weight")).toMatchObject({ dimensions: [96, 64] });
    expect(file.tensorInfo("mm.model.fc.weight")).toMatchObject({ dimensions: [256, 64] });
    expect(file.tensors).toHaveLength(6 + 2 * 16);
  });

  it("the language model of the GGUF pair loads as Llama with the SmolVLM tokenizer metadata", () => {
    const { text } = loadBoth();
    const loaded = loadModelWeights(text);
    expect(loaded.config).toMatchObject({ hiddenSize: 64, vocabSize: model.vocabulary.tokens.length, eosTokenIds: [model.vocabulary.endOfUtteranceId] });
    expect(loaded.metadata.get("tokenizer.ggml.pre")).toBe("smollm");
  });

  it("refuses a language-model GGUF as mmproj, a missing tensor, and a bad shape, naming them", () => {
    const { text, directory } = loadBoth();
    expect(() => loadMmprojGguf(text)).toThrow(/general.architecture.*expected "clip".*this is the language model; pass the mmproj file/);
    const missing = new Map(tensors.vision);
    missing.delete("model.vision_model.encoder.layers.1.mlp.fc2.bias");
    const file = path.join(directory, "broken.gguf");
    writeMmprojGguf(file, { config: model.vision, tensors: missing }, { processor: model.processor });
    expect(() => loadMmprojGguf(file)).toThrow(/broken.gguf: tensor "v.blk.1.ffn_down.bias": missing/);
    const wrongConfig = { ...model.vision, intermediateSize: 128 };
    writeMmprojGguf(file, { config: wrongConfig, tensors: tensors.vision }, { processor: model.processor });
    expect(() => loadMmprojGguf(file)).toThrow(/tensor "v.blk.0.ffn_up.weight": expected shape \[128, 64\]/);
  });
});

describe("quantized vision weights", () => {
  const { hf } = loadBoth();
  const pixels = randomPixels(2, 32, 5);
  const kernel = createKernel({ backend: backends.at(-1), threads: 2 });
  const reference = SiglipVisionEncoder.fromLoadedWeights(hf, kernel).encode(pixels, 2);
  const scale = maxAbsDiff(reference, new Float32Array(reference.length));
  // Relative to the largest embedding value: f16/bf16 round weights to 11/8 bits, q8_0 to 8 bits per 32-block, q4_0 to 4.
  it.each([["f16", 0.01], ["bf16", 0.03], ["q8_0", 0.05], ["q4_0", 0.4]] as const)("%s: embeddings within %f of f32 (relative)", (dtype, tolerance) => {
    const directory = temporary();
    writeIdefics3HfModel(directory, model, tensors);
    const quantized = loadIdefics3HfModel(directory, { vision: { dtype, packFor: kernel } }).vision;
    const embeddings = SiglipVisionEncoder.fromLoadedWeights(quantized, kernel).encode(pixels, 2);
    const error = maxAbsDiff(embeddings, reference) / scale;
    expect(error).toBeLessThan(tolerance);
    expect(error).toBeGreaterThan(0);
  });
});

it("fixture sanity: the tiny HF directory holds what users' SmolVLM folders hold", () => {
  const { directory } = loadBoth();
  expect(fs.readdirSync(path.join(directory, "hf")).sort()).toEqual(
    ["chat_template.json", "config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json"],
  );
});
