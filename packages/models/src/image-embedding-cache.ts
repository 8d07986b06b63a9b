// A cache of image embeddings keyed by the image's content (SHA-256 of its bytes) together with everything that
// shapes the embeddings (processor settings, model): a second question about the same image skips decoding,
// preprocessing and the vision encoder. Least recently used entries are dropped past a byte budget.

/** One image's embeddings and its tile layout. */
export interface CachedImageEmbeddings {
  /** [tileCount · tokensPerTile, hidden] language-model embeddings of the image. */
  embeddings: Float32Array;
  /** Rows of the tile grid (0 when the image was not split); with cols and tileCount, the image's prompt layout. */
  rows: number;
  /** Columns of the tile grid (0 when the image was not split). */
  cols: number;
  /** Tiles encoded: rows · cols plus the global image, or 1 for an image that was not split. */
  tileCount: number;
}

/** What {@link ImageEmbeddingCache.stats} reports. */
export interface ImageEmbeddingCacheStats {
  /** Images held. */
  entries: number;
  /** Bytes of embeddings held (at most maxBytes). */
  bytes: number;
  /** Lookups that found their entry, since the cache was made. */
  hits: number;
  /** Lookups that did not, since the cache was made. */
  misses: number;
}

/** The cache key: the image content and what the embeddings depend on. */
export function imageEmbeddingKey(contentHash: string, ...settings: ReadonlyArray<string | number>): string {
  return [contentHash, ...settings].join("|");
}

/** Image embeddings by key (content hash + model + processor settings), least recently used evicted past a byte budget. */
export class ImageEmbeddingCache {
  private readonly entries = new Map<string, CachedImageEmbeddings>(); // in use order, least recent first
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  /** @param maxBytes embeddings kept at most (default 256 MiB, about 60 SmolVLM-500M images of 17 tiles) */
  constructor(readonly maxBytes = 256 * 1024 * 1024) {
    if (!(maxBytes >= 0)) throw new RangeError(`ImageEmbeddingCache: maxBytes must be ≥ 0, got ${maxBytes}`);
  }

  /** The entry for `key` (now the most recently used), or undefined; counted as a hit or a miss. */
  get(key: string): CachedImageEmbeddings | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Stores `entry` under `key`, evicting the least recently used past the budget (an entry over the whole budget is not kept). */
  set(key: string, entry: CachedImageEmbeddings): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.bytes -= previous.embeddings.byteLength;
      this.entries.delete(key);
    }
    if (entry.embeddings.byteLength > this.maxBytes) return;
    this.entries.set(key, entry);
    this.bytes += entry.embeddings.byteLength;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.embeddings.byteLength;
    }
  }

  /** The cached entry for `key`, or what `compute` returns (then cached). */
  async getOrCompute(key: string, compute: () => Promise<CachedImageEmbeddings> | CachedImageEmbeddings): Promise<{
    /** The image's embeddings. */
    entry: CachedImageEmbeddings;
    /** True when they came from the cache, false when `compute` ran. */
    cached: boolean;
  }> {
    const cached = this.get(key);
    if (cached) return { entry: cached, cached: true };
    const entry = await compute();
    this.set(key, entry);
    return { entry, cached: false };
  }

  /** Drops every entry (the hit and miss counts stay). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** Entries, bytes held, hits and misses so far. */
  stats(): ImageEmbeddingCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }
}
