// The vision side's smaller contracts, each pinned by exact values: how encode() groups tiles (same embeddings for
// any grouping, progress per group, bad pixel counts refused), the patch layout and pixel shuffle over several
// tiles against their index formulas, the weights gathered by role (a missing one named), quantize-on-load of the
// matrices only, Idefics3Model's consistency checks, embedding spans, the image-embedding cache's byte accounting and
// the SmolVLM presets.

import { Tensor, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  Idefics3Model,
  ImageEmbeddingCache,
  LlamaModel,
  ModelFileError,
  SiglipVisionEncoder,
  applyEmbeddingSpans,
  assembleVisionWeights,
  checkEmbeddingSpans,
  extractPatches,
  idefics3VisionTensorNames,
  idefics3VisionWeightBytes,
  idefics3VisionWeights,
  llamaRopeFrequencies,
  pixelShuffle,
  randomIdefics3Tensors,
  randomIdefics3VisionWeights,
  siglipLayerTensorNames,
  smolVlmPresets,
  spanLength,
  tinyIdefics3Config,
  validateIdefics3VisionConfig,
  validateLlamaConfig,
  visionMatrixNames,
  type EmbeddingSpan,
  type LoadedVisionWeights,
} from "../src/index.ts";
import { randomIdefics3VisionTensors } from "../src/tiny-models/tiny-idefics3.ts";

const kernel = createKernel({ backend: "reference" });
const tiny = tinyIdefics3Config();
const tileValues = 3 * 32 * 32;

function loadedVision(seed = 3): LoadedVisionWeights {
  return assembleVisionWeights({ config: tiny.vision, tensors: randomIdefics3VisionTensors(tiny.vision, seed), source: { format: "random", path: "(test)", files: [] }, metadata: new Map() });
}

function pixels(tiles: number): Float32Array {
  return Float32Array.from({ length: tiles * tileValues }, (_, index) => Math.sin(index * 0.013) * 0.8);
}

describe("SiglipVisionEncoder.encode", () => {
  const encoder = SiglipVisionEncoder.fromLoadedWeights(loadedVision(), kernel);
  const five = pixels(5);
  const whole = encoder.encode(five, 5, { tilesPerBatch: 5 });

  it("gives the same embeddings for any grouping of tiles, reporting progress after each group", () => {
    expect(encoder.tokensPerTile).toBe(4);
    expect(whole.length).toBe(5 * 4 * 64);
    for (const [tilesPerBatch, expected] of [[undefined, [4, 5]], [2, [2, 4, 5]], [0, [1, 2, 3, 4, 5]], [1, [1, 2, 3, 4, 5]], [9, [5]]] as const) {
      const progress: Array<[number, number]> = [];
      const embeddings = encoder.encode(five, 5, { tilesPerBatch, onProgress: (done, total) => progress.push([done, total]) });
      expect(progress, `tilesPerBatch ${tilesPerBatch}`).toEqual(expected.map((done) => [done, 5]));
      expect(Array.from(embeddings)).toEqual(Array.from(whole));
    }
    // Group sizes alternate between calls: the scratch of one size is not reused for another.
    expect(Array.from(encoder.encode(five.subarray(tileValues, 3 * tileValues), 2))).toEqual(Array.from(whole.subarray(4 * 64, 12 * 64)));
    expect(Array.from(encoder.encode(five.subarray(0, tileValues), 1))).toEqual(Array.from(whole.subarray(0, 4 * 64)));
  });

  it("refuses a tile count that does not match the pixels", () => {
    expect(() => encoder.encode(pixels(2), 3)).toThrow(new RangeError("SiglipVisionEncoder.encode: expected 3 tiles of 3×32×32 = 9216 values, got 6144"));
    expect(() => encoder.encode(new Float32Array(0), 0)).toThrow("expected 0 tiles of 3×32×32 = 0 values, got 0");
    expect(() => encoder.encode(pixels(1), 0.5)).toThrow("expected 0.5 tiles");
    expect(() => encoder.encode(new Float32Array(1.5 * tileValues), 1.5)).toThrow("expected 1.5 tiles of 3×32×32 = 4608 values, got 4608");
    expect(() => encoder.encode(pixels(1), -1)).toThrow("expected -1 tiles");
  });
});

