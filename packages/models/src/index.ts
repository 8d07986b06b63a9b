/**
 * Model files and architectures: loaders for safetensors (single or sharded), PyTorch checkpoints, GGUF v2/v3, Hugging
 * Face `config.json` and llama2.c, behind one {@link LoadedWeights} shape ({@link loadModelWeights}); the Llama
 * decoder ({@link LlamaModel}) on the kernel's ops, which GLM (ChatGLM2/3, GLM-4) shares; the Idefics3 / SmolVLM
 * vision side ({@link SiglipVisionEncoder}, {@link Idefics3Model}: image embeddings at the <image> positions of the
 * Llama prompt) from safetensors or llama.cpp's mmproj GGUF, with an image-embedding cache; a GGUF and mmproj writer
 * and the safetensors/PyTorch → GGUF converter; and tiny random models of the exact architectures for tests.
 *
 * @module @infer-recipes/models
 */
export { ModelFileError, type ModelFileErrorSubject } from "./errors.ts";
export type { ProgressCallback } from "./binary-file.ts";

// Model description
export { validateLlamaConfig, type DecoderArchitecture, type Llama3RopeScaling, type LlamaConfig } from "./llama-config.ts";
export {
  checkLlamaTensors,
  expectedLlamaTensorShapes,
  llamaLayerTensorNames,
  llamaTensorNames,
  type ExpectedTensorShape,
  type LlamaLayerTensorNames,
} from "./llama-tensors.ts";
export { llamaRopeFrequencies } from "./rope-frequencies.ts";
export { reorderRopeRows } from "./rope-rows.ts";
export { convertTensorDType, convertWeightDTypes, storageDTypeFor } from "./weight-dtypes.ts";
export {
  llamaFileTypes,
  plannedTensorDType,
  quantizationSchemes,
  usesMoreBits,
  type QuantizationPlanContext,
  type QuantizationScheme,
} from "./quantization-plan.ts";

// One entry point for every format
export {
  assembleLoadedWeights,
  getTensor,
  reorderLlamaRopeWeights,
  type LoadedWeights,
  type LoadModelOptions,
  type RawWeights,
  type WeightFileFormat,
  type WeightSource,
} from "./loaded-weights.ts";
export { detectWeightFormat, loadModelWeights, type LoadableWeightFormat } from "./load-model.ts";

// Hugging Face: config.json and safetensors
export { hfConfigPath, parseHfConfig, readGenerationEosTokenIds, readHfConfig } from "./hf-config.ts";
export { isHfModelDirectory, loadHfModel, openHfWeights } from "./hf-model.ts";
export { openArchive, TensorArchive, type ArchiveLayout, type TensorArchiveEntry, type TensorArchiveLoadOptions } from "./tensor-archive.ts";
export { hasPyTorchWeights, openPyTorchCheckpoint, PyTorchArchive, pytorchIndexFileName, readPyTorchCheckpointEntries } from "./pytorch/pytorch-checkpoint.ts";
export { restrictedUnpickle, UnpicklingRefused, type StorageReference, type TensorReference } from "./pytorch/restricted-unpickler.ts";

// GLM (ChatGLM2/3, GLM-4): config.json, tensor names in THUDM's and llama.cpp's spelling, presets
export { glmTurnEndTokenTexts } from "./glm-config.ts";
export {
  expectedGlmTensorShapes,
  ggufToGlmTensorName,
  glmLayerTensorNames,
  glmTensorNames,
  glmToDecoderTensors,
  glmToGgufTensorName,
  type GlmLayerTensorNames,
  type GlmToDecoderResult,
} from "./glm-tensors.ts";
export { glmConfig, glmPresets, type GlmPresetName } from "./glm-presets.ts";
export { readGlmTokenizerGgufMetadata } from "./glm-tokenizer-metadata.ts";
export {
  openSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  safetensorsIndexFileName,
  SafetensorsArchive,
  type SafetensorsHeader,
  type SafetensorsLoadOptions,
  type SafetensorsTensorInfo,
} from "./safetensors.ts";

