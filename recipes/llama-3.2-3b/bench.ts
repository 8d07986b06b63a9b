// Benchmark of this recipe: the baseline (plain TypeScript kernels, f32 weights, no KV cache — every decode step
// recomputes the whole sequence — and naive attention) against each optimization added in turn (KV cache, native
// kernels with flash attention and threads, Q8_0 and Q4_0 weights), measured in one run. Each configuration runs in
// its own process so its peak memory is its own.
//
//   pnpm bench llama-3.2-3b [--model PATH] [--shape 1b|3b] [--layers N] [--prompt-tokens N] [--decode-tokens N]
//                           [--runs N] [--threads N] [--quick] [--json] [--results DIR]
//   pnpm bench llama-3.2-3b --replot results/bench.json   (rewrite its markdown and chart, measuring nothing)
//
// Without --model it builds random weights of the real Llama 3.2 shapes (speed does not depend on the values),
// shortened to --layers layers so the plain-TypeScript baseline finishes.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import type { DenseKvCache } from "@infer-recipes/cache";
import { resolveOptionalUserPath } from "@infer-recipes/cli";
import { argmax } from "@infer-recipes/engine";
import {
  barChartSvg,
  createStepReporter,
  describeMachine,
  machineInfo,
  markdownTable,
  peakResidentBytes,
  reportJson,
  summarize,
  writeReportFiles,
  type Column,
  type HeadlineFigure,
  type MachineInfo,
  type ResultsRecord,
} from "@infer-recipes/harness";
import { Kernel, ReferenceBackend, attentionNaive, createKernel, type AttentionOptions, type DType, type Tensor } from "@infer-recipes/kernel";
import { LlamaModel, llama32Config, llamaDecodeBytes, llamaWeightBytes, loadModelWeights, randomLlamaWeights, type Llama32Size } from "@infer-recipes/models";

import { recipe } from "./recipe.ts";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));

interface Configuration {
  name: string;
  backend: "reference" | "native";
  dtype: DType;
  kvCache: boolean;
  attention: "naive" | "flash";
  /** The baseline rows are slow: they use fewer tokens (tokens/s stays comparable; "no KV cache" gets worse with length). */
  small: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "baseline: TypeScript, f32, no KV cache, naive attention", backend: "reference", dtype: "f32", kvCache: false, attention: "naive", small: true },
  { name: "+ KV cache", backend: "reference", dtype: "f32", kvCache: true, attention: "naive", small: true },
  { name: "+ native kernels, flash attention, threads (f32)", backend: "native", dtype: "f32", kvCache: true, attention: "flash", small: false },
  { name: "+ Q8_0 weights", backend: "native", dtype: "q8_0", kvCache: true, attention: "flash", small: false },
  { name: "+ Q4_0 weights", backend: "native", dtype: "q4_0", kvCache: true, attention: "flash", small: false },
];

interface Options {
  model?: string;
  shape: Llama32Size;
  layers: number;
  promptTokens: number;
  decodeTokens: number;
  smallPromptTokens: number;
  smallDecodeTokens: number;
  runs: number;
  threads?: number;
  json: boolean;
  quick: boolean;
  /** Where the markdown/JSON/SVG results go (default: this recipe's results/). */
  results: string;
}

export interface BenchRow {
  configuration: string;
  backend: string;
  format: DType;
  kv_cache: boolean;
  prompt_tokens: number;
  decode_tokens: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  decode_tokens_per_s_min: number;
  decode_tokens_per_s_max: number;
  time_to_first_token_ms: number;
  decode_gb_per_s: number;
  weight_bytes: number;
  peak_memory_bytes: number;
  threads: number;
}

function parseOptions(argv: string[]): Options & { row?: number; replot?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, shape: { type: "string" }, layers: { type: "string" },
      "prompt-tokens": { type: "string" }, "decode-tokens": { type: "string" }, runs: { type: "string" },
      threads: { type: "string" }, json: { type: "boolean" }, quick: { type: "boolean" }, row: { type: "string" },
      results: { type: "string" }, replot: { type: "string" },
    },
  });
  const integer = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return value;
  };
  const quick = Boolean(values.quick);
  const shape = (values.shape ?? (quick ? "1b" : "3b")) as Llama32Size;
  if (shape !== "1b" && shape !== "3b") throw new Error(`--shape must be 1b or 3b, got "${values.shape}"`);
  return {
    model: resolveOptionalUserPath(values.model),
    shape,
    layers: integer("layers", values.layers, quick ? 1 : 4),
    promptTokens: integer("prompt-tokens", values["prompt-tokens"], quick ? 32 : 128),
    decodeTokens: integer("decode-tokens", values["decode-tokens"], quick ? 8 : 32),
    smallPromptTokens: quick ? 4 : 16,
    smallDecodeTokens: quick ? 2 : 4,
    runs: integer("runs", values.runs, quick ? 2 : 3),
    threads: values.threads === undefined ? undefined : integer("threads", values.threads, 1),
    json: Boolean(values.json),
    quick,
    results: resolveOptionalUserPath(values.results) ?? path.join(recipeDirectory, "results"),
    row: values.row === undefined ? undefined : Number(values.row),
    replot: values.replot,
  };
}