describe("patch layout and pixel shuffle over several tiles", () => {
  it("extractPatches puts value (tile, channel, y, x) where the formula says, for every value", () => {
    const tiles = 2, size = 6, patch = 3, side = 2;
    const source = Float32Array.from({ length: tiles * 3 * size * size }, (_, index) => index + 1);
    const patches = new Float32Array(tiles * side * side * 3 * patch * patch);
    extractPatches(patches, source, tiles, size, patch);
    const expected = new Float32Array(patches.length);
    for (let tile = 0; tile < tiles; tile++)
      for (let channel = 0; channel < 3; channel++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const row = (tile * side + Math.floor(y / patch)) * side + Math.floor(x / patch);
            const column = (channel * patch + (y % patch)) * patch + (x % patch);
            expected[row * 3 * patch * patch + column] = source[((tile * 3 + channel) * size + y) * size + x];
          }
    expect(Array.from(patches)).toEqual(Array.from(expected));
  });

  it("pixelShuffle puts patch (tile, row, col) where the formula says, for every patch", () => {
    const tiles = 2, side = 6, hidden = 2, scale = 3, outSide = 2;
    const patches = Float32Array.from({ length: tiles * side * side * hidden }, (_, index) => index + 1);
    const out = new Float32Array(patches.length);
    pixelShuffle(out, patches, tiles, side, hidden, scale);
    const expected = new Float32Array(patches.length);
    for (let tile = 0; tile < tiles; tile++)
      for (let row = 0; row < side; row++)
        for (let col = 0; col < side; col++)
          for (let h = 0; h < hidden; h++) {
            const token = tile * outSide * outSide + Math.floor(row / scale) * outSide + Math.floor(col / scale);
            const feature = ((row % scale) * scale + (col % scale)) * hidden + h;
            expected[token * hidden * scale * scale + feature] = patches[((tile * side + row) * side + col) * hidden + h];
          }
    expect(Array.from(out)).toEqual(Array.from(expected));
  });
});

