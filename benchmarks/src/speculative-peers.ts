// Speculative decoding side by side with llama.cpp, through node-llama-cpp's token predictors, on the same GGUF files
// with the same thread count and the same prompt token ids, greedy:
//   - target-only decoding;
//   - a draft model: ours at k = auto and k = 4; llama.cpp's DraftSequenceTokenPredictor with its defaults (up to 16
//     tokens while the draft's confidence stays ≥ 0.6) and with 4 tokens per step (minTokens = maxTokens = 4,
//     minConfidence 0);
//   - prompt lookup: ours (n-grams 3..1, k = auto) and llama.cpp's InputLookupTokenPredictor (defaults).
// Pairs: the real tiny pair stories260K (target) + llama2xs (draft, converted once from its llama2.c file to GGUF with
// stories260K's embedded tokenizer), and random-weight Llama 3.2 3B Q4_0 (target) + 1B Q4_0 (draft) files (the peer
// benchmark's, Llama 3 vocabulary; acceptance ≈ 0: the worst case). Each engine runs in its own process.
//
//   pnpm bench speculative-peers [--quick] [--threads N] [--runs N] [--tokens N] [--results DIR] [--json]

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { DenseModelSequence, ModelDrafter, PromptLookupDrafter, generate, speculativeGenerate, type Drafter } from "@infer-recipes/engine";
import { describeMachine, machineInfo, markdownTable, positiveIntegerOption, reportJson, summarize, writeReportFiles } from "@infer-recipes/harness";
import { createKernel } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights, readGguf, writeGgufModel, type GgufMetadataInput } from "@infer-recipes/models";
import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import type { LlamaContextSequence, Token, TokenPredictor } from "node-llama-cpp";

import { llamaTokens, loadLlamaCpp } from "./llama-cpp-peer.ts";
import { ensurePeerModelFile } from "./peer-model-files.ts";
import { peerVocabulary } from "./peer-vocabulary.ts";
import { sharedModelsDirectory } from "./shared-models.ts";

export const SPECULATIVE_PEERS_USAGE = `  speculative-peers  speculative decoding vs llama.cpp's token predictors (node-llama-cpp) on the same GGUF files:
            target-only, draft model, prompt lookup; stories260K + llama2xs and 3B + 1B Q4_0 (--quick: tiny pair only)
            --threads N (default 2)  --runs N (default 3)  --tokens N  --results DIR  --json`;

const cacheDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.cache/speculative");
const defaultResults = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../results");

type Pair = "tiny" | "3b";
type Engine = "ours" | "llama.cpp";

interface PairFiles {
  pair: Pair;
  description: string;
  target: string;
  draft: string;
  prompt: number[];
  tokens: number;
}

/** One configuration of one engine on one pair. */
export interface SpeculativePeerRow {
  pair: Pair;
  engine: Engine;
  configuration: string;
  decode_tokens_per_s: number;
  decode_tokens_per_s_min: number;
  decode_tokens_per_s_max: number;
  /** Accepted / drafted (ours) or validated / (validated + refuted) (llama.cpp); undefined without a drafter. */
  acceptance?: number;
  /** The generated ids (the same every run: greedy). */
  token_ids: number[];
  /** Its tokens equal its engine's own target-only output. */
  identical: boolean;
}

interface Options {
  quick: boolean;
  threads: number;
  runs: number;
  tokens?: number;
  results: string;
  json: boolean;
  worker?: Engine;
  pair?: Pair;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, threads: { type: "string" }, runs: { type: "string" }, tokens: { type: "string" },
      results: { type: "string" }, json: { type: "boolean" }, worker: { type: "string" }, pair: { type: "string" },
    },
  });
  const quick = Boolean(values.quick);
  return {
    quick,
    threads: positiveIntegerOption("threads", values.threads, 2),
    runs: positiveIntegerOption("runs", values.runs, quick ? 1 : 3),
    tokens: positiveIntegerOption("tokens", values.tokens, undefined),
    results: values.results ?? defaultResults,
    json: Boolean(values.json),
    worker: values.worker as Engine | undefined,
    pair: values.pair as Pair | undefined,
  };
}

