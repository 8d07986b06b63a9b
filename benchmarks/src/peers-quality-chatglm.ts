// `pnpm bench peers-quality --architecture chatglm`: llama.cpp (node-llama-cpp) as the second oracle of the GLM
// architecture. On tiny random-weight GGUF files of llama.cpp's `chatglm` architecture with ChatGLM3's real vocabulary
// and a head size and rope base like ChatGLM3-6B's (chatglm-quality.ts), F32 and Q8_0: this project's tokenizer
// against llama.cpp's on a 200+ string mixed corpus, and both engines' logits over the corpus text (perplexity, KL,
// top-1) and greedy continuations of chat prompts. Results go to benchmarks/results/peers-quality-chatglm.{md,json};
// the command exits 1 when a file fails.

import { parseArgs } from "node:util";

import { describeMachine, machineInfo, markdownTable, reportJson, writeReportFiles, type Column } from "@infer-recipes/harness";
import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import { chatGlm3TokenizerModel, chatGlmOracleConfig, compareTokenizations, ensureChatGlmOracleModel, type ChatGlmOracleFormat } from "./chatglm-quality.ts";
import { tokenizerCorpus } from "./chatglm-tokenizer-corpus.ts";
import { createLlamaCppQualityEngine } from "./llama-cpp-quality-engine.ts";
import { loadLlamaCpp } from "./llama-cpp-peer.ts";
import { createOurQualityEngine } from "./our-quality-engine.ts";
import { qualityTable, type QualityRow } from "./peers-quality-report.ts";
import { compareEngines, type QualitySettings } from "./quality-comparison.ts";
import { missingFiles } from "./shared-models.ts";

/** Chat prompts in ChatGLM3's format whose greedy continuations are compared. */
export const chatGlmGreedyPrompts = [
  "[gMASK]sop<|user|>\n 你好，请介绍一下你自己。<|assistant|>",
  "[gMASK]sop<|user|>\n Write a haiku about the sea.<|assistant|>",
  "[gMASK]sop<|system|>\n You are a helpful assistant.<|user|>\n 用 Python 写一个快速排序。<|assistant|>",
];

