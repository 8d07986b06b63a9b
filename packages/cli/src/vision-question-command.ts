// The body of a visual-question-answering recipe's command line: parse options, load the vision-language model,
// read and prepare the images (decode, tiles, vision encoder — or the embedding cache), then answer --question once
// (streaming text, with --json a summary object as the last line), or open an interactive chat about the images
// that keeps its KV cache and image embeddings between turns, or with --serve run the OpenAI-compatible server with
// image_url content parts. Expected failures end with a one-line message and a non-zero exit code.

import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline/promises";

import type { DenseKvCache } from "@infer-recipes/cache";
import { generate, type GenerationResult } from "@infer-recipes/engine";
import { ImageError, maxImageFileBytes } from "@infer-recipes/image";
import type { DType } from "@infer-recipes/kernel";
import { ImageEmbeddingCache } from "@infer-recipes/models";
import { createStreamDecoder } from "@infer-recipes/tokenizer";

import { describeFailure } from "./failures.ts";
import { GENERATION_USAGE, UsageError, parseGenerationArguments, type ExtraOptions, type GenerationArguments } from "./generation-arguments.ts";
import { loadVisionModel, resolveVisionModel, type VisionModel } from "./load-vision-model.ts";
import type { RecipeMetadata } from "./recipe-metadata.ts";
import { prepareImage, type ImageInput, type PreparedImage } from "./prepare-image.ts";
import { serveModel, servedModelName } from "./serve-command.ts";
import { resolveUserPath } from "./user-paths.ts";
import type { VisionServeLoadOptions } from "./vision-serving-loader.ts";
import { imageQuestion, visionPrompt, type VisionChatMessage, type VisionContentPart } from "./vision-prompt.ts";

/** A visual-question-answering recipe: the shared metadata plus what its command line needs. */
export interface VisionRecipe extends RecipeMetadata {
  /** The mmproj file fetched with the default model's hub repository when --mmproj is absent. */
  defaultMmproj: string;
  /** Sampling temperature when `--temperature` is absent (0 = greedy). */
  defaultTemperature: number;
}

const VISION_OPTIONS: ExtraOptions = {
  image: { type: "string", multiple: true },
  question: { type: "string" },
  mmproj: { type: "string" },
  "vision-quant": { type: "string" },
  "image-longest-edge": { type: "string" },
  "image-cache-mb": { type: "string" },
  "allow-local-images": { type: "boolean" },
};

/** The vision options' part of --help. */
export const VISION_USAGE = `vision options:
  --image PATH              an image to ask about (JPEG, PNG, WebP, GIF, TIFF, AVIF); repeat for several
  --question TEXT           the question (--prompt works too); without it a terminal opens a chat about the images
  --mmproj PATH|FILE        the vision projector of a GGUF model (default: beside the model, or the recipe's file
                            in its hub repository)
  --vision-quant f32|f16|bf16|q8_0|q4_0   convert the vision encoder's matrices on load
  --image-longest-edge N    resize images' longest edge to N before tiling (default: the processor's; smaller
                            means fewer 512-pixel tiles and a faster encoder)
  --image-cache-mb N        image embeddings kept by content for later questions (default 256)
  --allow-local-images      --serve: accept image_url parts naming local files (file:// or a path)`;

const QUANTIZATIONS: readonly string[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];

