// Accuracy of this recipe, against references it did not write, with a gate per metric (exit code 1 outside):
//   1. preprocessing vs Pillow (packages/image/reference: transformers' Idefics3ImageProcessor steps computed with
//      Pillow) on the images of ../shared/models/images: tile layout and count exact, pixels within 1 level;
//   2. the whole pipeline vs llama.cpp's mtmd (test/fixtures/llama-cpp) on a tiny random model written by this
//      project's writers: prompt layout, exact-tile embeddings, last logits, greedy tokens — on every backend;
//   3. the native backend vs the TypeScript reference on a tiny random model: embeddings, logits, greedy answer;
//   4. quantized vision weights (f16, bf16, q8_0, q4_0) vs f32: relative error of the embeddings at SmolVLM-500M's
//      real encoder shapes (random weights), and the KL divergence of the answer's logits on the tiny model.
//
//   pnpm accuracy smolvlm-500m [--json] [--results DIR]
// Writes results/accuracy.{md,json} (every check with its tolerance, the notes, headline figures).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { resolveUserPath } from "@infer-recipes/cli";
import {
  describeChecks,
  describeMachine,
  klDivergence,
  machineInfo,
  passes,
  reportJson,
  writeReportFiles,
  type HeadlineFigure,
  type ResultsRecord,
  type ToleranceCheck,
} from "@infer-recipes/harness";
import { compareWithPillowReference, loadPillowReference, processIdefics3Image, readImageFile, smolVlmProcessorConfig } from "@infer-recipes/image";
import { createKernel, nativeAvailability, type BackendName, type DType, type Kernel } from "@infer-recipes/kernel";
import {
  convertTensorDType,
  Idefics3Model,
  loadIdefics3HfModel,
  randomIdefics3Tensors,
  randomIdefics3VisionWeights,
  SiglipVisionEncoder,
  smolVlmPresets,
  tinyIdefics3Config,
  writeIdefics3HfModel,
} from "@infer-recipes/models";

import { compareOracleCase, fixtureWeightsDigest, maxAbsDiff, oracleImages, writeOracleModel } from "./test/fixtures/llama-cpp/oracle-comparison.ts";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const imagesDirectory = path.resolve(recipeDirectory, "../../../shared/models/images");
const { values } = parseArgs({ options: { json: { type: "boolean" }, results: { type: "string" } } });
const resultsDirectory = values.results === undefined ? path.join(recipeDirectory, "results") : resolveUserPath(values.results);
const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const checks: ToleranceCheck[] = [];
const notes: string[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

/** 1. Preprocessing against Pillow. */
async function preprocessing(): Promise<void> {
  const reference = loadPillowReference();
  const missing = reference.images.map((image) => path.join(imagesDirectory, image.file)).filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    notes.push(`preprocessing vs Pillow skipped: missing ${missing.join(", ")} (the images of ../shared/models/images)`);
    return;
  }
  for (const entry of reference.images) {
    log(`preprocessing ${entry.file}`);
    const processed = processIdefics3Image(await readImageFile(path.join(imagesDirectory, entry.file)), smolVlmProcessorConfig);
    const comparison = compareWithPillowReference(processed, entry, smolVlmProcessorConfig, reference.samples_per_tile);
    notes.push(`${entry.file}: ${comparison.actualLayout} (Pillow: ${comparison.expectedLayout}); ${comparison.identicalTiles}/${comparison.tileCount} tiles byte-identical to Pillow's`);
    checks.push({ what: `processor ${entry.file}`, metric: "layout matches (1 = yes)", value: comparison.layoutMatches ? 1 : 0, limit: 1, kind: "min" });
    checks.push({ what: `processor ${entry.file}`, metric: "max |diff| (levels)", value: comparison.maxAbsDiffLevels, limit: 1, kind: "max" });
  }
}

/** 2. The pipeline against llama.cpp's fixtures. */
async function llamaCpp(): Promise<void> {
  const files = writeOracleModel();
  try {
    if (files.digest !== fixtureWeightsDigest()) {
      checks.push({ what: "llama.cpp fixtures", metric: "tiny model unchanged (1 = yes)", value: 0, limit: 1, kind: "min" });
      notes.push("the tiny oracle model no longer matches the fixtures: regenerate them (test/fixtures/llama-cpp/README.md)");
      return;
    }
    for (const backend of backends) {
      for (const image of oracleImages()) {
        log(`llama.cpp fixture "${image.name}" on ${backend}`);
        const differences = await compareOracleCase(files.directory, image, backend);
        const what = `llama.cpp ${image.name} ${backend}`;
        checks.push({ what, metric: "exact-tile embeddings", value: differences.exactTileEmbeddings, limit: 2e-3, kind: "max" });
        if (differences.promptMatches !== undefined) checks.push({ what, metric: "prompt ids equal (1 = yes)", value: differences.promptMatches ? 1 : 0, limit: 1, kind: "min" });
        if (differences.globalEmbeddingsRelative !== undefined) checks.push({ what, metric: "global image (relative)", value: differences.globalEmbeddingsRelative, limit: 0.5, kind: "max" });
        if (differences.logitsMaxAbsDiff !== undefined) {
          checks.push({ what, metric: "logits max |diff|", value: differences.logitsMaxAbsDiff, limit: 1e-2, kind: "max" });
          checks.push({ what, metric: "logits KL", value: differences.logitsKl!, limit: 1e-5, kind: "max" });
          checks.push({ what, metric: "greedy agreement", value: differences.greedyPrefix! / differences.greedyCompared!, limit: 1, kind: "min" });
        }
      }
    }
  } finally {
    files.remove();
  }
}

