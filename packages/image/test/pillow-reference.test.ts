// The comparison with the Pillow reference on a tiny processed image made here (tiles of 4×4; fast under StrykerJS, unlike
// test/processor-reference.test.ts on the real photos): the bytes a normalized tile came from, the sample positions
// pil-reference.py draws, layout, hashes and sampled differences, and the failure messages naming the image and tile.

import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  compareWithPillowReference,
  loadPillowReference,
  pillowReferenceFile,
  pillowReferenceMismatches,
  samplePositions,
  smolVlmProcessorConfig,
  tileBytes,
  type Idefics3ProcessorConfig,
  type PillowReferenceImage,
  type ProcessedImage,
} from "../src/index.ts";

/** Distinct per channel, so a channel mix-up shows. */
const config: Idefics3ProcessorConfig = { ...smolVlmProcessorConfig, tileSize: 4, mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] };
const size = 4;
const area = size * size;
const tileCount = 3; // 1 × 2 tiles + the global image

/** The HWC bytes of tile `tile`: different in every tile, pixel and channel. */
function bytesOf(tile: number): Uint8Array {
  const bytes = new Uint8Array(area * 3);
  for (let index = 0; index < bytes.length; index++) bytes[index] = (tile * 71 + index * 37 + 11) % 256;
  return bytes;
}

/** A processed image as transformers normalizes it: (x / 255 − mean) / std in float32, channel-first. */
function processed(tiles: Uint8Array[], rows = 1, cols = 2): ProcessedImage {
  const pixelValues = new Float32Array(tiles.length * 3 * area);
  tiles.forEach((bytes, tile) => {
    for (let channel = 0; channel < 3; channel++) {
      for (let index = 0; index < area; index++) {
        const value = (bytes[index * 3 + channel] / 255 - config.mean[channel]) / config.std[channel];
        pixelValues[(tile * 3 + channel) * area + index] = value;
      }
    }
  });
  return { rows, cols, tileCount: tiles.length, tileSize: size, pixelValues, resizedWidth: cols * size, resizedHeight: rows * size };
}

/** A reference entry as pil-reference.py writes it: per tile the SHA-256 of its bytes and the bytes at the sample positions. */
function referenceOf(tiles: Uint8Array[], samples: number, rows = 1, cols = 2): PillowReferenceImage {
  return {
    file: "tiny.png",
    rows,
    cols,
    tiles: tiles.map((bytes, tile) => {
      const sampled = samplePositions(tile + 1, samples, size).flatMap((position) => [...bytes.subarray(position * 3, position * 3 + 3)]);
      return { sha256: createHash("sha256").update(bytes).digest("hex"), samples: Buffer.from(sampled).toString("base64") };
    }),
  };
}

const tiles = Array.from({ length: tileCount }, (_, tile) => bytesOf(tile));

describe("samplePositions", () => {
  it("draws pil-reference.py's sequence (values from its sample_positions)", () => {
    expect(samplePositions(1, 5, 512)).toEqual([22892, 34267, 131454, 211653, 28000]);
    expect(samplePositions(2, 3, 512)).toEqual([114553, 57988, 199699]);
    expect(samplePositions(3, 6, 4)).toEqual([6, 13, 8, 7, 10, 1]);
    expect(samplePositions(4294967295, 2, 7)).toEqual([1, 11]);
    expect(samplePositions(1, 0, 512)).toEqual([]);
  });
});

describe("tileBytes", () => {
  it("recovers each tile's HWC bytes from the normalized floats", () => {
    const image = processed(tiles);
    for (let tile = 0; tile < tileCount; tile++) expect(tileBytes(image, tile, config)).toEqual(tiles[tile]);
  });

  it("rounds to the nearest level and clamps to 0..255", () => {
    const image = processed([new Uint8Array(area * 3)], 0, 0);
    const value = (level: number, channel: number) => (level / 255 - config.mean[channel]) / config.std[channel];
    image.pixelValues[0] = value(10.4, 0);
    image.pixelValues[1] = value(10.6, 0);
    image.pixelValues[2] = value(-30, 0);
    image.pixelValues[3] = value(300, 0);
    image.pixelValues[area] = value(254.6, 1);
    image.pixelValues[2 * area + 1] = value(0.3, 2);
    const bytes = tileBytes(image, 0, config);
    expect([bytes[0], bytes[3], bytes[6], bytes[9], bytes[1], bytes[5]]).toEqual([10, 11, 0, 255, 255, 0]);
  });
});