/** The reference backend with the textbook attention (full score matrix, then softmax) instead of the tiled one. */
class NaiveAttentionBackend extends ReferenceBackend {
  override attention(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
    attentionNaive(out, query, keys, values, options);
  }
}

function kernelFor(configuration: Configuration, threads: number | undefined): Kernel {
  if (configuration.backend === "native") return createKernel({ backend: "native", threads });
  return configuration.attention === "naive" ? new Kernel(new NaiveAttentionBackend()) : createKernel({ backend: "reference" });
}

function promptIds(count: number, vocabSize: number): Int32Array {
  return Int32Array.from({ length: count }, (_, index) => (index * 7919 + 13) % vocabSize);
}

/** One measured generation: prefill, then greedy decode with or without reusing the KV cache. */
function generateOnce(model: LlamaModel, prompt: Int32Array, decodeTokens: number, kvCache: boolean) {
  const started = performance.now();
  let cache: DenseKvCache = model.createCache(prompt.length + decodeTokens + 1);
  let logits = model.forward(prompt, cache).data as Float32Array;
  const prefillEnd = performance.now();
  const sequence = Array.from(prompt);
  let token = argmax(logits);
  const firstToken = performance.now();
  for (let step = 1; step < decodeTokens; step++) {
    sequence.push(token);
    if (kvCache) logits = model.forward(Int32Array.of(token), cache).data as Float32Array;
    else {
      // No KV cache: the keys and values of earlier tokens are not kept, so the whole sequence is recomputed.
      cache = model.createCache(prompt.length + decodeTokens + 1);
      logits = model.forward(Int32Array.from(sequence), cache).data as Float32Array;
    }
    token = argmax(logits);
  }
  const end = performance.now();
  return { prefillMs: prefillEnd - started, timeToFirstTokenMs: firstToken - started, decodeMs: end - firstToken };
}

function runRow(configuration: Configuration, options: Options): BenchRow {
  const kernel = kernelFor(configuration, options.threads);
  const loaded = options.model
    ? loadModelWeights(options.model, { dtype: configuration.dtype, packFor: kernel })
    : randomLlamaWeights(llama32Config(options.shape, { layers: options.layers, contextLength: 4096 }), configuration.dtype, { packFor: kernel });
  const model = LlamaModel.fromLoadedWeights(loaded, kernel);
  const promptTokens = configuration.small ? options.smallPromptTokens : options.promptTokens;
  const decodeTokens = configuration.small ? options.smallDecodeTokens : options.decodeTokens;
  const prompt = promptIds(promptTokens, loaded.config.vocabSize);
  generateOnce(model, prompt.subarray(0, Math.min(4, promptTokens)), 2, configuration.kvCache); // warm-up
  const prefill: number[] = [], decode: number[] = [], firstToken: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    const result = generateOnce(model, prompt, decodeTokens, configuration.kvCache);
    prefill.push((promptTokens / result.prefillMs) * 1000);
    decode.push(((decodeTokens - 1) / result.decodeMs) * 1000);
    firstToken.push(result.timeToFirstTokenMs);
  }
  const decodeSummary = summarize(decode);
  return {
    configuration: configuration.name,
    backend: configuration.backend,
    format: configuration.dtype,
    kv_cache: configuration.kvCache,
    prompt_tokens: promptTokens,
    decode_tokens: decodeTokens,
    prefill_tokens_per_s: summarize(prefill).median,
    decode_tokens_per_s: decodeSummary.median,
    decode_tokens_per_s_min: decodeSummary.min,
    decode_tokens_per_s_max: decodeSummary.max,
    time_to_first_token_ms: summarize(firstToken).median,
    decode_gb_per_s: (decodeSummary.median * llamaDecodeBytes(model.weights)) / 1e9,
    weight_bytes: llamaWeightBytes(model.weights),
    peak_memory_bytes: peakResidentBytes(),
    threads: kernel.backend.threads,
  };
}

const columns: Column<BenchRow>[] = [
  { header: "configuration", value: (row) => row.configuration, align: "left" },
  { header: "prompt / decode tokens", value: (row) => `${row.prompt_tokens} / ${row.decode_tokens}` },
  { header: "prefill tok/s", value: (row) => row.prefill_tokens_per_s.toFixed(1) },
  { header: "decode tok/s (min–max)", value: (row) => `${row.decode_tokens_per_s.toFixed(2)} (${row.decode_tokens_per_s_min.toFixed(2)}–${row.decode_tokens_per_s_max.toFixed(2)})` },
  { header: "× baseline decode", value: (row) => "" },
  { header: "TTFT ms", value: (row) => row.time_to_first_token_ms.toFixed(0) },
  { header: "decode GB/s", value: (row) => row.decode_gb_per_s.toFixed(2) },
  { header: "weights GB", value: (row) => (row.weight_bytes / 1e9).toFixed(2) },
  { header: "peak memory GB", value: (row) => (row.peak_memory_bytes / 1e9).toFixed(2) },
];

