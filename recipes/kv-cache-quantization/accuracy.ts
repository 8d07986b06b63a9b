// Accuracy of every KV-cache element type against the f32 cache (`pnpm accuracy kv-cache-quantization`), four parts:
//   1. real tiny models (stories260K, TinyStories-656K from ../shared/models) over their whole 512-token context of
//      the TinyStories validation text, on the reference and the native backend: logits max-abs-diff, KL divergence,
//      perplexity ratio, top-1 agreement, and greedy agreement over 256 tokens — gated per type;
//   2. the paged cache (the serving path, forwardBatch) against the dense cache of the same type: the same logits;
//   3. key grouping: keys quantized per channel (KIVI, shipped) vs per token vs per token after subtracting a
//      per-channel offset, measured on the same models;
//   4. the Llama 3.2 1B head layout at 2k, 8k and 32k positions (random keys/values): attention's relative error
//      against the f32 cache, and the native backend against the reference on the same stored cache.
// Exits non-zero when any gate fails; writes results/accuracy.{md,json} (accuracy-quick.* with --quick).
//
//   pnpm accuracy kv-cache-quantization [--quick] [--tokens N] [--greedy-tokens N] [--lengths 2048,8192,32768] [--json] [--results DIR]
//
// Without ../shared/models it runs on a tiny random Llama and a generated token sequence and says so (a random
// model's distributions are near uniform, so its greedy/top-1 figures are reported, not gated).

import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { resolveOptionalUserPath } from "@infer-recipes/cli";
import {
  compareLogits,
  createStepReporter,
  describeChecks,
  describeMachine,
  machineInfo,
  markdownTable,
  passes,
  reportJson,
  writeReportFiles,
  type Column,
  type HeadlineFigure,
  type ResultsRecord,
  type ToleranceCheck,
} from "@infer-recipes/harness";
import { cacheDTypes, createKernel, nativeAvailability, type BackendName, type CacheDType } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights, randomLlamaTensors, tinyLlamaConfig, writeHfModel, type LoadedWeights } from "@infer-recipes/models";
import { loadHfTokenizer, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import { QUALITY_GATES, logitsThroughCache, measureCacheQuality, runF32Cache, type CacheQuality } from "./cache-quality.ts";
import { SimulatedKeyGroupingCache, type KeyGrouping } from "./key-grouping.ts";
import { measureLongContextAttention, type LongContextRow } from "./long-context-attention.ts";
import { pagedLogits } from "./paged-logits.ts";
import { recipe } from "./recipe.ts";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const evalText = path.join(sharedModels, "eval-text/tinystories_validation_head.txt");

/** Relative error of attention at long context against the f32 cache (unit-scale random data), per type. */
const LONG_CONTEXT_GATES: Record<CacheDType, number> = { f32: 1e-6, f16: 2e-3, bf16: 1e-2, q8_0: 2e-2, q4_0: 0.2 };

interface QualityRow extends CacheQualityFields {
  model: string;
  backend: BackendName;
  cache_dtype: CacheDType;
  /** Dense and paged cache of this type, max-abs-diff of their logits. */
  paged_vs_dense_max_abs_diff: number;
}

interface CacheQualityFields {
  max_abs_diff: number;
  mean_kl_divergence: number;
  max_kl_divergence: number;
  top1_agreement: number;
  perplexity: number;
  perplexity_ratio: number;
  greedy_agreement: number;
  greedy_common_prefix: number;
}

interface KeyGroupingRow extends CacheQualityFields {
  model: string;
  cache_dtype: "q8_0" | "q4_0";
  key_grouping: KeyGrouping;
}

interface TestModel {
  name: string;
  load: () => LoadedWeights;
  tokens: number[];
  start: number;
  /** Random weights: near-uniform distributions, so top-1/greedy figures are not gated. */
  nearUniform: boolean;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" }, tokens: { type: "string" }, "greedy-tokens": { type: "string" }, lengths: { type: "string" },
      json: { type: "boolean" }, results: { type: "string" },
    },
  });
  const quick = Boolean(values.quick);
  const count = (name: string, text: string | undefined, fallback: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 2) throw new Error(`--${name} must be an integer ≥ 2, got "${text}"`);
    return value;
  };
  const lengths = (values.lengths ?? (quick ? "2048" : "2048,8192,32768")).split(",").map((text) => count("lengths", text, 0));
  return {
    quick,
    tokens: count("tokens", values.tokens, quick ? 128 : 512),
    greedyTokens: count("greedy-tokens", values["greedy-tokens"], quick ? 64 : 256),
    lengths,
    json: Boolean(values.json),
    results: resolveOptionalUserPath(values.results) ?? path.join(recipeDirectory, "results"),
  };
}

