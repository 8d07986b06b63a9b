// Accuracy of this recipe's optimized paths against the reference: the plain-TypeScript kernels with f32 weights
// and the whole text in one forward pass (no KV cache) define the expected logits; each optimized configuration
// (native kernels with the KV cache, in f32, Q8_0 and Q4_0) runs the same text through chunked prefill and then
// one token at a time, exactly as generation does. Exits non-zero when any metric leaves its tolerance.
//
//   pnpm accuracy llama-3.2-3b [--model PATH] [--text FILE] [--tokens N] [--greedy-tokens N] [--json] [--results DIR]
//
// Defaults: TinyStories-656K and the TinyStories validation text from ../shared/models when present, otherwise a
// tiny random Llama 3.2 and a generated token sequence (say so in the output). The figures and gates are written to
// results/accuracy.{md,json} (accuracy-random.* on the random fallback, accuracy-model.* with --model).

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { resolveOptionalUserPath } from "@infer-recipes/cli";
import { cachedLogits, greedyTokens } from "@infer-recipes/engine";
import {
  describeChecks,
  describeMachine,
  machineInfo,
  markdownTable,
  optimizedPathChecks,
  passes,
  perplexity,
  reportJson,
  writeReportFiles,
  type Column,
  type HeadlineFigure,
  type OptimizedPathRow,
  type ResultsRecord,
  type ToleranceCheck,
} from "@infer-recipes/harness";
import { createKernel, nativeAvailability, type BackendName, type DType } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights, randomLlamaTensors, tinyLlamaConfig, writeHfModel, type LoadedWeights } from "@infer-recipes/models";
import { loadHfTokenizer, tokenizerFromGgufMetadata, type TextTokenizer } from "@infer-recipes/tokenizer";

import { recipe } from "./recipe.ts";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");

interface OptimizedConfiguration {
  name: string;
  backend: BackendName;
  dtype: DType;
  /** Tolerances, stated per configuration: f32 must match to rounding; quantized formats within a KL/perplexity budget. */
  tolerances: { maxAbsDiff?: number; meanKl: number; perplexityRatio: number; top1: number; greedy: number };
}

const CONFIGURATIONS: OptimizedConfiguration[] = [
  { name: "native f32 + KV cache", backend: "native", dtype: "f32", tolerances: { maxAbsDiff: 2e-3, meanKl: 1e-6, perplexityRatio: 1.0001, top1: 1, greedy: 1 } },
  { name: "native Q8_0 + KV cache", backend: "native", dtype: "q8_0", tolerances: { meanKl: 5e-3, perplexityRatio: 1.02, top1: 0.95, greedy: 0.9 } },
  // 4-bit weights cost a tiny model far more than a 3B one (TinyStories-656K: KL ≈ 0.1, perplexity +15%); the
  // budget is set for the tiny models this runs on by default and still catches a broken kernel (KL ≫ 1).
  { name: "native Q4_0 + KV cache", backend: "native", dtype: "q4_0", tolerances: { meanKl: 0.15, perplexityRatio: 1.25, top1: 0.7, greedy: 0.15 } },
];

type AccuracyRow = OptimizedPathRow;

interface Inputs {
  description: string;
  /** A random model's next-token distributions are near uniform: which token is top-1 is decided by noise-level
   *  differences, so top-1 and greedy agreement of quantized weights say nothing there and are reported, not gated. */
  nearUniform: boolean;
  load: (dtype: DType) => LoadedWeights;
  tokens: number[];
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" }, text: { type: "string" }, tokens: { type: "string" }, "greedy-tokens": { type: "string" },
      json: { type: "boolean" }, results: { type: "string" },
    },
  });
  const count = (name: string, text: string | undefined, fallback: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 2) throw new Error(`--${name} must be an integer ≥ 2, got "${text}"`);
    return value;
  };
  return {
    model: resolveOptionalUserPath(values.model),
    text: resolveOptionalUserPath(values.text),
    tokens: count("tokens", values.tokens, 256),
    greedyTokens: count("greedy-tokens", values["greedy-tokens"], 32),
    json: Boolean(values.json),
    results: values.results === undefined ? path.join(recipeDirectory, "results") : path.resolve(process.env.INIT_CWD ?? process.cwd(), values.results),
  };
}

