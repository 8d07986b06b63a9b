// loadModelWeights: one entry point for every weight format. It looks at what `location` is — a Hugging Face
// directory (config.json + safetensors or PyTorch checkpoints), a GGUF file (by its magic), or a llama2.c .bin
// checkpoint — and loads it, whichever architecture (Llama or GLM) the files describe.

import fs from "node:fs";
import path from "node:path";

import { withOpenFile } from "./binary-file.ts";
import { ModelFileError } from "./errors.ts";
import { loadGgufModel } from "./gguf/llama.ts";
import { isHfModelDirectory, loadHfModel } from "./hf-model.ts";
import { loadLlama2cModel } from "./llama2c.ts";
import type { LoadedWeights, LoadModelOptions, WeightFileFormat } from "./loaded-weights.ts";

/** A model directory whose weights are PyTorch checkpoints only (safetensors win when both are there). */
function hasPyTorchOnly(directory: string): boolean {
  return !fs.readdirSync(directory).some((name) => name.endsWith(".safetensors") || name === "model.safetensors.index.json");
}

function startsWithGgufMagic(file: string): boolean {
  return withOpenFile(file, (descriptor) => {
    const magic = Buffer.alloc(4);
    return fs.readSync(descriptor, magic, 0, 4, 0) === 4 && magic.toString("latin1") === "GGUF";
  });
}

/** The formats a path can hold ("random" weights are built in memory, never loaded). */
export type LoadableWeightFormat = Exclude<WeightFileFormat, "random">;

/** A PyTorch checkpoint file of a Hugging Face repository: pytorch_model.bin, a shard, or the shards' index. */
const pytorchFileName = /^pytorch_model.*\.bin(\.index\.json)?$/;

/** Which loader `location` needs; a ModelFileError that says what was looked for when none fits. */
export function detectWeightFormat(location: string): LoadableWeightFormat {
  if (!fs.existsSync(location)) throw new ModelFileError({ file: location }, "not found (expected a model directory, a .gguf file or a llama2.c .bin file)");
  if (fs.statSync(location).isDirectory()) {
    if (isHfModelDirectory(location)) return hasPyTorchOnly(location) ? "pytorch" : "safetensors";
    throw new ModelFileError({ file: location }, "this directory has no config.json with *.safetensors, model.safetensors.index.json or pytorch_model*.bin beside it");
  }
  if (startsWithGgufMagic(location)) return "gguf";
  if (location.endsWith(".gguf")) return "gguf"; // the GGUF reader reports the bad magic
  if (pytorchFileName.test(path.basename(location))) {
    const directory = path.dirname(location);
    if (isHfModelDirectory(directory)) return "pytorch";
    throw new ModelFileError({ file: location }, `PyTorch checkpoints need a config.json beside them in ${directory}`);
  }
  if (location.endsWith(".bin")) return "llama2c";
  if (location.endsWith(".safetensors") || location.endsWith(".json")) {
    const directory = path.dirname(location);
    if (isHfModelDirectory(directory)) return "safetensors";
    throw new ModelFileError({ file: location }, `safetensors weights need a config.json beside them in ${directory}`);
  }
  throw new ModelFileError({ file: location }, "unknown weight format (expected a model directory, a .gguf file or a llama2.c .bin file)");
}

/** Loads a Llama or GLM model from a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint. */
export function loadModelWeights(location: string, options: LoadModelOptions = {}): LoadedWeights {
  switch (detectWeightFormat(location)) {
    case "safetensors":
    case "pytorch":
      return loadHfModel(fs.statSync(location).isDirectory() ? location : path.dirname(location), options);
    case "gguf":
      return loadGgufModel(location, options);
    case "llama2c":
      return loadLlama2cModel(location, options);
  }
}
