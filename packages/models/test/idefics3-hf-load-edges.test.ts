// loadIdefics3HfModel and Idefics3Model.imageSpans at the edges the other Idefics3 tests leave open: a directory
// without generation_config.json keeps config.json's EOS ids, a tensor outside the text and vision towers is left
// out, the source says safetensors, a text tensor of the wrong shape is named as the file stores it (and lm_head.weight
// as itself), and the placeholder count in imageSpans' refusal counts <image> tokens only.

import fs from "node:fs";
import path from "node:path";

import { Tensor, createKernel } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { Idefics3Model, loadIdefics3HfModel, readIdefics3Config, randomIdefics3Tensors, tinyIdefics3Config, writeIdefics3HfModel, writeSafetensors } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("idefics3-hf-load-edges");
const tiny = tinyIdefics3Config();

/** A tiny Idefics3 directory; `edit` changes the stored tensors (HF names as in the file) before they are rewritten. */
function directoryWith(edit?: (stored: Map<string, Tensor>) => void): string {
  const directory = path.join(temporary(), "model");
  writeIdefics3HfModel(directory, tiny, randomIdefics3Tensors(tiny, 5));
  if (edit) {
    const file = path.join(directory, "model.safetensors");
    const stored = new Map([...loadStored(file)]);
    edit(stored);
    writeSafetensors(file, stored, { format: "pt" });
  }
  return directory;
}

function loadStored(file: string): Map<string, Tensor> {
  const directory = path.dirname(file);
  const tensors = randomIdefics3Tensors(tiny, 5);
  const stored = new Map<string, Tensor>();
  for (const [name, tensor] of tensors.text) stored.set(name === "lm_head.weight" ? name : name.replace(/^model\./, "model.text_model."), tensor);
  for (const [name, tensor] of tensors.vision) stored.set(name, tensor);
  expect(fs.existsSync(path.join(directory, "config.json"))).toBe(true);
  return stored;
}

describe("loadIdefics3HfModel", () => {
  it("without generation_config.json keeps config.json's EOS ids; the source is safetensors", () => {
    const directory = directoryWith();
    const withGeneration = loadIdefics3HfModel(directory).text;
    fs.rmSync(path.join(directory, "generation_config.json"));
    const loaded = loadIdefics3HfModel(directory).text;
    expect(loaded.config.eosTokenIds).toEqual(withGeneration.config.eosTokenIds);
    expect(loaded.config.eosTokenIds.every((id) => Number.isInteger(id))).toBe(true);
    expect(loaded.source.format).toBe("safetensors");
    expect(loaded.source.path).toBe(directory);
  });

  it("leaves out a tensor that belongs to neither tower", () => {
    const directory = directoryWith((stored) => stored.set("other_tower.extra.weight", Tensor.zeros("f32", [4])));
    const loaded = loadIdefics3HfModel(directory);
    expect(loaded.vision.tensors.has("other_tower.extra.weight")).toBe(false);
    expect([...loaded.text.tensors.keys()].some((name) => name.includes("extra"))).toBe(false);
  });

  it("names a text tensor of the wrong shape as the file stores it, lm_head.weight as itself", () => {
    const wrongLayer = directoryWith((stored) => stored.set("model.text_model.layers.1.mlp.up_proj.weight", Tensor.zeros("f32", [8, 8])));
    expect(errorOf(() => loadIdefics3HfModel(wrongLayer)).message).toMatch(
      new RegExp(`^${wrongLayer.replaceAll(/[.\\/]/g, "\\$&")}: tensor "model\\.text_model\\.layers\\.1\\.mlp\\.up_proj\\.weight": shape \\[8, 8\\] contradicts the config`),
    );
    const wrongHead = directoryWith((stored) => stored.set("lm_head.weight", Tensor.zeros("f32", [8, 8])));
    expect(errorOf(() => loadIdefics3HfModel(wrongHead)).message).toMatch(/: tensor "lm_head\.weight": shape \[8, 8\] contradicts the config/);
  });
});

describe("readIdefics3Config", () => {
  it("takes 1 as a positive integer and refuses 0, naming the field", () => {
    const directory = directoryWith();
    const file = path.join(directory, "config.json");
    const json = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...json, scale_factor: 1, image_token_id: 1 }));
    const config = readIdefics3Config(directory);
    expect([config.vision.scaleFactor, config.imageTokenId]).toEqual([1, 1]);
    fs.writeFileSync(file, JSON.stringify({ ...json, image_token_id: 0 }));
    expect(errorOf(() => readIdefics3Config(directory)).message).toBe(`${file}: field "image_token_id": expected a positive integer, got 0`);
  });
});

describe("Idefics3Model.imageSpans", () => {
  it("counts only the <image> tokens of the prompt in its refusal", () => {
    const directory = directoryWith();
    const weights = loadIdefics3HfModel(directory);
    const model = Idefics3Model.fromLoadedWeights(weights.text, weights.vision, weights.imageTokenId, createKernel({ backend: "reference" }));
    const image = tiny.vocabulary.imageTokenId;
    const ids = [1, 40, 41, 42, image, image, image, 43, 44];
    const rows = new Float32Array(2 * tiny.text.hiddenSize);
    expect(() => model.imageSpans(ids, [rows])).toThrow(new RangeError("Idefics3Model: the prompt has 3 <image> tokens but the images have 2 embeddings (1 image(s))"));
  });
});
