// loadHfModel on a GLM checkpoint reads only the tensors the decoder needs, reporting progress over exactly those
// bytes (a stored rotary inverse-frequency table is skipped), and a missing one is refused by the shape check under
// its GLM name, not by the archive.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { glmLayerTensorNames, loadModelWeights, randomGlmTensors, tinyGlmConfig, writeGlmHfModel } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("glm-hf-load-options");
const config = tinyGlmConfig();

describe("a GLM Hugging Face checkpoint", () => {
  it("reports progress over the decoder's tensors only, in the dtype asked", () => {
    const tensors = randomGlmTensors(config, 8);
    const needed = [...tensors.values()].reduce((total, tensor) => total + tensor.byteLength, 0);
    const withFrequencies = new Map(tensors).set("transformer.rotary_pos_emb.inv_freq", Tensor.fromFloat32([4], Float32Array.of(1, 0.5, 0.25, 0.125)));
    for (const format of ["safetensors", "pytorch"] as const) {
      const directory = temporary();
      writeGlmHfModel(directory, config, withFrequencies, { format });
      const progress: Array<[number, number]> = [];
      const loaded = loadModelWeights(directory, { dtype: "q8_0", onProgress: (done, total) => progress.push([done, total]) });
      expect(progress.length, format).toBeGreaterThan(0);
      expect(progress.at(-1), format).toEqual([needed, needed]);
      expect(progress.every(([, total]) => total === needed), format).toBe(true);
      expect(loaded.tensors.has("transformer.rotary_pos_emb.inv_freq")).toBe(false);
      expect(loaded.tensors.get("model.layers.0.self_attn.q_proj.weight")!.dtype).toBe("q8_0");
    }
  });

  it("missing a tensor: the shape check names it as the checkpoint spells it", () => {
    const tensors = randomGlmTensors(config, 9);
    const missing = glmLayerTensorNames(1).down;
    tensors.delete(missing);
    const directory = temporary();
    writeGlmHfModel(directory, config, tensors);
    expect(fs.existsSync(path.join(directory, "model.safetensors"))).toBe(true);
    const message = errorOf(() => loadModelWeights(directory)).message;
    expect(message).toMatch(new RegExp(`^${directory.replaceAll(/[.\\/]/g, "\\$&")}: tensor "${missing.replaceAll(".", "\\.")}": missing: a Llama model with 2 layers needs it`));
  });
});