function pixels(tiles: number, size: number, seed: number): Float32Array {
  return Float32Array.from({ length: tiles * 3 * size * size }, (_, index) => Math.sin(index * 0.013 + seed) * Math.cos(index * 0.0007));
}

/** Greedy answer (ids) and its logits per step, for a prompt of 4 text tokens, an image of `tiles` tiles, 4 more. */
function answer(model: Idefics3Model, image: Float32Array, tiles: number, steps: number, forcedIds?: number[]): { ids: number[]; logits: Float32Array[] } {
  const embeddings = model.encodeImage(image, tiles);
  const imageTokens = embeddings.length / model.language.config.hiddenSize;
  const prompt = [1, 40, 41, 42, ...Array<number>(imageTokens).fill(model.imageTokenId), 43, 44, 45, 46];
  const withImages = model.withImages(model.imageSpans(prompt, [embeddings]));
  const cache = withImages.createCache();
  let logits = (withImages.forward(Int32Array.from(prompt), cache).data as Float32Array).slice();
  const ids: number[] = [];
  const allLogits: Float32Array[] = [];
  for (let step = 0; step < steps; step++) {
    allLogits.push(logits);
    let best = 0;
    for (let index = 1; index < logits.length; index++) if (logits[index] > logits[best]) best = index;
    const next = forcedIds ? forcedIds[step] : best;
    ids.push(best);
    logits = (withImages.forward(Int32Array.of(next), cache).data as Float32Array).slice();
  }
  return { ids, logits: allLogits };
}