describe("vision weights by role", () => {
  it("gathers every tensor by role and counts their bytes", () => {
    const loaded = loadedVision();
    const weights = idefics3VisionWeights(loaded);
    expect(weights.layers).toHaveLength(2);
    expect(weights.layers[1].fc2).toBe(loaded.tensors.get(siglipLayerTensorNames(1).fc2));
    expect(weights.layers[0].norm1Bias).toBe(loaded.tensors.get(siglipLayerTensorNames(0).norm1Bias));
    expect(weights.projection).toBe(loaded.tensors.get(idefics3VisionTensorNames.projection));
    expect(weights.postNormBias).toBe(loaded.tensors.get(idefics3VisionTensorNames.postNormBias));
    const total = [...loaded.tensors.values()].reduce((sum, tensor) => sum + tensor.data.byteLength, 0);
    expect(idefics3VisionWeightBytes(weights)).toBe(total);
    expect(total).toBe(4 * (64 * 192 + 64 + 16 * 64 + 64 + 64 + 64 * 256 + 2 * (4 * 64 * 64 + 9 * 64 + 2 * 96 * 64 + 96)));
  });

  it("names a tensor missing from the loaded weights", () => {
    const loaded = loadedVision();
    loaded.tensors.delete(siglipLayerTensorNames(1).valueBias);
    expect(() => idefics3VisionWeights(loaded)).toThrow(new ModelFileError({ file: "(test)", tensor: siglipLayerTensorNames(1).valueBias }, "missing from the loaded vision weights"));
    const withoutProjection = loadedVision();
    withoutProjection.tensors.delete(idefics3VisionTensorNames.projection);
    expect(() => idefics3VisionWeights(withoutProjection)).toThrow(`(test): tensor "${idefics3VisionTensorNames.projection}": missing from the loaded vision weights`);
  });

  it("lists the matrices the encoder multiplies by", () => {
    const layer = siglipLayerTensorNames(1);
    expect(visionMatrixNames(tiny.vision)).toEqual([
      idefics3VisionTensorNames.projection,
      ...[siglipLayerTensorNames(0), layer].flatMap((names) => [names.query, names.key, names.value, names.attentionOutput, names.fc1, names.fc2]),
    ]);
  });

  it("quantizes only the matrices on load, keeps vectors and positions f32, leaves the input tensors alone", () => {
    const raw = randomIdefics3VisionTensors(tiny.vision, 5, "f16");
    raw.set(idefics3VisionTensorNames.positionEmbedding, new Tensor("f16", [16, 64], new Uint16Array(16 * 64).fill(0x3c00)));
    raw.set(idefics3VisionTensorNames.patchBias, new Tensor("f16", [64], new Uint16Array(64).fill(0x4000)));
    raw.set(idefics3VisionTensorNames.patchEmbedding, new Tensor("f16", [64, 3, 8, 8], new Uint16Array(64 * 192)));
    const before = new Map(raw);
    const loaded = assembleVisionWeights({ config: tiny.vision, tensors: raw, source: { format: "random", path: "(test)", files: [] }, metadata: new Map() }, { dtype: "q8_0" });
    for (const name of visionMatrixNames(tiny.vision)) expect(loaded.tensors.get(name)!.dtype, name).toBe("q8_0");
    expect(loaded.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.dtype).toBe("f16");
    expect(loaded.tensors.get(idefics3VisionTensorNames.positionEmbedding)!.dtype).toBe("f32");
    expect(Array.from((loaded.tensors.get(idefics3VisionTensorNames.positionEmbedding)!.data as Float32Array).subarray(0, 2))).toEqual([1, 1]);
    expect(loaded.tensors.get(idefics3VisionTensorNames.patchBias)!.dtype).toBe("f32");
    expect((loaded.tensors.get(idefics3VisionTensorNames.patchBias)!.data as Float32Array)[0]).toBe(2);
    expect(raw).toEqual(before);
    expect(raw.get(idefics3VisionTensorNames.patchEmbedding)!.shape).toEqual([64, 3, 8, 8]);
    const unquantized = assembleVisionWeights({ config: tiny.vision, tensors: randomIdefics3VisionTensors(tiny.vision, 5, "f16"), source: { format: "random", path: "(test)", files: [] }, metadata: new Map() });
    expect(unquantized.tensors.get(idefics3VisionTensorNames.projection)!.dtype).toBe("f16");
    expect(unquantized.source.path).toBe("(test)");
  });

  it.skipIf(!nativeAvailability().available)("packs the matrices and the patch embedding for the native kernel (skipped without the addon)", () => {
    const native = createKernel({ backend: "native", threads: 1 });
    const packed = assembleVisionWeights(
      { config: tiny.vision, tensors: randomIdefics3VisionTensors(tiny.vision, 5), source: { format: "random", path: "(test)", files: [] }, metadata: new Map() },
      { dtype: "q8_0", packFor: native },
    );
    expect(packed.tensors.get(siglipLayerTensorNames(0).query)!.dtype).toBe("q8_0x16");
    expect(packed.tensors.get(idefics3VisionTensorNames.projection)!.dtype).toBe("q8_0x16");
    expect(packed.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.dtype).toBe("f32x16");
    expect(packed.tensors.get(idefics3VisionTensorNames.patchBias)!.dtype).toBe("f32");
  });

  it("random weights of a preset's shape: norms 1, biases 0, embeddings f32, matrices in the dtype", () => {
    const config = validateIdefics3VisionConfig({ ...smolVlmPresets["256m"].vision, layerCount: 1, hiddenSize: 64, headCount: 2, intermediateSize: 96, imageSize: 64, projectionSize: 32 }, "preset");
    const random = randomIdefics3VisionWeights(config, "q8_0");
    const values = (name: string) => Array.from(random.tensors.get(name)!.data as Float32Array);
    expect(new Set(values(siglipLayerTensorNames(0).norm1Weight))).toEqual(new Set([1]));
    expect(new Set(values(siglipLayerTensorNames(0).norm2Weight))).toEqual(new Set([1]));
    expect(new Set(values(idefics3VisionTensorNames.postNormWeight))).toEqual(new Set([1]));
    expect(new Set(values(idefics3VisionTensorNames.postNormBias))).toEqual(new Set([0]));
    expect(new Set(values(siglipLayerTensorNames(0).fc1Bias))).toEqual(new Set([0]));
    expect(random.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.dtype).toBe("f32");
    expect(random.tensors.get(idefics3VisionTensorNames.positionEmbedding)!.dtype).toBe("f32");
    expect(random.tensors.get(siglipLayerTensorNames(0).fc2)!.dtype).toBe("q8_0");
    expect(random.source).toEqual({ format: "random", path: "(random q8_0 vision weights)", files: [] });
  });
});