/** llama2xs as GGUF, with stories260K's embedded tokenizer (the same tok512 vocabulary), written once. */
function tinyPairFiles(options: Options): PairFiles | string {
  const target = path.join(sharedModelsDirectory, "stories260K-gguf/stories260K.gguf");
  const draftSource = path.join(sharedModelsDirectory, "llama2xs-tok512/model.bin");
  const missing = [target, draftSource].filter((file) => !existsSync(file));
  if (missing.length > 0) return `missing ${missing.join(", ")}`;
  const targetWeights = loadModelWeights(target);
  const tokenizerMetadata = new Map<string, GgufMetadataInput>();
  for (const [key, value] of readGguf(target).typedMetadata()) if (key.startsWith("tokenizer.")) tokenizerMetadata.set(key, value);
  const draft = path.join(cacheDirectory, "llama2xs-tok512.gguf");
  if (!existsSync(draft)) {
    mkdirSync(cacheDirectory, { recursive: true });
    const weights = loadModelWeights(draftSource);
    writeGgufModel(draft, weights.config, new Map(weights.tensors), tokenizerMetadata);
  }
  const tokenizer = tokenizerFromGgufMetadata(targetWeights.metadata);
  return { pair: "tiny", description: `stories260K (${target}) + llama2xs (${draft}, from ${draftSource})`, target, draft, prompt: tokenizer.encode("Once upon a time"), tokens: options.tokens ?? (options.quick ? 32 : 128) };
}

function shapePairFiles(options: Options): PairFiles | string {
  const vocabulary = peerVocabulary(128256);
  const files = (["3b", "1b"] as const).map((shape) => ensurePeerModelFile(shape, "q4_0", { vocabulary: vocabulary.metadata, vocabularyKind: vocabulary.kind }));
  const skipped = files.find((file) => "skipped" in file);
  if (skipped && "skipped" in skipped) return skipped.skipped;
  const [target, draft] = files.map((file) => ("path" in file ? file.path : ""));
  const prompt = Array.from({ length: 32 }, (_, index) => (index * 7919 + 13) % 128000);
  return { pair: "3b", description: `Llama 3.2 3B Q4_0 (${target}) + 1B Q4_0 (${draft}), random weights`, target, draft, prompt, tokens: options.tokens ?? 32 };
}

// ---- the workers --------------------------------------------------------------------------------------------------

function row(pair: Pair, engine: Engine, configuration: string, speeds: number[], tokenIds: number[], expected: number[] | undefined, acceptance?: number): SpeculativePeerRow {
  const summary = summarize(speeds);
  return {
    pair, engine, configuration,
    decode_tokens_per_s: summary.median, decode_tokens_per_s_min: summary.min, decode_tokens_per_s_max: summary.max,
    acceptance, token_ids: tokenIds, identical: expected === undefined || JSON.stringify(tokenIds) === JSON.stringify(expected),
  };
}

async function ourWorker(files: PairFiles, options: Options): Promise<SpeculativePeerRow[]> {
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const target = LlamaModel.fromLoadedWeights(loadModelWeights(files.target, { packFor: kernel }), kernel);
  const draft = LlamaModel.fromLoadedWeights(loadModelWeights(files.draft, { packFor: kernel }), kernel);
  const draftModel = () => new ModelDrafter(new DenseModelSequence(draft, draft.createCache(files.prompt.length + files.tokens + 16)));
  const configurations: Array<[string, number | "auto", (() => Drafter) | undefined]> = [
    ["target-only", "auto", undefined],
    ["draft model, k = auto", "auto", draftModel],
    ["draft model, k = 4", 4, draftModel],
    ["prompt lookup, k = auto", "auto", () => new PromptLookupDrafter()],
  ];
  const rows: SpeculativePeerRow[] = [];
  let expected: number[] | undefined;
  for (const [name, draftTokens, drafter] of configurations) {
    const speeds: number[] = [];
    let tokenIds: number[] = [];
    let acceptance: number | undefined;
    for (let run = 0; run <= options.runs; run++) {
      const cache = target.createCache(files.prompt.length + files.tokens + 16);
      const result = drafter
        ? await speculativeGenerate(target, files.prompt, { drafter: drafter(), draftTokens, maxTokens: files.tokens, cache })
        : await generate(target, files.prompt, { maxTokens: files.tokens, cache });
      tokenIds = result.tokenIds;
      if ("speculation" in result) acceptance = (result.speculation as { acceptanceRate: number }).acceptanceRate;
      if (run > 0) speeds.push(result.decodeTokensPerSecond);
    }
    expected ??= tokenIds;
    rows.push(row(files.pair, "ours", name, speeds, tokenIds, expected, acceptance));
  }
  return rows;
}