/** 3 and 4. Backends, and quantized vision weights. */
async function tinyModel(): Promise<void> {
  const directory = fs.mkdtempSync(path.join(recipeDirectory, ".accuracy-"));
  try {
    const tiny = tinyIdefics3Config();
    writeIdefics3HfModel(directory, tiny, randomIdefics3Tensors(tiny, 42));
    const load = (kernel: Kernel, dtype?: DType) => {
      const weights = loadIdefics3HfModel(directory, { vision: { dtype, packFor: kernel } });
      return Idefics3Model.fromLoadedWeights(weights.text, weights.vision, weights.imageTokenId, kernel);
    };
    const image = pixels(5, 32, 3);
    const steps = 16;
    const reference = answer(load(createKernel({ backend: "reference" })), image, 5, steps);
    if (backends.includes("native")) {
      log("tiny model: native vs reference");
      const kernel = createKernel({ backend: "native", threads: 2 });
      const native = answer(load(kernel), image, 5, steps, reference.ids);
      const referenceModel = load(createKernel({ backend: "reference" }));
      const nativeEmbeddings = load(kernel).encodeImage(image, 5);
      checks.push({ what: "native vs reference", metric: "embeddings max |diff|", value: maxAbsDiff(nativeEmbeddings, referenceModel.encodeImage(image, 5)), limit: 1e-4, kind: "max" });
      checks.push({ what: "native vs reference", metric: "logits max |diff|", value: Math.max(...native.logits.map((row, step) => maxAbsDiff(row, reference.logits[step]))), limit: 2e-3, kind: "max" });
      let same = 0;
      while (same < steps && native.ids[same] === reference.ids[same]) same++;
      checks.push({ what: "native vs reference", metric: "greedy agreement", value: same / steps, limit: 1, kind: "min" });

      // Quantized vision weights: the answer's logits (teacher-forced on the f32 answer) vs f32's, on the tiny model,
      // and the embeddings' relative error at SmolVLM-500M's real encoder shapes.
      const f32 = answer(load(kernel), image, 5, steps);
      const config = smolVlmPresets["500m"].vision;
      const realPixels = pixels(1, config.imageSize, 5);
      const realReference = SiglipVisionEncoder.fromLoadedWeights(randomIdefics3VisionWeights(config, "f32"), kernel);
      const f32Weights = realReference.weights;
      const f32Embeddings = realReference.encode(realPixels, 1);
      const norm = Math.sqrt(f32Embeddings.reduce((total, value) => total + value * value, 0));
      // Budgets: 16-bit floats round weights to 11 (f16) or 8 (bf16) bits, q8_0 to 8 bits per 32 values, q4_0 to 4.
      const budgets: Record<string, { kl: number; relative: number }> = { f16: { kl: 1e-5, relative: 2e-3 }, bf16: { kl: 1e-4, relative: 2e-2 }, q8_0: { kl: 1e-4, relative: 2e-2 }, q4_0: { kl: 5e-3, relative: 0.25 } };
      for (const dtype of ["f16", "bf16", "q8_0", "q4_0"] as const) {
        log(`quantized vision weights: ${dtype}`);
        const quantized = answer(load(kernel, dtype), image, 5, steps, f32.ids);
        const kl = quantized.logits.reduce((total, row, step) => total + klDivergence(f32.logits[step], row), 0) / steps;
        checks.push({ what: `vision ${dtype} vs f32`, metric: "answer logits mean KL", value: kl, limit: budgets[dtype].kl, kind: "max" });
        // The same random matrices re-encoded in `dtype`: only the weight rounding differs from the f32 encoder.
        const convert = (tensor: typeof f32Weights.projection) => kernel.packWeight(convertTensorDType(tensor, dtype));
        const layers = f32Weights.layers.map((layer) => ({
          ...layer,
          query: convert(layer.query), key: convert(layer.key), value: convert(layer.value),
          attentionOutput: convert(layer.attentionOutput), fc1: convert(layer.fc1), fc2: convert(layer.fc2),
        }));
        const encoder = new SiglipVisionEncoder(config, { ...f32Weights, layers, projection: convert(f32Weights.projection) }, kernel);
        const embeddings = encoder.encode(realPixels, 1);
        let error = 0;
        for (let index = 0; index < embeddings.length; index++) error += (embeddings[index] - f32Embeddings[index]) ** 2;
        checks.push({ what: `vision ${dtype} vs f32`, metric: "500M-shape embedding rel. error", value: Math.sqrt(error) / norm, limit: budgets[dtype].relative, kind: "max" });
      }
    } else {
      notes.push("native backend unavailable: backend agreement and quantized weights not measured");
    }
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

/** The figures the docs gallery shows first: the worst value of a few checks, and how many gates passed. */
function headline(): HeadlineFigure[] {
  const worst = (metric: string, prefix = "") => {
    const values = checks.filter((check) => check.metric === metric && check.what.startsWith(prefix)).map((check) => check.value);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  const figures: HeadlineFigure[] = [];
  const add = (label: string, value: number | undefined, unit: string) => {
    if (value !== undefined) figures.push({ label, value, unit });
  };
  add("preprocessing vs Pillow, max pixel difference over the shared images", worst("max |diff| (levels)"), "levels");
  add("vs llama.cpp mtmd (tiny random model): last-token logits KL", worst("logits KL", "llama.cpp"), "");
  add("q8_0 vision weights vs f32: answer logits mean KL", worst("answer logits mean KL", "vision q8_0"), "");
  figures.push({ label: "tolerance gates passed", value: checks.filter(passes).length, unit: `of ${checks.length}` });
  return figures;
}

/** results/accuracy.{md,json}. */
function writeResults(): void {
  const machine = machineInfo();
  const command = ["pnpm accuracy smolvlm-500m", ...process.argv.slice(2).filter((argument, index, all) => argument !== "--results" && all[index - 1] !== "--results")].join(" ");
  const rows = checks.map((check) => ({ what: check.what, metric: check.metric, value: check.value, limit: check.limit, kind: check.kind, pass: passes(check) }));
  const record: ResultsRecord<(typeof rows)[number]> & { notes: string[] } = { machine, command, headline: headline(), rows, checks, notes };
  const markdown = [
    "# smolvlm-500m accuracy",
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}. Command: \`${command}\`.`,
    "",
    "```",
    describeChecks(checks),
    ...notes.map((note) => `note  ${note}`),
    "```",
    "",
  ].join("\n");
  const written = writeReportFiles(resultsDirectory, { "accuracy.md": markdown, "accuracy.json": reportJson(record) });
  process.stderr.write(`wrote ${written.join(", ")}\n`);
}

await preprocessing();
await llamaCpp();
await tinyModel();
const failed = checks.filter((check) => !passes(check));
if (values.json) process.stdout.write(`${JSON.stringify({ checks: checks.map((check) => ({ ...check, pass: passes(check) })), notes })}\n`);
else process.stdout.write(`${notes.map((note) => `note: ${note}`).join("\n")}\n${describeChecks(checks)}\n`);
process.stdout.write(`${failed.length === 0 ? "all" : `${checks.length - failed.length} of`} ${checks.length} checks passed\n`);
writeResults();
process.exitCode = failed.length === 0 ? 0 : 1;
