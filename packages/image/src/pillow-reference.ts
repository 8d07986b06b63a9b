// Checking the processor against an independent computation: reference/pil-reference.json holds, for the images in
// ../shared/models/images, the tile grid and per tile the SHA-256 of its RGB bytes and the bytes at 256 pseudo-random
// positions, as Pillow and numpy compute transformers' Idefics3ImageProcessor steps (reference/pil-reference.py, run
// with Debian's python3-pil 9.4.0; see reference/README.md). Used by the tests and by `pnpm accuracy smolvlm-500m`.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import type { Idefics3ProcessorConfig } from "./idefics3-processor-config.ts";
import type { ProcessedImage } from "./idefics3-processor.ts";

/** One tile of the Pillow reference: a hash of all its bytes and a sample of them. */
export interface PillowReferenceTile {
  /** SHA-256 (hex) of the tile's RGB bytes, height × width × 3. */
  sha256: string;
  /** Base64 of the RGB bytes at samplePositions(tileIndex + 1, samplesPerTile, tileSize). */
  samples: string;
}

/** One image of the Pillow reference: its file name (in ../shared/models/images), tile grid and tiles. */
export interface PillowReferenceImage {
  /** The image's file name. */
  file: string;
  /** Rows of the tile grid (0 when not split). */
  rows: number;
  /** Columns of the tile grid (0 when not split). */
  cols: number;
  /** Its tiles in processor order: row by row, the global image last. */
  tiles: PillowReferenceTile[];
}

/** reference/pil-reference.json: what pil-reference.py computed, and with which Pillow and NumPy. */
export interface PillowReference {
  /** Pillow's version. */
  pillow: string;
  /** NumPy's version. */
  numpy: string;
  /** The processor's longest edge in pixels. */
  longest_edge: number;
  /** The tile side in pixels. */
  tile_size: number;
  /** Bytes sampled per tile (see samplePositions). */
  samples_per_tile: number;
  /** One entry per reference image. */
  images: PillowReferenceImage[];
}

/** How one image's processing compares with the Pillow reference. */
export interface PreprocessingComparison {
  /** The image's file name. */
  file: string;
  /** Tile grid and tile count equal to the reference's. */
  layoutMatches: boolean;
  /** The reference's grid and tile count, as text. */
  expectedLayout: string;
  /** Ours, as text. */
  actualLayout: string;
  /** Tiles whose bytes hash to the reference's SHA-256. */
  identicalTiles: number;
  /** The indices of the other tiles (0-based, processor order: the global image last). */
  differingTiles: number[];
  /** Tiles compared. */
  tileCount: number;
  /** Over all sampled values: largest and mean |ours − Pillow|, in 8-bit levels (1 level = 1/255 before normalizing). */
  maxAbsDiffLevels: number;
  /** Mean |ours − Pillow| over all sampled values, in 8-bit levels. */
  meanAbsDiffLevels: number;
}

/** The reference shipped with this package. */
export const pillowReferenceFile = new URL("../reference/pil-reference.json", import.meta.url);

/** Reads the Pillow reference (default: the one committed in reference/). */
export function loadPillowReference(file: string | URL = pillowReferenceFile): PillowReference {
  return JSON.parse(readFileSync(file, "utf8")) as PillowReference;
}

/** The sample positions of one tile: a linear congruential sequence (the reference script uses the same). */
export function samplePositions(seed: number, count: number, size: number): number[] {
  let state = seed >>> 0;
  const positions: number[] = [];
  for (let index = 0; index < count; index++) {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    positions.push(state % (size * size));
  }
  return positions;
}