describe("SmolVLM presets", () => {
  it("are valid configurations whose connector projects into the language model's width", () => {
    for (const [size, hidden] of [["500m", 960], ["256m", 576]] as const) {
      const preset = smolVlmPresets[size];
      expect(validateLlamaConfig(preset.text, size)).toBe(preset.text);
      expect(validateIdefics3VisionConfig(preset.vision, size)).toBe(preset.vision);
      expect(preset.vision.projectionSize).toBe(hidden);
      expect(preset.text).toMatchObject({ hiddenSize: hidden, ropeLayout: "half", tiedEmbeddings: false, bosTokenId: 1, eosTokenIds: [49279] });
    }
  });
});

describe("Idefics3Model's checks", () => {
  const tensors = randomIdefics3Tensors(tiny, 9);
  const language = LlamaModel.fromLoadedWeights(
    { config: tiny.text, tensors: tensors.text, ropeFrequencies: llamaRopeFrequencies(tiny.text), source: { format: "random", path: "(text)", files: [] }, metadata: new Map() },
    kernel,
  );
  const vision = SiglipVisionEncoder.fromLoadedWeights(loadedVision(), kernel);

  it("accepts every image token id inside the vocabulary and refuses those outside", () => {
    const last = tiny.text.vocabSize - 1;
    expect(new Idefics3Model(language, vision, 0).imageTokenId).toBe(0);
    const model = new Idefics3Model(language, vision, last);
    expect(model.visionConfig).toBe(vision.config);
    expect(() => new Idefics3Model(language, vision, last + 1)).toThrow(new RangeError(`Idefics3Model: image token id ${last + 1} is outside the vocabulary 0..${last}`));
    expect(() => new Idefics3Model(language, vision, -1)).toThrow(`image token id -1 is outside the vocabulary 0..${last}`);
  });

  it("refuses a connector that projects to another width than the language model's", () => {
    const narrow = new SiglipVisionEncoder({ ...vision.config, projectionSize: 32 }, vision.weights, kernel);
    expect(() => new Idefics3Model(language, narrow, 5)).toThrow(new RangeError("Idefics3Model: the connector projects to 32, but the language model is 64 wide"));
  });

  it("hands the language model's config and caches through withImages", () => {
    const model = new Idefics3Model(language, vision, 5);
    const withImages = model.withImages([]);
    expect(withImages.config).toBe(language.config);
    expect(withImages.createCache(16).maxTokens).toBe(16);
    expect(withImages.createCache().maxTokens).toBe(tiny.text.contextLength);
    const tokens = Int32Array.of(1, 2, 3);
    expect(Array.from(withImages.forward(tokens, withImages.createCache()).data as Float32Array)).toEqual(
      Array.from(language.forward(tokens, language.createCache()).data as Float32Array),
    );
  });
});

