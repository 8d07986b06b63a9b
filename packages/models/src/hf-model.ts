// Loads a Hugging Face model directory (config.json + model.safetensors or a sharded index) as LoadedWeights.
// Hugging Face Llama weights keep Q/K rows in the rotate-half RoPE layout.

import fs from "node:fs";
import path from "node:path";

import { readGenerationEosTokenIds, readHfConfig } from "./hf-config.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "./loaded-weights.ts";
import { openSafetensors } from "./safetensors.ts";

/** True when `directory` holds a config.json and safetensors weights. */
export function isHfModelDirectory(directory: string): boolean {
  if (!fs.existsSync(path.join(directory, "config.json"))) return false;
  return fs.readdirSync(directory).some((name) => name.endsWith(".safetensors") || name === "model.safetensors.index.json");
}

/** Reads config.json (eos ids extended by generation_config.json) and every tensor of the safetensors weights. */
export function loadHfModel(modelDirectory: string, options: LoadModelOptions = {}): LoadedWeights {
  const config = readHfConfig(modelDirectory);
  const generationEos = readGenerationEosTokenIds(modelDirectory) ?? [];
  config.eosTokenIds = [...new Set([...config.eosTokenIds, ...generationEos])];
  const archive = openSafetensors(modelDirectory);
  return assembleLoadedWeights(
    {
      config,
      tensors: archive.loadTensors({ onProgress: options.onProgress }),
      source: { format: "safetensors", path: modelDirectory, files: [path.join(modelDirectory, "config.json"), ...archive.files] },
      metadata: new Map(Object.entries(archive.metadata)),
    },
    options,
  );
}