function fromCamel(quality: CacheQuality): CacheQualityFields {
  return {
    max_abs_diff: quality.maxAbsDiff,
    mean_kl_divergence: quality.meanKlDivergence,
    max_kl_divergence: quality.maxKlDivergence,
    top1_agreement: quality.top1Agreement,
    perplexity: quality.perplexity,
    perplexity_ratio: quality.perplexityRatio,
    greedy_agreement: quality.greedyAgreement,
    greedy_common_prefix: quality.greedyCommonPrefix,
  };
}

/** The real tiny models with the evaluation text, or a tiny random Llama when ../shared/models is absent. */
async function testModels(options: ReturnType<typeof parseOptions>): Promise<TestModel[]> {
  const stories = path.join(sharedModels, "stories260K-gguf/stories260K.gguf");
  const tinyStories = path.join(sharedModels, "tinystories-656k-hf");
  const models: TestModel[] = [];
  if (existsSync(evalText)) {
    const text = readFileSync(evalText, "utf8");
    const candidates = options.quick ? [tinyStories] : [stories, tinyStories];
    for (const file of candidates) {
      if (!existsSync(file)) continue;
      const loaded = loadModelWeights(file);
      const tokenizer = loaded.source.format === "gguf" ? tokenizerFromGgufMetadata(loaded.metadata) : await loadHfTokenizer(file);
      // stories260K's GGUF says 2048 positions but the model was trained on 512 (llama2.c seq_len): its whole context.
      const context = Math.min(loaded.config.contextLength, 512);
      const tokens = tokenizer.encode(text).slice(0, Math.min(options.tokens, context));
      models.push({ name: path.basename(file).replace(/\.gguf$/, ""), load: () => loadModelWeights(file), tokens, start: loaded.config.bosTokenId ?? tokens[0], nearUniform: false });
    }
  }
  if (models.length > 0) return models;
  process.stderr.write(`../shared/models absent (${sharedModels}): measuring a tiny random Llama on generated token ids\n`);
  const directory = path.join(tmpdir(), `kv-cache-accuracy-${process.pid}`);
  mkdirSync(directory, { recursive: true });
  process.on("exit", () => rmSync(directory, { recursive: true, force: true }));
  const config = tinyLlamaConfig({ hiddenSize: 64, intermediateSize: 192, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16, vocabSize: 256, contextLength: 512, tiedEmbeddings: true });
  writeHfModel(directory, config, randomLlamaTensors(config, 11));
  const tokens = Array.from({ length: Math.min(options.tokens, 512) }, (_, index) => (index * 7919 + 13) % config.vocabSize);
  return [{ name: "tiny random Llama", load: () => loadModelWeights(directory), tokens, start: 1, nearUniform: true }];
}