export interface ChatGlmQualityRow extends QualityRow {
  tokenizer_strings: number;
  /** Each string tokenized with special tokens parsed and spelled out. */
  tokenizer_comparisons: number;
  tokenizer_agreeing: number;
  tokenizer_round_trips: number;
  /** Up to 5 strings whose tokenizations differ, for the report. */
  tokenizer_mismatch_examples: Array<{ text: string; special_tokens: boolean; ours: number[]; peer: number[] }>;
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

const tokenizerColumns: Column<ChatGlmQualityRow>[] = [
  { header: "file", value: (row) => `${row.model} ${row.format}`, align: "left" },
  { header: "strings", value: (row) => row.tokenizer_strings },
  { header: "tokenizations equal to llama.cpp's", value: (row) => `${row.tokenizer_agreeing} / ${row.tokenizer_comparisons}` },
  { header: "round trips", value: (row) => `${row.tokenizer_round_trips} / ${row.tokenizer_strings}` },
];

export async function benchChatGlmQuality(argv: string[], resultsDirectory: string): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      architecture: { type: "string" },
      formats: { type: "string" },
      tokens: { type: "string" },
      "greedy-tokens": { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const integer = (text: string | undefined, fallback: number, option: string) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 2) throw new Error(`${option} must be an integer ≥ 2, got "${text}"`);
    return value;
  };
  const formats = (values.formats ?? "f32,q8_0").split(",").map((format) => format.trim()) as ChatGlmOracleFormat[];
  for (const format of formats) if (format !== "f32" && format !== "q8_0") throw new Error(`--formats: "${format}" is not one of f32, q8_0`);
  const tokenCount = integer(values.tokens, 384, "--tokens");
  const greedyTokens = integer(values["greedy-tokens"], 24, "--greedy-tokens");
  const threads = integer(values.threads, 2, "--threads");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();

  const missing = missingFiles([chatGlm3TokenizerModel]);
  if (missing.length > 0) throw new Error(`peers-quality --architecture chatglm needs ChatGLM3's vocabulary: missing ${missing.join(", ")}`);
  const llamaCpp = await loadLlamaCpp();
  if (llamaCpp.llama === undefined) throw new Error(`${llamaCpp.reason}\nThe comparison needs llama.cpp: run pnpm install (node-llama-cpp installs its prebuilt binary from npm).`);

  const corpus = tokenizerCorpus();
  const settings: QualitySettings = { window: 256, stride: 128, greedyTokens, perplexityTolerance: 0.01 };
  const rows: ChatGlmQualityRow[] = [];
  const engines = { ours: "", peer: "" };
  for (const format of formats) {
    const file = ensureChatGlmOracleModel(format);
    log(`tiny random ChatGLM3 ${format}: ${file}`);
    const ours = createOurQualityEngine(file, settings.window);
    const contextSize = Math.max(settings.window, 64 + greedyTokens);
    const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize, vocabSize: chatGlmOracleConfig.vocabSize, threads });
    try {
      const tokenizer = tokenizerFromGgufMetadata(ours.weights.metadata);
      const tokenizerResult = await compareTokenizations(tokenizer, (text, special) => peer.tokenize!(text, special), corpus);
      log(`  tokenizer: ${tokenizerResult.agreeing} / ${tokenizerResult.comparisons} tokenizations equal to llama.cpp's, ${tokenizerResult.roundTrips} / ${corpus.length} round trips`);
      const tokens = tokenizer.encode(corpus.join("\n"), { addSpecialTokens: false }).slice(0, tokenCount);
      const prompts = chatGlmGreedyPrompts.map((text) => ({ text, tokens: tokenizer.encode(text) }));
      const result = await compareEngines(ours, peer, tokens, chatGlmOracleConfig.vocabSize, prompts, settings, log);
      const tokenizerPasses = tokenizerResult.agreeing === tokenizerResult.comparisons && tokenizerResult.roundTripFailures.length === 0;
      const row: ChatGlmQualityRow = {
        model: "tiny random ChatGLM3",
        format,
        file,
        vocab_size: chatGlmOracleConfig.vocabSize,
        tokenization_agrees: tokenizerPasses,
        peer: "llama.cpp",
        ...result,
        pass: result.pass && tokenizerPasses,
        tokenizer_strings: tokenizerResult.strings,
        tokenizer_comparisons: tokenizerResult.comparisons,
        tokenizer_agreeing: tokenizerResult.agreeing,
        tokenizer_round_trips: tokenizerResult.roundTrips,
        tokenizer_mismatch_examples: tokenizerResult.mismatches.slice(0, 5).map((mismatch) => ({ text: mismatch.text, special_tokens: mismatch.specialTokens, ours: mismatch.ours, peer: mismatch.peer })),
      };
      rows.push(row);
      engines.ours = ours.description;
      engines.peer = peer.description;
      log(`  perplexity ratio ${row.perplexity_ratio.toFixed(5)}, mean KL ${row.mean_kl_divergence.toExponential(2)}, top-1 ${percent(row.top1_agreement)}, greedy ${percent(row.greedy_agreement)} → ${row.pass ? "pass" : "FAIL"}`);
      if (values.json) process.stdout.write(JSON.stringify(row) + "\n");
    } finally {
      await Promise.all([peer.close(), ours.close()]);
    }
  }
  const machine = machineInfo();
  const command = `pnpm bench peers-quality ${argv.join(" ")}`.trim();
  const elapsedSeconds = (Date.now() - started) / 1000;
  const config = chatGlmOracleConfig;
  const markdown = [
    "# Quality: this project vs llama.cpp on ChatGLM3-architecture GGUF files",
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\` (${elapsedSeconds.toFixed(0)} s).`,
    "",
    `- ours: ${engines.ours}`,
    `- llama.cpp: ${engines.peer}`,
    `- files: tiny random-weight GGUF files of llama.cpp's chatglm architecture written by this project's writer: ${config.layerCount} layers, hidden ${config.hiddenSize}, ${config.headCount} query heads of ${config.headDim} in ${config.keyValueHeadCount} key/value group, RoPE on ${config.rotaryDim} dimensions with base ${config.ropeTheta} (as ChatGLM3-6B), ffn ${config.intermediateSize}, ChatGLM3's real vocabulary of ${config.vocabSize} (from chatglm3-tokenizer/tokenizer.model)`,
    `- tokenizer: ${corpus.length} Chinese/English/code/emoji/whitespace strings (benchmarks/src/chatglm-tokenizer-corpus.ts), each tokenized with special tokens parsed and spelled out, against llama.cpp's tokenization of the file's vocabulary; round trip: decode(encode(text)) = text`,
    `- logits: the first ${tokenCount} tokens of the corpus joined by newlines, windows of ${settings.window} every ${settings.stride}; KL is KL(llama.cpp ‖ ours) per scored position. Greedy: ${greedyTokens} tokens after each of ${chatGlmGreedyPrompts.length} chat prompts.`,
    "",
    markdownTable(rows, tokenizerColumns),
    "",
    qualityTable(rows),
    "",
  ].join("\n");
  const paths = writeReportFiles(resultsDirectory, {
    "peers-quality-chatglm.md": markdown,
    "peers-quality-chatglm.json": reportJson({ machine, command, engines, settings, corpusStrings: corpus.length, rows }),
  });
  if (!values.json) process.stdout.write(`${markdownTable(rows, tokenizerColumns)}\n\n${qualityTable(rows)}\n`);
  log(`finished in ${elapsedSeconds.toFixed(0)} s; wrote ${paths.join(", ")}`);
  if (rows.some((row) => !row.pass)) process.exitCode = 1;
}