function report(rows: BenchRow[], options: Options, command: string, machine: MachineInfo): string {
  const baseline = rows[0].decode_tokens_per_s;
  columns[4].value = (row) => `${(row.decode_tokens_per_s / baseline).toFixed(1)}×`;
  const model = options.model ?? `random weights, Llama 3.2 ${options.shape.toUpperCase()} shapes, ${options.layers} of ${llama32Config(options.shape).layerCount} layers`;
  return [
    `Model: ${model}. Machine: ${describeMachine(machine)}. Threads: ${rows.at(-1)?.threads}. Date: ${machine.date}.`,
    `Command: \`${command}\`. Medians of ${options.runs} runs after a warm-up; each configuration in its own process.`,
    "",
    markdownTable(rows, columns),
  ].join("\n");
}

/** The figures the docs gallery shows first: the last configuration (every optimization) and its decode speed-up. */
function headline(rows: BenchRow[]): HeadlineFigure[] {
  const baseline = rows[0], optimized = rows[rows.length - 1];
  return [
    { label: `decode, every optimization (${optimized.format})`, value: optimized.decode_tokens_per_s, unit: "tok/s" },
    { label: `prefill, every optimization (${optimized.format})`, value: optimized.prefill_tokens_per_s, unit: "tok/s" },
    { label: "decode speed-up over the baseline", value: optimized.decode_tokens_per_s / baseline.decode_tokens_per_s, unit: "×" },
  ];
}

/** Writes `<name>.md`, `<name>.json` and `<name>.svg` into the results directory. */
function writeResults(rows: BenchRow[], options: Options, command: string, machine: MachineInfo): void {
  const markdown = report(rows, options, command, machine);
  if (!options.json) process.stdout.write(markdown + "\n");
  const directory = options.results;
  const name = options.quick ? "bench-quick" : options.model ? "bench-model" : "bench";
  const record: ResultsRecord<BenchRow> = { machine, command, headline: headline(rows), rows };
  writeReportFiles(directory, {
    [`${name}.md`]: `# ${recipe.name} benchmark\n\n${markdown}\n\n![decode tokens/s](${name}.svg)\n`,
    [`${name}.json`]: reportJson(record),
    [`${name}.svg`]: barChartSvg({
      title: `${recipe.name}: tokens/s by optimization`,
      unit: "tok/s",
      labels: rows.map((row) => row.configuration),
      series: [
        { name: "decode", color: "#1f5fa8", values: rows.map((row) => row.decode_tokens_per_s) },
        { name: "prefill", color: "#7aa6d8", values: rows.map((row) => row.prefill_tokens_per_s) },
      ],
    }),
  });
  process.stderr.write(`wrote ${path.join(directory, name)}.{md,json,svg}\n`);
}

/** --replot FILE: the report files again from a results JSON (its rows, machine and command), measuring nothing. */
function replot(file: string, resultsOption: string | undefined): void {
  const record = JSON.parse(readFileSync(path.resolve(process.env.INIT_CWD ?? process.cwd(), file), "utf8")) as ResultsRecord<BenchRow>;
  const recorded = parseOptions(record.command.split(/\s+/).slice(3));
  if (resultsOption === undefined) recorded.results = path.dirname(path.resolve(process.env.INIT_CWD ?? process.cwd(), file));
  else recorded.results = resultsOption;
  writeResults(record.rows, recorded, record.command, record.machine);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.replot !== undefined) return replot(options.replot, process.argv.includes("--results") ? options.results : undefined);
  if (options.row !== undefined) {
    // Child process: one configuration, one JSON line.
    process.stdout.write(JSON.stringify(runRow(CONFIGURATIONS[options.row], options)) + "\n");
    return;
  }
  const forwarded = process.argv.slice(2);
  const progress = createStepReporter(CONFIGURATIONS.length);
  const rows: BenchRow[] = [];
  for (const [index, configuration] of CONFIGURATIONS.entries()) {
    progress(configuration.name);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...forwarded, "--row", String(index)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`configuration "${configuration.name}" failed (exit ${child.status})`);
    const row = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as BenchRow;
    rows.push(row);
    if (options.json) process.stdout.write(JSON.stringify(row) + "\n");
    else process.stderr.write(`  prefill ${row.prefill_tokens_per_s.toFixed(1)} tok/s, decode ${row.decode_tokens_per_s.toFixed(2)} tok/s, ${row.decode_gb_per_s.toFixed(2)} GB/s\n`);
  }
  const command = `pnpm bench ${recipe.name} ${forwarded.join(" ")}`.trim();
  writeResults(rows, options, command, machineInfo());
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
