// Benchmark of this recipe (`pnpm bench kv-cache-quantization`): decode speed at growing context depth for every KV
// cache element type, side by side in one run — the baseline is the f32 cache, the optimization each smaller type —
// with the cache's bytes per token and the longest context that fits 2 GiB of cache. Optionally llama.cpp's
// llama-bench on the same GGUF file at the same depths and cache types (-d, -ctk, -ctv, flash attention on).
//
//   pnpm bench kv-cache-quantization [--quick] [--shapes 1b,3b] [--weights q4_0,q8_0] [--depths 0,2048,8192,16384]
//        [--decode-tokens N] [--runs N] [--threads N] [--model FILE.gguf] [--llama-bench PATH] [--peer-depths 8192]
//        [--peer-cache-types f16,q8_0,q4_0]
//        [--json] [--results DIR]
//   pnpm bench kv-cache-quantization --replot results/bench.json   (rewrite its markdown and chart, measuring nothing)
//
// Without --model the weights are random of the exact Llama 3.2 shapes (speed does not depend on the values). The
// context before the measured tokens is written straight into the cache (random keys and values, encoded in the
// cache's type as a forward pass would), so a 16k-token depth costs seconds, not a 16k-token prefill. Each
// (shape, weights) runs in its own process; inside it, at each depth, the cache types are measured in turn per run
// (interleaved), and the figures are medians over the runs.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { kvCacheBytesPerToken, kvCacheTokensWithin, type DenseKvCache } from "@infer-recipes/cache";
import { resolveOptionalUserPath } from "@infer-recipes/cli";
import { barChartSvg, createStepReporter, describeMachine, machineInfo, markdownTable, peakResidentBytes, reportJson, summarize, writeReportFiles, type Column, type HeadlineFigure, type MachineInfo, type ResultsRecord } from "@infer-recipes/harness";
import { cacheDTypes, createKernel, isCacheDType, type CacheDType, type DType } from "@infer-recipes/kernel";
import { LlamaModel, createRandom, llama32Config, loadModelWeights, randomLlamaWeights, type Llama32Size } from "@infer-recipes/models";

import { runLlamaBench, type PeerFigure } from "./llama-bench-peer.ts";
import { recipe } from "./recipe.ts";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
/** The cache budget the "longest context" column is computed for. */
const BUDGET_BYTES = 2 * 1024 ** 3;
/** Above this many bytes of caches alive at once, the types of one depth are filled and measured one after another. */
const INTERLEAVE_LIMIT_BYTES = 4 * 1024 ** 3;

/** One measured (shape, weights, cache type, depth). */
export interface BenchRow {
  shape: string;
  weights: string;
  cache_dtype: CacheDType;
  /** Positions in the cache before the measured tokens. */
  depth: number;
  decode_tokens: number;
  /** Median decode tokens/s over the runs. */
  tokens_per_s: number;
  tokens_per_s_min: number;
  tokens_per_s_max: number;
  /** This row's tokens/s ÷ the f32 cache's at the same depth. */
  speedup_over_f32: number;
  /** Keys and values of one token over all layers. */
  bytes_per_token: number;
  /** The longest context whose cache fits 2 GiB. */
  tokens_within_2_gib: number;
  /** Peak resident memory of the process (weights + every cache alive + scratch). */
  peak_memory_bytes: number;
  threads: number;
  /** Whether the cache types of this depth were measured interleaved run by run (false: one after another). */
  interleaved: boolean;
  /** llama.cpp's llama-bench on the same file, depth and cache type (when asked for with --llama-bench). */
  peer_tokens_per_s?: number;
  peer?: string;
}

interface Options {
  quick: boolean;
  shapes: Llama32Size[];
  weights: DType[];
  depths: number[];
  decodeTokens: number;
  runs: number;
  threads?: number;
  model?: string;
  llamaBench?: string;
  peerDepths: number[];
  peerCacheTypes: CacheDType[];
  json: boolean;
  results: string;
}