describe("embedding spans", () => {
  const hidden = 2;
  const span = (start: number, rows: number, base = 0) => ({ start, embeddings: Float32Array.from({ length: rows * hidden }, (_, index) => base + index) });

  it("accept whole rows at non-negative, non-overlapping positions in any order", () => {
    expect(spanLength(span(3, 4), hidden)).toBe(4);
    expect(() => checkEmbeddingSpans([span(5, 2), span(0, 5), span(7, 1)], hidden, "test")).not.toThrow();
    const cases: Array<[EmbeddingSpan[], string]> = [
      [[{ start: 1, embeddings: new Float32Array(3) }], "test: an embedding span at position 1 must hold whole rows of 2 floats, got 3"],
      [[{ start: 1, embeddings: new Float32Array(0) }], "test: an embedding span at position 1 must hold whole rows of 2 floats, got 0"],
      [[{ start: 1, embeddings: [1, 2] as unknown as Float32Array }], "test: an embedding span at position 1 must hold whole rows of 2 floats, got 2"],
      [[span(-1, 1)], "test: embedding spans must start at non-negative positions and not overlap (one starts at -1, the previous ends at 0)"],
      [[span(0.5, 1)], "test: embedding spans must start at non-negative positions and not overlap (one starts at 0.5, the previous ends at 0)"],
      [[span(4, 2), span(0, 5)], "test: embedding spans must start at non-negative positions and not overlap (one starts at 4, the previous ends at 5)"],
    ];
    for (const [spans, message] of cases) expect(() => checkEmbeddingSpans(spans, hidden, "test"), message).toThrow(new RangeError(message));
  });

  it("overwrite exactly the rows of the chunk that fall inside each span", () => {
    const spans = [span(2, 3, 100), span(6, 1, 200)];
    // A chunk of positions 3..6: span 1 covers 3 and 4 (its rows 1 and 2), span 2 covers 6.
    const residual = Tensor.fromFloat32([4, hidden], new Float32Array(8).fill(-1));
    applyEmbeddingSpans(residual, 3, 4, spans, hidden);
    expect(Array.from(residual.data as Float32Array)).toEqual([102, 103, 104, 105, -1, -1, 200, 201]);
    // A chunk that ends where a span starts, and one that starts where it ends, are untouched by it.
    const before = Tensor.fromFloat32([2, hidden], new Float32Array(4).fill(-1));
    applyEmbeddingSpans(before, 0, 2, spans, hidden);
    expect(Array.from(before.data as Float32Array)).toEqual([-1, -1, -1, -1]);
    const after = Tensor.fromFloat32([1, hidden], new Float32Array(2).fill(-1));
    applyEmbeddingSpans(after, 5, 1, spans, hidden);
    expect(Array.from(after.data as Float32Array)).toEqual([-1, -1]);
  });
});

describe("ImageEmbeddingCache byte accounting", () => {
  const entry = (floats: number) => ({ embeddings: new Float32Array(floats), rows: 0, cols: 0, tileCount: 1 });

  it("keeps an entry of exactly the budget, replaces an entry under the same key, and clears to zero", () => {
    const cache = new ImageEmbeddingCache(400);
    cache.set("a", entry(100));
    expect(cache.stats()).toEqual({ entries: 1, bytes: 400, hits: 0, misses: 0 });
    cache.set("a", entry(50));
    expect(cache.stats()).toEqual({ entries: 1, bytes: 200, hits: 0, misses: 0 });
    cache.set("b", entry(50));
    expect(cache.stats().bytes).toBe(400);
    cache.set("b", entry(101)); // over the budget: dropped, and the old "b" is gone
    expect(cache.stats()).toEqual({ entries: 1, bytes: 200, hits: 0, misses: 0 });
    expect(cache.get("b")).toBeUndefined();
    cache.clear();
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 1 });
    expect(new ImageEmbeddingCache().maxBytes).toBe(256 * 1024 * 1024);
    expect(new ImageEmbeddingCache(0).maxBytes).toBe(0);
    expect(() => new ImageEmbeddingCache(-1)).toThrow(new RangeError("ImageEmbeddingCache: maxBytes must be ≥ 0, got -1"));
    expect(() => new ImageEmbeddingCache(Number.NaN)).toThrow("maxBytes must be ≥ 0, got NaN");
  });

  it("returns the cached entry itself from getOrCompute", async () => {
    const cache = new ImageEmbeddingCache();
    const first = entry(4);
    const computed = await cache.getOrCompute("k", () => first);
    expect(computed).toEqual({ entry: first, cached: false });
    const again = await cache.getOrCompute("k", () => entry(4));
    expect(again.entry).toBe(first);
    expect(again.cached).toBe(true);
  });
});
