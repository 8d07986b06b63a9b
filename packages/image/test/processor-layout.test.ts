// The processor's sizes against transformers' rules as reference/pil-reference.py spells them (rescale_to_max_len,
// scale_below_upper_bound, resize_for_vision_encoder; the expected values below are that script's), the tiles cut by
// position, and the prompt layout's edges and errors.

import { describe, expect, it } from "vitest";

import {
  expandImagePlaceholders,
  idefics3ImagePrompt,
  idefics3TileGrid,
  ImageError,
  imageSequenceLength,
  longestEdgeSize,
  processIdefics3Image,
  rgbImage,
  smolVlmProcessorConfig,
  tileMultipleSize,
  type Idefics3ProcessorConfig,
} from "../src/index.ts";

describe("longestEdgeSize (pil-reference.py's values)", () => {
  it.each([
    // [height, width, longest edge] → [height, width]
    [5, 5, 7, 8, 7], // square, odd edge: the width is the long one, the height made even
    [5, 5, 8, 8, 8],
    [7, 3, 9, 9, 4], // portrait: the width made even
    [3, 7, 9, 4, 9],
    [7, 3, 10, 10, 4],
    [3, 7, 10, 4, 10],
    [1, 1000, 64, 1, 64], // the short edge truncated to 0, then 1
    [1000, 1, 64, 64, 1],
    [427, 640, 4096, 2732, 4096],
    [640, 427, 4096, 4096, 2732],
    [186, 4096, 4096, 186, 4096], // exactly 4096: not rescaled again (4096 / (4096 / 186) truncates to 185)
    [100, 200, 8192, 2048, 4096], // beyond 4096: scaled down to 4096
    [200, 100, 8192, 4096, 2048],
    [100, 300, 8192, 1365, 4096],
    [300, 100, 8192, 4096, 1365],
    [200, 150, 8192, 4096, 3072], // portrait whose width is beyond 4096 too
    [150, 200, 8192, 3072, 4096],
    [333, 1000, 4097, 1363, 4096],
    [1000, 333, 4097, 4096, 1363],
    [1, 1, 4097, 4096, 4095],
  ])("%i×%i (h×w), longest %i → %i×%i", (height, width, longest, expectedHeight, expectedWidth) => {
    expect(longestEdgeSize(height, width, longest)).toEqual({ height: expectedHeight, width: expectedWidth });
  });
});

describe("tileMultipleSize (pil-reference.py's values)", () => {
  it.each([
    [5, 5, 4, 8, 8],
    [64, 64, 32, 64, 64],
    [33, 65, 32, 64, 96],
    [65, 33, 32, 96, 64],
    [1, 100, 32, 32, 128],
    [100, 1, 32, 128, 32],
  ])("%i×%i (h×w), tile %i → %i×%i", (height, width, tile, expectedHeight, expectedWidth) => {
    expect(tileMultipleSize(height, width, tile)).toEqual({ height: expectedHeight, width: expectedWidth });
  });
});

describe("tiles", () => {
  const config: Idefics3ProcessorConfig = { ...smolVlmProcessorConfig, longestEdge: undefined, tileSize: 4, mean: [0, 0, 0], std: [1, 1, 1], rescaleFactor: 1 };

  it("idefics3TileGrid without a first resize", () => {
    expect(idefics3TileGrid(12, 8, config)).toEqual({ rows: 2, cols: 3, tileCount: 7 });
    expect(idefics3TileGrid(96, 40, { ...config, tileSize: 32 })).toEqual({ rows: 2, cols: 3, tileCount: 7 });
    expect(idefics3TileGrid(4, 4, config)).toEqual({ rows: 0, cols: 0, tileCount: 1 });
  });

  it("each tile is the image's block at its row and column (no resize: the image is 12 × 8, tiles of 4)", () => {
    const width = 12;
    const height = 8;
    const pixels = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([x * 20, y * 30, 7], (y * width + x) * 3);
    const processed = processIdefics3Image(rgbImage(width, height, pixels), config);
    expect(processed).toMatchObject({ rows: 2, cols: 3, tileCount: 7, resizedWidth: 12, resizedHeight: 8 });
    for (let row = 0; row < 2; row++) {
      for (let col = 0; col < 3; col++) {
        const tile = row * 3 + col;
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 4; x++) {
            const at = (channel: number) => processed.pixelValues[(tile * 3 + channel) * 16 + y * 4 + x];
            expect([at(0), at(1), at(2)]).toEqual([(col * 4 + x) * 20, (row * 4 + y) * 30, 7]);
          }
        }
      }
    }
  });
});

describe("prompt layout", () => {
  it("tokens per tile: (tile / patch / scale factor)², refused when the patches do not divide", () => {
    expect(imageSequenceLength(512, 16, 4)).toBe(64);
    expect(imageSequenceLength(378, 14, 3)).toBe(81);
    expect(imageSequenceLength(32, 16, 1)).toBe(4);
    expect(() => imageSequenceLength(512, 16, 3)).toThrow(new RangeError("imageSequenceLength: tile 512 / patch 16 = 32 patches per side is not a multiple of the scale factor 3"));
    expect(() => imageSequenceLength(500, 16, 4)).toThrow(new RangeError("imageSequenceLength: tile 500 / patch 16 = 31.25 patches per side is not a multiple of the scale factor 4"));
    expect(() => imageSequenceLength(500, 16, 1)).toThrow(RangeError);
  });

  it("a placeholder count mismatch names the prompt", () => {
    let caught: unknown;
    try {
      expandImagePlaceholders("<image><image>", [{ rows: 0, cols: 0 }], 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ImageError);
    expect(caught).toMatchObject({ name: "ImageError", source: "prompt", problem: "has 2 <image> placeholder(s) for 1 image(s); each image needs exactly one" });
    expect((caught as Error).message).toBe("prompt: has 2 <image> placeholder(s) for 1 image(s); each image needs exactly one");
    expect(expandImagePlaceholders("no images", [], 5)).toBe("no images");
  });

  it("a grid with one side 0 is refused, in a prompt too", () => {
    expect(() => idefics3ImagePrompt(0, 2, 1)).toThrow(new RangeError("idefics3ImagePrompt: a 0 × 2 tile grid; expected both sides 0 (not split) or both ≥ 1"));
    expect(() => idefics3ImagePrompt(3, 0, 1)).toThrow(new RangeError("idefics3ImagePrompt: a 3 × 0 tile grid; expected both sides 0 (not split) or both ≥ 1"));
    expect(() => expandImagePlaceholders("<image>", [{ rows: 1, cols: 0 }], 1)).toThrow(/a 1 × 0 tile grid/);
  });

  it("one row of tiles", () => {
    const fake = "<fake_token_around_image>";
    expect(idefics3ImagePrompt(1, 2, 1)).toBe(`${fake}<row_1_col_1><image>${fake}<row_1_col_2><image>\n\n${fake}<global-img><image>${fake}`);
  });
});

describe("ImageError", () => {
  it("is named ImageError and keeps the source, the problem and the cause", () => {
    const cause = new Error("inner");
    const error = new ImageError("a.png", "is broken", { cause });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.message, error.source, error.problem, error.cause]).toEqual(["ImageError", "a.png: is broken", "a.png", "is broken", cause]);
    expect(String(error)).toBe("ImageError: a.png: is broken");
  });
});
