// The vision pieces of the command line on a tiny random SmolVLM: option parsing and its messages, prompts with
// images through the chat template (layout and spans), and image preparation with the embedding cache (a second
// question about the same bytes skips decoding and the encoder).

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import sharp from "sharp";
import { describe, expect, it } from "vitest";

import { ImageEmbeddingCache, randomIdefics3Tensors, tinyIdefics3Config, writeIdefics3HfModel } from "@infer-recipes/models";

import { imageContentKeys, imagePromptPreparer, imageQuestion, loadVisionModel, parseVisionArguments, prepareImage, UsageError, visionPrompt } from "../src/index.ts";

describe("parseVisionArguments", () => {
  it("reads images, the question and the vision options", () => {
    const args = parseVisionArguments(["--image", "a.png", "--image", "b.jpg", "--question", "why?", "--vision-quant", "q8_0", "--image-longest-edge", "1024", "--mmproj", "m.gguf"], { temperature: 0 });
    expect(args).toMatchObject({ images: ["a.png", "b.jpg"], question: "why?", visionQuant: "q8_0", imageLongestEdge: 1024, mmproj: "m.gguf", imageCacheBytes: 256 * 1024 * 1024 });
    expect(parseVisionArguments(["--image", "a.png", "--prompt", "p"], { temperature: 0 }).question).toBe("p");
  });

  it("names a wrong vision option", () => {
    expect(() => parseVisionArguments(["--vision-quant", "q3"], { temperature: 0 })).toThrow(/--vision-quant must be one of f32, f16, bf16, q8_0, q4_0, got "q3"/);
    expect(() => parseVisionArguments(["--image-longest-edge", "0"], { temperature: 0 })).toThrow(/--image-longest-edge must be an integer ≥ 1/);
    expect(() => parseVisionArguments(["--question", "a", "--prompt", "b"], { temperature: 0 })).toThrow(UsageError);
    expect(() => parseVisionArguments(["--allow-local-images"], { temperature: 0 })).toThrow(/only applies with --serve/);
  });
});

describe("a question about an image on a tiny SmolVLM", async () => {
  const directory = mkdtempSync(path.join(tmpdir(), "cli-vision-"));
  const tiny = tinyIdefics3Config();
  writeIdefics3HfModel(directory, tiny, randomIdefics3Tensors(tiny, 9));
  const vision = await loadVisionModel(directory, { progress: false, backend: "reference" });
  const gradient = Buffer.alloc(70 * 20 * 3);
  for (let index = 0; index < 70 * 20; index++) gradient.set([index % 70 * 3, 200, (index * 7) % 256], index * 3);
  const png = await sharp(gradient, { raw: { width: 70, height: 20, channels: 3 } }).png().toBuffer();

  it("lays the image out in the prompt as the processor and the chat template define", async () => {
    const image = await prepareImage(vision, { bytes: png, source: "green.png" });
    expect([image.rows, image.cols, image.tileCount]).toEqual([1, 2, 3]);
    const prompt = visionPrompt(vision, [imageQuestion(1, "What colour?")], [image]);
    const fake = "<fake_token_around_image>";
    const tile = "<image>".repeat(4);
    expect(prompt.text).toBe(`<|im_start|>User:${fake}<row_1_col_1>${tile}${fake}<row_1_col_2>${tile}\n\n${fake}<global-img>${tile}${fake}What colour?<end_of_utterance>\nAssistant:`);
    expect(prompt.ids[0]).toBe(tiny.vocabulary.beginTokenId);
    expect(prompt.ids.filter((id) => id === tiny.vocabulary.imageTokenId)).toHaveLength(12);
    expect(prompt.spans.map((span) => span.embeddings.length / 64)).toEqual([4, 4, 4]);
    expect(() => visionPrompt(vision, [imageQuestion(2, "?")], [image])).toThrow(/2 image part\(s\) for 1 image/);
  });

  it("lays the image out from its header alone where prompts are prepared (the server's prompt worker), tile for tile", async () => {
    const image = await prepareImage(vision, { bytes: png, source: "green.png" });
    const preparer = imagePromptPreparer(vision, "tiny", false);
    const ids = await preparer.promptIds([imageQuestion(1, "What colour?")], [{ bytes: png, source: "messages[0].content[0]" }]);
    expect(ids).toEqual(visionPrompt(vision, [imageQuestion(1, "What colour?")], [image]).ids);
    await expect(preparer.promptIds([imageQuestion(1, "?")], [{ bytes: Buffer.from("nope"), source: "messages[0].content[0]" }])).rejects.toMatchObject({
      status: 400,
      param: "messages[0].content[0]",
      message: expect.stringMatching(/^messages\[0\]\.content\[0\]: is not an image/),
    });
  });

  it("keys each image's positions by its content, across the spans of its tiles and of adjacent images", () => {
    const hidden = 2;
    const rows = (count: number) => new Float32Array(count * hidden);
    // Image a: 3 rows in spans at 1 and 5; image b: 2 rows at 7 (adjacent to a's last span).
    const spans = [{ start: 1, embeddings: rows(2) }, { start: 5, embeddings: rows(1) }, { start: 6, embeddings: rows(1) }, { start: 7, embeddings: rows(1) }];
    expect(imageContentKeys(spans, hidden, [3, 2], ["a", "b"])).toEqual([
      { start: 1, end: 6, key: "a" },
      { start: 6, end: 8, key: "b" },
    ]);
  });

  it("the embedding cache answers a second question about the same bytes without decoding or encoding", async () => {
    const cache = new ImageEmbeddingCache();
    const first = await prepareImage(vision, { bytes: png, source: "green.png" }, { cache });
    const second = await prepareImage(vision, { bytes: Buffer.from(png), source: "again.png" }, { cache });
    expect(first.cached).toBe(false);
    expect(first.encodeMs).toBeGreaterThan(0);
    expect(second).toMatchObject({ cached: true, encodeMs: 0, decodeMs: 0, source: "again.png", contentHash: first.contentHash });
    expect(second.embeddings).toBe(first.embeddings);
    const other = await prepareImage(vision, { bytes: await sharp(png).flip().png().toBuffer(), source: "flipped.png" }, { cache });
    expect(other.cached).toBe(false);
    // Different processor settings are a different key.
    const smaller = await prepareImage({ ...vision, processor: { ...vision.processor, longestEdge: 32 } }, { bytes: png, source: "green.png" }, { cache });
    expect(smaller).toMatchObject({ cached: false, tileCount: 1 });
  });
});
