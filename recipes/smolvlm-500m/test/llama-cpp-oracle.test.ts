// This project against llama.cpp (fixtures/llama-cpp: outputs of llama.cpp's mtmd library on a tiny random
// SmolVLM-shaped model written by this project's GGUF and mmproj writers; README.md there has the commit and the
// commands). On every backend: the image embeddings of exact tiles within 2e-3 of llama.cpp's (its GELU is an f16
// table lookup), the prompt's token layout around the image identical, and for the image whose every tile is exact
// in both (constant colour), the last prompt logits within 1e-2 and the greedy tokens identical.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";

import { imageQuestion, loadVisionModel, prepareImage, visionPrompt, type VisionModel } from "@infer-recipes/cli";
import { generate } from "@infer-recipes/engine";
import { klDivergence } from "@infer-recipes/harness";
import { nativeAvailability, type BackendName } from "@infer-recipes/kernel";
import { writeIdefics3GgufPair, writeMmprojGguf } from "@infer-recipes/models";

import { oracleImages, oracleModel, oracleQuestion, weightsDigest, type OracleImage } from "./fixtures/llama-cpp/oracle-models.ts";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/llama-cpp");
const manifest = JSON.parse(fs.readFileSync(path.join(fixtures, "manifest.json"), "utf8")) as { weights_digest: string };
const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "smolvlm-oracle-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

const { model, tensors } = oracleModel();
writeIdefics3GgufPair(path.join(directory, "text.gguf"), path.join(directory, "mmproj.gguf"), model, tensors);
writeMmprojGguf(path.join(directory, "mmproj-single.gguf"), { config: model.vision, tensors: new Map(tensors.vision) }, { processor: { ...model.processor, longestEdge: 32 } });

interface OracleCase {
  chunks: Array<{ type: "text"; tokens: number[] } | { type: "image"; n_tokens: number }>;
  generated: number[];
  embeddings: Float32Array; // [image chunks · tokens, hidden] in chunk order
  logits: Float32Array; // [vocab] at the last prompt position
}

function readCase(name: string): OracleCase {
  const json = JSON.parse(fs.readFileSync(path.join(fixtures, `${name}.json`), "utf8"));
  const floats = (file: string) => new Float32Array(new Uint8Array(fs.readFileSync(path.join(fixtures, file))).buffer);
  return { ...json, embeddings: floats(`${name}.embeddings.f32`), logits: floats(`${name}.logits.f32`) };
}

/** llama.cpp's prompt with each image chunk spelled as that many <image> tokens. */
function oracleIds(oracle: OracleCase, imageTokenId: number): number[] {
  return oracle.chunks.flatMap((chunk) => (chunk.type === "text" ? chunk.tokens : Array<number>(chunk.n_tokens).fill(imageTokenId)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index] - b[index]));
  return worst;
}

async function ask(vision: VisionModel, image: OracleImage) {
  const png = await sharp(Buffer.from(image.pixels), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  const prepared = await prepareImage(vision, { bytes: png, source: image.name });
  const prompt = visionPrompt(vision, [imageQuestion(1, oracleQuestion)], [prepared]);
  return { prepared, prompt };
}

it("the fixtures were made from this tiny model (else regenerate them: fixtures/llama-cpp/README.md)", () => {
  expect(weightsDigest(tensors)).toBe(manifest.weights_digest);
});

for (const backend of backends) {
  describe(`${backend} backend against llama.cpp`, () => {
    const loads = new Map<string, Promise<VisionModel>>();
    const vision = (mmproj: string) => {
      if (!loads.has(mmproj)) loads.set(mmproj, loadVisionModel(path.join(directory, "text.gguf"), { mmproj: path.join(directory, mmproj), backend, threads: 2, progress: false }));
      return loads.get(mmproj)!;
    };
    const images = new Map(oracleImages().map((image) => [image.name, image]));
    const hidden = model.text.hiddenSize;

    it("single: one exact tile — the encoder's embeddings match both of llama.cpp's image chunks", async () => {
      const oracle = readCase("single");
      const { prepared } = await ask(await vision("mmproj-single.gguf"), images.get("single")!);
      expect(prepared.tileCount).toBe(1);
      expect(oracle.embeddings.length).toBe(2 * prepared.embeddings.length);
      expect(maxAbsDiff(prepared.embeddings, oracle.embeddings.subarray(0, 4 * hidden))).toBeLessThan(2e-3);
      expect(maxAbsDiff(prepared.embeddings, oracle.embeddings.subarray(4 * hidden))).toBeLessThan(2e-3);
    });

    it("wide: same prompt tokens around the 1×2 grid; the two tiles' embeddings match, the global image's loosely", async () => {
      const vm = await vision("mmproj.gguf");
      const oracle = readCase("wide");
      const { prepared, prompt } = await ask(vm, images.get("wide")!);
      expect(prompt.ids).toEqual(oracleIds(oracle, vm.model.imageTokenId));
      expect(maxAbsDiff(prepared.embeddings.subarray(0, 8 * hidden), oracle.embeddings.subarray(0, 8 * hidden))).toBeLessThan(2e-3);
      // The global image: llama.cpp downscales with its own bicubic filter, this project with Pillow's Lanczos.
      const scale = maxAbsDiff(oracle.embeddings.subarray(8 * hidden), new Float32Array(4 * hidden));
      expect(maxAbsDiff(prepared.embeddings.subarray(8 * hidden), oracle.embeddings.subarray(8 * hidden)) / scale).toBeLessThan(0.5);
    });

    it("constant: whole pipeline — prompt tokens, embeddings, last logits and 16 greedy tokens", async () => {
      const vm = await vision("mmproj.gguf");
      const oracle = readCase("constant");
      const { prepared, prompt } = await ask(vm, images.get("constant")!);
      expect(prompt.ids).toEqual(oracleIds(oracle, vm.model.imageTokenId));
      expect(maxAbsDiff(prepared.embeddings, oracle.embeddings)).toBeLessThan(2e-3);
      const withImages = vm.model.withImages(prompt.spans);
      const logits = withImages.forward(Int32Array.from(prompt.ids), withImages.createCache()).data as Float32Array;
      expect(maxAbsDiff(logits, oracle.logits)).toBeLessThan(1e-2);
      expect(klDivergence(oracle.logits, logits)).toBeLessThan(1e-5);
      const result = await generate(withImages, prompt.ids, { temperature: 0, maxTokens: oracle.generated.length, stopTokenIds: vm.stopTokenIds });
      expect(result.tokenIds).toEqual(oracle.generated);
    });
  });
}
