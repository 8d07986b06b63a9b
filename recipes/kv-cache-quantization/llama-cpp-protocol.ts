// The KV-cache KL divergence on llama.cpp's own protocol, to set this recipe's figures beside llama-perplexity's
// (`--kl-divergence-base` with an f32 cache, then `--kl-divergence` with `-ctk T -ctv T`): the text tokenized with BOS,
// cut into windows of 512 tokens whose first token is replaced by BOS, each window run in one batch, and the KL of
// every position in the window's second half (256..510) against the f32 cache's. Prints one line per cache type, and
// for the default model and text compares f16 and bf16 with llama.cpp's own caches on the same windows
// (golden/llama-cpp-cache-kl.json, flash attention off: a real f32 reference): exits 1 when ours loses more than
// llama.cpp's (by more than 10 % plus the golden figures' printed resolution).
//
//   pnpm exec tsx llama-cpp-protocol.ts [--model FILE.gguf] [--text FILE] [--windows N] [--backend native|reference]
//
// Defaults: stories260K and the first 40 windows of ../shared/models/eval-text/tinystories_validation_head.txt.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { resolveOptionalUserPath } from "@infer-recipes/cli";
import { klDivergence } from "@infer-recipes/harness";
import { createKernel, type BackendName, type CacheDType } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedModels = path.join(recipeDirectory, "../../../shared/models");
const WINDOW = 512;

const { values } = parseArgs({ options: { model: { type: "string" }, text: { type: "string" }, windows: { type: "string" }, backend: { type: "string" } } });
const file = resolveOptionalUserPath(values.model) ?? path.join(sharedModels, "stories260K-gguf/stories260K.gguf");
const textFile = resolveOptionalUserPath(values.text) ?? path.join(sharedModels, "eval-text/tinystories_validation_head.txt");
for (const needed of [file, textFile]) if (!existsSync(needed)) throw new Error(`${needed} is missing (the defaults live in ../shared/models)`);
const windows = Number(values.windows ?? 40);
const backend = (values.backend ?? "native") as BackendName;

const loaded = loadModelWeights(file);
if (loaded.source.format !== "gguf") throw new Error(`${file}: a GGUF file is needed (its tokenizer is llama.cpp's)`);
const tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
const bos = loaded.config.bosTokenId ?? 1;
const tokens = [bos, ...tokenizer.encode(readFileSync(textFile, "utf8"))];
const count = Math.min(windows, Math.floor(tokens.length / WINDOW));
const model = LlamaModel.fromLoadedWeights(loaded, createKernel({ backend }));
const vocab = model.config.vocabSize;

/** Logits [WINDOW, vocab] of window `index` through a fresh cache of `dtype`. */
function windowLogits(index: number, dtype: CacheDType): Float32Array {
  const ids = Int32Array.from(tokens.slice(index * WINDOW, (index + 1) * WINDOW));
  ids[0] = bos;
  return model.forward(ids, model.createCache(WINDOW, dtype), { allLogits: true }).data as Float32Array;
}

const types: CacheDType[] = ["f16", "bf16", "q8_0", "q4_0"];
const sums = new Map(types.map((dtype) => [dtype, { kl: 0, agree: 0, positions: 0 }]));
for (let index = 0; index < count; index++) {
  const reference = windowLogits(index, "f32");
  for (const dtype of types) {
    const logits = windowLogits(index, dtype);
    const sum = sums.get(dtype)!;
    for (let position = WINDOW / 2; position < WINDOW - 1; position++) {
      const row = (values: Float32Array) => values.subarray(position * vocab, (position + 1) * vocab);
      sum.kl += klDivergence(row(reference), row(logits));
      const top = (values: Float32Array) => row(values).reduce((best, value, id, all) => (value > all[best] ? id : best), 0);
      sum.agree += top(reference) === top(logits) ? 1 : 0;
      sum.positions++;
    }
  }
}
console.log(`${path.basename(file)}, ${count} windows of ${WINDOW} (positions ${WINDOW / 2}..${WINDOW - 2} of each), ${backend} backend, against the f32 cache:`);
for (const [dtype, sum] of sums) console.log(`  ${dtype.padEnd(5)} mean KL ${(sum.kl / sum.positions).toExponential(2)}  same top token ${((100 * sum.agree) / sum.positions).toFixed(3)} %`);

// Against llama.cpp's caches: only for the text and windows the golden file was measured on.
interface GoldenCache { mean_kl: number; same_top_token: number }
const golden = JSON.parse(readFileSync(path.join(recipeDirectory, "golden/llama-cpp-cache-kl.json"), "utf8")) as {
  windows: number; flash_attention_off: Record<"f16" | "bf16", GoldenCache>; printed_resolution: number;
};
const defaults = values.model === undefined && values.text === undefined;
if (!defaults || count !== golden.windows) {
  console.log(`(llama.cpp's figures are for stories260K and the default text, ${golden.windows} windows: not compared)`);
} else {
  let failed = false;
  for (const dtype of ["f16", "bf16"] as const) {
    const ours = sums.get(dtype)!.kl / sums.get(dtype)!.positions;
    const theirs = golden.flash_attention_off[dtype].mean_kl;
    const limit = 1.1 * theirs + golden.printed_resolution;
    const pass = ours <= limit;
    failed ||= !pass;
    console.log(`${pass ? "PASS" : "FAIL"}  ${dtype} mean KL ${ours.toExponential(2)} ≤ ${limit.toExponential(2)} (llama.cpp's ${dtype} cache: ${theirs.toExponential(2)})`);
  }
  if (failed) process.exitCode = 1;
}
