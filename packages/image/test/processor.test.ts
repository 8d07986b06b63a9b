// The Idefics3 processor on images made here (no ../shared needed): tile grids and sizes as transformers computes
// them, normalization, the global image last, splitting off and on, the prompt layout, and config parsing.

import { describe, expect, it } from "vitest";

import {
  expandImagePlaceholders,
  ImageError,
  idefics3ImagePrompt,
  idefics3ProcessorConfigFromGguf,
  idefics3TileGrid,
  imageSequenceLength,
  lanczosFilter,
  longestEdgeSize,
  parseIdefics3ProcessorConfig,
  processIdefics3Image,
  rgbImage,
  smolVlmProcessorConfig,
  tileMultipleSize,
  type Idefics3ProcessorConfig,
} from "../src/index.ts";

function gradient(width: number, height: number) {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      pixels[at] = (x * 255) / Math.max(1, width - 1);
      pixels[at + 1] = (y * 255) / Math.max(1, height - 1);
      pixels[at + 2] = (x + y) % 256;
    }
  }
  return rgbImage(width, height, pixels);
}

const small: Idefics3ProcessorConfig = { ...smolVlmProcessorConfig, longestEdge: 64, tileSize: 32 };

describe("sizes", () => {
  it("longest edge: the other edge truncated then made even; capped at 4096", () => {
    expect(longestEdgeSize(427, 640, 2048)).toEqual({ height: 1366, width: 2048 });
    expect(longestEdgeSize(600, 512, 2048)).toEqual({ height: 2048, width: 1748 });
    expect(longestEdgeSize(300, 451, 2048)).toEqual({ height: 1362, width: 2048 });
    expect(longestEdgeSize(100, 100, 8192)).toEqual({ height: 4096, width: 4096 });
  });

  it("tile multiples: both edges rounded up to the tile size", () => {
    expect(tileMultipleSize(1366, 2048, 512)).toEqual({ height: 1536, width: 2048 });
    expect(tileMultipleSize(2048, 1748, 512)).toEqual({ height: 2048, width: 2048 });
  });

  it("tile grids of SmolVLM's settings", () => {
    expect(idefics3TileGrid(640, 427, smolVlmProcessorConfig)).toEqual({ rows: 3, cols: 4, tileCount: 13 });
    expect(idefics3TileGrid(512, 600, smolVlmProcessorConfig)).toEqual({ rows: 4, cols: 4, tileCount: 17 });
    expect(idefics3TileGrid(640, 427, { ...smolVlmProcessorConfig, longestEdge: 512 })).toEqual({ rows: 0, cols: 0, tileCount: 1 });
    expect(idefics3TileGrid(640, 427, { ...smolVlmProcessorConfig, longestEdge: 1024 })).toEqual({ rows: 2, cols: 2, tileCount: 5 });
    expect(idefics3TileGrid(640, 427, { ...smolVlmProcessorConfig, splitImage: false })).toEqual({ rows: 0, cols: 0, tileCount: 1 });
  });
});

describe("processIdefics3Image", () => {
  it("splits into row-major tiles plus the global image, normalized channel-first", () => {
    const image = gradient(96, 40); // → 64×28 (26.67 truncated, even) → 64×32 → 1×2 tiles + global
    const processed = processIdefics3Image(image, small);
    expect(processed).toMatchObject({ rows: 1, cols: 2, tileCount: 3, tileSize: 32, resizedWidth: 64, resizedHeight: 32 });
    expect(processed.pixelValues.length).toBe(3 * 3 * 32 * 32);
    for (const value of processed.pixelValues) expect(Math.abs(value)).toBeLessThanOrEqual(1);
    // Red grows left to right: the right tile is redder than the left one, the global image in between.
    const meanRed = (tile: number) => processed.pixelValues.subarray(tile * 3072, tile * 3072 + 1024).reduce((sum, value) => sum + value, 0) / 1024;
    expect(meanRed(1)).toBeGreaterThan(meanRed(0) + 0.5);
    expect(meanRed(2)).toBeGreaterThan(meanRed(0));
    expect(meanRed(2)).toBeLessThan(meanRed(1));
  });

  it("computes (x / 255 − mean) / std in float32", () => {
    const pixels = new Uint8Array(32 * 32 * 3).fill(51);
    const processed = processIdefics3Image(rgbImage(32, 32, pixels), { ...small, longestEdge: 32, mean: [0.5, 0.4, 0.3], std: [0.5, 0.2, 0.1] });
    expect(processed.tileCount).toBe(1);
    expect(processed.pixelValues[0]).toBe(Math.fround(Math.fround(Math.fround(51 / 255) - Math.fround(0.5)) / Math.fround(0.5)));
    expect(processed.pixelValues[1024]).toBeCloseTo((0.2 - 0.4) / 0.2, 6);
    expect(processed.pixelValues[2048]).toBeCloseTo((0.2 - 0.3) / 0.1, 5);
  });

  it("an image that fits one tile is not split; without splitting the image is squashed to one tile", () => {
    expect(processIdefics3Image(gradient(20, 10), { ...small, longestEdge: 30 })).toMatchObject({ rows: 0, cols: 0, tileCount: 1 });
    expect(processIdefics3Image(gradient(96, 40), { ...small, splitImage: false })).toMatchObject({ rows: 0, cols: 0, tileCount: 1 });
    expect(processIdefics3Image(gradient(96, 40), { ...small, longestEdge: undefined })).toMatchObject({ rows: 2, cols: 3, tileCount: 7 });
  });

  it("agrees with idefics3TileGrid for many shapes", () => {
    for (const [width, height] of [[1, 1], [1, 200], [200, 1], [33, 31], [31, 33], [64, 64], [65, 64], [100, 37]]) {
      const processed = processIdefics3Image(gradient(width, height), small);
      expect({ rows: processed.rows, cols: processed.cols, tileCount: processed.tileCount }).toEqual(idefics3TileGrid(width, height, small));
    }
  });
});

