// Random weight matrices in any kernel dtype, made fast enough for gigabyte-sized benchmarks: random bits with the
// exponent (floats) or the block scale fields (quantized formats) forced into a sane range. Kernel speed does not
// depend on the values, only on their being ordinary finite numbers.

import { randomFillSync } from "node:crypto";

import { Tensor, dtypeInfo, storageLength, type DType, type Kernel } from "@infer-recipes/kernel";

import type { LlamaConfig } from "../llama-config.ts";
import { expectedLlamaTensorShapes, llamaTensorNames } from "../llama-tensors.ts";
import { packLlamaMatrices, type LoadedWeights } from "../loaded-weights.ts";
import { llamaRopeFrequencies } from "../rope-frequencies.ts";

const SCALE_FIELD_OFFSETS: Partial<Record<DType, readonly number[]>> = {
  q8_0: [0],      // f16 d
  q4_0: [0],      // f16 d
  q4_k: [0, 2],   // f16 d, f16 dmin
  q6_k: [208],    // f16 d after ql, qh, scales
};

/** About 2^-8 as an f16: a typical block scale. */
const SMALL_HALF = 0x1c00;

/**
 * A [rows, cols] matrix of random bits shaped into plausible weights of `dtype` (|w| about 0.01; block scales about
 * 2⁻⁸), filled fast from the system's random source: for benchmarks, where speed does not depend on the values.
 */
export function randomWeights(dtype: DType, rows: number, cols: number): Tensor {
  const shape = [rows, cols];
  const tensor = Tensor.zeros(dtype, shape);
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  for (let offset = 0; offset < bytes.length; offset += 65536) randomFillSync(bytes, offset, Math.min(65536, bytes.length - offset));
  if (dtype === "f32") {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let i = 0; i < words.length; i++) words[i] = (words[i] & 0x807fffff) | (120 << 23); // |x| in [2^-7, 2^-6)
  } else if (dtype === "f16") {
    const halves = tensor.data as Uint16Array;
    for (let i = 0; i < halves.length; i++) halves[i] = (halves[i] & 0x83ff) | (8 << 10);
  } else if (dtype === "bf16") {
    const halves = tensor.data as Uint16Array;
    for (let i = 0; i < halves.length; i++) halves[i] = (halves[i] & 0x807f) | (120 << 7);
  } else {
    const { blockBytes } = dtypeInfo[dtype];
    const offsets = SCALE_FIELD_OFFSETS[dtype] ?? [];
    for (let block = 0; block < bytes.length; block += blockBytes) {
      for (const offset of offsets) {
        bytes[block + offset] = SMALL_HALF & 0xff;
        bytes[block + offset + 1] = SMALL_HALF >> 8;
      }
    }
  }
  if (tensor.data.length !== storageLength(dtype, shape)) throw new Error("randomWeights: size mismatch");
  return tensor;
}

/** Independent copies of a tensor's storage (memcpy), so a benchmark can rotate through more bytes than the caches hold. */
export function copiesOf(tensor: Tensor, count: number): Tensor[] {
  const copies = [tensor];
  for (let index = 1; index < count; index++) copies.push(new Tensor(tensor.dtype, tensor.shape, tensor.data.slice()));
  return copies;
}

/** Activations [tokens, cols] f32 in [−1, 1) from a fixed linear congruential sequence (the same every run). */
export function randomActivations(tokens: number, cols: number): Tensor {
  const values = new Float32Array(tokens * cols);
  let state = 12345;
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    values[i] = (state / 2 ** 32) * 2 - 1;
  }
  return Tensor.fromFloat32([tokens, cols], values);
}

/**
 * A whole Llama model with random weights of the given config, in memory: matrices in `dtype` (|w| ≈ 0.01, like the
 * N(0, 0.02) initialisation llama.cpp's benchmark models use), norm weights 1. For benchmarks at real shapes.
 */
export function randomLlamaWeights(
  config: LlamaConfig,
  dtype: DType,
  options: {
    /** Repack the matrices for this kernel's matmul, as loaders do with LoadModelOptions.packFor. */
    packFor?: Kernel;
  } = {},
): LoadedWeights {
  const tensors = new Map<string, Tensor>();
  for (const [name, { shape }] of expectedLlamaTensorShapes(config)) {
    if (config.tiedEmbeddings && name === llamaTensorNames.output) continue;
    if (shape.length === 1) tensors.set(name, Tensor.fromFloat32(shape, new Float32Array(shape[0]).fill(1)));
    else tensors.set(name, randomWeights(dtype, shape[0], shape[1]));
  }
  if (config.tiedEmbeddings) tensors.set(llamaTensorNames.output, tensors.get(llamaTensorNames.tokenEmbedding)!);
  if (options.packFor !== undefined) packLlamaMatrices(tensors, config, options.packFor, { inPlace: true });
  return {
    config,
    tensors,
    ropeFrequencies: llamaRopeFrequencies(config),
    source: { format: "random", path: `(random ${dtype} weights)`, files: [] },
    metadata: new Map(),
  };
}