/** The 8-bit RGB bytes (HWC) a normalized channel-first tile came from. */
export function tileBytes(processed: ProcessedImage, tile: number, config: Idefics3ProcessorConfig): Uint8Array {
  const size = processed.tileSize;
  const area = size * size;
  const bytes = new Uint8Array(area * 3); // [size, size, 3]
  for (let channel = 0; channel < 3; channel++) {
    const base = (tile * 3 + channel) * area;
    // Stryker disable next-line EqualityOperator: equivalent (the extra byte falls past the end of the tile's array: ignored)
    for (let index = 0; index < area; index++) {
      const level = (processed.pixelValues[base + index] * config.std[channel] + config.mean[channel]) / config.rescaleFactor;
      bytes[index * 3 + channel] = Math.min(255, Math.max(0, Math.round(level)));
    }
  }
  return bytes;
}

/** Compares one processed image with its reference entry (see PreprocessingComparison). */
export function compareWithPillowReference(processed: ProcessedImage, reference: PillowReferenceImage, config: Idefics3ProcessorConfig, samplesPerTile: number): PreprocessingComparison {
  const layout = (rows: number, cols: number, tiles: number) => `${rows}×${cols} + ${tiles - rows * cols} global (${tiles} tiles)`;
  const comparison: PreprocessingComparison = {
    file: reference.file,
    layoutMatches: processed.rows === reference.rows && processed.cols === reference.cols && processed.tileCount === reference.tiles.length,
    expectedLayout: layout(reference.rows, reference.cols, reference.tiles.length),
    actualLayout: layout(processed.rows, processed.cols, processed.tileCount),
    identicalTiles: 0,
    differingTiles: [],
    tileCount: reference.tiles.length,
    maxAbsDiffLevels: 0,
    meanAbsDiffLevels: 0,
  };
  if (!comparison.layoutMatches) return { ...comparison, maxAbsDiffLevels: Number.POSITIVE_INFINITY, meanAbsDiffLevels: Number.POSITIVE_INFINITY };
  const size = processed.tileSize;
  const area = size * size;
  let total = 0;
  let count = 0;
  reference.tiles.forEach((entry, tile) => {
    const bytes = tileBytes(processed, tile, config);
    if (createHash("sha256").update(bytes).digest("hex") === entry.sha256) comparison.identicalTiles++;
    else comparison.differingTiles.push(tile);
    const expected = Buffer.from(entry.samples, "base64");
    samplePositions(tile + 1, samplesPerTile, size).forEach((position, sample) => {
      for (let channel = 0; channel < 3; channel++) {
        const level = (processed.pixelValues[(tile * 3 + channel) * area + position] * config.std[channel] + config.mean[channel]) / config.rescaleFactor;
        const difference = Math.abs(level - expected[sample * 3 + channel]);
        comparison.maxAbsDiffLevels = Math.max(comparison.maxAbsDiffLevels, difference);
        total += difference;
        count++;
      }
    });
  });
  comparison.meanAbsDiffLevels = total / count;
  return comparison;
}

/**
 * Why a comparison fails, one message per problem, each naming the image (and the tile): a different tile grid, a tile
 * whose bytes are not Pillow's, a sampled value more than `maxAbsDiffLevels` from Pillow's. Empty when it passes.
 */
export function pillowReferenceMismatches(comparison: PreprocessingComparison, maxAbsDiffLevels = 1): string[] {
  if (!comparison.layoutMatches) return [`${comparison.file}: tile grid ${comparison.actualLayout}, Pillow's is ${comparison.expectedLayout}`];
  const problems = comparison.differingTiles.map((tile) => {
    const global = comparison.tileCount > 1 && tile === comparison.tileCount - 1 ? " (the global image)" : "";
    return `${comparison.file}: tile ${tile + 1} of ${comparison.tileCount}${global} is not byte-identical to Pillow's`;
  });
  if (comparison.maxAbsDiffLevels > maxAbsDiffLevels) {
    problems.push(`${comparison.file}: a sampled value is ${comparison.maxAbsDiffLevels.toFixed(2)} levels from Pillow's, more than ${maxAbsDiffLevels}`);
  }
  return problems;
}