async function llamaCppWorker(files: PairFiles, options: Options): Promise<SpeculativePeerRow[]> {
  const loaded = await loadLlamaCpp();
  if (loaded.llama === undefined) throw new Error(loaded.reason);
  const { llama } = loaded;
  const { DraftSequenceTokenPredictor, InputLookupTokenPredictor } = await import("node-llama-cpp");
  const contextSize = files.prompt.length + files.tokens + 64;
  const target = await llama.loadModel({ modelPath: files.target, gpuLayers: 0, useMmap: false });
  const draft = await llama.loadModel({ modelPath: files.draft, gpuLayers: 0, useMmap: false });
  const configurations: Array<[string, (() => Promise<TokenPredictor>) | undefined]> = [
    ["target-only", undefined],
    ["draft model, DraftSequenceTokenPredictor defaults (≤ 16 tokens, confidence ≥ 0.6)", async () => new DraftSequenceTokenPredictor((await draft.createContext({ contextSize, threads: options.threads })).getSequence())],
    ["draft model, DraftSequenceTokenPredictor 4 tokens per step", async () => new DraftSequenceTokenPredictor((await draft.createContext({ contextSize, threads: options.threads })).getSequence(), { minTokens: 4, maxTokens: 4, minConfidence: 0 })],
    ["prompt lookup, InputLookupTokenPredictor defaults", async () => new InputLookupTokenPredictor()],
  ];
  const rows: SpeculativePeerRow[] = [];
  let expected: number[] | undefined;
  for (const [name, predictor] of configurations) {
    process.stderr.write(`    llama.cpp: ${name}\n`);
    const context = await target.createContext({ contextSize, threads: options.threads, sequences: 1 });
    const sequence: LlamaContextSequence = context.getSequence(predictor ? { tokenPredictor: await predictor() } : undefined);
    const speeds: number[] = [];
    let tokenIds: number[] = [];
    for (let run = 0; run <= options.runs; run++) {
      await sequence.clearHistory();
      const generated: number[] = [];
      let decodeStart = 0;
      for await (const token of sequence.evaluate(llamaTokens(files.prompt), { temperature: 0, yieldEogToken: true })) {
        if (generated.length === 0) decodeStart = performance.now();
        generated.push(token as number);
        if (generated.length === files.tokens) break;
      }
      const decodeMs = performance.now() - decodeStart;
      tokenIds = generated;
      if (run > 0) speeds.push(((generated.length - 1) / decodeMs) * 1000);
    }
    const predictions = sequence.tokenPredictions;
    const acceptance = predictor && predictions.validated + predictions.refuted > 0 ? predictions.validated / (predictions.validated + predictions.refuted) : undefined;
    expected ??= tokenIds;
    rows.push(row(files.pair, "llama.cpp", name, speeds, tokenIds, expected, acceptance));
  }
  // No dispose(): the worker process ends right after reporting (node-llama-cpp's dispose of a sequence with a token
  // predictor did not settle here, which let the process exit before it reported).
  return rows;
}

function pairFiles(pair: Pair, options: Options): PairFiles | string {
  return pair === "tiny" ? tinyPairFiles(options) : shapePairFiles(options);
}

// ---- the parent ---------------------------------------------------------------------------------------------------

