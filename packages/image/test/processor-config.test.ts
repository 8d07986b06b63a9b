// The Idefics3 / SmolVLM processor settings, field by field: preprocessor_config.json (every field, its default as
// transformers' Idefics3ImageProcessor has it, and the error naming the file, the field and what was expected) and the
// clip.vision.* keys of an mmproj GGUF.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  bicubicFilter,
  bilinearFilter,
  idefics3ProcessorConfigFromGguf,
  ImageError,
  lanczosFilter,
  parseIdefics3ProcessorConfig,
  readIdefics3ProcessorConfig,
  type Idefics3ProcessorConfig,
} from "../src/index.ts";

const parse = (json: unknown) => parseIdefics3ProcessorConfig(json, "p.json");
/** The message parse() throws, or "" when it does not throw. */
function failure(json: unknown): string {
  try {
    parse(json);
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).source).toBe("p.json");
    return (error as Error).message;
  }
}

/** transformers' Idefics3ImageProcessor defaults: longest edge 4 × 364, tiles of 364, LANCZOS, 1/255, mean = std = 0.5. */
const transformersDefaults: Idefics3ProcessorConfig = {
  longestEdge: 1456,
  tileSize: 364,
  splitImage: true,
  filter: lanczosFilter,
  rescaleFactor: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};