describe("compareWithPillowReference", () => {
  it("the same bytes: layout, every tile identical, differences of float rounding only", () => {
    const comparison = compareWithPillowReference(processed(tiles), referenceOf(tiles, 5), config, 5);
    expect(comparison).toMatchObject({
      file: "tiny.png",
      layoutMatches: true,
      expectedLayout: "1×2 + 1 global (3 tiles)",
      actualLayout: "1×2 + 1 global (3 tiles)",
      identicalTiles: 3,
      differingTiles: [],
      tileCount: 3,
    });
    expect(comparison.maxAbsDiffLevels).toBeLessThan(1e-3);
    expect(comparison.meanAbsDiffLevels).toBeLessThan(1e-3);
    expect(pillowReferenceMismatches(comparison)).toEqual([]);
  });

  it("a tile whose bytes differ by three levels: not identical, the sampled difference measured, the message names image and tile", () => {
    const changed = tiles.map((bytes) => bytes.slice());
    const position = samplePositions(2, 1, size)[0]; // tile 1's first sample
    changed[1][position * 3 + 2] += 3;
    const comparison = compareWithPillowReference(processed(changed), referenceOf(tiles, 4), config, 4);
    expect(comparison).toMatchObject({ layoutMatches: true, identicalTiles: 2, differingTiles: [1], tileCount: 3 });
    expect(comparison.maxAbsDiffLevels).toBeCloseTo(3, 3);
    expect(comparison.meanAbsDiffLevels).toBeCloseTo(3 / (3 * 4 * 3), 3);
    expect(pillowReferenceMismatches(comparison, 3.01)).toEqual(["tiny.png: tile 2 of 3 is not byte-identical to Pillow's"]);
    expect(pillowReferenceMismatches(comparison)).toEqual([
      "tiny.png: tile 2 of 3 is not byte-identical to Pillow's",
      "tiny.png: a sampled value is 3.00 levels from Pillow's, more than 1",
    ]);
  });

  it("a changed sample and a changed hash in the reference (the global image's), each caught", () => {
    const entry = referenceOf(tiles, 6);
    const samples = Buffer.from(entry.tiles[0].samples, "base64");
    samples[4] = (samples[4] + 40) % 256; // second sample, green
    entry.tiles[0].samples = samples.toString("base64");
    entry.tiles[2].sha256 = "0".repeat(64);
    const comparison = compareWithPillowReference(processed(tiles), entry, config, 6);
    expect(comparison).toMatchObject({ identicalTiles: 2, differingTiles: [2] });
    expect(comparison.maxAbsDiffLevels).toBeCloseTo(Math.abs(samples[4] - ((samples[4] + 216) % 256)), 3);
    expect(comparison.meanAbsDiffLevels).toBeCloseTo(comparison.maxAbsDiffLevels / (3 * 6 * 3), 4);
    expect(pillowReferenceMismatches(comparison)).toEqual([
      "tiny.png: tile 3 of 3 (the global image) is not byte-identical to Pillow's",
      `tiny.png: a sampled value is ${comparison.maxAbsDiffLevels.toFixed(2)} levels from Pillow's, more than 1`,
    ]);
  });

  it("the samples are those of each tile's own positions (seed = tile index + 1), channel by channel", () => {
    // A reference whose samples were drawn with the wrong seed or channel order differs somewhere.
    const entry = referenceOf(tiles, 8);
    const shifted = { ...entry, tiles: entry.tiles.map((tile, index) => ({ ...tile, samples: referenceOf(tiles, 8).tiles[(index + 1) % tileCount].samples })) };
    expect(compareWithPillowReference(processed(tiles), shifted, config, 8).maxAbsDiffLevels).toBeGreaterThan(10);
    const swapped = referenceOf(tiles.map((bytes) => bytes.map((_, at) => bytes[at - (at % 3) + [2, 1, 0][at % 3]])), 8);
    const comparison = compareWithPillowReference(processed(tiles), { ...swapped, tiles: swapped.tiles.map((tile, index) => ({ ...tile, sha256: entry.tiles[index].sha256 })) }, config, 8);
    expect(comparison.identicalTiles).toBe(3);
    expect(comparison.maxAbsDiffLevels).toBeGreaterThan(10);
  });

  it("a different grid or tile count: layout mismatch, infinite differences, one message", () => {
    const cases: [ProcessedImage, string][] = [
      [processed(tiles, 2, 1), "2×1 + 1 global (3 tiles)"],
      [processed(tiles, 1, 1), "1×1 + 2 global (3 tiles)"],
      [processed(tiles.slice(0, 2)), "1×2 + 0 global (2 tiles)"],
      [processed(tiles, 2, 2), "2×2 + -1 global (3 tiles)"], // only the rows differ
    ];
    for (const [image, actualLayout] of cases) {
      const comparison = compareWithPillowReference(image, referenceOf(tiles, 4), config, 4);
      expect(comparison).toMatchObject({ layoutMatches: false, expectedLayout: "1×2 + 1 global (3 tiles)", actualLayout, identicalTiles: 0, differingTiles: [] });
      expect([comparison.maxAbsDiffLevels, comparison.meanAbsDiffLevels]).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
      expect(pillowReferenceMismatches(comparison)).toEqual([`tiny.png: tile grid ${actualLayout}, Pillow's is 1×2 + 1 global (3 tiles)`]);
    }
  });

  it("sampled differences up to the limit pass; above it, the message gives the largest", () => {
    const comparison = { ...compareWithPillowReference(processed(tiles), referenceOf(tiles, 2), config, 2), maxAbsDiffLevels: 1 };
    expect(pillowReferenceMismatches(comparison)).toEqual([]);
    expect(pillowReferenceMismatches({ ...comparison, maxAbsDiffLevels: 1.004 })).toEqual(["tiny.png: a sampled value is 1.00 levels from Pillow's, more than 1"]);
    expect(pillowReferenceMismatches({ ...comparison, maxAbsDiffLevels: 2.5 }, 2.5)).toEqual([]);
  });

  it("an image that is one tile: no global image named", () => {
    const one = [bytesOf(5)];
    const entry = { ...referenceOf(one, 3, 0, 0), tiles: [{ ...referenceOf(one, 3, 0, 0).tiles[0], sha256: "f".repeat(64) }] };
    const comparison = compareWithPillowReference(processed(one, 0, 0), entry, config, 3);
    expect(comparison.expectedLayout).toBe("0×0 + 1 global (1 tiles)");
    expect(pillowReferenceMismatches(comparison)).toEqual(["tiny.png: tile 1 of 1 is not byte-identical to Pillow's"]);
  });
});

