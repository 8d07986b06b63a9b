// llama.cpp's split form of a vision-language model keeps the vision side in its own "mmproj" GGUF file
// (general.architecture "clip"). This file reads the Idefics3 / SmolVLM kind (clip.projector_type "idefics3":
// SigLIP encoder + pixel-shuffle connector) into LoadedVisionWeights, and writes one that llama.cpp's mtmd library
// loads: the clip.vision.* keys its clip.cpp reads, tensors under the v.* / mm.model.fc names, the patch embedding
// as the 4-D convolution kernel [hidden, 3, patch, patch], embeddings and vectors in f32.

import { Tensor, type DType } from "@infer-recipes/kernel";

import { ModelFileError } from "../errors.ts";
import { validateIdefics3VisionConfig, type Idefics3VisionConfig } from "../idefics3-vision-config.ts";
import { idefics3VisionTensorNames, visionGgufToHfTensorName, visionHfToGgufTensorName } from "../idefics3-vision-tensors.ts";
import { assembleVisionWeights, visionMatrixNames, type LoadedVisionWeights, type LoadVisionOptions } from "../loaded-vision-weights.ts";
import { convertTensorDType, storageDTypeFor } from "../weight-dtypes.ts";
import { readGguf, type GgufFile } from "./reader.ts";
import { writeGguf, type GgufMetadataInput } from "./writer.ts";

/** The clip.projector_type of Idefics3 / SmolVLM projectors. */
export const idefics3ProjectorType = "idefics3";

/** Whether a GGUF file is an mmproj (vision projector) file rather than a language model. */
export function isMmprojGguf(file: GgufFile): boolean {
  return file.metadata.get("general.architecture") === "clip";
}

function metadataNumber(file: GgufFile, key: string, fallback?: number): number {
  const value = file.metadata.get(key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ModelFileError({ file: file.path, field: key }, "is required but missing");
  }
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ModelFileError({ file: file.path, field: key }, `expected a number, got ${String(value)}`);
  return value;
}

/** The Idefics3VisionConfig of an mmproj GGUF with clip.projector_type "idefics3". */
export function idefics3VisionConfigFromGguf(file: GgufFile): Idefics3VisionConfig {
  const architecture = file.metadata.get("general.architecture");
  if (architecture !== "clip") {
    throw new ModelFileError(
      { file: file.path, field: "general.architecture" },
      `expected "clip" (a llama.cpp mmproj file), got ${architecture === undefined ? "nothing" : `"${String(architecture)}"`}${architecture === "llama" ? ": this is the language model; pass the mmproj file" : ""}`,
    );
  }
  const projector = file.metadata.get("clip.projector_type") ?? file.metadata.get("clip.vision.projector_type");
  if (projector !== idefics3ProjectorType) {
    throw new ModelFileError({ file: file.path, field: "clip.projector_type" }, `expected "${idefics3ProjectorType}" (SmolVLM / Idefics3), got ${projector === undefined ? "nothing" : `"${String(projector)}"`}`);
  }
  if (file.metadata.get("clip.has_vision_encoder") === false) throw new ModelFileError({ file: file.path, field: "clip.has_vision_encoder" }, "is false: the file has no vision encoder");
  if (file.metadata.get("clip.use_gelu") === false) throw new ModelFileError({ file: file.path, field: "clip.use_gelu" }, "is false, but the SigLIP encoder uses GELU");
  return validateIdefics3VisionConfig(
    {
      hiddenSize: metadataNumber(file, "clip.vision.embedding_length"),
      intermediateSize: metadataNumber(file, "clip.vision.feed_forward_length"),
      layerCount: metadataNumber(file, "clip.vision.block_count"),
      headCount: metadataNumber(file, "clip.vision.attention.head_count"),
      imageSize: metadataNumber(file, "clip.vision.image_size"),
      patchSize: metadataNumber(file, "clip.vision.patch_size"),
      layerNormEpsilon: metadataNumber(file, "clip.vision.attention.layer_norm_epsilon"),
      scaleFactor: metadataNumber(file, "clip.vision.projector.scale_factor", 2),
      projectionSize: metadataNumber(file, "clip.vision.projection_dim"),
    },
    file.path,
  );
}

