// `pnpm bench peers-quality`: this project and llama.cpp (node-llama-cpp) on the same real tiny GGUF files
// (stories260K; TinyStories-656K converted by this project's converter, F32 and Q8_0): perplexity over a fixed prefix
// of the TinyStories validation text side by side, the per-position logits against each other, and greedy
// continuations of several prompts; pass/fail at 1% perplexity. Results go to benchmarks/results/peers-quality.*;
// the command exits 1 when a model fails, and says which files it needs when ../shared/models is absent.

import path from "node:path";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { machineInfo } from "@infer-recipes/harness";
import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import { createLlamaCppQualityEngine } from "./llama-cpp-quality-engine.ts";
import { createOurQualityEngine } from "./our-quality-engine.ts";
import { benchChatGlmQuality } from "./peers-quality-chatglm.ts";
import { writeQualityReport, qualityTable, type QualityRow } from "./peers-quality-report.ts";
import { compareEngines, type QualitySettings } from "./quality-comparison.ts";
import { ensureQualityModel, missingQualityInputs, missingQualityInputsMessage, qualityCacheDirectory, qualityModels } from "./quality-models.ts";
import { sharedModelFiles, sharedModelsDirectory } from "./shared-models.ts";

export const PEERS_QUALITY_USAGE = `  peers-quality  perplexity and greedy tokens of this project vs llama.cpp on stories260K and TinyStories-656K GGUF files
            --characters N       prefix of the evaluation text scored (default 32768)
            --window N           tokens per perplexity window (default: the model's context, at most 512)
            --greedy-tokens N    greedy tokens per prompt (default 256)
            --threads N          threads for both engines (default 2)
            --json               one JSON object per model on stdout
            --architecture chatglm   instead: tiny random chatglm GGUF files with ChatGLM3's vocabulary (F32, Q8_0);
                                 ChatGLM3's tokenizer vs llama.cpp's on a 200+ string corpus, logits and greedy tokens
                                 (--formats f32,q8_0, --tokens N, --greedy-tokens N, --threads N, --json)`;

/** Prompts whose greedy continuations are compared (stories begin like these in the training data). */
export const greedyPrompts = ["Once upon a time", "One day, a little girl named Lily", "Tom had a big red ball.", "The sun was shining and the birds were"];

const perplexityTolerance = 0.01;

