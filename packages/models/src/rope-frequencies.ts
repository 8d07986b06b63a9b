// The RoPE inverse frequencies of a loaded Llama model: the kernel's ropeFrequencies for the config (with llama3
// scaling from config.json), divided element-wise by GGUF's rope_freqs.weight factors when the file has them
// (llama.cpp stores llama3 scaling as that tensor: theta_i = base_i / factor_i).

import { dequantizeTensor, ropeFrequencies, type Tensor } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "./errors.ts";
import type { LlamaConfig } from "./llama-config.ts";

/** Inverse frequencies [rotaryDim / 2] to pass to the kernel's rope op. */
export function llamaRopeFrequencies(config: LlamaConfig, frequencyFactors?: Tensor): Float32Array {
  const frequencies = ropeFrequencies({ rotaryDim: config.rotaryDim, theta: config.ropeTheta, scaling: config.ropeScaling }); // [rotaryDim / 2]
  if (frequencyFactors === undefined) return frequencies;
  if (frequencyFactors.size !== frequencies.length) {
    throw new ModelFileError(
      { file: "(in memory)", tensor: "rope_freqs.weight" },
      `has shape ${shapeText(frequencyFactors.shape)}, expected [rotaryDim / 2] = [${frequencies.length}]`,
    );
  }
  const factors = dequantizeTensor(frequencyFactors); // [rotaryDim / 2]
  for (let index = 0; index < frequencies.length; index++) frequencies[index] = frequencies[index] / factors[index];
  return frequencies;
}
