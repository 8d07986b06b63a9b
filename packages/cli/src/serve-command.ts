// `pnpm recipe <name> --serve`: the loaded model behind an OpenAI-compatible HTTP server with continuous batching —
// a paged KV cache sized from the options, a scheduler over it, and the server — until Ctrl-C or SIGTERM.

import { Scheduler } from "@infer-recipes/scheduler";
import { InferenceServer } from "@infer-recipes/server";

import type { GenerationArguments } from "./generation-arguments.ts";
import type { TextModel } from "./load-text-model.ts";

/** Positions per KV block. */
const BLOCK_SIZE = 16;
/** The default cache holds --max-batch requests of this many tokens… */
const DEFAULT_TOKENS_PER_REQUEST = 4096;
/** …but takes at most this many bytes. */
const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/** Positions the paged cache holds: --cache-tokens, else max-batch × min(context, 4096) within 2 GiB. */
export function servingCacheTokens(textModel: TextModel, args: Pick<GenerationArguments, "cacheTokens" | "maxBatch">): number {
  if (args.cacheTokens !== undefined) return args.cacheTokens;
  const config = textModel.model.config;
  const bytesPerToken = 2 * config.layerCount * config.keyValueHeadCount * config.headDim * 4;
  const wanted = args.maxBatch * Math.min(config.contextLength, DEFAULT_TOKENS_PER_REQUEST);
  return Math.max(BLOCK_SIZE, Math.min(wanted, Math.floor(DEFAULT_CACHE_BYTES / bytesPerToken)));
}

/** Serves until SIGINT/SIGTERM; returns the exit code. `modelId` is what clients put in "model". */
export async function runServer(textModel: TextModel, args: GenerationArguments, modelId: string): Promise<number> {
  const cacheTokens = servingCacheTokens(textModel, args);
  const cache = textModel.model.createPagedCache({ blockCount: Math.ceil(cacheTokens / BLOCK_SIZE) + 1, blockSize: BLOCK_SIZE });
  const scheduler = new Scheduler(textModel.model, cache, { maxBatchSize: args.maxBatch, maxBatchTokens: args.maxBatchTokens, maxQueuedRequests: args.queueLimit });
  const server = await InferenceServer.start({
    served: {
      id: modelId,
      scheduler,
      tokenizer: textModel.tokenizer,
      chatTemplate: textModel.chatTemplate,
      stopTokenIds: textModel.stopTokenIds,
      defaultTemperature: args.temperature,
    },
    host: args.host,
    port: args.port,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(
    `serving "${modelId}" on ${server.url} — OpenAI-compatible: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health\n` +
      `KV cache: ${cache.capacityTokens} positions in ${cache.pool.totalBlocks} blocks of ${BLOCK_SIZE} (${(cache.byteLength / 1024 ** 3).toFixed(2)} GiB); ` +
      `batch ≤ ${args.maxBatch} requests, ≤ ${args.maxBatchTokens} tokens per step; queue ≤ ${args.queueLimit}; Ctrl-C stops\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  process.stderr.write("stopping: cancelling open requests\n");
  await server.close();
  return 0;
}