describe("prompt layout", () => {
  it("one image split 2×2 with 2 tokens per tile", () => {
    const fake = "<fake_token_around_image>";
    expect(idefics3ImagePrompt(2, 2, 2)).toBe(
      `${fake}<row_1_col_1><image><image>${fake}<row_1_col_2><image><image>\n` +
        `${fake}<row_2_col_1><image><image>${fake}<row_2_col_2><image><image>\n` +
        `\n${fake}<global-img><image><image>${fake}`,
    );
    expect(idefics3ImagePrompt(0, 0, 3)).toBe(`${fake}<global-img><image><image><image>${fake}`);
  });

  it("SmolVLM: 64 tokens per 512² tile (16-pixel patches, scale factor 4); 13 tiles give 832 image tokens", () => {
    expect(imageSequenceLength(512, 16, 4)).toBe(64);
    const text = idefics3ImagePrompt(3, 4, 64);
    expect(text.split("<image>").length - 1).toBe(13 * 64);
    expect(text.split("<row_").length - 1).toBe(12);
  });

  it("expands each placeholder in order and refuses a count mismatch", () => {
    const text = "<|im_start|>User:<image>Compare with<image><end_of_utterance>";
    const expanded = expandImagePlaceholders(text, [{ rows: 0, cols: 0 }, { rows: 1, cols: 2 }], 1);
    expect(expanded.startsWith("<|im_start|>User:<fake_token_around_image><global-img><image><fake_token_around_image>Compare with<fake_token_around_image><row_1_col_1>")).toBe(true);
    expect(() => expandImagePlaceholders(text, [{ rows: 0, cols: 0 }], 1)).toThrow(/2 <image> placeholder\(s\) for 1 image/);
  });
});

describe("configuration", () => {
  it("reads SmolVLM's preprocessor_config.json", () => {
    const config = parseIdefics3ProcessorConfig(
      {
        do_convert_rgb: true, do_image_splitting: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
        image_mean: [0.5, 0.5, 0.5], image_processor_type: "Idefics3ImageProcessor", image_std: [0.5, 0.5, 0.5],
        max_image_size: { longest_edge: 512 }, processor_class: "Idefics3Processor", resample: 1,
        rescale_factor: 0.00392156862745098, size: { longest_edge: 2048 },
      },
      "preprocessor_config.json",
    );
    expect(config).toEqual({ ...smolVlmProcessorConfig, rescaleFactor: 0.00392156862745098, filter: lanczosFilter });
  });

  it("names the file and field of a bad value", () => {
    expect(() => parseIdefics3ProcessorConfig({ resample: 0 }, "p.json")).toThrow(/p.json: field "resample": expected a Pillow filter/);
    expect(() => parseIdefics3ProcessorConfig({ size: { longest_edge: -1 } }, "p.json")).toThrow(/field "size.longest_edge": expected a positive integer/);
    expect(() => parseIdefics3ProcessorConfig({ image_mean: [1, 2] }, "p.json")).toThrow(ImageError);
    expect(() => parseIdefics3ProcessorConfig({ image_processor_type: "CLIPImageProcessor" }, "p.json")).toThrow(/expected Idefics3ImageProcessor/);
  });

  it("reads an mmproj GGUF's clip.vision keys", () => {
    const metadata = new Map<string, unknown>([
      ["clip.vision.image_size", 512],
      ["clip.vision.preproc_image_size", 2048],
      ["clip.vision.image_mean", new Float32Array([0.5, 0.5, 0.5])],
      ["clip.vision.image_std", new Float32Array([0.5, 0.5, 0.5])],
    ]);
    expect(idefics3ProcessorConfigFromGguf(metadata, "mmproj.gguf")).toEqual(smolVlmProcessorConfig);
    expect(() => idefics3ProcessorConfigFromGguf(new Map(), "mmproj.gguf")).toThrow(/mmproj.gguf: field "clip.vision.image_size": required/);
  });
});
