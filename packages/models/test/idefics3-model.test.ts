// Images in the language model's prompt: the <image> runs of a prompt are filled with the images' embeddings in
// order, those rows replace the token embeddings at prefill (whole or in chunks, alone or in a batch over a paged
// cache: identical logits), and the image content changes the answer while the prompt stays the same.

import path from "node:path";

import { describe, expect, it } from "vitest";

import { createKernel, nativeAvailability } from "@infer-recipes/kernel";

import { Idefics3Model, loadIdefics3HfModel, randomIdefics3Tensors, tinyIdefics3Config, writeIdefics3HfModel } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("idefics3-model");
const tiny = tinyIdefics3Config();
const directory = path.join(temporary(), "model");
writeIdefics3HfModel(directory, tiny, randomIdefics3Tensors(tiny, 3));
const kernel = createKernel({ backend: nativeAvailability().available ? "native" : "reference", threads: 2 });
const weights = loadIdefics3HfModel(directory);
const model = Idefics3Model.fromLoadedWeights(weights.text, weights.vision, weights.imageTokenId, kernel);
const image = tiny.vocabulary.imageTokenId;
const hidden = tiny.text.hiddenSize;

function pixels(tiles: number, seed: number): Float32Array {
  return Float32Array.from({ length: tiles * 3 * 32 * 32 }, (_, index) => Math.sin(index * 0.37 + seed));
}

/** BOS, text, an image of `rows` embeddings (split over runs as a tiled layout does), text. */
function prompt(runs: number[]): number[] {
  const ids = [tiny.vocabulary.beginTokenId, 40, 41];
  for (const run of runs) ids.push(tiny.vocabulary.special.get("<fake_token_around_image>")!, ...Array(run).fill(image));
  ids.push(42, 43, 44);
  return ids;
}

function logitsOf(tensor: { data: unknown }): Float32Array {
  return tensor.data as Float32Array;
}

describe("Idefics3Model", () => {
  it("fills the <image> runs with the images' rows in order, across image boundaries", () => {
    const first = new Float32Array(6 * hidden).map((_, index) => index);
    const second = new Float32Array(2 * hidden).map((_, index) => -index);
    const ids = prompt([4, 4]);
    const spans = model.imageSpans(ids, [first, second]);
    expect(spans.map((span) => [span.start, span.embeddings.length / hidden])).toEqual([[4, 4], [9, 2], [11, 2]]);
    expect(spans[1].embeddings[0]).toBe(4 * hidden);
    expect(spans[2].embeddings[hidden]).toBe(-hidden);
    expect(() => model.imageSpans(ids, [first])).toThrow(/8 <image> tokens but the images have 6 embeddings/);
  });

  it("image embeddings replace the placeholders: same logits whole, in chunks and batched; other images, other logits", () => {
    const embeddings = model.encodeImage(pixels(2, 1), 2);
    expect(embeddings.length).toBe(8 * hidden);
    const ids = prompt([4, 4]);
    const spans = model.imageSpans(ids, [embeddings]);
    const withImages = model.withImages(spans);
    const whole = logitsOf(withImages.forward(Int32Array.from(ids), withImages.createCache()));

    const cache = withImages.createCache();
    let chunked: Float32Array | undefined;
    for (let start = 0; start < ids.length; start += 5) chunked = logitsOf(withImages.forward(Int32Array.from(ids.slice(start, start + 5)), cache)).slice();
    expect(Math.max(...chunked!.map((value, index) => Math.abs(value - whole[index])))).toBeLessThan(1e-4);

    const paged = model.language.createPagedCache({ blockCount: 16, blockSize: 4 });
    const sequence = paged.createSequence();
    const other = paged.createSequence();
    paged.reserve(sequence, ids.length);
    paged.reserve(other, 3);
    const [batched] = model.language.forwardBatch(
      [
        { tokens: Int32Array.from(ids), sequence, embeddingSpans: spans },
        { tokens: Int32Array.of(1, 2, 3), sequence: other },
      ],
      paged,
    );
    expect(Math.max(...batched!.map((value, index) => Math.abs(value - whole[index])))).toBeLessThan(1e-4);

    const otherImage = model.imageSpans(ids, [model.encodeImage(pixels(2, 9), 2)]);
    const different = logitsOf(model.withImages(otherImage).forward(Int32Array.from(ids), model.language.createCache()));
    const plain = logitsOf(model.language.forward(Int32Array.from(ids), model.language.createCache()));
    expect(Math.max(...different.map((value, index) => Math.abs(value - whole[index])))).toBeGreaterThan(1e-3);
    expect(Math.max(...plain.map((value, index) => Math.abs(value - whole[index])))).toBeGreaterThan(1e-3);
  });

  it("refuses spans that overlap or are not whole rows", () => {
    const ids = Int32Array.from(prompt([4]));
    const forward = (spans: Array<{ start: number; embeddings: Float32Array }>) => model.language.forward(ids, model.language.createCache(), { embeddingSpans: spans });
    expect(() => forward([{ start: 2, embeddings: new Float32Array(hidden + 1) }])).toThrow(/whole rows of 64 floats/);
    expect(() => forward([{ start: 2, embeddings: new Float32Array(2 * hidden) }, { start: 3, embeddings: new Float32Array(hidden) }])).toThrow(/not overlap/);
  });
});
