// Benchmark of this recipe, in one run, on the native kernels (SmolVLM-500M shapes with random weights unless
// --model is given; speed does not depend on the values):
//   1. image preprocessing: decode (sharp) and the Idefics3 processor at 1, 5 and 13 tiles;
//   2. the vision encoder, ms per 512² tile, with its matrices in f32, f16, bf16, q8_0 and q4_0 (GFLOP/s beside);
//   3. a whole question, through the same loading path as `pnpm recipe` (a GGUF pair written to a temporary
//      folder): time to first token for a 1-tile and a 4-tile (2×2 + global) image, decode tokens/s, and the time to
//      first token of a second question about the same image — with the image-embedding cache (a new conversation),
//      and with the cache plus the KV prefix (a chat follow-up);
//   4. with --llama-cpp-timing PATH (peer/mtmd-encode-timing built against llama.cpp, see README.md): llama.cpp's
//      encoder on the same mmproj files, beside ours.
// With --profile it only times one tile's encode op by op per weight type (kernel.OpProfile) and prints the tables.
// The targets are gates: the embedding cache makes a second question about the same image ≥ 5× faster to
// its first token, and (with --llama-cpp-timing) our encoder reaches ≥ 0.8× llama.cpp's throughput on the same f16
// mmproj; the command exits 1 when one is missed (the tables are written either way).
//
//   pnpm bench smolvlm-500m [--quick] [--runs N] [--threads N] [--size 500m|256m] [--image PATH]
//                           [--llama-cpp-timing PATH] [--json] [--results DIR] [--profile]

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import sharp from "sharp";

import { imageQuestion, loadVisionModel, prepareImage, resolveUserPath, visionPrompt, type VisionModel } from "@infer-recipes/cli";
import { generate } from "@infer-recipes/engine";
import {
  barChartSvg,
  createStepReporter,
  describeChecks,
  describeMachine,
  machineInfo,
  markdownTable,
  passes,
  reportJson,
  timeRepeatedly,
  writeReportFiles,
  type HeadlineFigure,
  type ResultsRecord,
  type ToleranceCheck,
} from "@infer-recipes/harness";
import { decodeImage, processIdefics3Image, smolVlmProcessorConfig } from "@infer-recipes/image";
import { createKernel, OpProfile, type DType, type Kernel } from "@infer-recipes/kernel";
import {
  ImageEmbeddingCache,
  loadMmprojGguf,
  randomIdefics3VisionWeights,
  randomLlamaWeights,
  SiglipVisionEncoder,
  smolVlmPresets,
  tinySmolVlmGgufTokenizerMetadata,
  tinySmolVlmVocabulary,
  writeGgufModel,
  writeMmprojGguf,
  type Idefics3VisionConfig,
  type SmolVlmSize,
} from "@infer-recipes/models";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedImage = path.resolve(recipeDirectory, "../../../shared/models/images/rocket.jpg");

interface Options {
  quick: boolean;
  runs: number;
  threads: number;
  size: SmolVlmSize;
  image?: string;
  llamaCppTiming?: string;
  json: boolean;
  results: string;
  profile: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, runs: { type: "string" }, threads: { type: "string" }, size: { type: "string" }, image: { type: "string" },
      "llama-cpp-timing": { type: "string" }, json: { type: "boolean" }, results: { type: "string" }, profile: { type: "boolean" },
    },
  });
  const integer = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return value;
  };
  const size = (values.size ?? "500m") as SmolVlmSize;
  if (!(size in smolVlmPresets)) throw new Error(`--size must be 500m or 256m, got "${values.size}"`);
  const quick = Boolean(values.quick);
  return {
    quick,
    runs: integer("runs", values.runs, quick ? 1 : 3),
    threads: integer("threads", values.threads, 2),
    size,
    image: values.image === undefined ? undefined : resolveUserPath(values.image),
    llamaCppTiming: values["llama-cpp-timing"] === undefined ? undefined : resolveUserPath(values["llama-cpp-timing"]),
    json: Boolean(values.json),
    results: values.results === undefined ? path.join(recipeDirectory, "results") : resolveUserPath(values.results),
    profile: Boolean(values.profile),
  };
}