/** Runs the comparison; returns the markdown section (also written to the results directory). */
export async function benchSpeculativePeers(argv: string[]): Promise<string> {
  const options = parseOptions(argv);
  if (options.worker) {
    const files = pairFiles(options.pair!, options);
    if (typeof files === "string") throw new Error(files);
    const rows = options.worker === "ours" ? await ourWorker(files, options) : await llamaCppWorker(files, options);
    process.stdout.write(JSON.stringify(rows) + "\n", () => process.exit(0));
    return "";
  }
  const loaded = await loadLlamaCpp();
  if (loaded.llama === undefined) {
    const message = `llama.cpp comparison skipped: ${loaded.reason}`;
    process.stderr.write(`${message}\n`);
    return message;
  }
  const rows: SpeculativePeerRow[] = [];
  const described: string[] = [];
  const skipped: string[] = [];
  for (const pair of options.quick ? (["tiny"] as const) : (["tiny", "3b"] as const)) {
    const files = pairFiles(pair, options);
    if (typeof files === "string") {
      skipped.push(`${pair}: ${files}`);
      continue;
    }
    described.push(`${files.description}; prompt ${files.prompt.length} tokens, ${files.tokens} generated`);
    for (const engine of ["ours", "llama.cpp"] as const) {
      process.stderr.write(`  ${pair}: ${engine}\n`);
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv, "--worker", engine, "--pair", pair], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 * 1024 * 1024,
      });
      if (child.status !== 0) throw new Error(`${engine} on ${pair} failed (exit ${child.status})`);
      rows.push(...(JSON.parse(child.stdout.trim().split("\n").at(-1)!) as SpeculativePeerRow[]));
    }
  }
  const machine = machineInfo();
  const baseline = (entry: SpeculativePeerRow) => rows.find((other) => other.pair === entry.pair && other.engine === entry.engine && other.configuration === "target-only")!;
  const sameAcrossEngines = (entry: SpeculativePeerRow) => {
    const other = rows.find((candidate) => candidate.pair === entry.pair && candidate.engine !== entry.engine && candidate.configuration === "target-only");
    return other ? JSON.stringify(other.token_ids) === JSON.stringify(entry.token_ids) : false;
  };
  const markdown = [
    `Machine: ${describeMachine(machine)}. Threads: ${options.threads} (both engines; llama.cpp's draft context too). Date: ${machine.date}.`,
    `${loaded.description}. Greedy, same prompt token ids; medians of ${options.runs} runs after a warm-up.`,
    ...described.map((line) => `- ${line}`),
    ...skipped.map((line) => `- skipped ${line}`),
    "",
    markdownTable(rows, [
      { header: "pair", value: (entry) => (entry.pair === "tiny" ? "stories260K + llama2xs" : "3B + 1B Q4_0"), align: "left" },
      { header: "engine", value: (entry) => entry.engine, align: "left" },
      { header: "configuration", value: (entry) => entry.configuration, align: "left" },
      { header: "acceptance", value: (entry) => (entry.acceptance === undefined ? "—" : `${(entry.acceptance * 100).toFixed(1)}%`) },
      { header: "decode tok/s (min–max)", value: (entry) => `${entry.decode_tokens_per_s.toFixed(1)} (${entry.decode_tokens_per_s_min.toFixed(1)}–${entry.decode_tokens_per_s_max.toFixed(1)})` },
      { header: "× own target-only", value: (entry) => `${(entry.decode_tokens_per_s / baseline(entry).decode_tokens_per_s).toFixed(2)}×` },
      { header: "= own target-only", value: (entry) => (entry.identical ? "yes" : "no") },
      { header: "target-only ids = other engine's", value: (entry) => (entry.configuration === "target-only" ? (sameAcrossEngines(entry) ? "yes" : "no") : "") },
    ]),
  ].join("\n");
  writeReportFiles(options.results, {
    "speculative-peers.md": `# Speculative decoding vs llama.cpp (node-llama-cpp token predictors)\n\n${markdown}\n`,
    "speculative-peers.json": reportJson({ machine, command: `pnpm bench speculative-peers ${argv.join(" ")}`.trim(), llama_cpp: loaded.description, threads: options.threads, rows }),
  });
  if (options.json) for (const entry of rows) process.stdout.write(JSON.stringify(entry) + "\n");
  return markdown;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchSpeculativePeers(process.argv.slice(2))
    .then((markdown) => {
      if (markdown && !process.argv.includes("--worker") && !process.argv.includes("--json")) process.stdout.write(markdown + "\n");
    })
    .catch((error: Error) => {
      process.stderr.write(`speculative-peers: ${error.message}\n`);
      process.exit(1);
    });
}
