// Loads a Hugging Face model directory as LoadedWeights: config.json with its weights as safetensors (one file or a
// sharded index) or, when the repository has no safetensors, as PyTorch checkpoints (pytorch_model.bin or shards).
// Llama checkpoints keep Q/K rows in the rotate-half RoPE layout; GLM checkpoints (model_type "chatglm") have their
// fused matrices split into the decoder's (glm-tensors.ts) and rotate adjacent pairs (the interleaved layout).

import fs from "node:fs";
import path from "node:path";

import { readGenerationEosTokenIds, readHfConfig } from "./hf-config.ts";
import { expectedGlmTensorShapes, glmToDecoderTensors } from "./glm-tensors.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions, type WeightSource } from "./loaded-weights.ts";
import { hasPyTorchWeights, openPyTorchCheckpoint, PyTorchArchive } from "./pytorch/pytorch-checkpoint.ts";
import { openSafetensors } from "./safetensors.ts";
import type { TensorArchive } from "./tensor-archive.ts";

function hasSafetensors(directory: string): boolean {
  return fs.readdirSync(directory).some((name) => name.endsWith(".safetensors") || name === "model.safetensors.index.json");
}

/** True when `directory` holds a config.json and safetensors or PyTorch checkpoint weights. */
export function isHfModelDirectory(directory: string): boolean {
  if (!fs.existsSync(path.join(directory, "config.json"))) return false;
  return hasSafetensors(directory) || hasPyTorchWeights(directory);
}

/** The weights of a model directory: its safetensors when it has any, else its PyTorch checkpoints. */
export function openHfWeights(directory: string): TensorArchive {
  return hasSafetensors(directory) ? openSafetensors(directory) : openPyTorchCheckpoint(directory);
}

/** Reads config.json (eos ids extended by generation_config.json) and every tensor of the weights. */
export function loadHfModel(modelDirectory: string, options: LoadModelOptions = {}): LoadedWeights {
  const config = readHfConfig(modelDirectory);
  const generationEos = readGenerationEosTokenIds(modelDirectory) ?? [];
  config.eosTokenIds = [...new Set([...config.eosTokenIds, ...generationEos])];
  const archive = openHfWeights(modelDirectory);
  const source: WeightSource = {
    format: archive instanceof PyTorchArchive ? "pytorch" : "safetensors",
    path: modelDirectory,
    files: [path.join(modelDirectory, "config.json"), ...archive.files],
  };
  const metadata = new Map<string, unknown>(Object.entries(archive.metadata));
  if (config.architecture === "chatglm") {
    // Only the tensors the model needs (checkpoints may hold others, e.g. rotary inverse frequencies), converted to
    // the requested dtype as they are read; a missing one is reported by the shape check under its GLM name.
    const names = [...expectedGlmTensorShapes(config).keys()].filter((name) => archive.has(name));
    const glm = archive.loadTensors({ names, onProgress: options.onProgress, dtype: options.dtype });
    const { tensors, describeName } = glmToDecoderTensors(glm, config, modelDirectory);
    return assembleLoadedWeights({ config, tensors, source, metadata, describeName }, options);
  }
  const tensors = archive.loadTensors({ onProgress: options.onProgress, dtype: options.dtype });
  return assembleLoadedWeights({ config, tensors, source, metadata }, options);
}
