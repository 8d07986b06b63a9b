// The settings of the Idefics3 / SmolVLM image processor, read from what users hold: a Hugging Face
// preprocessor_config.json (Idefics3ImageProcessor / SmolVLMImageProcessor fields) or the metadata of a llama.cpp
// mmproj GGUF file (clip.vision.*). Unknown or unsupported values are refused with the file and field named.

import { readFileSync } from "node:fs";

import { ImageError } from "./image-error.ts";
import { filtersByPillowCode, lanczosFilter, type ResamplingFilter } from "./resampling-filters.ts";

/** The settings of transformers' Idefics3ImageProcessor that decide tiles and pixel values (preprocessor_config.json). */
export interface Idefics3ProcessorConfig {
  /** do_resize with size.longest_edge: the longest edge is first resized to this (2048 for SmolVLM 256M/500M,
   *  upscaling small images); undefined: no first resize. */
  longestEdge: number | undefined;
  /** max_image_size.longest_edge: tiles are tileSize × tileSize, the vision encoder's image size (512). */
  tileSize: number;
  /** do_image_splitting: tiles plus a downscaled global image; otherwise only the image resized to tileSize². */
  splitImage: boolean;
  /** Pillow filter of every resize ("resample": 1 = LANCZOS). */
  filter: ResamplingFilter;
  /** Multiplier turning bytes into [0, 1] (1/255); 1 when do_rescale is false. */
  rescaleFactor: number;
  /** Per-channel (R, G, B) mean subtracted by normalize; [0, 0, 0] when do_normalize is false. */
  mean: readonly [number, number, number];
  /** Per-channel (R, G, B) standard deviation divided by in normalize; [1, 1, 1] when do_normalize is false. */
  std: readonly [number, number, number];
}

/** SmolVLM-256M / 500M Instruct's settings (their preprocessor_config.json). */
export const smolVlmProcessorConfig: Idefics3ProcessorConfig = {
  longestEdge: 2048,
  tileSize: 512,
  splitImage: true,
  filter: lanczosFilter,
  rescaleFactor: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};

type Json = Record<string, unknown>;

/** A finite number (Number.isFinite is false for anything that is not a number). */
function isFiniteNumber(value: unknown): value is number {
  return Number.isFinite(value);
}

