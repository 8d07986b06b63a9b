// llama2.c legacy checkpoints: header → LlamaConfig, weights in run.c's order → Hugging Face names, shared and
// separate classifiers.

import path from "node:path";

import { describe, expect, it } from "vitest";

import { loadLlama2cModel, readLlama2cHeader } from "../src/index.ts";
import { expectSameTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeLlama2cModel } from "../src/tiny-models/tiny-llama.ts";

const temporaryDirectory = useTemporaryDirectories("llama2c");

describe("llama2.c checkpoints", () => {
  for (const tiedEmbeddings of [true, false]) {
    it(`loads every tensor under its Hugging Face name (${tiedEmbeddings ? "shared" : "separate"} classifier)`, () => {
      const config = tinyLlamaConfig({ ropeLayout: "interleaved", tiedEmbeddings, intermediateSize: 40 });
      const tensors = randomLlamaTensors(config, 5);
      const file = path.join(temporaryDirectory(), "model.bin");
      writeLlama2cModel(file, config, tensors, 32);

      const header = readLlama2cHeader(file);
      expect(header).toEqual({
        dim: 32, hiddenDim: 40, layerCount: 2, headCount: 4, keyValueHeadCount: 2, vocabSize: 64, sharedClassifier: tiedEmbeddings, sequenceLength: 32,
      });
      const weights = loadLlama2cModel(file);
      expect(weights.config).toEqual({ ...config, rmsNormEpsilon: 1e-5, contextLength: 32 });
      expect(weights.source).toEqual({ format: "llama2c", path: file, files: [file] });
      for (const [name, tensor] of tensors) expectSameTensor(weights.tensors.get(name)!, tensor, name);
      const embedding = weights.tensors.get("model.embed_tokens.weight");
      expect(weights.tensors.get("lm_head.weight") === embedding).toBe(tiedEmbeddings);
    });
  }
});