async function tokenizerFor(loaded: LoadedWeights): Promise<TextTokenizer | undefined> {
  if (loaded.source.format === "gguf" && loaded.metadata.has("tokenizer.ggml.tokens")) return tokenizerFromGgufMetadata(loaded.metadata);
  if (loaded.source.format === "safetensors" && existsSync(path.join(loaded.source.path, "tokenizer.json"))) return loadHfTokenizer(loaded.source.path);
  return undefined;
}

async function inputs(options: ReturnType<typeof parseOptions>): Promise<Inputs> {
  let modelPath = options.model;
  let description: string;
  let nearUniform = false;
  if (!modelPath) {
    const tinyStories = path.join(sharedModels, "tinystories-656k-hf");
    if (existsSync(tinyStories)) {
      modelPath = tinyStories;
      description = `TinyStories-656K (${tinyStories})`;
    } else {
      // No shared models: a tiny random Llama 3.2 written to a temporary folder.
      const directory = path.join(process.env.TMPDIR ?? "/tmp", `accuracy-tiny-llama-${process.pid}`);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(directory, { recursive: true });
      const config = tinyLlamaConfig({ hiddenSize: 64, intermediateSize: 192, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16, vocabSize: 256, contextLength: 512, ropeTheta: 500000, tiedEmbeddings: true });
      writeHfModel(directory, config, randomLlamaTensors(config, 11));
      modelPath = directory;
      description = `a tiny random Llama 3.2 (../shared/models absent: ${sharedModels})`;
      nearUniform = true;
    }
  } else description = modelPath;
  const path_ = modelPath;
  const load = (dtype: DType) => loadModelWeights(path_, { dtype });
  const reference = load("f32");
  const vocabSize = reference.config.vocabSize;
  const textFile = options.text ?? path.join(sharedModels, "eval-text/tinystories_validation_head.txt");
  const tokenizer = await tokenizerFor(reference);
  let tokens: number[];
  if (tokenizer && existsSync(textFile)) {
    tokens = tokenizer.encode(readFileSync(textFile, "utf8")).slice(0, options.tokens);
    description += `; text: first ${tokens.length} tokens of ${textFile}`;
  } else {
    tokens = Array.from({ length: options.tokens }, (_, index) => (index * 7919 + 13) % vocabSize);
    description += `; text: ${tokens.length} generated token ids (no tokenizer or text file)`;
  }
  return { description, nearUniform, load, tokens };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const { description, nearUniform, load, tokens } = await inputs(options);
  process.stderr.write(`accuracy of ${recipe.name}'s optimized paths on ${description}\n`);
  const referenceWeights = load("f32");
  const reference = LlamaModel.fromLoadedWeights(referenceWeights, createKernel({ backend: "reference" }));
  const vocab = referenceWeights.config.vocabSize;
  const start = referenceWeights.config.bosTokenId ?? tokens[0];
  process.stderr.write("reference: TypeScript kernels, f32, whole text in one pass\n");
  const referenceLogits = reference.forward(Int32Array.from(tokens), reference.createCache(tokens.length + 1), { allLogits: true }).data as Float32Array;
  const referencePerplexity = perplexity(referenceLogits, tokens, vocab).perplexity;
  const referenceGreedy = greedyTokens(reference, [start], options.greedyTokens);

  const available = nativeAvailability().available;
  const checks: ToleranceCheck[] = [];
  const notes: string[] = [];
  const rows: AccuracyRow[] = [];
  for (const configuration of CONFIGURATIONS) {
    if (configuration.backend === "native" && !available) {
      process.stderr.write(`skipping ${configuration.name}: native kernels unavailable\n`);
      continue;
    }
    process.stderr.write(`${configuration.name}\n`);
    const model = LlamaModel.fromLoadedWeights(load(configuration.dtype), createKernel({ backend: configuration.backend }));
    const result = optimizedPathChecks({
      what: configuration.name,
      referenceLogits,
      logits: cachedLogits(model, tokens),
      tokens,
      vocabSize: vocab,
      referenceGreedy,
      greedy: greedyTokens(model, [start], options.greedyTokens),
      tolerances: configuration.tolerances,
      agreementReportedOnly: nearUniform && configuration.dtype !== "f32",
    });
    checks.push(...result.checks);
    if (result.note) notes.push(result.note);
    rows.push(result.row);
  }
  const ok = checks.every(passes);
  if (options.json) for (const row of rows) process.stdout.write(JSON.stringify(row) + "\n");
  else {
    process.stdout.write(`reference perplexity ${referencePerplexity.toFixed(4)} over ${tokens.length} tokens\n${describeChecks(checks)}\n`);
    for (const note of notes) process.stdout.write(`note  ${note}\n`);
  }
  writeResults(rows, checks, notes, description, options);
  process.stderr.write(ok ? "accuracy: all metrics within tolerance\n" : "accuracy: FAILED — a metric left its tolerance\n");
  process.exitCode = ok ? 0 : 1;
}