describe("loadPillowReference", () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "pillow-reference-"));
  afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

  it("reads the committed reference by default: Pillow 9.4.0, SmolVLM's sizes, 256 samples a tile", () => {
    expect(pillowReferenceFile.pathname.endsWith("/reference/pil-reference.json")).toBe(true);
    const reference = loadPillowReference();
    expect(reference).toMatchObject({ pillow: "9.4.0", numpy: "1.24.2", longest_edge: 2048, tile_size: 512, samples_per_tile: 256 });
    expect(reference.images.map((image) => image.file)).toEqual(["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "grace_hopper.jpg", "horse.png", "rocket.jpg"]);
    for (const image of reference.images) {
      expect(image.tiles.length).toBe(image.rows * image.cols + 1);
      for (const tile of image.tiles) expect(Buffer.from(tile.samples, "base64").length).toBe(256 * 3);
    }
  });

  it("reads another file when given one", () => {
    const file = path.join(directory, "reference.json");
    fs.writeFileSync(file, JSON.stringify({ pillow: "10.0.0", numpy: "2.0", longest_edge: 4, tile_size: 4, samples_per_tile: 3, images: [referenceOf(tiles, 3)] }));
    const reference = loadPillowReference(file);
    expect(reference).toMatchObject({ pillow: "10.0.0", tile_size: 4, samples_per_tile: 3 });
    const comparison = compareWithPillowReference(processed(tiles), reference.images[0], config, reference.samples_per_tile);
    expect(comparison.identicalTiles).toBe(3);
  });
});