/** The parsed command line of a vision recipe: the shared generation options plus the vision ones. */
export interface VisionArguments extends GenerationArguments {
  /** --image: the image files, in the order their placeholders appear (relative to where pnpm ran). */
  images: string[];
  /** --question (or --prompt): the question; absent: asked at a prompt on a terminal, read from stdin otherwise. */
  question?: string;
  /** --mmproj: the vision side's GGUF file for a GGUF language model. */
  mmproj?: string;
  /** --vision-quant: convert the encoder's and the connector's matrices to this dtype on load. */
  visionQuant?: DType;
  /** --image-longest-edge: resize images so that their longer side is this many pixels (default: the processor's). */
  imageLongestEdge?: number;
  /** --image-cache-mb in bytes (default 256 MiB): the image-embedding cache's budget. */
  imageCacheBytes: number;
  /** --allow-local-images: with --serve, image_url parts may name local files. */
  allowLocalImages: boolean;
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be an integer ≥ 1, got "${text}"`);
  return value;
}

/** Parses the shared generation options plus the vision ones. */
export function parseVisionArguments(argv: readonly string[], defaults: { temperature: number }): VisionArguments {
  const args = parseGenerationArguments(argv, defaults, process.env, VISION_OPTIONS);
  const extra = args.extra ?? {};
  const visionQuant = extra["vision-quant"] as string | undefined;
  if (visionQuant !== undefined && !QUANTIZATIONS.includes(visionQuant)) throw new UsageError(`--vision-quant must be one of ${QUANTIZATIONS.join(", ")}, got "${visionQuant}"`);
  const question = extra.question as string | undefined;
  if (question !== undefined && args.prompt !== undefined) throw new UsageError("give the question once: --question or --prompt, not both");
  if (args.chat) throw new UsageError("--chat is implied: questions about images always go through the model's chat template");
  const allowLocalImages = Boolean(extra["allow-local-images"]);
  if (allowLocalImages && !args.serve) throw new UsageError("--allow-local-images only applies with --serve");
  return {
    ...args,
    images: (extra.image as string[] | undefined) ?? [],
    question: question ?? args.prompt,
    mmproj: extra.mmproj as string | undefined,
    visionQuant: visionQuant as DType | undefined,
    imageLongestEdge: positiveInteger("image-longest-edge", extra["image-longest-edge"] as string | undefined),
    imageCacheBytes: (positiveInteger("image-cache-mb", extra["image-cache-mb"] as string | undefined) ?? 256) * 1024 * 1024,
    allowLocalImages,
  };
}

/** Reads an image file the user named (relative to where they ran pnpm). */
export async function readImageArgument(path: string): Promise<ImageInput> {
  const absolute = resolveUserPath(path);
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new ImageError(path, "is not a regular file; expected an image file");
    if (info.size > maxImageFileBytes) throw new ImageError(path, `is ${(info.size / 1024 ** 2).toFixed(1)} MiB, more than the limit of ${maxImageFileBytes / 1024 ** 2} MiB`);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageError(path, code === "ENOENT" ? `file not found (looked at ${absolute})` : `cannot be read (${code ?? String(error)})`, { cause: error });
  }
  return { bytes: await readFile(absolute), source: path };
}

/** The JSON object `--json` prints as the last line of stdout (snake_case, rounded to 0.01). */
export interface VisionAnswerSummary {
  /** The model as the user named it. */
  model: string;
  /** The kernel backend (native or reference). */
  backend: string;
  /** Kernel threads. */
  threads: number;
  /** Each image: its tile grid and what preparing it cost (see PreparedImage). */
  images: Array<{
    /** The image's name. */
    source: string;
    /** Rows of the tile grid (0: not split). */
    rows: number;
    /** Columns of the tile grid (0: not split). */
    cols: number;
    /** Tiles encoded (with the global image). */
    tiles: number;
    /** True when its embeddings came from the cache. */
    cached: boolean;
    /** Milliseconds decoding. */
    decode_ms: number;
    /** Milliseconds resizing, tiling and normalizing. */
    preprocess_ms: number;
    /** Milliseconds in the vision encoder and connector. */
    encode_ms: number;
  }>;
  /** Tokens of the prompt, image placeholders included. */
  prompt_tokens: number;
  /** Prompt positions holding image embeddings. */
  image_tokens: number;
  /** The answer's token ids. */
  token_ids: number[];
  /** The answer. */
  text: string;
  /** Why generation stopped (stop, length, ...). */
  finish_reason: string;
  /** From the question to the first answer token: image preparation (decode, tiles, encoder) plus prefill. */
  time_to_first_token_ms: number;
  /** Milliseconds preparing every image (decode, tiles, encoder), before prefill. */
  image_ms: number;
  /** Prompt tokens per second of prefill. */
  prefill_tokens_per_s: number;
  /** Answer tokens per second of decoding. */
  decode_tokens_per_s: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

function sampling(args: GenerationArguments) {
  return { temperature: args.temperature, topK: args.topK, topP: args.topP, minP: args.minP, repetitionPenalty: args.repetitionPenalty, seed: args.seed };
}

function describeImage(image: PreparedImage): string {
  const grid = image.rows === 0 ? "1 tile" : `${image.rows}×${image.cols} tiles + global`;
  if (image.cached) return `${image.source}: ${grid}, embeddings from the cache`;
  return `${image.source}: ${grid}, decode ${image.decodeMs.toFixed(0)} ms, preprocess ${image.preprocessMs.toFixed(0)} ms, encoder ${image.encodeMs.toFixed(0)} ms (${(image.encodeMs / image.tileCount).toFixed(0)} ms/tile)`;
}

/** Prepares every image, with a progress line per image on stderr. */
export async function prepareImages(visionModel: VisionModel, inputs: ReadonlyArray<{ bytes: Uint8Array; source: string }>, cache: ImageEmbeddingCache, quiet = false): Promise<PreparedImage[]> {
  const prepared: PreparedImage[] = [];
  for (const input of inputs) {
    const image = await prepareImage(visionModel, input, {
      cache,
      onProgress: quiet || !process.stderr.isTTY ? undefined : (done, total) => process.stderr.write(`\rencoding ${input.source}: tile ${done}/${total}`),
    });
    if (!quiet) process.stderr.write(`${process.stderr.isTTY && !image.cached ? "\r" : ""}${describeImage(image)}\n`);
    prepared.push(image);
  }
  return prepared;
}

/** Runs the command; returns the process exit code. */
export async function runVisionQuestionCommand(recipe: VisionRecipe, argv: readonly string[]): Promise<number> {
  let args: VisionArguments;
  try {
    args = parseVisionArguments(argv, { temperature: recipe.defaultTemperature });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\nusage: pnpm recipe ${recipe.name} [options]\n${GENERATION_USAGE}\n${VISION_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(
      `${recipe.description}\n\nusage: pnpm recipe ${recipe.name} --image PHOTO [--question TEXT] [options]\n${GENERATION_USAGE}\n${VISION_USAGE}\n\n` +
        `default model: ${recipe.defaultModel} with ${recipe.defaultMmproj}${recipe.originalModel ? `; the original: --model ${recipe.originalModel}` : ""}\n` +
        `\nexamples:\n${recipe.examples.map((example) => `  ${example.command}\n      ${example.what}`).join("\n")}\n`,
    );
    return 0;
  }
  const specifier = args.model ?? recipe.defaultModel;
  const controller = new AbortController();
  try {
    if (args.serve) return await serveVisionModel(recipe, args, specifier, controller.signal);
    if (args.images.length === 0) throw new UsageError("give at least one --image PATH to ask about");
    const inputs = await Promise.all(args.images.map(readImageArgument));
    const visionModel = await loadVisionModel(specifier, {
      mmproj: args.mmproj,
      defaultMmproj: args.model === undefined ? recipe.defaultMmproj : undefined,
      quant: args.quant,
      visionQuant: args.visionQuant,
      kvCacheDType: args.kvCacheDType,
      threads: args.threads,
      backend: args.backend,
      progress: true,
      signal: controller.signal,
    });
    if (args.imageLongestEdge !== undefined) visionModel.processor = { ...visionModel.processor, longestEdge: args.imageLongestEdge };
    const cache = new ImageEmbeddingCache(args.imageCacheBytes);
    const interactive = args.question === undefined && process.stdin.isTTY && !args.json;
    if (interactive) return await chat(visionModel, args, inputs, cache);
    const question = args.question ?? (process.stdin.isTTY ? "Describe this image." : await readStandardInput());
    const started = performance.now();
    const images = await prepareImages(visionModel, inputs, cache);
    const imageMs = performance.now() - started;
    const prompt = visionPrompt(visionModel, [imageQuestion(images.length, question)], images);
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    const result = await generate(visionModel.model.withImages(prompt.spans), prompt.ids, {
      ...sampling(args),
      maxTokens: args.maxTokens,
      stopTokenIds: visionModel.stopTokenIds,
      decoder: createStreamDecoder(visionModel.tokenizer, { contextIds: prompt.ids, skipSpecialTokens: true }),
      onText: args.json ? undefined : (text) => process.stdout.write(text),
      signal: controller.signal,
    });
    process.off("SIGINT", onInterrupt);
    if (!args.json) process.stdout.write("\n");
    process.stderr.write(`${statistics(result, imageMs)}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify(answerSummary(visionModel, specifier, images, prompt.ids.length, result, imageMs))}\n`);
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    if (!failure) throw error;
    process.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

/** --serve: resolves the model and its mmproj here (downloading them with progress), then serves from worker threads. */
async function serveVisionModel(recipe: VisionRecipe, args: VisionArguments, specifier: string, signal: AbortSignal): Promise<number> {
  if (args.images.length > 0) throw new UsageError("--image does not apply with --serve: clients send images in their requests (image_url parts)");
  if (args.question !== undefined) throw new UsageError("--question does not apply with --serve: clients send questions in their requests");
  const { resolved, mmprojPath } = await resolveVisionModel(specifier, {
    mmproj: args.mmproj,
    defaultMmproj: args.model === undefined ? recipe.defaultMmproj : undefined,
    signal,
  });
  const name = servedModelName(resolved);
  return serveModel(args, {
    name,
    loaderModule: new URL("./vision-serving-loader.ts", import.meta.url),
    loadOptions: { model: resolved.path, mmproj: mmprojPath, name, args } satisfies VisionServeLoadOptions,
  });
}

function statistics(result: GenerationResult, imageMs: number): string {
  return (
    `images ready after ${imageMs.toFixed(0)} ms; prompt ${result.promptTokens} tokens at ${result.prefillTokensPerSecond.toFixed(1)} tok/s, ` +
    `first token ${(imageMs + result.timeToFirstTokenMs).toFixed(0)} ms after the question; ${result.tokenIds.length} tokens at ${result.decodeTokensPerSecond.toFixed(1)} tok/s; ${result.finishReason}`
  );
}

function answerSummary(visionModel: VisionModel, specifier: string, images: PreparedImage[], promptTokens: number, result: GenerationResult, imageMs: number): VisionAnswerSummary {
  return {
    model: specifier,
    backend: visionModel.kernel.backend.name,
    threads: visionModel.kernel.backend.threads,
    images: images.map((image) => ({
      source: image.source, rows: image.rows, cols: image.cols, tiles: image.tileCount, cached: image.cached,
      decode_ms: round(image.decodeMs), preprocess_ms: round(image.preprocessMs), encode_ms: round(image.encodeMs),
    })),
    prompt_tokens: promptTokens,
    image_tokens: images.reduce((total, image) => total + image.embeddings.length / visionModel.model.language.config.hiddenSize, 0),
    token_ids: result.tokenIds,
    text: result.text,
    finish_reason: result.finishReason,
    time_to_first_token_ms: round(imageMs + result.timeToFirstTokenMs),
    image_ms: round(imageMs),
    prefill_tokens_per_s: round(result.prefillTokensPerSecond),
    decode_tokens_per_s: round(result.decodeTokensPerSecond),
  };
}

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\n$/, "");
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

/**
 * Interactive chat about the images: the first question carries them, /image PATH attaches another to the next
 * question. Each turn re-renders the conversation and reuses the KV cache for the unchanged prefix (the images'
 * positions included), and the embedding cache keeps every image's embeddings, so only the new text is computed.
 */
async function chat(visionModel: VisionModel, args: VisionArguments, inputs: Array<{ bytes: Uint8Array; source: string }>, cache: ImageEmbeddingCache): Promise<number> {
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  const messages: VisionChatMessage[] = args.system ? [{ role: "system", content: args.system }] : [];
  let images: PreparedImage[] = [];
  let pending = [...inputs];
  let kvCache: DenseKvCache = visionModel.model.language.createCache();
  let cachedIds: number[] = [];
  let generation: AbortController | undefined;
  readline.on("SIGINT", () => {
    if (generation) generation.abort();
    else readline.close();
  });
  process.stderr.write(`chat about ${inputs.map((input) => input.source).join(", ")}: ask a question; /image PATH adds an image, /reset starts over, /exit or Ctrl-D quits, Ctrl-C stops a reply\n`);
  for (;;) {
    let line: string;
    try {
      line = await readline.question("> ");
    } catch {
      break;
    }
    const input = line.trim();
    if (input === "/exit") break;
    if (input === "/reset") {
      messages.splice(args.system ? 1 : 0);
      images = [];
      pending = [...inputs];
      kvCache.clear();
      cachedIds = [];
      continue;
    }
    if (input.startsWith("/image ")) {
      try {
        pending.push(await readImageArgument(input.slice("/image ".length).trim()));
      } catch (error) {
        process.stderr.write(`${(error as Error).message}\n`);
      }
      continue;
    }
    if (!input) continue;
    generation = new AbortController();
    const imagesBefore = images.length;
    const attached = pending;
    pending = [];
    try {
      const started = performance.now();
      const added = await prepareImages(visionModel, attached, cache);
      const imageMs = performance.now() - started;
      const content: VisionContentPart[] = [...added.map(() => ({ type: "image" }) as const), { type: "text", text: input }];
      messages.push({ role: "user", content });
      images.push(...added);
      const prompt = visionPrompt(visionModel, messages, images);
      const reuse = Math.min(commonPrefix(cachedIds, prompt.ids), kvCache.length, prompt.ids.length - 1);
      kvCache.truncate(reuse);
      const result = await generate(visionModel.model.withImages(prompt.spans), prompt.ids, {
        ...sampling(args),
        maxTokens: Math.min(args.maxTokens ?? 512, visionModel.model.language.config.contextLength - prompt.ids.length - 1),
        stopTokenIds: visionModel.stopTokenIds,
        decoder: createStreamDecoder(visionModel.tokenizer, { contextIds: prompt.ids, skipSpecialTokens: true }),
        onText: (text) => process.stdout.write(text),
        signal: generation.signal,
        cache: kvCache,
      });
      process.stdout.write("\n");
      process.stderr.write(`[${statistics(result, imageMs)}; ${reuse} cached tokens reused]\n`);
      kvCache = result.cache;
      cachedIds = [...prompt.ids, ...result.tokenIds].slice(0, kvCache.length);
      messages.push({ role: "assistant", content: [{ type: "text", text: result.text }] });
    } catch (error) {
      const failure = describeFailure(error);
      if (!failure) throw error;
      process.stderr.write(`${failure.message}\n(use /reset to start a new conversation)\n`);
      if (messages.at(-1)?.role === "user") messages.pop();
      pending = [...attached, ...pending];
      images.splice(imagesBefore);
    } finally {
      generation = undefined;
    }
  }
  readline.close();
  return 0;
}
