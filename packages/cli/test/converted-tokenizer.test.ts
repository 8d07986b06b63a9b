// A safetensors folder converted to GGUF carries its tokenizer (tokenizer.json → tokenizer.ggml.* metadata), so the
// converted file runs on its own — in this project and in llama.cpp. Checked on the real TinyStories-656K model
// (SentencePiece-style BPE with byte fallback) and on the real Llama 3.1 tokenizer.json (byte-level BPE) inside a tiny
// random model: the GGUF-embedded vocabulary encodes llama.cpp's reference inputs exactly as tokenizer.json does.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { convertSafetensorsToGguf, randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "@infer-recipes/models";
import { sharedModelsDirectory } from "@infer-recipes/test-support";
import { loadHfTokenizer } from "@infer-recipes/tokenizer";

import { loadTextModel } from "../src/index.ts";

const sharedModels = sharedModelsDirectory;
const tinyStories = path.join(sharedModels, "tinystories-656k-hf");
const llama31Tokenizer = path.join(sharedModels, "llama3.1-tokenizer");
const vectors = (name: string) => path.join(sharedModels, "tokenizer-test-vectors", `ggml-vocab-${name}.gguf.inp`);

function referenceInputs(name: string): string[] {
  return readFileSync(vectors(name), "utf8").split("\n__ggml_vocab_test__\n").slice(0, -1);
}

function missing(...paths: string[]): string | false {
  const absent = paths.filter((file) => !existsSync(file));
  return absent.length > 0 ? `needs ${absent.join(", ")} (../shared/models beside the repository)` : false;
}

describe("converted GGUF files carry their tokenizer", () => {
  const tinyStoriesMissing = missing(path.join(tinyStories, "tokenizer.json"), vectors("llama-spm"));
  it.skipIf(tinyStoriesMissing)(`TinyStories-656K: the embedded vocabulary encodes like tokenizer.json ${tinyStoriesMissing || ""}`, async () => {
    const output = path.join(mkdtempSync(path.join(tmpdir(), "converted-tokenizer-")), "tinystories.gguf");
    const result = convertSafetensorsToGguf(tinyStories, output, { quant: "f32" });
    expect(result.tokenizerEmbedded).toBe(true);
    const converted = await loadTextModel(output, { backend: "reference", progress: false });
    const reference = await loadHfTokenizer(tinyStories);
    const inputs = [...referenceInputs("llama-spm"), "Once upon a time, there was a little girl named Lily."];
    for (const text of inputs) expect(converted.tokenizer.encode(text), JSON.stringify(text)).toEqual(reference.encode(text));
    expect(converted.tokenizer.bosTokenId).toBe(reference.bosTokenId);
  });

  const llamaMissing = missing(path.join(llama31Tokenizer, "tokenizer.json"), vectors("llama-bpe"));
  it.skipIf(llamaMissing)(`Llama 3.1 byte-level BPE: the embedded vocabulary encodes like tokenizer.json ${llamaMissing || ""}`, async () => {
    const directory = mkdtempSync(path.join(tmpdir(), "converted-llama3-"));
    const modelDirectory = path.join(directory, "model");
    mkdirSync(modelDirectory);
    const config = tinyLlamaConfig({ vocabSize: 128256, hiddenSize: 16, intermediateSize: 32, layerCount: 1, headCount: 2, keyValueHeadCount: 1, headDim: 8, rotaryDim: 8, bosTokenId: 128000, eosTokenIds: [128009] });
    writeHfModel(modelDirectory, config, randomLlamaTensors(config, 7));
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(path.join(llama31Tokenizer, file), path.join(modelDirectory, file));
    const output = path.join(directory, "tiny-llama3.gguf");
    expect(convertSafetensorsToGguf(modelDirectory, output, { quant: "f32" }).tokenizerEmbedded).toBe(true);
    const converted = await loadTextModel(output, { backend: "reference", progress: false });
    const reference = await loadHfTokenizer(modelDirectory);
    for (const text of referenceInputs("llama-bpe")) expect(converted.tokenizer.encode(text), JSON.stringify(text)).toEqual(reference.encode(text));
    expect(converted.chatTemplate, "the chat template travels with the vocabulary").toBeDefined();
  });

  it("embedTokenizer: true without a tokenizer.json names the folder", () => {
    const directory = mkdtempSync(path.join(tmpdir(), "converted-no-tokenizer-"));
    const config = tinyLlamaConfig();
    writeHfModel(directory, config, randomLlamaTensors(config, 3));
    expect(() => convertSafetensorsToGguf(directory, path.join(directory, "out.gguf"), { quant: "f32", embedTokenizer: true })).toThrow(
      new RegExp(`${directory.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*no tokenizer\\.json`),
    );
  });
});
