// From a model specifier to an Idefics3 / SmolVLM model ready to answer questions about images, from the forms users
// hold: a Hugging Face directory (config.json with text_config + vision_config, safetensors, tokenizer.json,
// chat_template.json, preprocessor_config.json) or llama.cpp's split form (a language-model GGUF with the tokenizer
// and chat template, plus an mmproj GGUF with the vision encoder and the processor settings). Paths, the HF cache and
// hub downloads go through the hub package, the mmproj file resolved with the model (one download, one offline
// message).

import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";

import { createProgressPrinter, parseModelSpecifier, resolveModel, type ResolvedModel } from "@infer-recipes/hub";
import {
  idefics3ProcessorConfigFromGguf,
  imageSequenceLength,
  readIdefics3ProcessorConfig,
  type Idefics3ProcessorConfig,
} from "@infer-recipes/image";
import { cacheLayoutProblem } from "@infer-recipes/cache";
import { createKernel, type BackendName, type CacheDType, type DType, type Kernel } from "@infer-recipes/kernel";
import {
  Idefics3Model,
  idefics3VisionWeightBytes,
  isIdefics3Directory,
  isMmprojGguf,
  llamaDecodeBytes,
  llamaWeightBytes,
  idefics3VisionConfigFromGguf,
  loadIdefics3HfModel,
  loadMmprojGguf,
  loadModelWeights,
  ModelFileError,
  readGguf,
  readIdefics3Config,
  type Idefics3VisionConfig,
  type LoadedVisionWeights,
  type LoadedWeights,
} from "@infer-recipes/models";
import {
  chatTemplateFromGgufMetadata,
  compileChatTemplate,
  loadChatTemplate,
  loadHfTokenizer,
  tokenizerFromGgufMetadata,
  type ChatTemplate,
  type TextTokenizer,
} from "@infer-recipes/tokenizer";

import { UsageError } from "./generation-arguments.ts";
import { TokenizerNotFoundError } from "./load-text-model.ts";
import { resolveModelArgument } from "./user-paths.ts";

/** How {@link loadVisionModel} finds and loads a vision-language model. */
export interface LoadVisionModelOptions {
  /** The mmproj GGUF: a path, or a file name (or glob) in the model's hub repository. Default: found beside the
   *  language model (the only mmproj*.gguf), or `defaultMmproj` for hub repositories. */
  mmproj?: string;
  /** The mmproj file to fetch with a hub repository when `mmproj` is not given (a name or glob). */
  defaultMmproj?: string;
  /** Convert the language model's matrices on load. */
  quant?: DType;
  /** Convert the vision encoder's and the connector's matrices on load. */
  visionQuant?: DType;
  /** Element type of the language model's KV caches (default f32); refused with what would work when its head size
   *  does not fit. */
  kvCacheDType?: CacheDType;
  /** The kernel backend (default: INFER_BACKEND, or native when the addon loads). */
  backend?: BackendName;
  /** Native kernel threads (default: INFER_THREADS, or the physical cores). */
  threads?: number;
  /** The kernel to run on (otherwise one is created from backend/threads). */
  kernel?: Kernel;
  /** Write progress (download, loading) to stderr. Default true. */
  progress?: boolean;
  /** Cancels a download in progress. */
  signal?: AbortSignal;
}

/** Where the model's files are: the resolved model (a folder or the language-model GGUF) and the mmproj file of the
 *  split form. */
export interface ResolvedVisionModel {
  /** The model folder, or the language model's GGUF file. */
  resolved: ResolvedModel;
  /** The mmproj GGUF file, for a GGUF language model; absent for a folder (which holds both sides). */
  mmprojPath?: string;
}

