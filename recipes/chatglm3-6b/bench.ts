// Benchmark of this recipe, in one run:
//   1. Multi-turn chat: time to first token of turns 1..N of one conversation, with the KV cache kept between turns
//      (each turn prefills only its new message) and without (each turn prefills the whole conversation again), on
//      random weights of the ChatGLM3-6B shape (or --model). Both conversations run on the same model in one process,
//      turn by turn interleaved (turn 1 without, turn 1 with, turn 2 without, …), so noise falls on both alike and
//      their greedy replies can be compared.
//   2. Against llama.cpp: `pnpm bench peers --architecture chatglm` — ChatGLM3-6B-shape random-weight GGUF files,
//      Q8_0 and Q4_0, 1 and 2 threads, prefill 512 and decode 128 tokens, both engines on the same files (written to
//      --files-directory, default benchmarks/.cache/peers-chatglm3-6b, ignored by git, and deleted afterwards unless
//      --keep-files).
//
//   pnpm bench chatglm3-6b [--model PATH] [--format q8_0|q4_0] [--layers N] [--turns N] [--reply-tokens N]
//                          [--threads N] [--skip-peers] [--peers-args "..."] [--files-directory DIR] [--keep-files]
//                          [--quick] [--json] [--results DIR]

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { ChatSession, type TextModel } from "@infer-recipes/cli";
import {
  barChartSvg,
  describeMachine,
  machineInfo,
  markdownTable,
  peakResidentBytes,
  reportJson,
  writeReportFiles,
  type Column,
  type HeadlineFigure,
  type ResultsRecord,
} from "@infer-recipes/harness";
import { createKernel, type DType } from "@infer-recipes/kernel";
import { LlamaModel, glmConfig, llamaDecodeBytes, llamaWeightBytes, loadModelWeights, randomLlamaWeights, tinyChatGlmGgufTokenizerMetadata } from "@infer-recipes/models";
import { chatGlm3ChatTemplate, compileChatTemplate, loadChatGlm3Tokenizer, tokenizerFromGgufMetadata, type TextTokenizer } from "@infer-recipes/tokenizer";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const repository = path.resolve(recipeDirectory, "../..");
const chatGlm3TokenizerModel = path.resolve(repository, "../shared/models/chatglm3-tokenizer/tokenizer.model");
/** Where the peer comparison's 3.6–6.6 GB files go by default: a folder of their own in the benchmarks' (ignored) cache. */
const defaultFilesDirectory = path.join(repository, "benchmarks/.cache/peers-chatglm3-6b");

/** The user turns of the benchmark conversation (replies are the model's own, greedy, of a fixed length). */
const USER_TURNS = [
  "你好！我想了解一下长城的历史，它是什么时候开始修建的？",
  "Can you summarize that in English, in two sentences?",
  "长城有多长？不同朝代修建的部分有什么区别？",
  "Which parts are best to visit from Beijing, and when?",
  "请写一首关于长城的五言绝句。",
  "Now translate the poem into English, keeping the rhythm if you can.",
  "What materials were used to build the Ming-era walls?",
  "最后，请给我列一个参观长城的注意事项清单。",
  "Thanks! One more: how was the wall defended in practice?",
  "谢谢你的耐心解答。",
];

