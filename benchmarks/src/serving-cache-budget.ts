// The serving benchmark's "cache budget" section: the paged KV cache gets the same bytes for every cache element
// type, and N clients with long-ish prompts send their requests at once. A smaller element type holds more positions
// in the same memory, so more sequences run together: fewer requests wait or are preempted, and each decode step
// serves more of them.
//
// Every type's cache is sized with the shared accounting (@infer-recipes/cache: pagedKvCacheBlocksWithin): its blocks
// (16 positions for f32/f16/bf16, 32 for q8_0/q4_0; the null block included) plus, for q8_0/q4_0, the f32 key residual
// each of the batch's sequences keeps outside the blocks. The batch may hold every client (maxBatchSize = clients),
// so the cache's memory is the only limit. By default the budget is what the clients' whole sequences take in a q8_0
// cache, so q8_0 holds them all and f32 about a third of them.
//
// Rows carry the budget, the cache's own bytes (what it allocated, with the residuals), bytes per token, the positions
// it holds, the most sequences it held at once (the scheduler's running batch) and the preemptions, beside the usual
// serving figures (generated and total tok/s of wall time, decode-step tok/s, TTFT).

import { PagedKvCache, kvCacheBytesPerToken, pagedKvCacheBlocksWithin, pagedKvCacheBytes, type PagedKvCacheBudgetLayout } from "@infer-recipes/cache";
import type { CacheDType } from "@infer-recipes/kernel";
import type { LlamaModel } from "@infer-recipes/models";
import { Scheduler, type StepReport } from "@infer-recipes/scheduler";

import { measure, randomTokens } from "./serving-measure.ts";
import type { ServingRow } from "./serving.ts";

const MIB = 1024 ** 2;

/** The requests of the section: how many clients, how long their prompts and outputs, tokens per step. */
export interface CacheBudgetWorkload {
  clients: number;
  promptTokens: number;
  outputTokens: number;
  /** Tokens one scheduler step runs at most (chunked prefill). */
  maxBatchTokens: number;
}

/** The section's workload at full size and with --quick. */
export const cacheBudgetWorkloads: Record<"full" | "quick", CacheBudgetWorkload> = {
  full: { clients: 8, promptTokens: 512, outputTokens: 128, maxBatchTokens: 256 },
  quick: { clients: 6, promptTokens: 256, outputTokens: 32, maxBatchTokens: 256 },
};

/** The layout the accounting sizes a `dtype` cache of `model` with: default block size, a key residual per client. */
function budgetLayout(model: LlamaModel, dtype: CacheDType, clients: number): PagedKvCacheBudgetLayout {
  return { ...model.config, dtype, blockSize: PagedKvCache.defaultBlockSize(dtype), maxSequences: clients };
}

/** The default budget: bytes (rounded up to a KiB) of a `dtype` paged cache that holds every client's whole sequence
 *  (prompt and output), the null block, the scheduler's admission headroom (1 % of the blocks) and the clients' key
 *  residuals. */
export function cacheBudgetForClients(model: LlamaModel, workload: CacheBudgetWorkload, dtype: CacheDType = "q8_0"): number {
  const layout = budgetLayout(model, dtype, workload.clients);
  // The last generated token is never written, so a sequence keeps prompt + output − 1 positions.
  const blocks = workload.clients * Math.ceil((workload.promptTokens + workload.outputTokens - 1) / layout.blockSize);
  const blockCount = 1 + blocks + Math.ceil(blocks / 100) + 1;
  return Math.ceil(pagedKvCacheBytes(blockCount, layout) / 1024) * 1024;
}

/** What runCacheBudgetRows measures: the model, the cache types compared, the budget and the workload. */
export interface CacheBudgetOptions extends CacheBudgetWorkload {
  model: LlamaModel;
  /** Cache element types, each measured at the same budget (the first is the baseline of the report's ratios). */
  dtypes: readonly CacheDType[];
  /** Bytes every type's paged cache (blocks and key residuals) gets. */
  budgetBytes: number;
  progress: (line: string) => void;
}

/** One row per cache type: the clients' requests at once through a scheduler over a paged cache of `budgetBytes`. */
export async function* runCacheBudgetRows(options: CacheBudgetOptions): AsyncGenerator<ServingRow> {
  const { model, clients, promptTokens, outputTokens, budgetBytes, progress } = options;
  const prompts = Array.from({ length: clients }, (_, index) => randomTokens(promptTokens, 9000 + index, model.config.vocabSize));
  for (const dtype of options.dtypes) {
    const layout = budgetLayout(model, dtype, clients);
    const blockCount = pagedKvCacheBlocksWithin(budgetBytes, layout);
    const blocksPerSequence = Math.ceil((promptTokens + outputTokens - 1) / layout.blockSize);
    if (blockCount - 1 < blocksPerSequence) {
      throw new Error(
        `serving benchmark: a cache budget of ${(budgetBytes / MIB).toFixed(1)} MiB holds ${Math.max(0, blockCount - 1) * layout.blockSize} positions of a ${dtype} cache ` +
          `(with ${clients} key residuals of ${(pagedKvCacheBytes(0, layout) / clients / MIB).toFixed(1)} MiB), fewer than one request's ${promptTokens + outputTokens - 1}; raise --cache-budget-mib`,
      );
    }
    const cache = model.createPagedCache({ blockCount, blockSize: layout.blockSize, dtype });
    const steps: StepReport[] = [];
    const scheduler = new Scheduler(model, cache, { maxBatchSize: clients, maxBatchTokens: options.maxBatchTokens, onStep: (report) => steps.push(report) });
    const sequencesFit = Math.floor(cache.pool.totalBlocks / blocksPerSequence);
    progress(
      `cache budget: ${dtype} cache in ${(budgetBytes / MIB).toFixed(0)} MiB = ${cache.capacityTokens} positions (${Math.min(sequencesFit, clients)} whole sequences), ` +
        `${clients} clients, ${promptTokens}-token prompts, ${outputTokens} tokens each…`,
    );
    const row = await measure(scheduler, { benchmark: "cache-budget", mode: "continuous-batching", concurrency: clients, prompts, outputTokens, oneAtATime: false }, steps);
    if (cache.pool.usedBlocks !== 0) throw new Error(`serving benchmark: ${cache.pool.usedBlocks} blocks still in use after the run`);
    yield {
      ...row,
      cache_dtype: dtype,
      cache_budget_bytes: budgetBytes,
      // What this cache allocated: every block (null block included) and one key residual per sequence it may hold.
      cache_bytes: cache.byteLength + clients * cache.usage().keyResidualBytesPerSequence,
      bytes_per_token: kvCacheBytesPerToken(layout),
      cache_tokens: cache.capacityTokens,
      sequences_fit: sequencesFit,
      max_concurrent_sequences: Math.max(0, ...steps.map((step) => step.running)),
    };
  }
}
