// The loader module of a vision-language recipe's --serve (the contract: @infer-recipes/server's serving-loader.ts):
// chat requests with image_url parts. The work is split the way the server splits it:
//   - the prompt worker reads each image's header (sharp, milliseconds: its size with the EXIF orientation), works
//     out its tile grid with the model's processor settings and renders the prompt with the image layouts in place
//     (<fake_token_around_image>, <row_r_col_c>, <global-img>, the <image> placeholders) — so a bad image is a 400
//     before the model worker sees the request;
//   - the model worker decodes and processes the image and runs the vision encoder, or takes the embeddings from the
//     embedding cache by content hash. One image is encoded at a time, a tile at a time, and the event loop runs
//     between tiles, so requests already generating keep taking their steps; the same image asked about by two
//     requests at once is encoded once. The request joins the scheduler with its embedding spans and one content
//     key per image, so the prefix cache shares an image's KV blocks only with requests holding the same image.
// Neither step runs on the HTTP thread.

import { ImageError, idefics3TileGrid, imageContentHash, readImageSize, type Idefics3ProcessorConfig } from "@infer-recipes/image";
import { ImageEmbeddingCache } from "@infer-recipes/models";
import { ApiError, type EncodedImages, type ImageInputData, type ImagePromptPreparer, type LoadedPromptText, type ServedModel } from "@infer-recipes/server";
import type { ChatMessage } from "@infer-recipes/tokenizer";

import { UsageError } from "./generation-arguments.ts";
import { loadVisionModel, loadVisionPromptText, type VisionModel, type VisionPromptText } from "./load-vision-model.ts";
import { imageCacheKey, prepareImage, type PreparedImage } from "./prepare-image.ts";
import { servingScheduler } from "./serving-loader.ts";
import type { VisionArguments } from "./vision-question-command.ts";
import { imageContentKeys, renderVisionPrompt, type VisionChatMessage, type VisionPromptLayout } from "./vision-prompt.ts";

export { describeFailure } from "./failures.ts";

/** What the vision command passes to the workers. */
export interface VisionServeLoadOptions {
  /** The language model or HF folder as a local path (resolved and downloaded on the main thread first). */
  model: string;
  /** The mmproj file of the split form, a local path. */
  mmproj?: string;
  /** The id /v1/models reports. */
  name: string;
  /** The command line's options (the vision ones too: image limits, cache size, local images). */
  args: VisionArguments;
}

/** Largest image a request may send (encoded bytes; OpenAI's limit is 20 MB). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Base64 image data one request may carry beyond its text: a few images at the limit. */
export const MAX_REQUEST_IMAGE_BYTES = 64 * 1024 * 1024;

/** An ImageError (or a layout refused by the processor) as the 400 a client reads. */
function imageApiError(error: unknown): unknown {
  if (error instanceof ImageError) return new ApiError(400, error.message, error.source, "invalid_request_error", "invalid_image");
  if (error instanceof UsageError) return new ApiError(400, error.message, "messages", "invalid_request_error", null);
  return error;
}

/** The processor settings the command line asked for (--image-longest-edge). */
function processorFor(processor: Idefics3ProcessorConfig, args: VisionArguments): Idefics3ProcessorConfig {
  return args.imageLongestEdge === undefined ? processor : { ...processor, longestEdge: args.imageLongestEdge };
}

/** Lays images out in prompts from their headers alone (see the file header). */
export function imagePromptPreparer(text: Pick<VisionPromptText, "tokenizer" | "chatTemplate" | "imageSequenceLength" | "processor">, name: string, allowLocalFiles: boolean): ImagePromptPreparer {
  const layout: VisionPromptLayout = { tokenizer: text.tokenizer, chatTemplate: text.chatTemplate, imageSequenceLength: text.imageSequenceLength, name };
  return {
    allowLocalFiles,
    maxImageBytes: MAX_IMAGE_BYTES,
    async promptIds(messages: readonly ChatMessage[], images: readonly ImageInputData[]): Promise<number[]> {
      try {
        const grids = await Promise.all(
          images.map(async (image) => {
            const size = await readImageSize(image.bytes, { source: image.source });
            return idefics3TileGrid(size.width, size.height, text.processor);
          }),
        );
        return renderVisionPrompt(layout, messages as readonly VisionChatMessage[], grids).ids;
      } catch (error) {
        throw imageApiError(error);
      }
    },
  };
}

/**
 * The model worker's side: images → embeddings at their <image> positions, one encoder run at a time, the cache
 * consulted first and the same image in flight encoded once.
 */