describe("preprocessor_config.json", () => {
  it("an empty object (or every field null) takes transformers' defaults", () => {
    expect(parse({})).toEqual(transformersDefaults);
    const nulls = Object.fromEntries(
      ["image_processor_type", "resample", "max_image_size", "size", "do_resize", "do_convert_rgb", "do_rescale", "do_normalize", "do_image_splitting", "rescale_factor", "image_mean", "image_std"].map((key) => [key, null]),
    );
    expect(parse(nulls)).toEqual(transformersDefaults);
  });

  it("refuses a top level that is not an object", () => {
    for (const json of [null, [], [{}], "config", 3, true]) expect(failure(json)).toBe("p.json: expected a JSON object at the top level");
  });

  it("image_processor_type: Idefics3 or SmolVLM, plain or Fast, nothing else", () => {
    for (const type of ["Idefics3ImageProcessor", "Idefics3ImageProcessorFast", "SmolVLMImageProcessor", "SmolVLMImageProcessorFast"]) {
      expect(parse({ image_processor_type: type })).toEqual(transformersDefaults);
    }
    for (const type of ["CLIPImageProcessor", "MyIdefics3ImageProcessor", "Idefics3ImageProcessorFaster", "idefics3ImageProcessor", ""]) {
      expect(failure({ image_processor_type: type })).toBe(`p.json: field "image_processor_type": expected Idefics3ImageProcessor or SmolVLMImageProcessor, got "${type}"`);
    }
    // A list holding the name is not the name (a regular expression would read it as its text).
    expect(failure({ image_processor_type: ["Idefics3ImageProcessor"] })).toBe('p.json: field "image_processor_type": expected Idefics3ImageProcessor or SmolVLMImageProcessor, got ["Idefics3ImageProcessor"]');
    expect(failure({ image_processor_type: 3 })).toBe('p.json: field "image_processor_type": expected Idefics3ImageProcessor or SmolVLMImageProcessor, got 3');
  });

  it("resample: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC", () => {
    expect(parse({ resample: 1 }).filter).toBe(lanczosFilter);
    expect(parse({ resample: 2 }).filter).toBe(bilinearFilter);
    expect(parse({ resample: 3 }).filter).toBe(bicubicFilter);
    for (const [value, shown] of [[0, "0"], [4, "4"], [1.5, "1.5"], ["1", '"1"'], [[1], "[1]"]] as const) {
      expect(failure({ resample: value })).toBe(`p.json: field "resample": expected a Pillow filter 1 (LANCZOS), 2 (BILINEAR) or 3 (BICUBIC), got ${shown}`);
    }
  });

  it("max_image_size and size: {longest_edge: N}, N a positive integer", () => {
    expect(parse({ max_image_size: { longest_edge: 512 }, size: { longest_edge: 2048 } })).toMatchObject({ tileSize: 512, longestEdge: 2048 });
    expect(parse({ max_image_size: { longest_edge: 1 }, size: { longest_edge: 1 } })).toMatchObject({ tileSize: 1, longestEdge: 1 });
    for (const field of ["max_image_size", "size"]) {
      for (const [value, shown] of [[512, "512"], [[512], "[512]"], ["512", '"512"'], [true, "true"]] as const) {
        expect(failure({ [field]: value })).toBe(`p.json: field "${field}": expected {"longest_edge": N}, got ${shown}`);
      }
      for (const [edge, shown] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], ["512", '"512"'], [undefined, "undefined"]] as const) {
        expect(failure({ [field]: { longest_edge: edge } })).toBe(`p.json: field "${field}.longest_edge": expected a positive integer, got ${shown}`);
      }
    }
  });

  it("do_resize false: no first resize, and size is not read", () => {
    expect(parse({ do_resize: false, size: { longest_edge: 2048 } }).longestEdge).toBeUndefined();
    expect(parse({ do_resize: false, size: "ignored" }).longestEdge).toBeUndefined();
    expect(parse({ do_resize: true }).longestEdge).toBe(1456);
  });

  it("do_image_splitting, do_rescale and do_normalize false", () => {
    expect(parse({ do_image_splitting: false }).splitImage).toBe(false);
    expect(parse({ do_image_splitting: true }).splitImage).toBe(true);
    expect(parse({ do_rescale: false, rescale_factor: 0.5 }).rescaleFactor).toBe(1);
    expect(parse({ do_rescale: false, rescale_factor: "ignored" }).rescaleFactor).toBe(1);
    expect(parse({ do_normalize: false, image_mean: [0.1, 0.2, 0.3], image_std: [0.4, 0.5, 0.6] })).toMatchObject({ mean: [0, 0, 0], std: [1, 1, 1] });
    expect(parse({ do_normalize: false, image_mean: "ignored", image_std: "ignored" })).toMatchObject({ mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it("do_convert_rgb: true or absent; false is refused", () => {
    expect(parse({ do_convert_rgb: true })).toEqual(transformersDefaults);
    expect(failure({ do_convert_rgb: false })).toBe('p.json: field "do_convert_rgb": false is not supported: images are always converted to RGB');
  });

  it("every boolean field refuses what is not true or false", () => {
    for (const field of ["do_resize", "do_convert_rgb", "do_rescale", "do_normalize", "do_image_splitting"]) {
      expect(failure({ [field]: "yes" })).toBe(`p.json: field "${field}": expected true or false, got "yes"`);
      expect(failure({ [field]: 0 })).toBe(`p.json: field "${field}": expected true or false, got 0`);
    }
  });

  it("rescale_factor: a finite number > 0", () => {
    expect(parse({ rescale_factor: 0.5 }).rescaleFactor).toBe(0.5);
    expect(parse({ rescale_factor: 1e-9 }).rescaleFactor).toBe(1e-9);
    for (const [value, shown] of [[0, "0"], [-0.5, "-0.5"], ["0.5", '"0.5"'], [Number.POSITIVE_INFINITY, "null"], [Number.NaN, "null"], [[0.5], "[0.5]"]] as const) {
      expect(failure({ rescale_factor: value })).toBe(`p.json: field "rescale_factor": expected a number > 0, got ${shown}`);
    }
  });

  it("image_mean and image_std: one number for all channels or three (R, G, B)", () => {
    expect(parse({ image_mean: [0.1, 0.2, 0.3], image_std: [0.4, 0.5, 0.6] })).toMatchObject({ mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6] });
    expect(parse({ image_mean: 0.25, image_std: 2 })).toMatchObject({ mean: [0.25, 0.25, 0.25], std: [2, 2, 2] });
    expect(parse({ image_mean: [0, -1, 0] }).mean).toEqual([0, -1, 0]);
    for (const field of ["image_mean", "image_std"]) {
      for (const [value, shown] of [[[0.5, 0.5], "[0.5,0.5]"], [[0.5, 0.5, 0.5, 0.5], "[0.5,0.5,0.5,0.5]"], [[0.5, 0.5, "0.5"], '[0.5,0.5,"0.5"]'], [["a", 1, 2], '["a",1,2]'], [[0.5, Number.NaN, 0.5], "[0.5,null,0.5]"], ["0.5", '"0.5"'], [Number.POSITIVE_INFINITY, "null"], [{ r: 1 }, '{"r":1}']] as const) {
        expect(failure({ [field]: value })).toBe(`p.json: field "${field}": expected a number or a list of 3 numbers (R, G, B), got ${shown}`);
      }
    }
  });
});

describe("readIdefics3ProcessorConfig", () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "processor-config-"));
  afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

  it("reads and parses the file, naming it in errors", () => {
    const file = path.join(directory, "preprocessor_config.json");
    fs.writeFileSync(file, JSON.stringify({ max_image_size: { longest_edge: 512 }, size: { longest_edge: 2048 }, do_image_splitting: false }));
    expect(readIdefics3ProcessorConfig(file)).toEqual({ ...transformersDefaults, tileSize: 512, longestEdge: 2048, splitImage: false });
    fs.writeFileSync(file, JSON.stringify({ resample: 9 }));
    expect(() => readIdefics3ProcessorConfig(file)).toThrow(`${file}: field "resample": expected a Pillow filter`);
  });

  it("a missing file, a folder, invalid JSON", () => {
    const missing = path.join(directory, "nope.json");
    expect(() => readIdefics3ProcessorConfig(missing)).toThrow(new ImageError(missing, "file not found"));
    expect(() => readIdefics3ProcessorConfig(directory)).toThrow(new ImageError(directory, "cannot be read (EISDIR)"));
    const broken = path.join(directory, "broken.json");
    fs.writeFileSync(broken, "{ nope");
    let message = "";
    try {
      readIdefics3ProcessorConfig(broken);
    } catch (error) {
      expect(error).toBeInstanceOf(ImageError);
      expect((error as ImageError).cause).toBeInstanceOf(SyntaxError);
      message = (error as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: invalid JSON: .*JSON`));
  });
});

describe("mmproj GGUF clip.vision keys", () => {
  const gguf = (entries: [string, unknown][]) => idefics3ProcessorConfigFromGguf(new Map(entries), "mmproj.gguf");
  const ggufFailure = (entries: [string, unknown][]) => {
    try {
      gguf(entries);
      return "";
    } catch (error) {
      expect(error).toBeInstanceOf(ImageError);
      return (error as Error).message;
    }
  };

  it("image_size alone: the tile, no first resize, mean = std = 0.5, splitting, LANCZOS, 1/255", () => {
    expect(gguf([["clip.vision.image_size", 384]])).toEqual({
      longestEdge: undefined,
      tileSize: 384,
      splitImage: true,
      filter: lanczosFilter,
      rescaleFactor: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
  });

  it("mean and std as Float32Array or plain lists, each key read on its own", () => {
    const config = gguf([
      ["clip.vision.image_size", 1],
      ["clip.vision.preproc_image_size", 1],
      ["clip.vision.image_mean", new Float32Array([0.25, 0.5, 0.75])],
      ["clip.vision.image_std", [0.125, 2, 4]],
    ]);
    expect(config).toMatchObject({ tileSize: 1, longestEdge: 1, mean: [0.25, 0.5, 0.75], std: [0.125, 2, 4] });
    expect(gguf([["clip.vision.image_size", 512], ["clip.vision.image_std", [1, 2, 3, 4]]])).toMatchObject({ mean: [0.5, 0.5, 0.5], std: [1, 2, 3] });
  });

  it("refuses sizes that are not positive integers and lists of fewer than 3 numbers, naming the key", () => {
    expect(ggufFailure([])).toBe('mmproj.gguf: field "clip.vision.image_size": required but missing');
    for (const key of ["clip.vision.image_size", "clip.vision.preproc_image_size"]) {
      for (const [value, shown] of [[0, "0"], [-512, "-512"], [511.5, "511.5"], ["512", "512"], [512n, "512"]] as const) {
        const entries: [string, unknown][] = [["clip.vision.image_size", 512], [key, value]];
        expect(ggufFailure(entries)).toBe(`mmproj.gguf: field "${key}": expected a positive integer, got ${shown}`);
      }
    }
    for (const key of ["clip.vision.image_mean", "clip.vision.image_std"]) {
      for (const [value, shown] of [[[0.5, 0.5], "0.5,0.5"], [new Float32Array([0.5]), "0.5"], ["abc", "abc"], [0.5, "0.5"], [["a", "b", "c"], "a,b,c"], [[0.5, "0.5", 0.5], "0.5,0.5,0.5"], [[0.5, 0.5, Number.NaN], "0.5,0.5,NaN"], [new Float32Array([0.5, Number.POSITIVE_INFINITY, 0.5]), "0.5,Infinity,0.5"], [[0.5, 0.5, 0.5, "x"], "0.5,0.5,0.5,x"]] as const) {
        expect(ggufFailure([["clip.vision.image_size", 512], [key, value]])).toBe(`mmproj.gguf: field "${key}": expected 3 numbers (R, G, B), got ${shown}`);
      }
    }
  });
});