interface Options {
  model?: string;
  format: DType;
  layers: number;
  turns: number;
  replyTokens: number;
  threads?: number;
  skipPeers: boolean;
  peersArgs: string[];
  filesDirectory: string;
  keepFiles: boolean;
  quick: boolean;
  json: boolean;
  results: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, format: { type: "string" }, layers: { type: "string" }, turns: { type: "string" }, "reply-tokens": { type: "string" },
      threads: { type: "string" }, "skip-peers": { type: "boolean" }, "peers-args": { type: "string" }, "files-directory": { type: "string" },
      "keep-files": { type: "boolean" }, quick: { type: "boolean" }, json: { type: "boolean" }, results: { type: "string" },
    },
  });
  const integer = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return value;
  };
  const quick = Boolean(values.quick);
  const format = (values.format ?? "q4_0") as DType;
  if (format !== "q8_0" && format !== "q4_0" && format !== "f32") throw new Error(`--format must be q8_0, q4_0 or f32, got "${values.format}"`);
  const base = process.env.INIT_CWD ?? process.cwd();
  const turns = integer("turns", values.turns, quick ? 3 : 8);
  if (turns > USER_TURNS.length) throw new Error(`--turns must be at most ${USER_TURNS.length}, got ${turns}`);
  return {
    model: values.model === undefined ? undefined : path.resolve(base, values.model),
    format,
    layers: integer("layers", values.layers, quick ? 2 : 28),
    turns,
    replyTokens: integer("reply-tokens", values["reply-tokens"], quick ? 8 : 32),
    threads: values.threads === undefined ? undefined : integer("threads", values.threads, 1),
    skipPeers: Boolean(values["skip-peers"]) || quick,
    peersArgs: values["peers-args"]?.split(/\s+/).filter(Boolean) ?? [],
    filesDirectory: values["files-directory"] === undefined ? defaultFilesDirectory : path.resolve(base, values["files-directory"]),
    keepFiles: Boolean(values["keep-files"]),
    quick,
    json: Boolean(values.json),
    results: values.results === undefined ? path.join(recipeDirectory, "results") : path.resolve(base, values.results),
  };
}

export interface TurnRow {
  configuration: string;
  reuse: boolean;
  turn: number;
  prompt_tokens: number;
  prefilled_tokens: number;
  time_to_first_token_ms: number;
  reply_tokens: number;
  decode_tokens_per_s: number;
  reply_token_ids: number[];
  threads: number;
  weight_bytes: number;
  peak_memory_bytes: number;
}

const CONFIGURATIONS = [
  { name: "without reuse: every turn prefills the whole conversation", reuse: false },
  { name: "with reuse: the KV cache is kept between turns", reuse: true },
];

/** The model the conversation runs on: --model, or random weights of the ChatGLM3-6B shape with ChatGLM3's tokenizer. */
function chatModel(options: Options): { textModel: TextModel; description: string } {
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const started = performance.now();
  const loaded = options.model
    ? loadModelWeights(options.model, { dtype: options.format === "f32" ? undefined : options.format, packFor: kernel })
    : randomLlamaWeights(glmConfig("chatglm3-6b", { layers: options.layers }), options.format, { packFor: kernel });
  const model = LlamaModel.fromLoadedWeights(loaded, kernel);
  let tokenizer: TextTokenizer;
  if (options.model === undefined && existsSync(chatGlm3TokenizerModel)) tokenizer = loadChatGlm3Tokenizer(chatGlm3TokenizerModel, { vocabSize: loaded.config.vocabSize });
  else if (options.model === undefined) tokenizer = tokenizerFromGgufMetadata(tinyChatGlmGgufTokenizerMetadata(loaded.config.vocabSize));
  else if (loaded.source.format === "gguf") tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
  else tokenizer = loadChatGlm3Tokenizer(loaded.source.path, { vocabSize: loaded.config.vocabSize });
  const description = options.model ?? `random ${options.format.toUpperCase()} weights of the ChatGLM3-6B shape, ${options.layers} of 28 layers, ChatGLM3's tokenizer`;
  const textModel: TextModel = {
    model,
    tokenizer,
    chatTemplate: compileChatTemplate(chatGlm3ChatTemplate),
    kernel,
    resolved: { format: "gguf", source: "path", path: description, directory: recipeDirectory, weightFiles: [], files: [] },
    loaded,
    weightBytes: llamaWeightBytes(model.weights),
    decodeBytes: llamaDecodeBytes(model.weights),
    stopTokenIds: [],
    loadMilliseconds: performance.now() - started,
  };
  return { textModel, description };
}