function integerOption(text: string | undefined, fallback: number, option: string, minimum: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${option} must be an integer ≥ ${minimum}, got "${text}"`);
  return value;
}

function firstDifference(left: readonly number[], right: readonly number[]): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) if (left[index] !== right[index]) return index;
  return left.length === right.length ? -1 : length;
}

export async function benchPeersQuality(argv: string[], resultsDirectory: string): Promise<void> {
  const architecture = argv.includes("--architecture") ? argv[argv.indexOf("--architecture") + 1] : argv.find((argument) => argument.startsWith("--architecture="))?.split("=")[1];
  if (architecture === "chatglm") return benchChatGlmQuality(argv, resultsDirectory);
  if (architecture !== undefined && architecture !== "llama") throw new Error(`--architecture must be llama or chatglm, got "${architecture}"`);
  const { values } = parseArgs({
    args: argv,
    options: {
      characters: { type: "string" },
      window: { type: "string" },
      "greedy-tokens": { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean" },
      architecture: { type: "string" },
    },
  });
  const characters = integerOption(values.characters, 32768, "--characters", 16);
  const greedyTokens = integerOption(values["greedy-tokens"], 256, "--greedy-tokens", 1);
  const threads = integerOption(values.threads, 2, "--threads", 1);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const repositoryRoot = path.resolve(resultsDirectory, "../..");
  // Paths in the report are relative to the repository, so results read the same on every machine.
  const relativePaths = (text: string) =>
    text.split(sharedModelsDirectory).join(path.relative(repositoryRoot, sharedModelsDirectory)).split(qualityCacheDirectory).join(path.relative(repositoryRoot, qualityCacheDirectory));

  const models = qualityModels();
  const missing = missingQualityInputs();
  if (missing.length > 0) throw new Error(missingQualityInputsMessage(missing, sharedModelsDirectory));
  const text = readFileSync(sharedModelFiles.evaluationText, "utf8").slice(0, characters);

  const rows: QualityRow[] = [];
  const engines = { ours: "", peer: "" };
  const sources: string[] = [];
  let settings: QualitySettings | undefined;
  for (const model of models) {
    const file = ensureQualityModel(model);
    log(`${model.name} ${model.format}: ${relativePaths(file)}`);
    sources.push(`${model.name} ${model.format}: ${relativePaths(model.source)}`);
    const ours = createOurQualityEngine(file, 512);
    const { config, metadata } = ours.weights;
    const window = integerOption(values.window, Math.min(config.contextLength, 512), "--window", 2);
    if (window > config.contextLength) throw new Error(`--window ${window} is longer than ${model.name}'s context of ${config.contextLength} tokens`);
    const tokenizer = tokenizerFromGgufMetadata(metadata);
    const tokens = tokenizer.encode(text);
    const prompts = greedyPrompts.map((prompt) => ({ text: prompt, tokens: tokenizer.encode(prompt) }));
    const longestPrompt = Math.max(...prompts.map((prompt) => prompt.tokens.length));
    if (longestPrompt + greedyTokens > config.contextLength) throw new Error(`--greedy-tokens ${greedyTokens} do not fit ${model.name}'s context of ${config.contextLength} after a ${longestPrompt}-token prompt`);
    const contextSize = Math.max(window, longestPrompt + greedyTokens);
    const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize, vocabSize: config.vocabSize, threads });
    try {
      settings = { window, stride: Math.floor(window / 2), greedyTokens, perplexityTolerance };
      const peerTokens = await peer.tokenize!(text);
      const oursTokens = tokenizer.encode(text, { addSpecialTokens: false });
      const difference = firstDifference(oursTokens, peerTokens);
      if (difference >= 0) log(`  note: llama.cpp's tokenization differs from this project's at token ${difference} (both engines are fed this project's ids)`);
      const result = await compareEngines(ours, peer, tokens, config.vocabSize, prompts, settings, log);
      const row: QualityRow = { model: model.name, format: model.format, file: path.relative(repositoryRoot, file), vocab_size: config.vocabSize, tokenization_agrees: difference < 0, peer: "llama.cpp", ...result };
      rows.push(row);
      engines.ours = ours.description;
      engines.peer = peer.description;
      log(`  perplexity: ours ${row.ours_perplexity.toFixed(4)}, llama.cpp ${row.peer_perplexity.toFixed(4)}, ratio ${row.perplexity_ratio.toFixed(5)}; greedy agreement ${(row.greedy_agreement * 100).toFixed(1)}% → ${row.pass ? "pass" : "FAIL"}`);
      if (values.json) process.stdout.write(JSON.stringify(row) + "\n");
    } finally {
      await Promise.all([peer.close(), ours.close()]);
    }
  }
  const elapsedSeconds = (Date.now() - started) / 1000;
  const paths = writeQualityReport(resultsDirectory, "peers-quality", rows, {
    machine: machineInfo(),
    command: `pnpm bench peers-quality ${argv.join(" ")}`.trim(),
    engines,
    text: path.relative(repositoryRoot, sharedModelFiles.evaluationText),
    settings: { ...settings!, characters },
    prompts: greedyPrompts,
    sources,
    elapsedSeconds,
  });
  if (!values.json) process.stdout.write(qualityTable(rows) + "\n");
  log(`finished in ${elapsedSeconds.toFixed(0)} s; wrote ${paths.join(", ")}`);
  const failed = rows.filter((row) => !row.pass);
  if (failed.length > 0) {
    log(`perplexity differs by more than ${perplexityTolerance * 100}% (and greedy tokens differ) for ${failed.map((row) => `${row.model} ${row.format}`).join(", ")}`);
    process.exitCode = 1;
  }
}