/** The text side and the image layout of a model, read without its weights: what preparing prompts needs. */
export interface VisionPromptText {
  /** Turns prompts into token ids. */
  tokenizer: TextTokenizer;
  /** Renders the chat messages (with their image placeholders). */
  chatTemplate?: ChatTemplate;
  /** How images are cut into tiles and normalized. */
  processor: Idefics3ProcessorConfig;
  /** <image> tokens per tile. */
  imageSequenceLength: number;
  /** Id of the <image> placeholder token. */
  imageTokenId: number;
  /** The vision side's shape (patch size, scale factor: the tokens per tile). */
  visionConfig: Idefics3VisionConfig;
}

/** A loaded Idefics3 / SmolVLM model with what answering questions about images needs beside the weights. */
export interface VisionModel {
  /** The vision encoder with its connector, and the language model. */
  model: Idefics3Model;
  /** Turns prompts into token ids and answers into text. */
  tokenizer: TextTokenizer;
  /** Renders the chat messages with their image placeholders. */
  chatTemplate?: ChatTemplate;
  /** How images are cut into tiles and normalized. */
  processor: Idefics3ProcessorConfig;
  /** <image> tokens per tile (64 for SmolVLM). */
  imageSequenceLength: number;
  /** The kernel both sides run on. */
  kernel: Kernel;
  /** The model folder, or the language model's GGUF file. */
  resolved: ResolvedModel;
  /** The mmproj file of the split form. */
  mmprojPath?: string;
  /** The language model's weights as loaded. */
  text: LoadedWeights;
  /** The vision side's weights as loaded. */
  vision: LoadedVisionWeights;
  /** Bytes of the language model's weights. */
  textWeightBytes: number;
  /** Bytes of the vision side's weights. */
  visionWeightBytes: number;
  /** Bytes one decode step reads (the language model's weights it streams). */
  decodeBytes: number;
  /** Token ids that end generation. */
  stopTokenIds: number[];
  /** Names this model's weights and settings in embedding-cache keys. */
  identity: string;
  /** Milliseconds loading the weights took. */
  loadMilliseconds: number;
}

function formatGigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 2)} GB`;
}

/** The only mmproj*.gguf file of `directory`; an error naming them when there are several. */
function projectorBeside(directory: string, model: string): string | undefined {
  const found = readdirSync(directory).filter((name) => name.toLowerCase().startsWith("mmproj") && name.toLowerCase().endsWith(".gguf"));
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    throw new ModelFileError({ file: model }, `there are ${found.length} mmproj files beside it (${found.join(", ")}); choose one with --mmproj`);
  }
  return join(directory, found[0]);
}

/**
 * Finds the model's files (path, HF cache or hub download — the mmproj of a hub repository in the same call, so one
 * offline message names both). For the split form the mmproj is --mmproj, the one fetched with the model, or the
 * only mmproj*.gguf beside the language model.
 */
export async function resolveVisionModel(specifier: string, options: Pick<LoadVisionModelOptions, "mmproj" | "defaultMmproj" | "progress" | "signal"> = {}): Promise<ResolvedVisionModel> {
  // Paths are relative to where the user ran the command; anything else names a file in the model's hub repository.
  const mmprojArgument = options.mmproj === undefined ? undefined : resolveModelArgument(options.mmproj);
  const mmprojIsPath = mmprojArgument !== undefined && isAbsolute(mmprojArgument);
  const parsed = parseModelSpecifier(resolveModelArgument(specifier));
  const inRepository = "repo" in parsed;
  const additionalFiles = inRepository && !mmprojIsPath && (options.mmproj ?? options.defaultMmproj) ? [options.mmproj ?? options.defaultMmproj!] : [];
  const resolved = await resolveModel(parsed, {
    additionalFiles,
    signal: options.signal,
    progress: (options.progress ?? true) ? createProgressPrinter() : false,
  });
  if (resolved.format === "llama2c") {
    throw new ModelFileError({ file: resolved.path }, "is a llama2.c checkpoint; a vision-language model needs a Hugging Face idefics3 folder or a GGUF + mmproj pair");
  }
  if (resolved.format === "safetensors") {
    if (!isIdefics3Directory(resolved.path)) {
      throw new ModelFileError({ file: join(resolved.path, "config.json") }, "is not an Idefics3 / SmolVLM model (expected model_type \"idefics3\" with text_config and vision_config)");
    }
    return { resolved };
  }
  if (isMmprojGguf(readGguf(resolved.path))) {
    throw new ModelFileError({ file: resolved.path }, "is an mmproj (vision projector) file; pass the language-model GGUF as --model and this file as --mmproj");
  }
  const mmprojPath = mmprojIsPath
    ? mmprojArgument
    : (resolved.files.find((path) => path !== resolved.path && basename(path).toLowerCase().startsWith("mmproj")) ?? projectorBeside(dirname(resolved.path), resolved.path));
  if (mmprojPath === undefined) {
    throw new ModelFileError(
      { file: resolved.path },
      "is only the language model of llama.cpp's split form; pass its vision projector with --mmproj FILE (an mmproj-*.gguf, e.g. from the same Hugging Face repository)",
    );
  }
  return { resolved, mmprojPath };
}

/** Reads the tokenizer, chat template, processor settings and vision shape (no weights) of a resolved model: an HF
 *  folder, or a language-model GGUF with its mmproj file. */
export async function loadVisionPromptText({ resolved, mmprojPath }: { resolved: Pick<ResolvedModel, "path">; mmprojPath?: string }): Promise<VisionPromptText> {
  let tokenizer: TextTokenizer;
  let chatTemplateSource: string | undefined;
  let processor: Idefics3ProcessorConfig;
  let visionConfig: Idefics3VisionConfig;
  let configImageTokenId: number | undefined;
  if (mmprojPath === undefined) {
    if (!existsSync(join(resolved.path, "tokenizer.json"))) throw new TokenizerNotFoundError(`no tokenizer.json in ${resolved.path}: a Hugging Face model folder needs one beside config.json`);
    tokenizer = await loadHfTokenizer(resolved.path);
    chatTemplateSource = await loadChatTemplate(resolved.path);
    const preprocessor = join(resolved.path, "preprocessor_config.json");
    if (!existsSync(preprocessor)) throw new ModelFileError({ file: preprocessor }, "not found: the image processor settings of an Idefics3 / SmolVLM model are in preprocessor_config.json");
    processor = readIdefics3ProcessorConfig(preprocessor);
    const config = readIdefics3Config(resolved.path);
    visionConfig = config.vision;
    configImageTokenId = config.imageTokenId;
  } else {
    const text = readGguf(resolved.path);
    if (!text.metadata.has("tokenizer.ggml.tokens")) throw new TokenizerNotFoundError(`${resolved.path} has no embedded tokenizer (tokenizer.ggml.tokens)`);
    tokenizer = tokenizerFromGgufMetadata(text.metadata);
    chatTemplateSource = chatTemplateFromGgufMetadata(text.metadata);
    const mmproj = readGguf(mmprojPath);
    visionConfig = idefics3VisionConfigFromGguf(mmproj);
    processor = idefics3ProcessorConfigFromGguf(mmproj.metadata, mmprojPath);
  }
  const imageTokenId = tokenizer.tokenToId("<image>");
  if (imageTokenId === undefined) throw new TokenizerNotFoundError(`the tokenizer of ${resolved.path} has no <image> token: not an Idefics3 / SmolVLM vocabulary`);
  if (configImageTokenId !== undefined && configImageTokenId !== imageTokenId) {
    throw new ModelFileError({ file: join(resolved.path, "config.json"), field: "image_token_id" }, `is ${configImageTokenId}, but the tokenizer has <image> at ${imageTokenId}`);
  }
  if (processor.tileSize !== visionConfig.imageSize) {
    throw new ModelFileError({ file: mmprojPath ?? join(resolved.path, "preprocessor_config.json") }, `the processor cuts ${processor.tileSize}-pixel tiles but the vision encoder takes ${visionConfig.imageSize}-pixel images`);
  }
  return {
    tokenizer,
    chatTemplate: chatTemplateSource ? compileChatTemplate(chatTemplateSource) : undefined,
    processor,
    imageSequenceLength: imageSequenceLength(processor.tileSize, visionConfig.patchSize, visionConfig.scaleFactor),
    imageTokenId,
    visionConfig,
  };
}

/** Resolves (see resolveVisionModel) and loads the model: weights on the kernel, tokenizer, template, processor. */
export async function loadVisionModel(specifier: string, options: LoadVisionModelOptions = {}): Promise<VisionModel> {
  const showProgress = options.progress ?? true;
  const log = (line: string) => {
    if (showProgress) process.stderr.write(`${line}\n`);
  };
  const files = await resolveVisionModel(specifier, options);
  const { resolved, mmprojPath } = files;
  const kernel = options.kernel ?? createKernel({ backend: options.backend, threads: options.threads });
  const started = performance.now();
  log(`loading ${resolved.path} (${resolved.format}, ${resolved.source})`);
  const printer = showProgress ? createProgressPrinter({ minimumBytes: 64 * 1024 * 1024, action: "Reading" }) : undefined;
  const onProgress = printer
    ? (bytesRead: number, totalBytes: number) => printer({ file: "weights", receivedBytes: bytesRead, totalBytes, resumedFromBytes: 0, done: bytesRead >= totalBytes })
    : undefined;
  const promptText = await loadVisionPromptText(files);
  let text: LoadedWeights;
  let vision: LoadedVisionWeights;
  if (mmprojPath === undefined) {
    ({ text, vision } = loadIdefics3HfModel(resolved.path, { text: { dtype: options.quant, packFor: kernel, onProgress }, vision: { dtype: options.visionQuant, packFor: kernel } }));
  } else {
    text = loadModelWeights(resolved.path, { dtype: options.quant, packFor: kernel, onProgress });
    log(`loading ${mmprojPath}`);
    vision = loadMmprojGguf(mmprojPath, { dtype: options.visionQuant, packFor: kernel });
  }
  const kvCacheDType = options.kvCacheDType ?? "f32";
  const layoutProblem = cacheLayoutProblem(kvCacheDType, text.config.keyValueHeadCount, text.config.headDim);
  if (layoutProblem) throw new UsageError(`--kv-cache-dtype ${kvCacheDType}: ${layoutProblem}`);
  const model = Idefics3Model.fromLoadedWeights(text, vision, promptText.imageTokenId, kernel, { cacheDType: kvCacheDType });
  const loadMilliseconds = performance.now() - started;
  const textWeightBytes = llamaWeightBytes(model.language.weights);
  const visionWeightBytes = idefics3VisionWeightBytes(model.vision.weights);
  const config = text.config;
  log(
    `loaded in ${(loadMilliseconds / 1000).toFixed(1)} s: language model ${config.layerCount} layers, hidden ${config.hiddenSize}, ${model.language.weights.layers[0].query.dtype}, ${formatGigabytes(textWeightBytes)}; ` +
      `vision ${vision.config.layerCount} layers, hidden ${vision.config.hiddenSize}, ${model.vision.weights.layers[0].query.dtype}, ${formatGigabytes(visionWeightBytes)}; ` +
      `${kernel.backend.name} backend, ${kernel.backend.threads} thread(s)`,
  );
  return {
    model,
    tokenizer: promptText.tokenizer,
    chatTemplate: promptText.chatTemplate,
    processor: promptText.processor,
    imageSequenceLength: promptText.imageSequenceLength,
    kernel,
    resolved,
    mmprojPath,
    text,
    vision,
    textWeightBytes,
    visionWeightBytes,
    decodeBytes: llamaDecodeBytes(model.language.weights),
    stopTokenIds: [...new Set([...promptText.tokenizer.eosTokenIds, ...config.eosTokenIds])],
    identity: [resolved.path, mmprojPath ?? "", model.vision.weights.layers[0].query.dtype].join("|"),
    loadMilliseconds,
  };
}
