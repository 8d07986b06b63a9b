// The loader module of `pnpm recipe <name> --serve` (the contract: @infer-recipes/server's serving-loader.ts). It runs
// inside the server's worker threads: in the model worker it loads the model through loadTextModel — so every
// architecture and weight format the loader knows is served — sizes the paged KV cache and builds the scheduler;
// in the prompt worker it loads only the tokenizer and chat template. Its options are the parsed command line as
// plain data, so an option added to GenerationArguments reaches this file without any change to the server.

import { totalmem } from "node:os";

import { PagedKvCache, kvCacheKeyResidualBytes, pagedKvCacheBlocksWithin, pagedKvCacheBytes, type PagedKvCacheBudgetLayout } from "@infer-recipes/cache";
import type { LlamaModel } from "@infer-recipes/models";
import { Scheduler } from "@infer-recipes/scheduler";
import type { LoadedPromptText, ServedModel } from "@infer-recipes/server";

import { UsageError, type GenerationArguments } from "./generation-arguments.ts";
import { loadTextModel, loadTextTokenizer, type TextModel } from "./load-text-model.ts";

export { describeFailure } from "./failures.ts";

/** What runServer passes to the workers. */
export interface ServeLoadOptions {
  /** The model as a local path (serve-command.ts resolves and downloads it on the main thread first). */
  model: string;
  /** The id /v1/models reports. */
  name: string;
  /** The command line's options: cache size, batch limits, sampling defaults, kernel settings. */
  args: GenerationArguments;
}

/** The default cache holds --max-batch requests of this many tokens… */
const DEFAULT_TOKENS_PER_REQUEST = 4096;
/** …but takes at most this many bytes. */
const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/** The paged cache's layout for the budget functions: the model's shape and cache element type, the block size of that
 *  type, and --max-batch sequences that each keep a key residual outside the blocks (q8_0 / q4_0 caches). */
function servingCacheLayout(model: Pick<LlamaModel, "config" | "cacheDType">, maxBatch: number): PagedKvCacheBudgetLayout {
  return { ...model.config, dtype: model.cacheDType, blockSize: PagedKvCache.defaultBlockSize(model.cacheDType), maxSequences: maxBatch };
}

/** Positions the paged cache holds: --cache-tokens, else max-batch × min(context, 4096) within 2 GiB of blocks and key
 *  residuals (of the model's cache element type: a q8_0 cache holds 3.8× the positions of an f32 one in the same
 *  memory, less its per-sequence key residuals). */
export function servingCacheTokens(textModel: Pick<TextModel, "model">, args: Pick<GenerationArguments, "cacheTokens" | "maxBatch">): number {
  if (args.cacheTokens !== undefined) return args.cacheTokens;
  const layout = servingCacheLayout(textModel.model, args.maxBatch);
  const wanted = args.maxBatch * Math.min(textModel.model.config.contextLength, DEFAULT_TOKENS_PER_REQUEST);
  // Blocks within the budget, less the null block every paged cache keeps.
  const fitting = (pagedKvCacheBlocksWithin(DEFAULT_CACHE_BYTES, layout) - 1) * layout.blockSize;
  return Math.max(layout.blockSize, Math.min(wanted, fitting));
}

/** The paged KV cache (sized by servingCacheTokens, checked against this machine's memory) and the scheduler over it. */
export function servingScheduler(model: LlamaModel, args: GenerationArguments): {
  /** The scheduler over a paged KV cache sized by --cache-tokens. */
  scheduler: Scheduler;
  /** One line describing the cache and the batch limits, for the startup message. */
  summary: string;
} {
  const cacheTokens = servingCacheTokens({ model }, args);
  const layout = servingCacheLayout(model, args.maxBatch);
  // Positions per KV block: 16, or 32 for q8_0 / q4_0 caches (blocks hold whole per-channel key groups).
  const blockSize = layout.blockSize;
  const blockCount = Math.ceil(cacheTokens / blockSize) + 1;
  const bytes = pagedKvCacheBytes(blockCount, layout);
  if (bytes > totalmem()) {
    const gib = (value: number) => `${(value / 1024 ** 3).toFixed(1)} GiB`;
    throw new UsageError(`--cache-tokens ${cacheTokens} needs ${gib(bytes)} of KV cache for this model (with --max-batch ${args.maxBatch}), more than this machine's ${gib(totalmem())} of memory`);
  }
  const cache = model.createPagedCache({ blockCount, blockSize });
  const scheduler = new Scheduler(model, cache, { maxBatchSize: args.maxBatch, maxBatchTokens: args.maxBatchTokens, maxQueuedRequests: args.queueLimit });
  return {
    scheduler,
    summary:
      `KV cache: ${cache.capacityTokens} positions in ${cache.pool.totalBlocks} blocks of ${blockSize}, ${cache.dtype} (${(bytes / 1024 ** 3).toFixed(2)} GiB${kvCacheKeyResidualBytes(layout) > 0 ? `, the key residuals of ${args.maxBatch} sequences included` : ""}); ` +
      `batch ≤ ${args.maxBatch} requests, ≤ ${args.maxBatchTokens} tokens per step; queue ≤ ${args.queueLimit}`,
  };
}

/** The model worker's side: the text model on the kernel, its paged KV cache and scheduler. */
export async function loadServedModel(options: ServeLoadOptions): Promise<ServedModel> {
  const { args } = options;
  const textModel = await loadTextModel(options.model, { quant: args.quant, kvCacheDType: args.kvCacheDType, threads: args.threads, backend: args.backend, progress: true });
  const { scheduler, summary } = servingScheduler(textModel.model, args);
  return {
    id: options.name,
    scheduler,
    tokenizer: textModel.tokenizer,
    chatTemplate: textModel.chatTemplate,
    stopTokenIds: textModel.stopTokenIds,
    defaultTemperature: args.temperature,
    summary,
  };
}

/** The prompt worker's side: the tokenizer and chat template only. */
export function loadPromptText(options: ServeLoadOptions): Promise<LoadedPromptText> {
  return loadTextTokenizer(options.model);
}