function parseOptions(argv: string[]): Options & { child?: string; replot?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, shapes: { type: "string" }, weights: { type: "string" }, depths: { type: "string" },
      "decode-tokens": { type: "string" }, runs: { type: "string" }, threads: { type: "string" }, model: { type: "string" },
      "llama-bench": { type: "string" }, "peer-depths": { type: "string" }, "peer-cache-types": { type: "string" }, json: { type: "boolean" }, results: { type: "string" },
      child: { type: "string" }, replot: { type: "string" },
    },
  });
  const quick = Boolean(values.quick);
  const integer = (name: string, text: string, minimum: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer ≥ ${minimum}, got "${text}"`);
    return value;
  };
  const list = (name: string, text: string) => text.split(",").map((item) => integer(name, item.trim(), 0));
  const shapes = (values.shapes ?? (quick ? "1b" : "1b,3b")).split(",") as Llama32Size[];
  for (const shape of shapes) if (shape !== "1b" && shape !== "3b") throw new Error(`--shapes takes 1b and 3b, got "${shape}"`);
  const weights = (values.weights ?? (quick ? "q4_0" : "q4_0,q8_0")).split(",") as DType[];
  for (const format of weights) if (!["f32", "f16", "bf16", "q8_0", "q4_0"].includes(format)) throw new Error(`--weights takes f32, f16, bf16, q8_0, q4_0, got "${format}"`);
  return {
    quick,
    shapes,
    weights,
    depths: list("depths", values.depths ?? (quick ? "0,2048" : "0,2048,8192,16384")),
    decodeTokens: integer("decode-tokens", values["decode-tokens"] ?? (quick ? "8" : "16"), 2),
    runs: integer("runs", values.runs ?? (quick ? "2" : "3"), 1),
    threads: values.threads === undefined ? undefined : integer("threads", values.threads, 1),
    model: resolveOptionalUserPath(values.model),
    llamaBench: resolveOptionalUserPath(values["llama-bench"]),
    peerDepths: list("peer-depths", values["peer-depths"] ?? "8192"),
    peerCacheTypes: (values["peer-cache-types"] ?? "f16,q8_0,q4_0").split(",").map((text) => {
      if (!isCacheDType(text)) throw new Error(`--peer-cache-types takes ${cacheDTypes.join(", ")}, got "${text}"`);
      return text;
    }),
    json: Boolean(values.json),
    results: resolveOptionalUserPath(values.results) ?? path.join(recipeDirectory, "results"),
    child: values.child,
    replot: values.replot,
  };
}

/** Writes `depth` positions of random keys and values into `cache` (every layer), as a prefill would leave it. */
function fillCache(cache: DenseKvCache, depth: number, seed: number): void {
  cache.reserve(depth + 1);
  const width = cache.keyValueHeadCount * cache.headDim;
  const chunk = 256;
  const random = createRandom(seed);
  const keys = new Float32Array(chunk * width), values = new Float32Array(chunk * width); // [chunk, kvHeads·headDim]
  for (let index = 0; index < keys.length; index++) {
    keys[index] = random() * 2 - 1;
    values[index] = random() * 2 - 1;
  }
  for (let start = 0; start < depth; start += chunk) {
    const count = Math.min(chunk, depth - start);
    for (let layer = 0; layer < cache.layerCount; layer++) cache.write(layer, start, keys.subarray(0, count * width), values.subarray(0, count * width));
    cache.length = start + count;
  }
}

/** Decodes `tokens` greedy-free steps (fixed ids: speed does not depend on them) at the cache's end; tokens/s. */
function decodeSpeed(model: LlamaModel, cache: DenseKvCache, depth: number, tokens: number): number {
  cache.truncate(depth);
  const started = performance.now();
  for (let step = 0; step < tokens; step++) model.forward(Int32Array.of((step * 7919 + 13) % model.config.vocabSize), cache);
  return (tokens / (performance.now() - started)) * 1000;
}

/** Child process: every cache type at every depth for one shape and weight format; prints one JSON row per line. */
function runChild(shape: Llama32Size, weights: DType, options: Options): void {
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const maxDepth = Math.max(...options.depths);
  const contextLength = maxDepth + options.decodeTokens + 2;
  const loaded = options.model
    ? loadModelWeights(options.model, { packFor: kernel })
    : randomLlamaWeights(llama32Config(shape, { contextLength }), weights, { packFor: kernel });
  const config = { ...loaded.config, contextLength: Math.max(loaded.config.contextLength, contextLength) };
  const model = LlamaModel.fromLoadedWeights({ ...loaded, config }, kernel);
  const shapeName = options.model ? path.basename(options.model) : shape;
  const weightName = options.model ? [...new Set([model.weights.layers[0].query.dtype, model.weights.layers[0].down.dtype])].join("/") : weights;
  for (const depth of options.depths) {
    const bytesAlive = cacheDTypes.reduce((sum, dtype) => sum + kvCacheBytesPerToken({ ...config, dtype }) * (depth + options.decodeTokens + 1), 0);
    const interleaved = bytesAlive <= INTERLEAVE_LIMIT_BYTES;
    const speeds = new Map<CacheDType, number[]>(cacheDTypes.map((dtype) => [dtype, []]));
    const measure = (dtype: CacheDType, cache: DenseKvCache, runs: number) => {
      for (let run = 0; run < runs; run++) speeds.get(dtype)!.push(decodeSpeed(model, cache, depth, options.decodeTokens));
    };
    const fresh = (dtype: CacheDType) => {
      const cache = model.createCache(depth + options.decodeTokens + 1, dtype);
      fillCache(cache, depth, depth + 1);
      decodeSpeed(model, cache, depth, 2); // warm-up
      return cache;
    };
    if (interleaved) {
      const caches = cacheDTypes.map((dtype) => [dtype, fresh(dtype)] as const);
      for (let run = 0; run < options.runs; run++) for (const [dtype, cache] of caches) measure(dtype, cache, 1);
    } else {
      for (const dtype of cacheDTypes) measure(dtype, fresh(dtype), options.runs);
    }
    const f32Median = summarize(speeds.get("f32")!).median;
    for (const dtype of cacheDTypes) {
      const summary = summarize(speeds.get(dtype)!);
      const layout = { ...config, dtype };
      const row: BenchRow = {
        shape: shapeName,
        weights: weightName,
        cache_dtype: dtype,
        depth,
        decode_tokens: options.decodeTokens,
        tokens_per_s: summary.median,
        tokens_per_s_min: summary.min,
        tokens_per_s_max: summary.max,
        speedup_over_f32: summary.median / f32Median,
        bytes_per_token: kvCacheBytesPerToken(layout),
        tokens_within_2_gib: kvCacheTokensWithin(BUDGET_BYTES, layout),
        peak_memory_bytes: peakResidentBytes(),
        threads: kernel.backend.threads,
        interleaved,
      };
      process.stdout.write(JSON.stringify(row) + "\n");
    }
  }
}

const columns: Column<BenchRow>[] = [
  { header: "shape", value: (row) => row.shape, align: "left" },
  { header: "weights", value: (row) => row.weights, align: "left" },
  { header: "depth", value: (row) => String(row.depth) },
  { header: "cache", value: (row) => row.cache_dtype, align: "left" },
  { header: "decode tok/s (min–max)", value: (row) => `${row.tokens_per_s.toFixed(2)} (${row.tokens_per_s_min.toFixed(2)}–${row.tokens_per_s_max.toFixed(2)})` },
  { header: "× f32 cache", value: (row) => `${row.speedup_over_f32.toFixed(2)}×` },
  { header: "llama.cpp tok/s", value: (row) => (row.peer_tokens_per_s === undefined ? "" : row.peer_tokens_per_s.toFixed(2)) },
  { header: "KiB / token", value: (row) => (row.bytes_per_token / 1024).toFixed(1) },
  { header: "tokens in 2 GiB", value: (row) => String(row.tokens_within_2_gib) },
  { header: "peak memory GB", value: (row) => (row.peak_memory_bytes / 1e9).toFixed(2) },
];

function report(rows: BenchRow[], options: Options, command: string, machine: MachineInfo): string {
  const model = options.model ?? "random weights of the Llama 3.2 shapes";
  const peer = rows.find((row) => row.peer)?.peer;
  return [
    `Model: ${model}. Machine: ${describeMachine(machine)}. Threads: ${rows[0]?.threads}. Date: ${machine.date}.`,
    `Command: \`${command}\`. Decode of ${options.decodeTokens} tokens after \`depth\` cached positions; medians of ${options.runs} runs, the cache types interleaved run by run` +
      `${rows.some((row) => !row.interleaved) ? " (except where the caches of one depth would not fit 4 GiB together: there one type after another)" : ""}.`,
    peer ? `Peer: ${peer}.` : "",
    "",
    markdownTable(rows, columns),
  ].filter((line, index) => index !== 2 || line !== "").join("\n");
}