/** Loads an Idefics3 mmproj GGUF (a path or an already parsed GgufFile) as LoadedVisionWeights with HF names. */
export function loadMmprojGguf(source: string | GgufFile, options: LoadVisionOptions & { onProgress?: (read: number, total: number) => void } = {}): LoadedVisionWeights {
  const file = typeof source === "string" ? readGguf(source) : source;
  const config = idefics3VisionConfigFromGguf(file);
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of file.loadTensors({ onProgress: options.onProgress })) {
    const hfName = visionGgufToHfTensorName(name);
    if (hfName !== undefined) tensors.set(hfName, tensor);
  }
  return assembleVisionWeights(
    { config, tensors, source: { format: "gguf", path: file.path, files: [file.path] }, metadata: file.metadata, describeName: (name) => visionHfToGgufTensorName(name) ?? name },
    options,
  );
}

/** Options of {@link writeMmprojGguf}. */
export interface MmprojWriteOptions {
  /** Dtype of the encoder's and the connector's matrices (default: as they are); embeddings and vectors stay f32. */
  dtype?: DType;
  /** general.name */
  name?: string;
  /** The processor settings llama.cpp reads from the file: longest edge (clip.vision.preproc_image_size), mean, std. */
  processor: {
    /** Longest image edge in pixels (clip.vision.preproc_image_size); omitted from the file when absent. */
    longestEdge?: number;
    /** Per-channel (R, G, B) mean (clip.vision.image_mean). */
    mean: readonly number[];
    /** Per-channel (R, G, B) standard deviation (clip.vision.image_std). */
    std: readonly number[];
  };
}

const ggufFileTypes: Partial<Record<DType, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

/** Writes the vision side as an mmproj GGUF that llama.cpp's mtmd loads (see the file header). */
export function writeMmprojGguf(path: string, vision: Pick<LoadedVisionWeights, "config" | "tensors">, options: MmprojWriteOptions): void {
  const { config } = vision;
  const uint32 = (value: number): GgufMetadataInput => ({ type: "uint32", value });
  const float32 = (value: number): GgufMetadataInput => ({ type: "float32", value });
  const matrixDType = options.dtype ?? vision.tensors.get(idefics3VisionTensorNames.projection)?.dtype ?? "f32";
  const metadata = new Map<string, GgufMetadataInput>([
    ["general.architecture", "clip"],
    ["general.type", "mmproj"],
    ["general.name", options.name ?? "idefics3 vision"],
    ["general.file_type", uint32(ggufFileTypes[matrixDType] ?? 0)],
    ["clip.projector_type", idefics3ProjectorType],
    ["clip.has_vision_encoder", true],
    ["clip.use_gelu", true],
    ["clip.vision.projection_dim", uint32(config.projectionSize)],
    ["clip.vision.image_size", uint32(config.imageSize)],
    ["clip.vision.patch_size", uint32(config.patchSize)],
    ["clip.vision.embedding_length", uint32(config.hiddenSize)],
    ["clip.vision.feed_forward_length", uint32(config.intermediateSize)],
    ["clip.vision.block_count", uint32(config.layerCount)],
    ["clip.vision.attention.head_count", uint32(config.headCount)],
    ["clip.vision.attention.layer_norm_epsilon", float32(config.layerNormEpsilon)],
    ["clip.vision.projector.scale_factor", uint32(config.scaleFactor)],
    ["clip.vision.image_mean", new Float32Array(options.processor.mean)],
    ["clip.vision.image_std", new Float32Array(options.processor.std)],
  ]);
  if (options.processor.longestEdge !== undefined) metadata.set("clip.vision.preproc_image_size", uint32(options.processor.longestEdge));
  const matrices = new Set(visionMatrixNames(config));
  const tensors: Array<{ name: string; tensor: Tensor }> = [];
  for (const [name, tensor] of vision.tensors) {
    const ggufName = visionHfToGgufTensorName(name);
    if (ggufName === undefined) continue;
    let written: Tensor;
    if (name === idefics3VisionTensorNames.patchEmbedding) {
      // The convolution kernel in 4-D, f32 (llama.cpp's converter keeps embeddings in f32 for idefics3).
      const flat = convertTensorDType(tensor, "f32");
      written = new Tensor("f32", [config.hiddenSize, 3, config.patchSize, config.patchSize], flat.data);
    } else if (matrices.has(name)) {
      written = convertTensorDType(tensor, storageDTypeFor(tensor.shape, matrixDType));
    } else {
      written = convertTensorDType(tensor, "f32");
    }
    tensors.push({ name: ggufName, tensor: written });
  }
  writeGguf(path, { metadata, tensors });
}