/** Multiply-adds × 2 of one tile through the encoder and the connector. */
export function encoderFlopsPerTile(config: Idefics3VisionConfig): number {
  const patches = (config.imageSize / config.patchSize) ** 2;
  const hidden = config.hiddenSize;
  const patchEmbedding = patches * 3 * config.patchSize ** 2 * hidden;
  const perLayer = patches * (4 * hidden * hidden + 2 * hidden * config.intermediateSize) + 2 * patches * patches * hidden;
  const connector = (patches / config.scaleFactor ** 2) * hidden * config.scaleFactor ** 2 * config.projectionSize;
  return 2 * (patchEmbedding + config.layerCount * perLayer + connector);
}

/** One vision-encoder measurement: a weight dtype on one engine, per 512² tile. */
export interface EncoderRow {
  weights: DType;
  engine: "this project" | "llama.cpp";
  ms_per_tile: number;
  ms_per_tile_min: number;
  ms_per_tile_max: number;
  gflops: number;
  weight_bytes: number;
}

/** One end-to-end measurement: image, prefill and time to first token (and decode speed) of a question. */
export interface LatencyRow {
  measurement: string;
  tiles: number;
  prompt_tokens: number;
  image_ms: number;
  prefill_ms: number;
  time_to_first_token_ms: number;
  decode_tokens_per_s?: number;
  speedup?: number;
}

