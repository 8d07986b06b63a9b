// One image on its way into a vision-language model: its bytes are hashed, and unless the embedding cache already
// holds the result for that content (and these processor settings and weights), decoded (sharp), processed into tiles
// (the Idefics3 processor) and encoded (the vision encoder). Reports what it cost, so a second question about the
// same image shows the encoder skipped.

import { decodeImage, idefics3TileGrid, imageContentHash, processIdefics3Image } from "@infer-recipes/image";
import { imageEmbeddingKey, type ImageEmbeddingCache } from "@infer-recipes/models";

import type { VisionModel } from "./load-vision-model.ts";

/** An image as a user or a request gave it: its encoded bytes and what to call it. */
export interface ImageInput {
  /** The encoded image (JPEG, PNG, ...). */
  bytes: Uint8Array;
  /** Names the image in messages and errors: a path, "image 2", a request field. */
  source: string;
}

/** An image ready for a prompt: its tile grid and embeddings, and what getting them cost. */
export interface PreparedImage {
  /** Names the image in messages (the ImageInput's source). */
  source: string;
  /** SHA-256 of the encoded bytes. */
  contentHash: string;
  /** Rows of the tile grid (0: not split). */
  rows: number;
  /** Columns of the tile grid (0: not split). */
  cols: number;
  /** Tiles encoded: rows · cols + 1 (the global image) when split, else 1. */
  tileCount: number;
  /** [tileCount · imageSequenceLength, hidden] */
  embeddings: Float32Array;
  /** True when the embeddings came from the cache (nothing was decoded or encoded). */
  cached: boolean;
  /** Milliseconds spent decoding the image (0 when cached). */
  decodeMs: number;
  /** Milliseconds spent resizing, tiling and normalizing (0 when cached). */
  preprocessMs: number;
  /** Milliseconds spent in the vision encoder and connector (0 when cached). */
  encodeMs: number;
}

/** Options of {@link prepareImage}. */
export interface PrepareImageOptions {
  /** Embeddings of earlier images by content; omitted: always encode. */
  cache?: ImageEmbeddingCache;
  /** Called after each group of tiles the encoder finishes. */
  onProgress?: (tilesDone: number, tileCount: number) => void;
  /** Tiles per encoder batch (default 4). Between batches the event loop runs (a server's other requests take
   *  their decode steps) and `signal` is checked. */
  tilesPerBatch?: number;
  /** Stops the encoder between batches (rejecting with the signal's reason). */
  signal?: AbortSignal;
}

const DEFAULT_TILES_PER_BATCH = 4;

/** The encoder over `tileCount` processed tiles, a batch of tiles at a time, letting the event loop run in between. */
async function encodeTiles(visionModel: VisionModel, pixelValues: Float32Array, tileCount: number, options: PrepareImageOptions): Promise<Float32Array> {
  const tilesPerBatch = options.tilesPerBatch ?? DEFAULT_TILES_PER_BATCH;
  const tileValues = pixelValues.length / tileCount;
  let embeddings: Float32Array | undefined;
  for (let first = 0; first < tileCount; first += tilesPerBatch) {
    if (first > 0) await new Promise((resolve) => setImmediate(resolve));
    options.signal?.throwIfAborted();
    const count = Math.min(tilesPerBatch, tileCount - first);
    const part = visionModel.model.encodeImage(pixelValues.subarray(first * tileValues, (first + count) * tileValues), count, { tilesPerBatch });
    embeddings ??= new Float32Array((part.length / count) * tileCount);
    embeddings.set(part, (part.length / count) * first);
    options.onProgress?.(first + count, tileCount);
  }
  return embeddings!;
}

/** The embedding-cache key of an image's content for this model and processor. */
export function imageCacheKey(visionModel: VisionModel, contentHash: string): string {
  const { processor } = visionModel;
  return imageEmbeddingKey(contentHash, visionModel.identity, processor.longestEdge ?? 0, processor.tileSize, processor.splitImage ? 1 : 0, processor.filter.name, processor.mean.join(","), processor.std.join(","));
}

/** The image's embeddings: from the cache by content hash, else decoded, processed into tiles and encoded (see the file header). */
export async function prepareImage(visionModel: VisionModel, image: ImageInput, options: PrepareImageOptions = {}): Promise<PreparedImage> {
  const contentHash = imageContentHash(image.bytes);
  const key = imageCacheKey(visionModel, contentHash);
  const cached = options.cache?.get(key);
  if (cached) return { source: image.source, contentHash, ...cached, cached: true, decodeMs: 0, preprocessMs: 0, encodeMs: 0 };
  const started = performance.now();
  const decoded = await decodeImage(image.bytes, { source: image.source });
  const decodedAt = performance.now();
  const processed = processIdefics3Image(decoded, visionModel.processor);
  const processedAt = performance.now();
  options.signal?.throwIfAborted();
  const embeddings = await encodeTiles(visionModel, processed.pixelValues, processed.tileCount, options);
  const encodedAt = performance.now();
  const entry = { embeddings, rows: processed.rows, cols: processed.cols, tileCount: processed.tileCount };
  options.cache?.set(key, entry);
  return { source: image.source, contentHash, ...entry, cached: false, decodeMs: decodedAt - started, preprocessMs: processedAt - decodedAt, encodeMs: encodedAt - processedAt };
}

/** Tiles an image of this size will take (for messages before the work starts). */
export function plannedTiles(visionModel: VisionModel, width: number, height: number): number {
  return idefics3TileGrid(width, height, visionModel.processor).tileCount;
}