// GGUF
export { GgufFile, ggufDefaultAlignment, readGguf, type GgufLoadOptions, type GgufTensorInfo } from "./gguf/reader.ts";
export { writeGguf, type GgufMetadataInput, type GgufTensorSource, type GgufWriteInput, type GgufWriteOptions } from "./gguf/writer.ts";
export { ggmlTypes, ggmlTypeOfDType, ggmlTypeText, type GgmlType } from "./gguf/ggml-types.ts";
export { ggufValueTypeCodes, type GgufTypedArray, type GgufTypedValue, type GgufValueTypeName } from "./gguf/metadata-values.ts";
export { eosTokenIdsMetadataKey, ggufToLlamaConfig, loadGgufModel } from "./gguf/llama.ts";
export { ggufToGlmConfig, loadGgufGlmModel } from "./gguf/chatglm.ts";
export { vocabularyGgufMetadata } from "./gguf/vocabulary-metadata.ts";
export { ggufToHfTensorName, hfToGgufTensorName } from "./gguf/tensor-names.ts";
export {
  convertHfModelToGguf,
  convertSafetensorsToGguf,
  ggufQuantizations,
  llama3RopeFactors,
  llamaGgufMetadata,
  type ConvertedTensor,
  type ConvertOptions,
  type ConvertResult,
  type GgufQuantization,
} from "./convert.ts";
export { hfTokenizerGgufMetadata, readHfTokenizerGgufMetadata, type HfTokenizerConfigSubset, type HfTokenizerJsonSubset, type HfTokenizerMetadataOptions } from "./gguf/hf-tokenizer-metadata.ts";

// llama2.c
export { llama2cToLlamaConfig, loadLlama2cModel, readLlama2cHeader, type Llama2cHeader } from "./llama2c.ts";

// The Llama architecture: weights by role and the forward pass
export { LlamaModel, type ForwardOptions, type LlamaModelOptions, type PagedCacheOptions } from "./architectures/llama.ts";
export { LlamaBatchForward, type BatchSequence } from "./architectures/llama-batch.ts";
export { addAttentionBiases, llamaDecodeBytes, llamaWeightBytes, llamaWeights, type LlamaLayerWeights, type LlamaWeights } from "./architectures/llama-weights.ts";

// Idefics3 / SmolVLM: the SigLIP vision encoder, the pixel-shuffle connector, images in the language model's prompt
export {
  patchesPerSide,
  patchesPerTile,
  tokensPerTile,
  validateIdefics3VisionConfig,
  type Idefics3VisionConfig,
} from "./idefics3-vision-config.ts";
export {
  checkIdefics3VisionTensors,
  expectedIdefics3VisionShapes,
  idefics3VisionTensorNames,
  siglipLayerTensorNames,
  visionGgufToHfTensorName,
  visionHfToGgufTensorName,
  type SiglipLayerTensorNames,
} from "./idefics3-vision-tensors.ts";
export { assembleVisionWeights, visionMatrixNames, type LoadedVisionWeights, type LoadVisionOptions } from "./loaded-vision-weights.ts";
export {
  isIdefics3Config,
  isIdefics3Directory,
  loadIdefics3HfModel,
  parseIdefics3Config,
  readIdefics3Config,
  type Idefics3Config,
  type Idefics3Weights,
} from "./hf-idefics3.ts";
export { idefics3ProjectorType, idefics3VisionConfigFromGguf, isMmprojGguf, loadMmprojGguf, writeMmprojGguf, type MmprojWriteOptions } from "./gguf/mmproj.ts";
export { applyEmbeddingSpans, checkEmbeddingSpans, spanLength, type EmbeddingSpan } from "./architectures/embedding-spans.ts";
export { extractPatches, SiglipVisionEncoder, type EncodeImageOptions } from "./architectures/siglip-vision-encoder.ts";
export { pixelShuffle, runIdefics3Connector } from "./architectures/idefics3-connector.ts";
export { idefics3VisionWeightBytes, idefics3VisionWeights, type Idefics3VisionWeights, type SiglipLayerWeights } from "./architectures/idefics3-vision-weights.ts";
export { Idefics3Model, type LanguageModelWithImages } from "./architectures/idefics3-model.ts";
export { randomIdefics3VisionWeights, smolVlmPresets, type SmolVlmPreset, type SmolVlmSize } from "./smolvlm-presets.ts";
export { ImageEmbeddingCache, imageEmbeddingKey, type CachedImageEmbeddings, type ImageEmbeddingCacheStats } from "./image-embedding-cache.ts";

