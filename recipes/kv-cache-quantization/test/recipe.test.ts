// The recipe end to end through its command line on a tiny random Llama 3.2 (heads of 16, two kv heads: one q8_0
// block per position): its default cache type (q8_0) and every other type on both backends, the refusals a user can
// cause (an unknown type; a type the model's head size cannot use), its metadata, and its results files.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { recipeMetadataProblems } from "@infer-recipes/cli";
import { resultsRecordProblems, runCommand } from "@infer-recipes/harness";
import { cacheDTypes, nativeAvailability } from "@infer-recipes/kernel";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel, writeTinyHfTokenizer } from "@infer-recipes/models";

import { recipe } from "../recipe.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-kv-cache-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

function writeTinyModel(directory: string, headDim: number): string {
  mkdirSync(directory, { recursive: true });
  const config = tinyLlamaConfig({ hiddenSize: 4 * headDim, intermediateSize: 96, headDim, rotaryDim: headDim, vocabSize: 352, contextLength: 256, tiedEmbeddings: true });
  writeHfModel(directory, config, randomLlamaTensors(config, 3));
  writeTinyHfTokenizer(directory, config.vocabSize);
  return directory;
}

const model = writeTinyModel(path.join(temporary, "heads-16"), 16);
/** Heads of 8 with 2 kv heads: 16 values a position, less than one q8_0/q4_0 block. */
const smallHeads = writeTinyModel(path.join(temporary, "heads-8"), 8);

/** Runs recipe.ts in a child process without blocking this worker's event loop (vitest's RPC needs it). */
async function runRecipe(args: string[]) {
  const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
  const result = await runCommand(tsx, ["recipe.ts", ...args], { cwd: recipeDirectory, timeoutMilliseconds: 120_000 });
  let json: { token_ids: number[]; kv_cache_dtype: string } | undefined;
  try {
    json = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    json = undefined;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json };
}

const backends = nativeAvailability().available ? ["native", "reference"] : ["reference"];

describe("kv-cache-quantization recipe", () => {
  it("generates with its default q8_0 cache and with every other type, on every backend", async () => {
    const greedy = ["--model", model, "--prompt", "hello world", "--max-tokens", "10", "--temperature", "0", "--json"];
    const byDefault = await runRecipe(greedy);
    expect(byDefault.status, byDefault.stderr).toBe(0);
    expect(byDefault.json!.kv_cache_dtype).toBe("q8_0");
    expect(byDefault.stderr).toMatch(/KV cache q8_0 \(\d+\.\d KiB a token\)/);
    for (const backend of backends) {
      for (const dtype of cacheDTypes) {
        const run = await runRecipe([...greedy, "--kv-cache-dtype", dtype, "--backend", backend]);
        expect(run.status, `${backend} ${dtype}: ${run.stderr}`).toBe(0);
        expect(run.json!.kv_cache_dtype).toBe(dtype);
        expect(run.json!.token_ids.length).toBe(10);
      }
    }
  });

  it("refuses an unknown type and a type the head size cannot use, listing what works", async () => {
    const unknown = await runRecipe(["--model", model, "--prompt", "hi", "--kv-cache-dtype", "int3"]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/--kv-cache-dtype must be one of f32, f16, bf16, q8_0, q4_0, got "int3"/);
    const tooSmall = await runRecipe(["--model", smallHeads, "--prompt", "hi", "--kv-cache-dtype", "q4_0"]);
    expect(tooSmall.status).not.toBe(0);
    expect(tooSmall.stderr).toMatch(/--kv-cache-dtype q4_0: .*2 kv heads of 8\. Element types that serve it: f32, f16, bf16/);
    expect(tooSmall.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("has complete metadata and well-formed results files", () => {
    expect(recipeMetadataProblems(recipe, path.basename(recipeDirectory))).toEqual([]);
    const results = path.join(recipeDirectory, "results");
    const files = existsSync(results) ? readdirSync(results).filter((file) => file.endsWith(".json")) : [];
    expect(files).toContain("accuracy.json");
    for (const file of files) expect(resultsRecordProblems(JSON.parse(readFileSync(path.join(results, file), "utf8"))), file).toEqual([]);
  });
});