/** Both conversations on one model, turn by turn interleaved, after a warm-up turn each. */
async function runConversations(options: Options): Promise<TurnRow[]> {
  const { textModel } = chatModel(options);
  const greedy = { temperature: 0, maxTokens: options.replyTokens };
  const sessions = CONFIGURATIONS.map((configuration) => ({ configuration, session: new ChatSession(textModel, { reuseCache: configuration.reuse }) }));
  for (const { configuration } of sessions) await new ChatSession(textModel, { reuseCache: configuration.reuse }).send("warm-up", { temperature: 0, maxTokens: 2 });
  const rows: TurnRow[] = [];
  for (let turn = 0; turn < options.turns; turn++) {
    for (const { configuration, session } of sessions) {
      const result = await session.send(USER_TURNS[turn], greedy);
      rows.push({
        configuration: configuration.name,
        reuse: configuration.reuse,
        turn: turn + 1,
        prompt_tokens: result.promptTokens,
        prefilled_tokens: result.promptTokens - result.reusedTokens,
        time_to_first_token_ms: result.result.timeToFirstTokenMs,
        reply_tokens: result.result.tokenIds.length,
        decode_tokens_per_s: result.result.decodeTokensPerSecond,
        reply_token_ids: result.result.tokenIds,
        threads: textModel.kernel.threads,
        weight_bytes: textModel.weightBytes,
        peak_memory_bytes: peakResidentBytes(),
      });
      process.stderr.write(`  turn ${turn + 1} ${configuration.reuse ? "with" : "without"} reuse: ${result.promptTokens} prompt tokens, ${result.promptTokens - result.reusedTokens} prefilled, first token after ${result.result.timeToFirstTokenMs.toFixed(0)} ms\n`);
    }
  }
  return rows;
}

/** One row of the peer comparison's report (benchmarks/src/peer-rows.ts), the fields this report uses. */
interface PeerComparisonRow {
  format: string;
  threads: number;
  phase: "prefill" | "decode";
  tokens: number;
  ours_tokens_per_s: number;
  peer_tokens_per_s: number;
  ratio: number;
}

/** 2. The peer comparison, its files outside the repository, deleted afterwards unless asked to keep them. */
function runPeers(options: Options): { table?: string; rows: PeerComparisonRow[]; command: string } {
  // Within the shared machine's ~8 GB courtesy budget, a 6.6 GB Q8_0 file is measured with one engine loaded at a time.
  const args = ["peers", "--architecture", "chatglm", "--memory-budget", "8", "--cache-directory", options.filesDirectory, "--results", options.results, ...options.peersArgs];
  const command = `pnpm bench ${args.join(" ")}`;
  process.stderr.write(`${command}\n`);
  mkdirSync(options.filesDirectory, { recursive: true });
  try {
    const run = spawnSync(process.execPath, [path.join(repository, "scripts/bench.mjs"), ...args], { cwd: repository, stdio: ["ignore", "inherit", "inherit"] });
    if (run.status !== 0) throw new Error(`the peer comparison failed (exit ${run.status})`);
  } finally {
    if (!options.keepFiles) rmSync(options.filesDirectory, { recursive: true, force: true });
  }
  const markdown = path.join(options.results, "peers-chatglm.md");
  const json = path.join(options.results, "peers-chatglm.json");
  return {
    table: existsSync(markdown) ? readFileSync(markdown, "utf8") : undefined,
    rows: existsSync(json) ? (JSON.parse(readFileSync(json, "utf8")) as { rows: PeerComparisonRow[] }).rows : [],
    command,
  };
}

/** The peer comparison's ratios as headline figures: ours ÷ llama.cpp per format, phase and thread count. */
function peerHeadline(rows: readonly PeerComparisonRow[]): HeadlineFigure[] {
  return rows.map((row) => ({ label: `${row.format.toUpperCase()} ${row.phase} ${row.tokens}, ${row.threads} thread${row.threads === 1 ? "" : "s"}: this project ÷ llama.cpp (${row.ours_tokens_per_s.toFixed(1)} vs ${row.peer_tokens_per_s.toFixed(1)} tok/s)`, value: row.ratio, unit: "×" }));
}

