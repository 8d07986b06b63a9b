// The processor against Pillow (reference/pil-reference.json, an independent computation of transformers'
// Idefics3ImageProcessor) on real images from ../shared/models/images: tile layout and count exact, every sampled
// pixel within 1 level (1/255) — measured: every tile byte-identical. Skipped, naming the files, where ../shared is
// absent. The full set of seven images runs in `pnpm accuracy smolvlm-500m`; here one of each kind.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { sharedModelsDirectory } from "@infer-recipes/test-support";

import { compareWithPillowReference, loadPillowReference, processIdefics3Image, readImageFile, smolVlmProcessorConfig } from "../src/index.ts";

const imagesDirectory = path.join(sharedModelsDirectory, "images");
/** An RGB PNG, a grayscale PNG, an RGBA PNG, a JPEG: 4×4, 4×4, 4×4 and 3×4 tiles. */
const images = ["astronaut.png", "camera.png", "horse.png", "rocket.jpg"];
const missing = images.map((name) => path.join(imagesDirectory, name)).filter((file) => !fs.existsSync(file));
if (missing.length > 0) console.warn(`[processor vs Pillow] skipped: missing ${missing.join(", ")}`);

describe.skipIf(missing.length > 0)("Idefics3 processor vs Pillow on ../shared/models/images", () => {
  const reference = loadPillowReference();

  it.each(images)("%s: same tile grid, pixels within 1 level of Pillow's", async (name) => {
    const entry = reference.images.find((image) => image.file === name)!;
    const processed = processIdefics3Image(await readImageFile(path.join(imagesDirectory, name)), smolVlmProcessorConfig);
    const comparison = compareWithPillowReference(processed, entry, smolVlmProcessorConfig, reference.samples_per_tile);
    expect(comparison.actualLayout).toBe(comparison.expectedLayout);
    expect(processed.pixelValues.length).toBe(processed.tileCount * 3 * 512 * 512);
    expect(comparison.maxAbsDiffLevels).toBeLessThanOrEqual(1);
    expect(comparison.meanAbsDiffLevels).toBeLessThanOrEqual(0.05);
    expect(comparison.identicalTiles).toBe(comparison.tileCount);
  });

  it("a reference with one changed sample or hash is caught", async () => {
    const entry = structuredClone(reference.images.find((image) => image.file === "horse.png")!);
    const samples = Buffer.from(entry.tiles[3].samples, "base64");
    samples[10] = (samples[10] + 40) % 256;
    entry.tiles[3].samples = samples.toString("base64");
    entry.tiles[5].sha256 = "0".repeat(64);
    const processed = processIdefics3Image(await readImageFile(path.join(imagesDirectory, "horse.png")), smolVlmProcessorConfig);
    const comparison = compareWithPillowReference(processed, entry, smolVlmProcessorConfig, reference.samples_per_tile);
    expect(comparison.maxAbsDiffLevels).toBeGreaterThanOrEqual(16);
    expect(comparison.identicalTiles).toBe(comparison.tileCount - 1);
  });
});