async function main(): Promise<void> {
  const options = parseOptions();
  const models = await testModels(options);
  const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
  if (backends.length === 1) process.stderr.write("native kernels unavailable: reference backend only\n");
  const quantized = cacheDTypes.filter((dtype): dtype is Exclude<CacheDType, "f32"> => dtype !== "f32");
  const progress = createStepReporter(models.length * (backends.length + 1) + 1);
  const checks: ToleranceCheck[] = [];
  const notes: string[] = [];
  const qualityRows: QualityRow[] = [];
  const groupingRows: KeyGroupingRow[] = [];

  for (const testModel of models) {
    const loaded = testModel.load();
    for (const backend of backends) {
      progress(`${testModel.name}, ${backend} backend: ${testModel.tokens.length} tokens, greedy ${options.greedyTokens}`);
      const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend }));
      const reference = runF32Cache(model, testModel.tokens, testModel.start, options.greedyTokens);
      for (const dtype of cacheDTypes) {
        const quality = dtype === "f32" ? undefined : measureCacheQuality(model, testModel.tokens, testModel.start, reference, dtype);
        const dense = dtype === "f32" ? reference.logits : logitsThroughCache(model, testModel.tokens, (maxTokens) => model.createCache(maxTokens, dtype));
        const paged = compareLogits(dense, pagedLogits(model, testModel.tokens, dtype), model.config.vocabSize);
        const what = `${testModel.name} ${backend} ${dtype}`;
        checks.push({ what, metric: "paged vs dense max-abs", value: paged.maxAbsDiff, limit: 1e-3, kind: "max" });
        const fields: CacheQualityFields = quality
          ? fromCamel(quality)
          : { max_abs_diff: 0, mean_kl_divergence: 0, max_kl_divergence: 0, top1_agreement: 1, perplexity: reference.perplexity, perplexity_ratio: 1, greedy_agreement: 1, greedy_common_prefix: reference.greedy.length };
        qualityRows.push({ model: testModel.name, backend, cache_dtype: dtype, ...fields, paged_vs_dense_max_abs_diff: paged.maxAbsDiff });
        if (dtype === "f32") continue;
        const gate = QUALITY_GATES[dtype];
        checks.push({ what, metric: "mean KL divergence", value: fields.mean_kl_divergence, limit: gate.meanKl, kind: "max" });
        checks.push({ what, metric: "|perplexity ratio − 1|", value: Math.abs(fields.perplexity_ratio - 1), limit: gate.perplexityChange, kind: "max" });
      }
    }
    // Key grouping, on the fastest backend (the simulation is an f32 cache, so any backend reads it the same way).
    const backend = backends[backends.length - 1];
    progress(`${testModel.name}: keys per channel vs per token (${backend} backend)`);
    const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend }));
    const reference = runF32Cache(model, testModel.tokens, testModel.start, options.greedyTokens);
    const layout = { layerCount: model.config.layerCount, keyValueHeadCount: model.config.keyValueHeadCount, headDim: model.config.headDim };
    for (const dtype of ["q8_0", "q4_0"] as const) {
      const shipped = measureCacheQuality(model, testModel.tokens, testModel.start, reference, dtype);
      for (const keyGrouping of ["token", "channel", "centred"] as const) {
        // The per-channel simulation runs one token at a time: an f32 cache cannot show a chunk's early queries the
        // groups the chunk completes unquantized, as the real cache does (its results do not depend on chunking).
        const simulated = measureCacheQuality(model, testModel.tokens, testModel.start, reference, dtype, (maxTokens) => new SimulatedKeyGroupingCache({ ...layout, maxTokens }, dtype, keyGrouping), keyGrouping === "channel" ? 1 : undefined);
        groupingRows.push({ model: testModel.name, cache_dtype: dtype, key_grouping: keyGrouping, ...fromCamel(simulated) });
        if (keyGrouping === "channel") {
          // The per-channel simulation is the shipped cache decoded: the same figures up to float rounding order.
          checks.push({ what: `${testModel.name} ${dtype} keys per channel`, metric: "simulation vs cache KL", value: Math.abs(simulated.meanKlDivergence - shipped.meanKlDivergence), limit: 1e-6 + 1e-3 * shipped.meanKlDivergence, kind: "max" });
        }
      }
    }
  }

  progress(`Llama 3.2 1B heads at ${options.lengths.join(", ")} positions`);
  const longContextRows = measureLongContextAttention(options.lengths);
  for (const row of longContextRows) {
    const what = `1B heads ${row.positions} ${row.cache_dtype}`;
    checks.push({ what, metric: "attention rel. error", value: row.relative_error_reference, limit: LONG_CONTEXT_GATES[row.cache_dtype], kind: "max" });
    if (row.native_vs_reference !== undefined) {
      // The same stored cache read by both backends: float32 sums in a different order (per-channel key groups: the
      // scale folded into the query), nothing more.
      checks.push({ what, metric: "native vs reference", value: row.native_vs_reference, limit: 1e-4, kind: "max" });
    }
  }
  for (const model of models) if (model.nearUniform) notes.push(`${model.name}: random weights, near-uniform distributions: top-1 and greedy agreement are reported, not gated`);

  const ok = checks.every(passes);
  if (options.json) for (const row of [...qualityRows, ...groupingRows, ...longContextRows]) process.stdout.write(JSON.stringify(row) + "\n");
  const markdown = report(qualityRows, groupingRows, longContextRows, checks, notes, models, options);
  if (!options.json) process.stdout.write(markdown + "\n");
  process.stderr.write(ok ? "accuracy: all metrics within tolerance\n" : `accuracy: FAILED — ${checks.filter((check) => !passes(check)).length} metric(s) left their tolerance\n`);
  process.exitCode = ok ? 0 : 1;
}

const qualityColumns: Column<QualityRow>[] = [
  { header: "model", value: (row) => row.model, align: "left" },
  { header: "backend", value: (row) => row.backend, align: "left" },
  { header: "cache", value: (row) => row.cache_dtype, align: "left" },
  { header: "logits max-abs-diff", value: (row) => row.max_abs_diff.toExponential(1) },
  { header: "mean KL", value: (row) => row.mean_kl_divergence.toExponential(1) },
  { header: "perplexity (ratio)", value: (row) => `${row.perplexity.toFixed(3)} (${row.perplexity_ratio.toFixed(4)})` },
  { header: "top-1", value: (row) => `${(row.top1_agreement * 100).toFixed(1)}%` },
  { header: "greedy agreement (common prefix)", value: (row) => `${(row.greedy_agreement * 100).toFixed(1)}% (${row.greedy_common_prefix})` },
  { header: "paged vs dense", value: (row) => row.paged_vs_dense_max_abs_diff.toExponential(1) },
];

