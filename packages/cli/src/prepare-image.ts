// One image on its way into a vision-language model: its bytes are hashed, and unless the embedding cache already
// holds the result for that content (and these processor settings and weights), decoded (sharp), processed into tiles
// (the Idefics3 processor) and encoded (the vision encoder). Reports what it cost, so a second question about the
// same image shows the encoder skipped.

import { decodeImage, idefics3TileGrid, imageContentHash, processIdefics3Image } from "@infer-recipes/image";
import { imageEmbeddingKey, type ImageEmbeddingCache } from "@infer-recipes/models";

import type { VisionModel } from "./load-vision-model.ts";

export interface ImageInput {
  /** The encoded image (JPEG, PNG, ...). */
  bytes: Uint8Array;
  /** Names the image in messages and errors: a path, "image 2", a request field. */
  source: string;
}

export interface PreparedImage {
  source: string;
  /** SHA-256 of the encoded bytes. */
  contentHash: string;
  /** Tile grid (0 × 0: not split) and tile count. */
  rows: number;
  cols: number;
  tileCount: number;
  /** [tileCount · imageSequenceLength, hidden] */
  embeddings: Float32Array;
  /** True when the embeddings came from the cache (nothing was decoded or encoded). */
  cached: boolean;
  decodeMs: number;
  preprocessMs: number;
  encodeMs: number;
}

export interface PrepareImageOptions {
  /** Embeddings of earlier images by content; omitted: always encode. */
  cache?: ImageEmbeddingCache;
  /** Called after each group of tiles the encoder finishes. */
  onProgress?: (tilesDone: number, tileCount: number) => void;
  /** Tiles per encoder batch (default 4). */
  tilesPerBatch?: number;
}

/** The embedding-cache key of an image's content for this model and processor. */
export function imageCacheKey(visionModel: VisionModel, contentHash: string): string {
  const { processor } = visionModel;
  return imageEmbeddingKey(contentHash, visionModel.identity, processor.longestEdge ?? 0, processor.tileSize, processor.splitImage ? 1 : 0, processor.filter.name, processor.mean.join(","), processor.std.join(","));
}

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
  const embeddings = visionModel.model.encodeImage(processed.pixelValues, processed.tileCount, { onProgress: options.onProgress, tilesPerBatch: options.tilesPerBatch });
  const encodedAt = performance.now();
  const entry = { embeddings, rows: processed.rows, cols: processed.cols, tileCount: processed.tileCount };
  options.cache?.set(key, entry);
  return { source: image.source, contentHash, ...entry, cached: false, decodeMs: decodedAt - started, preprocessMs: processedAt - decodedAt, encodeMs: encodedAt - processedAt };
}

/** Tiles an image of this size will take (for messages before the work starts). */
export function plannedTiles(visionModel: VisionModel, width: number, height: number): number {
  return idefics3TileGrid(width, height, visionModel.processor).tileCount;
}