function headline(rows: BenchRow[]): HeadlineFigure[] {
  const figures: HeadlineFigure[] = [];
  const deepest = Math.max(...rows.map((row) => row.depth));
  for (const dtype of ["q8_0", "q4_0"] as const) {
    const row = rows.find((candidate) => candidate.cache_dtype === dtype && candidate.depth === deepest);
    if (row) figures.push({ label: `decode at depth ${deepest} with the ${dtype} cache vs f32 (${row.shape}, ${row.weights})`, value: row.speedup_over_f32, unit: "×" });
    const any = rows.find((candidate) => candidate.cache_dtype === dtype);
    const f32 = rows.find((candidate) => candidate.cache_dtype === "f32");
    if (any && f32) figures.push({ label: `${dtype} cache bytes per token vs f32`, value: any.bytes_per_token / f32.bytes_per_token, unit: "×" });
  }
  return figures;
}

function writeResults(rows: BenchRow[], options: Options, command: string, machine: MachineInfo): void {
  const markdown = report(rows, options, command, machine);
  if (!options.json) process.stdout.write(markdown + "\n");
  const name = options.quick ? "bench-quick" : options.model ? "bench-model" : "bench";
  const record: ResultsRecord<BenchRow> = { machine, command, headline: headline(rows), rows };
  const series = [...new Set(rows.map((row) => `${row.shape} ${row.weights}, depth ${row.depth}`))];
  const colors: Record<CacheDType, string> = { f32: "#7f7f7f", f16: "#9bbfe0", bf16: "#5b8fc7", q8_0: "#1f5fa8", q4_0: "#0b2e5c" };
  writeReportFiles(options.results, {
    [`${name}.md`]: `# ${recipe.name} benchmark\n\n${markdown}\n\n![decode tokens/s by cache type and depth](${name}.svg)\n`,
    [`${name}.json`]: reportJson(record),
    [`${name}.svg`]: barChartSvg({
      title: `${recipe.name}: decode tok/s by context depth and KV cache type (${machine.date.slice(0, 10)}, ${describeMachine(machine)})`,
      unit: "tok/s",
      labels: series,
      series: cacheDTypes.map((dtype) => ({
        name: `${dtype} cache`,
        color: colors[dtype],
        values: series.map((label) => rows.find((row) => row.cache_dtype === dtype && `${row.shape} ${row.weights}, depth ${row.depth}` === label)?.tokens_per_s ?? NaN),
      })),
    }),
  });
  process.stderr.write(`wrote ${path.join(options.results, name)}.{md,json,svg}\n`);
}