export class ServedImageEncoding {
  /** Images being encoded (or waiting for the encoder), by embedding-cache key. */
  private readonly inFlight = new Map<string, EncodingJob>();
  /** Ends when the encoder is free. */
  private encoderFree: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly visionModel: VisionModel,
    private readonly cache: ImageEmbeddingCache,
  ) {}

  /** The request's images as embedding spans at their <image> positions in `promptIds` (cached by content; aborted with `signal`). */
  async encodeImages(promptIds: readonly number[], images: readonly ImageInputData[], signal: AbortSignal): Promise<EncodedImages> {
    const prepared: PreparedImage[] = [];
    try {
      for (const image of images) prepared.push(await this.prepare(image, signal));
    } catch (error) {
      throw imageApiError(error);
    }
    const { model } = this.visionModel;
    let embeddingSpans;
    try {
      embeddingSpans = model.imageSpans(promptIds, prepared.map((image) => image.embeddings));
    } catch (error) {
      // The prompt worker laid the images out from their headers; a file whose pixels disagree with its header ends here.
      throw new ApiError(400, `the images decoded to other sizes than their headers announce: ${(error as Error).message}`, "messages", "invalid_request_error", "invalid_image");
    }
    const hidden = model.language.config.hiddenSize;
    const contentKeys = imageContentKeys(
      embeddingSpans,
      hidden,
      prepared.map((image) => image.embeddings.length / hidden),
      prepared.map((image) => image.contentHash),
    );
    return { embeddingSpans, contentKeys };
  }

  /** The image's embeddings: from the cache, from an encoding of the same image already under way, or encoded
   *  once the encoder is free. An encoding stops when every request waiting for it is cancelled. */
  private prepare(image: ImageInputData, signal: AbortSignal): Promise<PreparedImage> {
    const contentHash = imageContentHash(image.bytes);
    const key = imageCacheKey(this.visionModel, contentHash);
    const cached = this.cache.get(key);
    if (cached) return Promise.resolve({ source: image.source, contentHash, ...cached, cached: true, decodeMs: 0, preprocessMs: 0, encodeMs: 0 });
    let job = this.inFlight.get(key);
    if (!job || job.controller.signal.aborted) {
      const controller = new AbortController();
      const result = this.encoderFree.then(() => {
        controller.signal.throwIfAborted();
        return prepareImage(this.visionModel, image, { cache: this.cache, tilesPerBatch: 1, signal: controller.signal });
      });
      this.encoderFree = result.catch(() => undefined);
      const created: EncodingJob = { result, controller, waiting: 0 };
      this.inFlight.set(key, created);
      void result
        .finally(() => {
          if (this.inFlight.get(key) === created) this.inFlight.delete(key);
        })
        .catch(() => undefined);
      job = created;
    }
    const shared = job;
    shared.waiting++;
    return new Promise<PreparedImage>((resolve, reject) => {
      const onAbort = () => {
        if (--shared.waiting === 0) shared.controller.abort(signal.reason);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      shared.result.then(
        (prepared) => resolve({ ...prepared, source: image.source }),
        (error: unknown) => reject(error instanceof ImageError ? new ImageError(image.source, error.problem) : error),
      ).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }
}

interface EncodingJob {
  result: Promise<PreparedImage>;
  controller: AbortController;
  /** Requests waiting for it that have not been cancelled. */
  waiting: number;
}

/** The model worker's side: the whole model on the kernel, the scheduler, and the image encoder with its embedding cache. */
export async function loadServedModel(options: VisionServeLoadOptions): Promise<ServedModel> {
  const { args } = options;
  const visionModel = await loadVisionModel(options.model, {
    mmproj: options.mmproj,
    quant: args.quant,
    visionQuant: args.visionQuant,
    kvCacheDType: args.kvCacheDType,
    threads: args.threads,
    backend: args.backend,
    progress: true,
  });
  visionModel.processor = processorFor(visionModel.processor, args);
  const { scheduler, summary } = servingScheduler(visionModel.model.language, args);
  const encoding = new ServedImageEncoding(visionModel, new ImageEmbeddingCache(args.imageCacheBytes));
  return {
    id: options.name,
    scheduler,
    tokenizer: visionModel.tokenizer,
    chatTemplate: visionModel.chatTemplate,
    stopTokenIds: visionModel.stopTokenIds,
    defaultTemperature: args.temperature,
    summary: `${summary}; images: ≤ ${MAX_IMAGE_BYTES / 1024 ** 2} MiB each, embeddings cached by content (${args.imageCacheBytes / 1024 ** 2} MiB)${args.allowLocalImages ? ", local files allowed" : ""}`,
    images: {
      maxRequestImageBytes: MAX_REQUEST_IMAGE_BYTES,
      encodeImages: (promptIds, images, signal) => encoding.encodeImages(promptIds, images, signal),
      prompts: imagePromptPreparer(visionModel, options.name, args.allowLocalImages),
    },
  };
}

/** The prompt worker's side: tokenizer, chat template and the image layout, without weights. */
export async function loadPromptText(options: VisionServeLoadOptions): Promise<LoadedPromptText> {
  const text = await loadVisionPromptText({ resolved: { path: options.model }, mmprojPath: options.mmproj });
  const processor = processorFor(text.processor, options.args);
  return { tokenizer: text.tokenizer, chatTemplate: text.chatTemplate, images: imagePromptPreparer({ ...text, processor }, options.name, options.args.allowLocalImages) };
}