/** One preprocessing step's median time. */
export interface PreprocessingRow {
  step: string;
  tiles: number;
  ms: number;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function benchImage(options: Options): Promise<{ bytes: Uint8Array; label: string }> {
  const file = options.image ?? (fs.existsSync(sharedImage) ? sharedImage : undefined);
  if (file) return { bytes: fs.readFileSync(file), label: path.basename(file) };
  // A 640×427 photo-sized JPEG made here when ../shared is absent.
  const pixels = Buffer.alloc(640 * 427 * 3);
  for (let index = 0; index < 640 * 427; index++) pixels.set([(index % 640) % 256, (index / 640) % 256, (index * 13) % 256], index * 3);
  return { bytes: await sharp(pixels, { raw: { width: 640, height: 427, channels: 3 } }).jpeg({ quality: 90 }).toBuffer(), label: "a generated 640×427 JPEG" };
}

async function preprocessing(options: Options, image: Uint8Array): Promise<PreprocessingRow[]> {
  const rows: PreprocessingRow[] = [];
  const decode = await timeRepeatedly(() => decodeImage(image), { runs: options.runs });
  const decoded = await decodeImage(image);
  rows.push({ step: "decode (sharp)", tiles: 0, ms: round(decode.median) });
  for (const longestEdge of [512, 1024, 2048]) {
    const config = { ...smolVlmProcessorConfig, longestEdge };
    const processed = processIdefics3Image(decoded, config);
    const measured = await timeRepeatedly(() => processIdefics3Image(decoded, config), { runs: options.runs });
    rows.push({ step: `processor, longest edge ${longestEdge}`, tiles: processed.tileCount, ms: round(measured.median) });
  }
  return rows;
}

function randomTiles(tiles: number, size: number): Float32Array {
  let state = 7;
  return Float32Array.from({ length: tiles * 3 * size * size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  });
}

async function encoderRow(encoder: SiglipVisionEncoder, weights: DType, options: Options, tiles: number): Promise<EncoderRow> {
  const pixels = randomTiles(tiles, encoder.config.imageSize);
  const measured = await timeRepeatedly(() => encoder.encode(pixels, tiles, { tilesPerBatch: tiles }), { runs: options.runs });
  const weightBytes = [...encoder.weights.layers.flatMap((layer) => Object.values(layer)), encoder.weights.projection, encoder.weights.patchEmbedding].reduce((total, tensor) => total + tensor.data.byteLength, 0);
  return {
    weights,
    engine: "this project",
    ms_per_tile: round(measured.median / tiles),
    ms_per_tile_min: round(measured.min / tiles),
    ms_per_tile_max: round(measured.max / tiles),
    gflops: round(encoderFlopsPerTile(encoder.config) / (measured.median / tiles) / 1e6),
    weight_bytes: weightBytes,
  };
}

/** Writes the random model as llama.cpp's split form: text GGUF (Q8_0, the default file's type) + mmproj. */
function writeRandomPair(directory: string, size: SmolVlmSize, mmprojDType: DType, longestEdge: number, textLayers?: number): { text: string; mmproj: string } {
  const preset = smolVlmPresets[size];
  const vocabulary = tinySmolVlmVocabulary(preset.text.vocabSize);
  const textConfig = { ...preset.text, layerCount: textLayers ?? preset.text.layerCount, bosTokenId: vocabulary.beginTokenId, eosTokenIds: [vocabulary.endOfUtteranceId] };
  const text = path.join(directory, `text-${textConfig.layerCount}.gguf`);
  if (!fs.existsSync(text)) writeGgufModel(text, textConfig, randomLlamaWeights(textConfig, "q8_0").tensors, tinySmolVlmGgufTokenizerMetadata(vocabulary));
  const mmproj = path.join(directory, `mmproj-${mmprojDType}-${longestEdge}.gguf`);
  const vision = randomIdefics3VisionWeights(preset.vision, mmprojDType);
  writeMmprojGguf(mmproj, vision, { dtype: mmprojDType, processor: { longestEdge, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } });
  return { text, mmproj };
}

async function question(visionModel: VisionModel, image: Uint8Array, longestEdge: number, cache: ImageEmbeddingCache, decodeTokens: number) {
  const model = { ...visionModel, processor: { ...visionModel.processor, longestEdge } };
  const started = performance.now();
  const prepared = await prepareImage(model, { bytes: image, source: "bench" }, { cache });
  const imageMs = performance.now() - started;
  const prompt = visionPrompt(model, [imageQuestion(1, "What is in this image?")], [prepared]);
  const result = await generate(model.model.withImages(prompt.spans), prompt.ids, { temperature: 0, maxTokens: decodeTokens });
  return { prepared, prompt, result, imageMs, ttft: imageMs + result.timeToFirstTokenMs };
}

async function latencies(options: Options, kernel: Kernel, directory: string, image: Uint8Array, visionDType: DType): Promise<LatencyRow[]> {
  const { text, mmproj } = writeRandomPair(directory, options.size, visionDType, 2048);
  const visionModel = await loadVisionModel(text, { mmproj, kernel, progress: false });
  const rows: LatencyRow[] = [];
  const decodeTokens = options.quick ? 8 : 32;
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  for (const [label, longestEdge] of [["1-tile image (longest edge 512)", 512], ["4-tile image (2×2 + global, longest edge 1024)", 1024]] as const) {
    const firsts: Array<Awaited<ReturnType<typeof question>>> = [];
    const seconds: Array<Awaited<ReturnType<typeof question>>> = [];
    const followUps: number[] = [];
    for (let run = 0; run <= options.runs; run++) {
      const cache = new ImageEmbeddingCache();
      const first = await question(visionModel, image, longestEdge, cache, decodeTokens);
      const second = await question(visionModel, image, longestEdge, cache, 1);
      // A chat follow-up: the same conversation continues, its KV cache holds the image and the first answer.
      const model = { ...visionModel, processor: { ...visionModel.processor, longestEdge } };
      const followStart = performance.now();
      const again = await prepareImage(model, { bytes: image, source: "bench" }, { cache });
      const messages = [imageQuestion(1, "What is in this image?"), { role: "assistant", content: first.result.text }, { role: "user", content: "And what colour is it?" }];
      const prompt = visionPrompt(model, messages, [again]);
      const kv = first.result.cache;
      const reuse = Math.min(kv.length, prompt.ids.length - 1, commonPrefix(prompt.ids, [...first.prompt.ids, ...first.result.tokenIds]));
      kv.truncate(reuse);
      const follow = await generate(model.model.withImages(prompt.spans), prompt.ids, { temperature: 0, maxTokens: 1, cache: kv });
      if (run === 0) continue; // warm-up
      firsts.push(first);
      seconds.push(second);
      followUps.push(performance.now() - followStart - (follow.decodeMs ?? 0));
    }
    const first = firsts[firsts.length >> 1];
    const firstTtft = median(firsts.map((entry) => entry.ttft));
    rows.push({
      measurement: `first question, ${label}`,
      tiles: first.prepared.tileCount,
      prompt_tokens: first.prompt.ids.length,
      image_ms: round(median(firsts.map((entry) => entry.imageMs))),
      prefill_ms: round(median(firsts.map((entry) => entry.result.prefillMs))),
      time_to_first_token_ms: round(firstTtft),
      decode_tokens_per_s: round(median(firsts.map((entry) => entry.result.decodeTokensPerSecond)), 2),
    });
    const secondTtft = median(seconds.map((entry) => entry.ttft));
    rows.push({
      measurement: `second question, same image: embedding cache`,
      tiles: first.prepared.tileCount,
      prompt_tokens: first.prompt.ids.length,
      image_ms: round(median(seconds.map((entry) => entry.imageMs))),
      prefill_ms: round(median(seconds.map((entry) => entry.result.prefillMs))),
      time_to_first_token_ms: round(secondTtft),
      speedup: round(firstTtft / secondTtft, 1),
    });
    const followTtft = median(followUps);
    rows.push({
      measurement: `chat follow-up: embedding cache + KV prefix`,
      tiles: first.prepared.tileCount,
      prompt_tokens: first.prompt.ids.length,
      image_ms: 0,
      prefill_ms: round(followTtft),
      time_to_first_token_ms: round(followTtft),
      speedup: round(firstTtft / followTtft, 1),
    });
  }
  return rows;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

/** llama.cpp's encoder (peer/mtmd-encode-timing) and ours on the same mmproj files, one 512² tile at a time. */
async function llamaCppComparison(options: Options, kernel: Kernel, directory: string, dtypes: DType[]): Promise<EncoderRow[]> {
  const rows: EncoderRow[] = [];
  for (const dtype of dtypes) {
    const { text, mmproj } = writeRandomPair(directory, options.size, dtype, 512, 1);
    const output = execFileSync(options.llamaCppTiming!, [text, mmproj, "512", String(Math.max(2, options.runs)), String(options.threads)], { encoding: "utf8", maxBuffer: 1 << 20 });
    const timing = JSON.parse(output.trim().split("\n").at(-1)!) as { chunks: number; tokens: number; ms: number[] };
    const sorted = [...timing.ms].sort((a, b) => a - b);
    const config = smolVlmPresets[options.size].vision;
    const ours = await encoderRow(SiglipVisionEncoder.fromLoadedWeights(loadMmprojGguf(mmproj, { packFor: kernel }), kernel), dtype, options, 1);
    rows.push(ours);
    rows.push({
      weights: dtype,
      engine: "llama.cpp",
      ms_per_tile: round(sorted[sorted.length >> 1]),
      ms_per_tile_min: round(sorted[0]),
      ms_per_tile_max: round(sorted[sorted.length - 1]),
      gflops: round(encoderFlopsPerTile(config) / sorted[sorted.length >> 1] / 1e6),
      weight_bytes: fs.statSync(mmproj).size,
    });
    fs.rmSync(mmproj);
  }
  return rows;
}

/** One row of results/bench.json: a measurement of one of the four parts, named by `section`. */
export type BenchRow =
  | ({ section: "preprocessing" } & PreprocessingRow)
  | ({ section: "encoder" } & EncoderRow)
  | ({ section: "latency" } & LatencyRow)
  | ({ section: "llama.cpp" } & EncoderRow);

/** The figures the docs gallery shows first. */
function headline(encoderRows: EncoderRow[], latencyRows: LatencyRow[], peerRows: EncoderRow[], fastest: DType): HeadlineFigure[] {
  const figures: HeadlineFigure[] = [
    { label: `vision encoder, ${fastest} weights, per 512² tile`, value: encoderRows.find((row) => row.weights === fastest)!.ms_per_tile, unit: "ms" },
    { label: "time to first token, 1-tile image", value: latencyRows[0].time_to_first_token_ms, unit: "ms" },
    { label: "second question about the same image (embedding cache), faster by", value: latencyRows[1].speedup ?? 0, unit: "×" },
  ];
  for (const dtype of ["f16", "f32", "q8_0"] as const) {
    const ours = peerRows.find((row) => row.weights === dtype && row.engine === "this project");
    const theirs = peerRows.find((row) => row.weights === dtype && row.engine === "llama.cpp");
    if (ours && theirs) {
      figures.push({ label: `encoder throughput vs llama.cpp, same ${dtype} mmproj`, value: round(theirs.ms_per_tile / ours.ms_per_tile, 2), unit: "×" });
      break;
    }
  }
  return figures;
}

/** The targets as gates: the embedding cache's speed-up for each image, and the encoder against llama.cpp. */
export function targetChecks(latencyRows: readonly LatencyRow[], peerRows: readonly EncoderRow[]): ToleranceCheck[] {
  const checks: ToleranceCheck[] = latencyRows
    .filter((row) => row.measurement.startsWith("second question"))
    .map((row) => ({ what: `embedding cache, ${row.tiles} tile(s)`, metric: "time to first token ×", value: row.speedup ?? 0, limit: 5, kind: "min" as const }));
  const ours = peerRows.find((row) => row.weights === "f16" && row.engine === "this project");
  const theirs = peerRows.find((row) => row.weights === "f16" && row.engine === "llama.cpp");
  if (ours && theirs) checks.push({ what: "encoder vs llama.cpp, f16", metric: "throughput ratio", value: round(theirs.ms_per_tile / ours.ms_per_tile, 2), limit: 0.8, kind: "min" });
  return checks;
}

/** --profile: one 512² tile's encode (after a warm-up) op by op, per weight type, as markdown tables on stdout. */
function printEncoderProfile(options: Options, kernel: Kernel, dtypes: DType[]): void {
  const config = smolVlmPresets[options.size].vision;
  const pixels = randomTiles(1, config.imageSize);
  for (const dtype of dtypes) {
    const weights = SiglipVisionEncoder.fromLoadedWeights(randomIdefics3VisionWeights(config, dtype, { packFor: kernel }), kernel).weights;
    const profile = new OpProfile(kernel);
    const encoder = new SiglipVisionEncoder(config, weights, profile.kernel);
    encoder.encode(pixels, 1);
    profile.reset();
    const started = performance.now();
    encoder.encode(pixels, 1);
    const total = performance.now() - started;
    console.log(`\n### ${dtype} vision weights: ${round(total)} ms per tile, ${options.threads} thread(s)\n`);
    console.log(markdownTable(profile.entries(), [
      { header: "op", value: (entry) => entry.op, align: "left" },
      { header: "operands", value: (entry) => entry.operands, align: "left" },
      { header: "calls", value: (entry) => entry.calls },
      { header: "ms", value: (entry) => round(entry.milliseconds) },
      { header: "% of tile", value: (entry) => round((100 * entry.milliseconds) / total) },
      { header: "GFLOP/s", value: (entry) => (entry.flops > 0 ? round(entry.flops / entry.milliseconds / 1e6) : "") },
    ]));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const machine = machineInfo();
  const kernel = createKernel({ backend: "native", threads: options.threads });
  const dtypes: DType[] = options.quick ? ["f32", "q8_0"] : ["f32", "f16", "bf16", "q8_0", "q4_0"];
  if (options.profile) {
    printEncoderProfile(options, kernel, dtypes);
    return;
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "smolvlm-bench-"));
  const progress = createStepReporter(2 + dtypes.length + (options.llamaCppTiming ? 1 : 0));
  try {
    const { bytes, label } = await benchImage(options);
    progress(`preprocessing ${label}`);
    const preprocessingRows = await preprocessing(options, bytes);
    const config = smolVlmPresets[options.size].vision;
    const encoderRows: EncoderRow[] = [];
    for (const dtype of dtypes) {
      progress(`vision encoder, ${dtype} weights`);
      const encoder = SiglipVisionEncoder.fromLoadedWeights(randomIdefics3VisionWeights(config, dtype, { packFor: kernel }), kernel);
      encoderRows.push(await encoderRow(encoder, dtype, options, options.quick ? 2 : 4));
    }
    const fastest = [...encoderRows].filter((row) => row.weights !== "q4_0").sort((a, b) => a.ms_per_tile - b.ms_per_tile)[0].weights;
    progress(`whole questions (text Q8_0, vision ${fastest})`);
    const latencyRows = await latencies(options, kernel, directory, bytes, fastest);
    let peerRows: EncoderRow[] = [];
    if (options.llamaCppTiming) {
      progress("llama.cpp's encoder on the same mmproj files");
      peerRows = await llamaCppComparison(options, kernel, directory, options.quick ? ["f16"] : ["f32", "f16", "q8_0"]);
    }
    const command = `pnpm bench smolvlm-500m ${process.argv.slice(2).join(" ")}`.trim();
    const checks = targetChecks(latencyRows, peerRows);
    const record: ResultsRecord<BenchRow> & { image: string; vision_weights_for_questions: DType } = {
      machine,
      command,
      headline: headline(encoderRows, latencyRows, peerRows, fastest),
      checks,
      rows: [
        ...preprocessingRows.map((row) => ({ section: "preprocessing" as const, ...row })),
        ...encoderRows.map((row) => ({ section: "encoder" as const, ...row })),
        ...latencyRows.map((row) => ({ section: "latency" as const, ...row })),
        ...peerRows.map((row) => ({ section: "llama.cpp" as const, ...row })),
      ],
      image: label,
      vision_weights_for_questions: fastest,
    };
    if (options.json) {
      for (const row of [...preprocessingRows, ...encoderRows, ...latencyRows, ...peerRows]) process.stdout.write(`${JSON.stringify(row)}\n`);
    }
    const suffix = options.quick ? "-quick" : "";
    const markdown = [
      `Model: random weights, SmolVLM-${options.size.toUpperCase()} shapes (vision: SigLIP ${config.hiddenSize}×${config.layerCount} layers, ${config.imageSize}² tiles of ${config.patchSize}² patches). ` +
        `Machine: ${describeMachine(machine)}. Threads: ${options.threads}. Date: ${machine.date}. Image: ${label}.`,
      `Command: \`${command}\`. Medians of ${options.runs} run(s) after a warm-up.`,
      "",
      "Preprocessing:",
      "",
      markdownTable(preprocessingRows, [{ header: "step", value: (row) => row.step, align: "left" }, { header: "tiles", value: (row) => row.tiles || "" }, { header: "ms", value: (row) => row.ms }]),
      "",
      "Vision encoder (per 512² tile, encoder + connector):",
      "",
      markdownTable(encoderRows, [
        { header: "weights", value: (row) => row.weights, align: "left" },
        { header: "ms per tile (min–max)", value: (row) => `${row.ms_per_tile} (${row.ms_per_tile_min}–${row.ms_per_tile_max})` },
        { header: "GFLOP/s", value: (row) => row.gflops },
        { header: "weights MB", value: (row) => round(row.weight_bytes / 1e6) },
      ]),
      "",
      `Whole questions (language model Q8_0, vision ${fastest}, ${options.quick ? 8 : 32} tokens decoded):`,
      "",
      markdownTable(latencyRows, [
        { header: "measurement", value: (row) => row.measurement, align: "left" },
        { header: "tiles", value: (row) => row.tiles },
        { header: "prompt tokens", value: (row) => row.prompt_tokens },
        { header: "image ms", value: (row) => row.image_ms },
        { header: "prefill ms", value: (row) => row.prefill_ms },
        { header: "time to first token ms", value: (row) => row.time_to_first_token_ms },
        { header: "decode tok/s", value: (row) => row.decode_tokens_per_s ?? "" },
        { header: "× faster than the first question", value: (row) => (row.speedup === undefined ? "" : `${row.speedup}×`) },
      ]),
      ...(peerRows.length === 0
        ? []
        : [
            "",
            `Against llama.cpp (mtmd, same mmproj files, 512² tiles, ${options.threads} thread(s)):`,
            "",
            markdownTable(peerRows, [
              { header: "weights", value: (row) => row.weights, align: "left" },
              { header: "engine", value: (row) => row.engine, align: "left" },
              { header: "ms per tile (min–max)", value: (row) => `${row.ms_per_tile} (${row.ms_per_tile_min}–${row.ms_per_tile_max})` },
              { header: "GFLOP/s", value: (row) => row.gflops },
            ]),
          ]),
      "",
      "Targets:",
      "",
      "```",
      describeChecks(checks),
      "```",
      "",
    ].join("\n");
    const chart = barChartSvg({
      title: `SmolVLM vision encoder, ms per 512² tile (${options.threads} threads; lower is faster)`,
      unit: "ms",
      labels: dtypes,
      series: [
        { name: "this project", color: "#3b7dd8", values: dtypes.map((dtype) => encoderRows.find((row) => row.weights === dtype)!.ms_per_tile) },
        ...(peerRows.length === 0 ? [] : [{ name: "llama.cpp", color: "#d88a3b", values: dtypes.map((dtype) => peerRows.find((row) => row.weights === dtype && row.engine === "llama.cpp")?.ms_per_tile ?? Number.NaN) }]),
      ],
    });
    const latencyChart = barChartSvg({
      title: "Time to first token: first question vs a second question about the same image",
      unit: "ms",
      labels: latencyRows.map((row) => `${row.measurement.split(":")[0].replace(/, (1|4)-tile.*/, "")} (${row.tiles} tiles)`),
      series: [{ name: "time to first token", color: "#3b7dd8", values: latencyRows.map((row) => row.time_to_first_token_ms) }],
    });
    const written = writeReportFiles(options.results, {
      [`bench${suffix}.md`]: markdown,
      [`bench${suffix}.json`]: reportJson(record),
      [`bench${suffix}.svg`]: chart,
      [`bench-latency${suffix}.svg`]: latencyChart,
    });
    if (!options.json) process.stdout.write(`${markdown}\n`);
    process.stderr.write(`wrote ${written.join(", ")}\n`);
    const missed = checks.filter((check) => !passes(check));
    if (missed.length > 0) {
      process.stderr.write(`bench: ${missed.length} of ${checks.length} targets missed: ${missed.map((check) => check.what).join("; ")}\n`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("bench.ts")) await main();