/** --replot FILE: the report files again from a results JSON, measuring nothing. */
function replot(file: string, options: Options): void {
  const record = JSON.parse(readFileSync(path.resolve(process.env.INIT_CWD ?? process.cwd(), file), "utf8")) as ResultsRecord<BenchRow>;
  const recorded = parseOptions(record.command.split(/\s+/).slice(3));
  recorded.results = process.argv.includes("--results") ? options.results : path.dirname(path.resolve(process.env.INIT_CWD ?? process.cwd(), file));
  writeResults(record.rows, recorded, record.command, record.machine);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.replot !== undefined) return replot(options.replot, options);
  if (options.child !== undefined) {
    const [shape, weights] = options.child.split(":");
    return runChild(shape as Llama32Size, weights as DType, options);
  }
  const forwarded = process.argv.slice(2);
  const pairs = options.model ? [["model", "file"]] : options.shapes.flatMap((shape) => options.weights.map((weights) => [shape, weights]));
  const progress = createStepReporter(pairs.length + (options.llamaBench ? 1 : 0));
  const rows: BenchRow[] = [];
  for (const [shape, weights] of pairs) {
    progress(options.model ? `${options.model}: depths ${options.depths.join(", ")}` : `Llama 3.2 ${shape.toUpperCase()} shape, ${weights} weights: depths ${options.depths.join(", ")}`);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...forwarded, "--child", `${shape}:${weights}`], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`${shape} ${weights} failed (exit ${child.status})`);
    for (const line of child.stdout.trim().split("\n")) {
      const row = JSON.parse(line) as BenchRow;
      rows.push(row);
      process.stderr.write(`  depth ${row.depth}, ${row.cache_dtype}: ${row.tokens_per_s.toFixed(2)} tok/s (${row.speedup_over_f32.toFixed(2)}× f32)\n`);
    }
  }
  if (options.llamaBench) {
    if (!options.model) throw new Error("--llama-bench needs --model FILE.gguf: both engines run the same file");
    progress(`llama-bench at depths ${options.peerDepths.join(", ")}`);
    let peer: PeerFigure[] = [];
    try {
      peer = runLlamaBench(options.llamaBench, options.model, { depths: options.peerDepths, decodeTokens: options.decodeTokens, runs: options.runs, threads: rows[0]?.threads ?? 2, cacheTypes: options.peerCacheTypes });
    } catch (error) {
      // Our rows took minutes to measure: write them without the peer rather than lose them.
      process.stderr.write(`bench: ${(error as Error).message}; writing the results without llama.cpp's figures\n`);
    }
    for (const figure of peer) {
      const row = rows.find((candidate) => candidate.depth === figure.depth && candidate.cache_dtype === figure.cacheDType);
      if (row) Object.assign(row, { peer_tokens_per_s: figure.tokensPerSecond, peer: figure.description });
      else rows.push({ ...rows[0], cache_dtype: figure.cacheDType, depth: figure.depth, tokens_per_s: NaN, tokens_per_s_min: NaN, tokens_per_s_max: NaN, speedup_over_f32: NaN, peer_tokens_per_s: figure.tokensPerSecond, peer: figure.description });
    }
  }
  if (options.json) for (const row of rows) process.stdout.write(JSON.stringify(row) + "\n");
  const command = `pnpm bench ${recipe.name} ${forwarded.join(" ")}`.trim();
  writeResults(rows, options, command, machineInfo());
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