// Writing safetensors, and tiny random models in every format (tests, examples, benchmarks)
export { writeSafetensors, writeShardedSafetensors, type RawSafetensorsEntry, type SafetensorsEntry } from "./safetensors-writer.ts";
export { bytesOf, createRandom, expectSameTensor, randomTensor, randomValues } from "./tiny-models/random-tensors.ts";
export { hfConfigJson, randomLlamaTensors, tinyLlamaConfig, writeGgufModel, writeHfModel, writeLlama2cModel } from "./tiny-models/tiny-llama.ts";
export { TINY_CHAT_TEMPLATE, tinyChatGlmGgufTokenizerMetadata, tinyGgufTokenizerMetadata, tinyVocabulary, writeTinyHfTokenizer } from "./tiny-models/tiny-tokenizer.ts";
export { copiesOf, randomActivations, randomLlamaWeights, randomWeights } from "./tiny-models/random-weights.ts";
export {
  chatGlmGoldenDifferences,
  chatGlmGoldenFile,
  chatGlmGoldenModels,
  maxAbsDifference,
  readChatGlmGolden,
  type ChatGlmGolden,
  type ChatGlmGoldenDifferences,
  type ChatGlmGoldenModel,
  type ChatGlmGoldenStep,
} from "./tiny-models/chatglm-golden.ts";
export { glmConfigJson, randomGlmTensors, tinyGlmConfig, writeGlmGgufModel, writeGlmHfModel, type GlmHfWriteOptions } from "./tiny-models/tiny-glm.ts";
export { stateDictPickle, writePyTorchCheckpoint, writeShardedPyTorchCheckpoint, writeStoredZip } from "./tiny-models/pytorch-writer.ts";
export { llama32Config, llama32Presets, type Llama32Size } from "./llama-presets.ts";
export {
  SMOLVLM_CHAT_TEMPLATE,
  tinySmolVlmGgufTokenizerMetadata,
  tinySmolVlmVocabulary,
  writeTinySmolVlmHfTokenizer,
  type TinySmolVlmVocabulary,
} from "./tiny-models/tiny-smolvlm-tokenizer.ts";
export {
  GLM4_SPLIT_PATTERN,
  TINY_GLM4_CHAT_TEMPLATE,
  glm4TokenizerSteps,
  tinyGlm4GgufTokenizerMetadata,
  tinyGlm4Vocabulary,
  writeTinyGlm4HfTokenizer,
  writeTinyGlm4TiktokenModel,
  type TinyGlm4Vocabulary,
} from "./tiny-models/tiny-glm4-tokenizer.ts";
export { addedTokensJson, byteLevelTokenizerJson, type ByteLevelVocabulary, type TokenizerJsonSteps } from "./tiny-models/byte-level-tokenizer-json.ts";
export {
  idefics3ConfigJson,
  idefics3PreprocessorJson,
  randomIdefics3Tensors,
  randomIdefics3VisionTensors,
  tinyIdefics3Config,
  writeIdefics3GgufPair,
  writeIdefics3HfModel,
  type TinyIdefics3,
  type TinyIdefics3Tensors,
} from "./tiny-models/tiny-idefics3.ts";