const turnColumns: Column<{ turn: number; without: TurnRow; with: TurnRow }>[] = [
  { header: "turn", value: (row) => row.turn },
  { header: "prompt tokens", value: (row) => row.with.prompt_tokens },
  { header: "prefilled without / with reuse", value: (row) => `${row.without.prefilled_tokens} / ${row.with.prefilled_tokens}` },
  { header: "TTFT without reuse (ms)", value: (row) => row.without.time_to_first_token_ms.toFixed(0) },
  { header: "TTFT with reuse (ms)", value: (row) => row.with.time_to_first_token_ms.toFixed(0) },
  { header: "speed-up", value: (row) => `${(row.without.time_to_first_token_ms / row.with.time_to_first_token_ms).toFixed(1)}×` },
  { header: "same reply", value: (row) => (row.without.reply_token_ids.join(",") === row.with.reply_token_ids.join(",") ? "yes" : "**no**"), align: "left" },
];

/** The figures the docs gallery shows first: the last turn's time to first token with and without reuse. */
function headline(turns: ReadonlyArray<{ turn: number; without: TurnRow; with: TurnRow }>): HeadlineFigure[] {
  const last = turns[turns.length - 1];
  return [
    { label: `time to first token of turn ${last.turn}, KV cache kept between turns`, value: last.with.time_to_first_token_ms, unit: "ms" },
    { label: `time to first token of turn ${last.turn}, whole conversation prefilled again`, value: last.without.time_to_first_token_ms, unit: "ms" },
    { label: `turn ${last.turn} speed-up from reusing the cache`, value: last.without.time_to_first_token_ms / last.with.time_to_first_token_ms, unit: "×" },
  ];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const rows = await runConversations(options);
  const turns = Array.from({ length: options.turns }, (_, index) => ({
    turn: index + 1,
    without: rows.find((row) => !row.reuse && row.turn === index + 1)!,
    with: rows.find((row) => row.reuse && row.turn === index + 1)!,
  }));
  if (options.json) for (const row of rows) process.stdout.write(JSON.stringify(row) + "\n");
  const machine = machineInfo();
  const command = `pnpm bench chatglm3-6b ${argv.join(" ")}`.trim();
  const model = options.model ?? `random ${options.format.toUpperCase()} weights of the ChatGLM3-6B shape (${options.layers} of 28 layers) with ChatGLM3's tokenizer`;
  const multiTurn = [
    `Model: ${model}. Machine: ${describeMachine(machine)}. Threads: ${rows[0].threads}. Date: ${machine.date}.`,
    `Command: \`${command}\`. ${options.turns} user turns of a Chinese/English conversation, ${options.replyTokens}-token greedy replies; both conversations on the same model in one process, turn by turn interleaved, after a warm-up turn each.`,
    "",
    markdownTable(turns, turnColumns),
  ].join("\n");
  if (!options.json) process.stdout.write(`${multiTurn}\n`);
  const peers = options.skipPeers ? undefined : runPeers(options);
  const name = options.quick ? "bench-quick" : options.model ? "bench-model" : "bench";
  writeReportFiles(options.results, {
    [`${name}.md`]: `# chatglm3-6b benchmark\n\n## Multi-turn time to first token\n\n${multiTurn}\n\n![time to first token by turn](${name}.svg)\n` +
      (peers?.table ? `\n## Against llama.cpp\n\nCommand: \`${peers.command}\`\n\n${peers.table}\n` : ""),
    [`${name}.json`]: reportJson({
      machine,
      command,
      headline: [...headline(turns), ...peerHeadline(peers?.rows ?? [])],
      rows: [...rows.map((row) => ({ kind: "multi-turn", ...row })), ...(peers?.rows ?? []).map((row) => ({ kind: "against llama.cpp", ...row }))],
    } satisfies ResultsRecord),
    [`${name}.svg`]: barChartSvg({
      title: "chatglm3-6b: time to first token by turn",
      unit: "ms",
      labels: turns.map((row) => `turn ${row.turn} (${row.with.prompt_tokens} prompt tokens)`),
      series: [
        { name: "without reuse", color: "#7aa6d8", values: turns.map((row) => row.without.time_to_first_token_ms) },
        { name: "with reuse", color: "#1f5fa8", values: turns.map((row) => row.with.time_to_first_token_ms) },
      ],
    }),
  });
  process.stderr.write(`wrote ${path.join(options.results, name)}.{md,json,svg}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
