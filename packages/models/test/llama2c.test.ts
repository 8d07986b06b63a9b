// llama2.c legacy checkpoints: header → LlamaConfig, weights in run.c's order → Hugging Face names, shared and
// separate classifiers.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ModelFileError, loadLlama2cModel, readLlama2cHeader } from "../src/index.ts";
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

describe("llama2.c headers", () => {
  /** A header-only file of the seven int32 fields. */
  function headerFile(values: number[]): string {
    const file = path.join(temporaryDirectory(), "model.bin");
    fs.writeFileSync(file, Buffer.from(Int32Array.from(values).buffer));
    return file;
  }
  const valid = [32, 40, 2, 4, 2, 64, 32];

  it("reads the smallest and largest plausible sizes, a negative vocab_size as a separate classifier", () => {
    expect(readLlama2cHeader(headerFile([1, 1, 1, 1, 1, -1, 1 << 24]))).toEqual({
      dim: 1, hiddenDim: 1, layerCount: 1, headCount: 1, keyValueHeadCount: 1, vocabSize: 1, sharedClassifier: false, sequenceLength: 1 << 24,
    });
    expect(readLlama2cHeader(headerFile([1 << 24, ...valid.slice(1)])).dim).toBe(1 << 24);
  });

  it("names the first implausible field and sizes that contradict each other", () => {
    const fields = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
    for (const [index, field] of fields.entries()) {
      for (const bad of [0, (1 << 24) + 1, ...(field === "vocab_size" ? [-(1 << 24) - 1] : [-1])]) {
        const values = [...valid];
        values[index] = bad;
        expect(() => readLlama2cHeader(headerFile(values)), `${field} = ${bad}`).toThrow(`: field "${field}": header value ${bad} is not a plausible size — not a llama2.c checkpoint?`);
      }
    }
    expect(() => readLlama2cHeader(headerFile([32, 40, 2, 4, 3, 64, 32]))).toThrow(/field "n_kv_heads": n_heads \(4\) must be a multiple of n_kv_heads \(3\)$/);
    expect(() => readLlama2cHeader(headerFile([30, 40, 2, 4, 2, 64, 32]))).toThrow(/field "n_heads": dim \(30\) must be a multiple of n_heads \(4\)$/);
  });

  it("refuses a file longer than its header implies", () => {
    const config = tinyLlamaConfig({ ropeLayout: "interleaved" });
    const file = path.join(temporaryDirectory(), "model.bin");
    writeLlama2cModel(file, config, randomLlamaTensors(config, 2), 16);
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.alloc(4));
    let message = "";
    try {
      loadLlama2cModel(file);
    } catch (error) {
      expect(error).toBeInstanceOf(ModelFileError);
      message = (error as Error).message;
    }
    expect(message.startsWith(`${file}: file is longer than its header implies (not a legacy llama2.c checkpoint?): the header (dim=32, `)).toBe(true);
    // A separate classifier is written as a negative vocab_size, as in the file.
    expect(message.endsWith(`, vocab_size=-64, seq_len=16) needs ${size} bytes, the file has ${size + 4}`)).toBe(true);
    const progress: Array<[number, number]> = [];
    fs.truncateSync(file, size);
    loadLlama2cModel(file, { onProgress: (done, total) => progress.push([done, total]) });
    expect(progress.at(-1)).toEqual([size - 28 - 2 * 16 * 4 * 4, size - 28 - 2 * 16 * 4 * 4]);
  });
});