const columns: Column<AccuracyRow>[] = [
  { header: "configuration", value: (row) => row.configuration, align: "left" },
  { header: "logits max-abs-diff", value: (row) => row.max_abs_diff.toExponential(1) },
  { header: "mean KL divergence", value: (row) => row.mean_kl_divergence.toExponential(1) },
  { header: "perplexity (ratio)", value: (row) => `${row.perplexity.toFixed(2)} (${(row.perplexity / row.reference_perplexity).toFixed(4)})` },
  { header: "top-1 agreement", value: (row) => `${(row.top1_agreement * 100).toFixed(1)}%` },
  { header: "greedy agreement", value: (row) => `${(row.greedy_agreement * 100).toFixed(1)}%` },
];

/** The figures the docs gallery shows first: how far each quantized format moves the next-token distribution. */
function headline(rows: AccuracyRow[], checks: ToleranceCheck[]): HeadlineFigure[] {
  const figures: HeadlineFigure[] = rows
    .filter((row) => !row.configuration.includes("f32"))
    .map((row) => ({ label: `${row.configuration}: mean KL divergence from the f32 reference`, value: row.mean_kl_divergence, unit: "" }));
  figures.push({ label: "tolerance gates passed", value: checks.filter(passes).length, unit: `of ${checks.length}` });
  return figures;
}

/** Writes accuracy.{md,json} (or the -random / -model variants) into the results directory. */
function writeResults(rows: AccuracyRow[], checks: ToleranceCheck[], notes: string[], description: string, options: ReturnType<typeof parseOptions>): void {
  const name = options.model ? "accuracy-model" : description.includes("tiny random") ? "accuracy-random" : "accuracy";
  const machine = machineInfo();
  const command = [`pnpm accuracy ${recipe.name}`, ...process.argv.slice(2).filter((argument, index, all) => argument !== "--results" && all[index - 1] !== "--results")].join(" ");
  const record: ResultsRecord<AccuracyRow> = { machine, command, headline: headline(rows, checks), rows, checks };
  const markdown = [
    `# ${recipe.name} accuracy`,
    "",
    `Inputs: ${description.replaceAll(sharedModels, "../shared/models")}. Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\`.`,
    "",
    markdownTable(rows, columns),
    "",
    "```",
    describeChecks(checks),
    ...notes.map((note) => `note  ${note}`),
    "```",
    "",
  ].join("\n");
  writeReportFiles(options.results, { [`${name}.md`]: markdown, [`${name}.json`]: reportJson(record) });
  process.stderr.write(`wrote ${path.join(options.results, name)}.{md,json}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`accuracy: ${error.message}\n`);
  process.exit(1);
});
