// This project against llama.cpp (fixtures/llama-cpp: outputs of llama.cpp's mtmd library on a tiny random
// SmolVLM-shaped model written by this project's GGUF and mmproj writers; README.md there has the commit and the
// commands). On every backend: the image embeddings of exact tiles within 2e-3 of llama.cpp's (its GELU is an f16
// table lookup), the prompt's token layout around the image identical, and for the image whose every tile is exact
// in both (constant colour), the last prompt logits within 1e-2 (KL < 1e-5) and the greedy tokens identical.

import { afterAll, describe, expect, it } from "vitest";

import { nativeAvailability, type BackendName } from "@infer-recipes/kernel";

import { compareOracleCase, fixtureWeightsDigest, oracleImages, writeOracleModel } from "./fixtures/llama-cpp/oracle-comparison.ts";

const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const files = writeOracleModel();
afterAll(files.remove);
const images = new Map(oracleImages().map((image) => [image.name, image]));

it("the fixtures were made from this tiny model (else regenerate them: fixtures/llama-cpp/README.md)", () => {
  expect(files.digest).toBe(fixtureWeightsDigest());
});

for (const backend of backends) {
  describe(`${backend} backend against llama.cpp`, () => {
    it("single: one exact tile — the encoder's embeddings match both of llama.cpp's image chunks", async () => {
      const differences = await compareOracleCase(files.directory, images.get("single")!, backend);
      expect(differences.exactTileEmbeddings).toBeLessThan(2e-3);
    });

    it("wide: same prompt tokens around the 1×2 grid; the two tiles' embeddings match, the global image's loosely", async () => {
      const differences = await compareOracleCase(files.directory, images.get("wide")!, backend);
      expect(differences.promptMatches).toBe(true);
      expect(differences.exactTileEmbeddings).toBeLessThan(2e-3);
      // The global image: llama.cpp downscales with its own bicubic filter, this project with Pillow's Lanczos.
      expect(differences.globalEmbeddingsRelative).toBeLessThan(0.5);
    });

    it("constant: whole pipeline — prompt tokens, embeddings, last logits and 16 greedy tokens", async () => {
      const differences = await compareOracleCase(files.directory, images.get("constant")!, backend);
      expect(differences.promptMatches).toBe(true);
      expect(differences.exactTileEmbeddings).toBeLessThan(2e-3);
      expect(differences.logitsMaxAbsDiff).toBeLessThan(1e-2);
      expect(differences.logitsKl).toBeLessThan(1e-5);
      expect(differences.greedyPrefix).toBe(differences.greedyCompared);
    });
  });
}
