// From a model specifier to something that generates text: resolve it (path → HF cache → hub download), load the
// weights (optionally converting them), build the model (Llama or GLM, on the shared decoder) on the chosen kernel,
// and find the tokenizer and chat template that belong to it (tokenizer.json — or ChatGLM3's SentencePiece
// tokenizer.model — beside safetensors or PyTorch checkpoints, the vocabulary embedded in a GGUF file, a llama2.c
// tokenizer.bin beside a .bin checkpoint).

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

import { cacheLayoutProblem, kvCacheBytesPerToken } from "@infer-recipes/cache";
import { createProgressPrinter, resolveModel, type ResolvedModel } from "@infer-recipes/hub";
import { createKernel, type BackendName, type CacheDType, type DType, type Kernel } from "@infer-recipes/kernel";
import { LlamaModel, llamaDecodeBytes, llamaWeightBytes, loadModelWeights, readGguf, readHfConfig, readLlama2cHeader, type LoadedWeights } from "@infer-recipes/models";
import type { LoadedPromptText } from "@infer-recipes/server";
import {
  chatGlm3ChatTemplate,
  chatTemplateFromGgufMetadata,
  compileChatTemplate,
  glm4ChatTemplate,
  loadChatGlm3Tokenizer,
  loadChatTemplate,
  loadHfTokenizer,
  SentencePieceModelError,
  tokenizerFromGgufMetadata,
  type ChatTemplate,
  type TextTokenizer,
} from "@infer-recipes/tokenizer";

import { UsageError } from "./generation-arguments.ts";
import { readLlama2cTokenizer } from "./llama2c-tokenizer.ts";

/** How {@link loadTextModel} loads a model. */
export interface LoadTextModelOptions {
  /** Convert weight matrices on load. */
  quant?: DType;
  /** Element type of the KV caches the model creates (default f32); refused with what would work when the model's
   *  head size does not fit it. */
  kvCacheDType?: CacheDType;
  /** The kernel backend (default: INFER_BACKEND, or native when the addon loads). */
  backend?: BackendName;
  /** Native kernel threads (default: INFER_THREADS, or the physical cores). */
  threads?: number;
  /** The kernel to run on (otherwise one is created from backend/threads). */
  kernel?: Kernel;
  /** Write progress (download, loading) to stderr. Default true. */
  progress?: boolean;
  /** A GGUF file to pick in a hub repository that holds several (e.g. "*Q4_K_M.gguf"). */
  file?: string;
  /** Cancels a download in progress. */
  signal?: AbortSignal;
}

/** A model ready to generate text: the network, its tokenizer and chat template, and where it came from. */
export interface TextModel {
  /** The network, on {@link TextModel.kernel}. */
  model: LlamaModel;
  /** The tokenizer that belongs to the weights. */
  tokenizer: TextTokenizer;
  /** The model's chat template, when its files have one. */
  chatTemplate?: ChatTemplate;
  /** The kernel the model computes on (backend and threads). */
  kernel: Kernel;
  /** Where the weights were found (path, format, local/cache/download). */
  resolved: ResolvedModel;
  /** The weights as loaded (config, tensors, file metadata). */
  loaded: LoadedWeights;
  /** Bytes of all weights in memory. */
  weightBytes: number;
  /** Bytes one decode step streams (every weight once; the embedding table only one row), for GB/s figures. */
  decodeBytes: number;
  /** Token ids that end generation (tokenizer's end-of-turn tokens and the config's EOS). */
  stopTokenIds: number[];
  /** Time spent loading the weights and building the model (not resolving or downloading). */
  loadMilliseconds: number;
}

/** The weights were found but no tokenizer beside them (tokenizer.json, a GGUF vocabulary, tokenizer.bin). */
export class TokenizerNotFoundError extends Error {
  /** Always `"TokenizerNotFoundError"`. */
  override name = "TokenizerNotFoundError";
}

function formatGigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 2)} GB`;
}

/**
 * Finds a model (a path, the Hugging Face cache, or a download from the hub with progress), loads its weights
 * (converting them with `quant`), builds the Llama network on the kernel, and finds its tokenizer and chat template.
 * The one call a recipe needs before generating.
 *
 * @param specifier - a folder with config.json + *.safetensors, a .gguf or llama2.c .bin file, or a hub repository
 *   id (`org/name`, `org/name:Q8_0`, `org/name:file.gguf`).
 * @example
 * ```ts
 * import { loadTextModel } from "@infer-recipes/cli";
 * import { generate } from "@infer-recipes/engine";
 * import { createStreamDecoder } from "@infer-recipes/tokenizer";
 *
 * const textModel = await loadTextModel("bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", { threads: 2 });
 * const prompt = textModel.tokenizer.encode("The capital of France is");
 * const result = await generate(textModel.model, prompt, {
 *   decoder: createStreamDecoder(textModel.tokenizer, { contextIds: prompt }),
 *   maxTokens: 16,
 *   temperature: 0,
 *   stopTokenIds: textModel.stopTokenIds,
 * });
 * console.log(result.text, `${result.decodeTokensPerSecond.toFixed(1)} tok/s`);
 * ```
 */
export async function loadTextModel(specifier: string, options: LoadTextModelOptions = {}): Promise<TextModel> {
  const showProgress = options.progress ?? true;
  const log = (line: string) => {
    if (showProgress) process.stderr.write(`${line}\n`);
  };
  const resolved = await resolveModel(specifier, {
    file: options.file,
    signal: options.signal,
    progress: showProgress ? createProgressPrinter() : false,
  });
  const kernel = options.kernel ?? createKernel({ backend: options.backend, threads: options.threads });
  const started = performance.now();
  log(`loading ${resolved.path} (${resolved.format}, ${resolved.source})`);
  const printer = showProgress ? createProgressPrinter({ minimumBytes: 64 * 1024 * 1024, action: "Reading" }) : undefined;
  const loaded = loadModelWeights(resolved.path, {
    dtype: options.quant,
    packFor: kernel,
    onProgress: printer
      ? (bytesRead, totalBytes) => printer({ file: "weights", receivedBytes: bytesRead, totalBytes, resumedFromBytes: 0, done: bytesRead >= totalBytes })
      : undefined,
  });
  const kvCacheDType = options.kvCacheDType ?? "f32";
  const layoutProblem = cacheLayoutProblem(kvCacheDType, loaded.config.keyValueHeadCount, loaded.config.headDim);
  if (layoutProblem) throw new UsageError(`--kv-cache-dtype ${kvCacheDType}: ${layoutProblem}`);
  const model = LlamaModel.fromLoadedWeights(loaded, kernel, { cacheDType: kvCacheDType });
  const { tokenizer, chatTemplate } = await loadTokenizer(resolved, loaded);
  const weightBytes = llamaWeightBytes(model.weights);
  const loadMilliseconds = performance.now() - started;
  const config = loaded.config;
  const dtypes = [...new Set([model.weights.layers[0].query.dtype, model.weights.layers[0].down.dtype, model.weights.output.dtype])].join("/");
  log(
    `loaded in ${(loadMilliseconds / 1000).toFixed(1)} s: ${config.architecture ?? "llama"}, ${config.layerCount} layers, hidden ${config.hiddenSize}, ` +
      `${config.headCount}/${config.keyValueHeadCount} heads, vocab ${config.vocabSize}, ${dtypes}, ${formatGigabytes(weightBytes)}; ` +
      `${kernel.backend.name} backend, ${kernel.backend.threads} thread(s); KV cache ${kvCacheDType} ` +
      `(${(kvCacheBytesPerToken({ ...config, dtype: kvCacheDType }) / 1024).toFixed(1)} KiB a token)`,
  );
  const stopTokenIds = [...new Set([...tokenizer.eosTokenIds, ...config.eosTokenIds])];
  return { model, tokenizer, chatTemplate, kernel, resolved, loaded, weightBytes, decodeBytes: llamaDecodeBytes(model.weights), stopTokenIds, loadMilliseconds };
}

/** What finding a tokenizer needs from the weights: the file's metadata (GGUF) and the vocabulary size (llama2.c). */
type TokenizerSource = Pick<LoadedWeights, "metadata"> & { config: Pick<LoadedWeights["config"], "vocabSize" | "architecture"> };

/**
 * The tokenizer and chat template of a model without loading its weights (a GGUF file's metadata, tokenizer.json, a
 * llama2.c tokenizer.bin): what a server's prompt worker holds beside the model worker.
 */
export async function loadTextTokenizer(specifier: string, options: Pick<LoadTextModelOptions, "file" | "signal"> = {}): Promise<LoadedPromptText> {
  const resolved = await resolveModel(specifier, { file: options.file, signal: options.signal, progress: false });
  const source: TokenizerSource =
    resolved.format === "gguf"
      ? ggufTokenizerSource(resolved.path)
      : resolved.format === "llama2c"
        ? { metadata: new Map(), config: { vocabSize: readLlama2cHeader(resolved.path).vocabSize } }
        : { metadata: new Map(), config: readHfConfig(resolved.directory) };
  return loadTokenizer(resolved, source);
}

/** A GGUF file's metadata and architecture, for its tokenizer. */
function ggufTokenizerSource(file: string): TokenizerSource {
  const { metadata } = readGguf(file);
  return { metadata, config: { vocabSize: 0, architecture: metadata.get("general.architecture") === "chatglm" ? "chatglm" : "llama" } };
}

/** The chat format of a GLM vocabulary without a template: GLM-4's when it has "<sop>", ChatGLM3's when it has "[gMASK]". */
function glmFallbackChatTemplate(tokenizer: TextTokenizer): string | undefined {
  if (tokenizer.tokenToId("[gMASK]") === undefined) return undefined;
  return tokenizer.tokenToId("<sop>") !== undefined ? glm4ChatTemplate : chatGlm3ChatTemplate;
}

async function loadTokenizer(resolved: ResolvedModel, loaded: TokenizerSource): Promise<{ tokenizer: TextTokenizer; chatTemplate?: ChatTemplate }> {
  const glm = loaded.config.architecture === "chatglm";
  if (resolved.format === "gguf") {
    if (!loaded.metadata.has("tokenizer.ggml.tokens")) {
      throw new TokenizerNotFoundError(`${resolved.path} has no embedded tokenizer (tokenizer.ggml.tokens); convert it with its vocabulary`);
    }
    const tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
    // GGUF files of ChatGLM3 / GLM-4 written without a template still chat in their model's format.
    const source = chatTemplateFromGgufMetadata(loaded.metadata) ?? (glm ? glmFallbackChatTemplate(tokenizer) : undefined);
    return { tokenizer, chatTemplate: source ? compileChatTemplate(source) : undefined };
  }
  if (resolved.format === "safetensors" || resolved.format === "pytorch") {
    const sentencePiece = join(resolved.directory, "tokenizer.model");
    if (glm && existsSync(sentencePiece)) {
      // ChatGLM2/3: a SentencePiece model plus the special tokens THUDM's tokenizer code appends. (GLM-4's
      // tokenizer.model is not a SentencePiece model: it needs a tokenizer.json, as its -hf repositories have.)
      try {
        const tokenizer = loadChatGlm3Tokenizer(resolved.directory, { vocabSize: loaded.config.vocabSize });
        return { tokenizer, chatTemplate: compileChatTemplate(tokenizer.chatTemplate ?? chatGlm3ChatTemplate) };
      } catch (error) {
        if (!(error instanceof SentencePieceModelError) || !existsSync(join(resolved.directory, "tokenizer.json"))) throw error;
      }
    }
    if (!existsSync(join(resolved.directory, "tokenizer.json"))) {
      throw new TokenizerNotFoundError(
        `no tokenizer.json${glm ? " or SentencePiece tokenizer.model" : ""} in ${resolved.directory}: a Hugging Face model folder needs one beside config.json`,
      );
    }
    const tokenizer = await loadHfTokenizer(resolved.directory);
    const source = await loadChatTemplate(resolved.directory);
    return { tokenizer, chatTemplate: source ? compileChatTemplate(source) : undefined };
  }
  // llama2.c: tokenizer.bin (or tok<N>.bin for the tiny models) beside the checkpoint.
  const directory = dirname(resolved.path);
  const candidates = ["tokenizer.bin", `tok${loaded.config.vocabSize}.bin`].map((name) => join(directory, name));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new TokenizerNotFoundError(`no llama2.c tokenizer beside ${resolved.path}: looked for ${candidates.join(", ")}`);
  return { tokenizer: readLlama2cTokenizer(found, loaded.config.vocabSize) };
}