/** An integer (Number.isInteger is false for anything that is not a number). */
function isInteger(value: unknown): value is number {
  return Number.isInteger(value);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class Fields {
  constructor(
    readonly file: string,
    readonly json: Json,
  ) {}

  fail(field: string, problem: string): never {
    throw new ImageError(this.file, `field "${field}": ${problem}`);
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.json[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") this.fail(field, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  positiveNumber(field: string, fallback: number): number {
    const value = this.json[field];
    if (value === undefined || value === null) return fallback;
    if (!isFiniteNumber(value) || value <= 0) this.fail(field, `expected a number > 0, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A {"longest_edge": N} object (N a positive integer), or undefined when absent. */
  longestEdge(field: string): number | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.fail(field, `expected {"longest_edge": N}, got ${JSON.stringify(value)}`);
    const edge = value.longest_edge;
    if (!isInteger(edge) || edge < 1) this.fail(`${field}.longest_edge`, `expected a positive integer, got ${JSON.stringify(edge)}`);
    return edge;
  }

  triple(field: string, fallback: readonly [number, number, number]): readonly [number, number, number] {
    const value = this.json[field];
    if (value === undefined || value === null) return fallback;
    const list = typeof value === "number" ? [value, value, value] : value;
    if (!Array.isArray(list) || list.length !== 3 || list.some((item) => !isFiniteNumber(item))) {
      this.fail(field, `expected a number or a list of 3 numbers (R, G, B), got ${JSON.stringify(value)}`);
    }
    return [list[0], list[1], list[2]];
  }
}

/** The processor settings of a parsed preprocessor_config.json (`file` is named in errors). */
export function parseIdefics3ProcessorConfig(json: unknown, file: string): Idefics3ProcessorConfig {
  if (!isObject(json)) throw new ImageError(file, "expected a JSON object at the top level");
  const fields = new Fields(file, json);
  const type = json.image_processor_type;
  if (type !== undefined && type !== null && (typeof type !== "string" || !/^(Idefics3|SmolVLM)ImageProcessor(Fast)?$/.test(type))) {
    fields.fail("image_processor_type", `expected Idefics3ImageProcessor or SmolVLMImageProcessor, got ${JSON.stringify(type)}`);
  }
  const resample = json.resample ?? 1;
  // Stryker disable next-line ConditionalExpression: equivalent (the map's keys are numbers: get() of any other value is undefined, as the false branch is)
  const filter = (typeof resample === "number" ? filtersByPillowCode.get(resample) : undefined) ??
    fields.fail("resample", `expected a Pillow filter 1 (LANCZOS), 2 (BILINEAR) or 3 (BICUBIC), got ${JSON.stringify(resample)}`);
  const tileSize = fields.longestEdge("max_image_size") ?? 364; // transformers' default
  const doResize = fields.boolean("do_resize", true);
  const longestEdge = doResize ? (fields.longestEdge("size") ?? 4 * 364) : undefined;
  if (fields.boolean("do_convert_rgb", true) === false) fields.fail("do_convert_rgb", "false is not supported: images are always converted to RGB");
  const doRescale = fields.boolean("do_rescale", true);
  const doNormalize = fields.boolean("do_normalize", true);
  return {
    longestEdge,
    tileSize,
    splitImage: fields.boolean("do_image_splitting", true),
    filter,
    rescaleFactor: doRescale ? fields.positiveNumber("rescale_factor", 1 / 255) : 1,
    mean: doNormalize ? fields.triple("image_mean", [0.5, 0.5, 0.5]) : [0, 0, 0],
    std: doNormalize ? fields.triple("image_std", [0.5, 0.5, 0.5]) : [1, 1, 1],
  };
}

/** Reads preprocessor_config.json. */
export function readIdefics3ProcessorConfig(file: string): Idefics3ProcessorConfig {
  let json: unknown;
  try {
    // Stryker disable next-line StringLiteral: equivalent (without an encoding readFileSync gives a Buffer, which JSON.parse reads through its toString(): UTF-8 as well)
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === "ENOENT" ? "file not found" : code ? `cannot be read (${code})` : `invalid JSON: ${(error as Error).message}`;
    throw new ImageError(file, problem, { cause: error });
  }
  return parseIdefics3ProcessorConfig(json, file);
}

/**
 * The processor settings llama.cpp keeps in an mmproj GGUF (metadata as plain values): clip.vision.image_size (the
 * tile), clip.vision.preproc_image_size (the longest edge), clip.vision.image_mean / image_std. Splitting and LANCZOS
 * are what llama.cpp's converter assumes for idefics3 projectors.
 */
export function idefics3ProcessorConfigFromGguf(metadata: ReadonlyMap<string, unknown>, file: string): Idefics3ProcessorConfig {
  const number = (key: string): number | undefined => {
    const value = metadata.get(key);
    if (value === undefined) return undefined;
    if (!isInteger(value) || value < 1) throw new ImageError(file, `field "${key}": expected a positive integer, got ${String(value)}`);
    return value;
  };
  const triple = (key: string): readonly [number, number, number] => {
    const value = metadata.get(key);
    if (value === undefined) return [0.5, 0.5, 0.5];
    const list = ArrayBuffer.isView(value) ? [...(value as Float32Array)] : value;
    if (!Array.isArray(list) || list.length < 3 || list.some((item) => !isFiniteNumber(item))) {
      throw new ImageError(file, `field "${key}": expected 3 numbers (R, G, B), got ${String(value)}`);
    }
    return [list[0], list[1], list[2]];
  };
  const tileSize = number("clip.vision.image_size");
  if (tileSize === undefined) throw new ImageError(file, `field "clip.vision.image_size": required but missing`);
  return {
    longestEdge: number("clip.vision.preproc_image_size"),
    tileSize,
    splitImage: true,
    filter: lanczosFilter,
    rescaleFactor: 1 / 255,
    mean: triple("clip.vision.image_mean"),
    std: triple("clip.vision.image_std"),
  };
}
