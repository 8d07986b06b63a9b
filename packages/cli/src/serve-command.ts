// `pnpm recipe <name> --serve`: the loaded model behind an OpenAI-compatible HTTP server with continuous batching —
// a paged KV cache sized from the options, a scheduler over it, and the server — until a signal stops it. The
// first SIGINT, SIGTERM or SIGHUP drains: no new requests, open ones get --shutdown-grace seconds to finish, the
// rest are cancelled with a clear answer, and the process exits 0; a second signal cancels at once.

import { totalmem } from "node:os";
import { basename } from "node:path";

import type { ResolvedModel } from "@infer-recipes/hub";
import { Scheduler } from "@infer-recipes/scheduler";
import { InferenceServer } from "@infer-recipes/server";

import { UsageError, type GenerationArguments } from "./generation-arguments.ts";
import type { TextModel } from "./load-text-model.ts";

/** Positions per KV block. */
const BLOCK_SIZE = 16;
/** The default cache holds --max-batch requests of this many tokens… */
const DEFAULT_TOKENS_PER_REQUEST = 4096;
/** …but takes at most this many bytes. */
const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;
/** Signals closer together than this are one signal delivered twice (by the terminal and by a launcher). */
const REPEATED_SIGNAL_MS = 500;

/** Positions the paged cache holds: --cache-tokens, else max-batch × min(context, 4096) within 2 GiB. */
export function servingCacheTokens(textModel: TextModel, args: Pick<GenerationArguments, "cacheTokens" | "maxBatch">): number {
  if (args.cacheTokens !== undefined) return args.cacheTokens;
  const config = textModel.model.config;
  const bytesPerToken = cacheBytes(textModel, 1);
  const wanted = args.maxBatch * Math.min(config.contextLength, DEFAULT_TOKENS_PER_REQUEST);
  return Math.max(BLOCK_SIZE, Math.min(wanted, Math.floor(DEFAULT_CACHE_BYTES / bytesPerToken)));
}

/**
 * The id /v1/models reports and requests name: the hub repository for a downloaded or cached model, else the file's
 * name without its extension (or the model folder's name) — never a path of this machine.
 */
export function servedModelName(resolved: Pick<ResolvedModel, "repo" | "path" | "format">): string {
  if (resolved.repo) return resolved.repo;
  return basename(resolved.path).replace(/\.(gguf|bin)$/i, "");
}

/** Resolves with the first of SIGINT/SIGTERM/SIGHUP; `onRepeat` runs for a later one (not a duplicate delivery). */
function waitForStopSignal(onRepeat: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      const now = performance.now();
      if (first === undefined) {
        first = now;
        resolve(signal);
      } else if (now - first >= REPEATED_SIGNAL_MS) {
        onRepeat(signal);
      }
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, handler);
  });
}

/** Bytes of a paged cache of `tokens` positions for `textModel` (keys and values, f32). */
function cacheBytes(textModel: TextModel, tokens: number): number {
  const config = textModel.model.config;
  return 2 * config.layerCount * config.keyValueHeadCount * config.headDim * 4 * tokens;
}

/** Serves until a stop signal; returns the exit code. */
export async function runServer(textModel: TextModel, args: GenerationArguments): Promise<number> {
  const cacheTokens = servingCacheTokens(textModel, args);
  if (cacheBytes(textModel, cacheTokens) > totalmem()) {
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    throw new UsageError(`--cache-tokens ${cacheTokens} needs ${gib(cacheBytes(textModel, cacheTokens))} of KV cache for this model, more than this machine's ${gib(totalmem())} of memory`);
  }
  const cache = textModel.model.createPagedCache({ blockCount: Math.ceil(cacheTokens / BLOCK_SIZE) + 1, blockSize: BLOCK_SIZE });
  const scheduler = new Scheduler(textModel.model, cache, { maxBatchSize: args.maxBatch, maxBatchTokens: args.maxBatchTokens, maxQueuedRequests: args.queueLimit });
  const modelId = servedModelName(textModel.resolved);
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
    access: { apiKey: args.apiKey, allowedHosts: args.allowedHosts, corsOrigins: args.corsOrigins },
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(
    `serving "${modelId}" on ${server.url} — OpenAI-compatible: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health\n` +
      `KV cache: ${cache.capacityTokens} positions in ${cache.pool.totalBlocks} blocks of ${BLOCK_SIZE} (${(cache.byteLength / 1024 ** 3).toFixed(2)} GiB); ` +
      `batch ≤ ${args.maxBatch} requests, ≤ ${args.maxBatchTokens} tokens per step; queue ≤ ${args.queueLimit}; ` +
      `${args.apiKey ? "API key required" : "no API key"}; Ctrl-C stops\n`,
  );
  const signal = await waitForStopSignal((repeated) => {
    process.stderr.write(`${repeated} again: cancelling open requests now\n`);
    void server.close();
  });
  process.stderr.write(`${signal}: stopping — no new requests; ${server.openRequests} open request(s) get ${args.shutdownGraceSeconds} s to finish\n`);
  await server.close({ graceMs: args.shutdownGraceSeconds * 1000 });
  process.stderr.write("stopped\n");
  return 0;
}