const groupingColumns: Column<KeyGroupingRow>[] = [
  { header: "model", value: (row) => row.model, align: "left" },
  { header: "cache", value: (row) => row.cache_dtype, align: "left" },
  { header: "keys grouped per", value: (row) => row.key_grouping, align: "left" },
  { header: "mean KL", value: (row) => row.mean_kl_divergence.toExponential(2) },
  { header: "perplexity ratio", value: (row) => row.perplexity_ratio.toFixed(4) },
  { header: "top-1", value: (row) => `${(row.top1_agreement * 100).toFixed(1)}%` },
  { header: "greedy agreement", value: (row) => `${(row.greedy_agreement * 100).toFixed(1)}%` },
];

const longContextColumns: Column<LongContextRow>[] = [
  { header: "positions", value: (row) => String(row.positions) },
  { header: "cache", value: (row) => row.cache_dtype, align: "left" },
  { header: "rel. error, reference", value: (row) => row.relative_error_reference.toExponential(2) },
  { header: "rel. error, native", value: (row) => row.relative_error_native?.toExponential(2) ?? "—" },
  { header: "native vs reference", value: (row) => row.native_vs_reference?.toExponential(2) ?? "—" },
];

function report(
  qualityRows: QualityRow[],
  groupingRows: KeyGroupingRow[],
  longContextRows: LongContextRow[],
  checks: ToleranceCheck[],
  notes: string[],
  models: TestModel[],
  options: ReturnType<typeof parseOptions>,
): string {
  const machine = machineInfo();
  const command = [`pnpm accuracy ${recipe.name}`, ...process.argv.slice(2).filter((argument, index, all) => argument !== "--results" && all[index - 1] !== "--results")].join(" ");
  const name = options.quick ? "accuracy-quick" : "accuracy";
  const inputs = models.map((model) => `${model.name} (${model.tokens.length} tokens${model.nearUniform ? ", generated ids" : " of ../shared/models/eval-text/tinystories_validation_head.txt"})`).join("; ");
  const markdown = [
    `Inputs: ${inputs}; greedy continuations of ${options.greedyTokens} tokens from BOS. Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\`. Every type is compared with the f32 cache on the same backend and weights.`,
    "",
    "### Quality against the f32 cache",
    "",
    markdownTable(qualityRows, qualityColumns),
    "",
    "### Keys per channel (shipped: KIVI-style, blocks of 32 positions of one channel, the newest < 32 positions f32) vs per token (blocks of 32 values along a position's row, the layout before) vs centred (per token after subtracting each channel's mean over the first chunk)",
    "",
    markdownTable(groupingRows, groupingColumns),
    "",
    "### Llama 3.2 1B heads (32/8 × 64), random keys and values: attention output vs the f32 cache",
    "",
    markdownTable(longContextRows, longContextColumns),
    "",
    "```",
    describeChecks(checks),
    ...notes.map((note) => `note  ${note}`),
    "```",
  ].join("\n");
  const headline: HeadlineFigure[] = [];
  for (const dtype of ["q8_0", "q4_0"] as const) {
    const rows = qualityRows.filter((row) => row.cache_dtype === dtype && row.backend === "native");
    if (rows.length > 0) headline.push({ label: `${dtype} cache: worst mean KL divergence from the f32 cache (native)`, value: Math.max(...rows.map((row) => row.mean_kl_divergence)), unit: "" });
  }
  headline.push({ label: "tolerance gates passed", value: checks.filter(passes).length, unit: `of ${checks.length}` });
  const record: ResultsRecord<QualityRow | KeyGroupingRow | LongContextRow> = { machine, command, headline, rows: [...qualityRows, ...groupingRows, ...longContextRows], checks };
  writeReportFiles(options.results, { [`${name}.md`]: `# ${recipe.name} accuracy\n\n${markdown}\n`, [`${name}.json`]: reportJson(record) });
  process.stderr.write(`wrote ${path.join(options.results, name)}.{md,json}\n`);
  return markdown;
}

main().catch((error: Error) => {
  process.stderr.write(`accuracy: ${error.message}\n`);
  process.exit(1);
});
