// The serving benchmark's cache-budget section at a tiny size: a random Llama with heads of 32 (so q8_0 keys are
// grouped per channel, with their f32 residual) on the reference backend; every cache type gets the same bytes, and
// the quantized cache must hold more positions and run more sequences at once than the f32 one, within the budget.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { machineInfo } from "@infer-recipes/harness";
import { Kernel, createReferenceBackend } from "@infer-recipes/kernel";
import { LlamaModel, assembleLoadedWeights, randomLlamaTensors, tinyLlamaConfig } from "@infer-recipes/models";

import { cacheBudgetForClients, runCacheBudgetRows, type CacheBudgetWorkload } from "../src/serving-cache-budget.ts";
import { cacheBudgetRatios, servingTable, writeServingReport } from "../src/serving-report.ts";
import type { ServingRow } from "../src/serving.ts";

const config = tinyLlamaConfig({ hiddenSize: 64, intermediateSize: 96, headCount: 2, keyValueHeadCount: 1, headDim: 32, rotaryDim: 32, contextLength: 256, vocabSize: 96 });
const model = LlamaModel.fromLoadedWeights(
  assembleLoadedWeights({ config, tensors: randomLlamaTensors(config, 12), source: { format: "random", path: "(tiny random)", files: [] }, metadata: new Map() }),
  new Kernel(createReferenceBackend()),
);
// Sequences of 143 positions: long enough that the q8_0 cache's per-sequence key residual (64 f32 positions per
// layer) is well paid for by its 34/128 bytes per position.
const workload: CacheBudgetWorkload = { clients: 6, promptTokens: 128, outputTokens: 16, maxBatchTokens: 64 };

async function collect(rows: AsyncGenerator<ServingRow>): Promise<ServingRow[]> {
  const all: ServingRow[] = [];
  for await (const row of rows) all.push(row);
  return all;
}

const directory = mkdtempSync(path.join(tmpdir(), "serving-cache-budget-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("serving benchmark: cache budget", () => {
  it("at one budget, the q8_0 cache holds every client at once while the f32 one runs out and preempts or queues", async () => {
    const budgetBytes = cacheBudgetForClients(model, workload);
    const rows = await collect(runCacheBudgetRows({ ...workload, model, dtypes: ["f32", "q8_0"], budgetBytes, progress: () => {} }));
    expect(rows.map((row) => row.cache_dtype)).toEqual(["f32", "q8_0"]);
    const [f32, q8] = rows;
    for (const row of rows) {
      expect(row.benchmark).toBe("cache-budget");
      expect(row.cache_budget_bytes).toBe(budgetBytes);
      // The cache's own allocation (blocks, null block included, and one key residual per client) fits the budget,
      // and uses it: less than one more block would have fitted.
      const blockBytes = row.bytes_per_token! * (row.cache_dtype === "f32" ? 16 : 32);
      expect(row.cache_bytes).toBeLessThanOrEqual(budgetBytes);
      expect(budgetBytes - row.cache_bytes!).toBeLessThan(blockBytes);
      // Greedy, no early stop: every request generated all its tokens, whatever was preempted on the way.
      expect(row.generated_tokens).toBe(workload.clients * workload.outputTokens);
      expect(row.requests).toBe(workload.clients);
      expect(row.tokens_per_s).toBeGreaterThan(0);
      expect(row.decode_tokens_per_s).toBeGreaterThan(0);
      expect(row.total_tokens_per_s).toBeGreaterThan(row.tokens_per_s);
      expect(row.ttft_p50_ms).toBeGreaterThan(0);
      expect(row.max_concurrent_sequences).toBeGreaterThanOrEqual(1);
      expect(row.max_concurrent_sequences).toBeLessThanOrEqual(workload.clients);
    }
    expect(q8.bytes_per_token! / f32.bytes_per_token!).toBeCloseTo(34 / 128, 12);
    // The same bytes hold about twice the positions at this size (the residuals take a share)...
    expect(q8.cache_tokens!).toBeGreaterThan(1.8 * f32.cache_tokens!);
    // ...so q8_0 runs every client together, f32 at most half of them, preempting or queueing the rest.
    expect(q8.max_concurrent_sequences).toBe(workload.clients);
    expect(q8.preemptions).toBe(0);
    expect(f32.max_concurrent_sequences!).toBeLessThanOrEqual(workload.clients / 2);
    expect(f32.sequences_fit!).toBeLessThan(workload.clients);
    expect(q8.sequences_fit!).toBeGreaterThanOrEqual(workload.clients);

    const [ratio] = cacheBudgetRatios(rows);
    expect(ratio).toMatchObject({ dtype: "q8_0", baseline: "f32" });
    expect(ratio.sequences).toBeGreaterThanOrEqual(2);

    expect(servingTable(rows)).toMatch(/\| cache \| budget MiB \|[\s\S]*\| f32 \|[\s\S]*\| q8_0 \|/);
    const paths = writeServingReport(directory, "serving-cache-budget-test", rows, machineInfo(), "pnpm bench serving --cache-budget-only");
    const markdown = readFileSync(paths.find((file) => file.endsWith(".md"))!, "utf8");
    expect(markdown).toContain("q8_0 ÷ f32 cache at the same budget");
    expect(markdown).toContain("![cache budget](serving-cache-budget-test-cache-budget.svg)");
    expect(readFileSync(path.join(directory, "serving-cache-budget-test-cache-budget.svg"), "utf8")).toContain("f32: ≤ ");
    expect(JSON.parse(readFileSync(path.join(directory, "serving-cache-budget-test.json"), "utf8")).rows[1]).toMatchObject({ cache_dtype: "q8_0", cache_budget_bytes: budgetBytes });
  });

  it("refuses a budget that cannot hold one request of a type, naming the option", async () => {
    const rows = runCacheBudgetRows({ ...workload, model, dtypes: ["q8_0"], budgetBytes: 64 * 1024, progress: () => {} });
    await expect(rows.next()).rejects.toThrow(/fewer than one request's 143; raise --cache-budget-mib/);
  });
});
