// The recipe end to end through its command line, as a user runs it: a tiny random Llama 3.2 from safetensors and
// from GGUF (same greedy tokens on both backends), the real tiny models' reference greedy ids, and the failures a
// user can cause (no weights offline, prompt + max tokens past the context, a bad option): a message and a non-zero
// exit, never a stack trace.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { resultsRecordProblems, runCommand } from "@infer-recipes/harness";
import { nativeAvailability } from "@infer-recipes/kernel";

import { writeTinyLlama32 } from "./tiny-llama-3.2.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-llama-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json?: { token_ids: number[]; text: string; finish_reason: string; decode_tokens_per_s: number; backend: string };
}

// Every command runs asynchronously: a synchronous spawn blocks vitest's worker, which then misses its runner's RPC
// deadline on a loaded machine.
async function runRecipe(args: string[], environment: Record<string, string> = {}): Promise<Run> {
  const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
  const result = await runCommand(tsx, ["recipe.ts", ...args], { cwd: recipeDirectory, env: { ...process.env, ...environment }, timeoutMilliseconds: 120_000 });
  const lines = result.stdout.trim().split("\n");
  let json;
  try {
    json = JSON.parse(lines[lines.length - 1]);
  } catch {
    json = undefined;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json };
}

const backends = nativeAvailability().available ? ["native", "reference"] : ["reference"];
const model = writeTinyLlama32(temporary);

describe("llama-3.2-3b recipe on a tiny random Llama 3.2", () => {
  const greedy = (modelPath: string, backend: string) =>
    runRecipe(["--model", modelPath, "--prompt", "hello world", "--max-tokens", "12", "--temperature", "0", "--backend", backend, "--json"]);

  it("generates the same greedy tokens from safetensors and GGUF, on every backend", async () => {
    const runs: Run[] = [];
    for (const backend of backends) runs.push(await greedy(model.hfDirectory, backend), await greedy(model.ggufFile, backend));
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.json).toBeDefined();
    }
    const reference = runs[0].json!;
    expect(reference.token_ids.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.json!.token_ids).toEqual(reference.token_ids);
    expect(runs[0].stderr).toMatch(/loaded in .* 2 layers, hidden 64, 4\/2 heads, vocab 352/);
  });

  it("quantizes on load and still runs (--quant q8_0)", async () => {
    const run = await runRecipe(["--model", model.hfDirectory, "--prompt", "hi", "--max-tokens", "4", "--temperature", "0", "--quant", "q8_0", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/q8_0/);
    expect(run.json!.token_ids.length).toBeGreaterThan(0);
  });

  it("wraps the prompt in the chat template with --chat", async () => {
    const run = await runRecipe(["--model", model.ggufFile, "--prompt", "hi", "--chat", "--max-tokens", "3", "--temperature", "0", "--json"]);
    expect(run.status, run.stderr).toBe(0);
  });

  it("seeded sampling is reproducible", async () => {
    const args = ["--model", model.ggufFile, "--prompt", "abc", "--max-tokens", "10", "--temperature", "1", "--seed", "42", "--json"];
    expect((await runRecipe(args)).json!.token_ids).toEqual((await runRecipe(args)).json!.token_ids);
  });

  it("refuses prompt + max tokens beyond the context with a message, not a stack trace", async () => {
    const run = await runRecipe(["--model", model.ggufFile, "--prompt", "hello", "--max-tokens", "1000"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/exceeds the context of 256 tokens/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects a bad option by name", async () => {
    const run = await runRecipe(["--model", model.ggufFile, "--temperature", "hot"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--temperature must be a number ≥ 0, got "hot"/);
  });

  it("offline and uncached: a clear message listing where it looked, non-zero exit, no stack trace", async () => {
    const run = await runRecipe(["--prompt", "hi"], { HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: path.join(temporary, "empty-cache"), HF_HOME: path.join(temporary, "empty-home") });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/Llama-3.2-3B-Instruct/);
    expect(run.stderr).toMatch(/empty-cache/);
    expect(run.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

// Reference greedy ids from ../shared/models/PROVENANCE.md (the generated tokens after BOS).
const STORIES_260K = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385];
const TINYSTORIES_656K = [147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628, 499, 826, 872, 921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425];
const realModels = [
  { name: "stories260K GGUF", path: path.join(sharedModels, "stories260K-gguf/stories260K.gguf"), ids: STORIES_260K },
  { name: "TinyStories-656K safetensors", path: path.join(sharedModels, "tinystories-656k-hf"), ids: TINYSTORIES_656K },
  { name: "stories260K llama2.c", path: path.join(sharedModels, "stories260K-llama2c/stories260K.bin"), ids: STORIES_260K },
];
const missing = realModels.filter((entry) => !existsSync(entry.path));
if (missing.length > 0) console.warn(`skipping real-model recipe runs: missing ${missing.map((entry) => entry.path).join(", ")}`);

describe.skipIf(missing.length > 0)("the recipe reproduces the real tiny models' reference greedy ids", () => {
  for (const entry of realModels) {
    for (const backend of backends) {
      it(`${entry.name} on ${backend}`, async () => {
        const run = await runRecipe(["--model", entry.path, "--prompt", "", "--max-tokens", "32", "--temperature", "0", "--backend", backend, "--json"]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.json!.token_ids).toEqual(entry.ids);
      });
    }
  }
});

describe("the recipe's benchmark and accuracy check", () => {
  it("bench.ts measures every configuration in one run and writes its table", async () => {
    const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
    const results = path.join(temporary, "bench-results");
    const run = await runCommand(tsx, ["bench.ts", "--model", model.ggufFile, "--quick", "--runs", "1", "--json", "--results", results], { cwd: recipeDirectory, timeoutMilliseconds: 300_000 });
    expect(run.status, run.stderr).toBe(0);
    const rows = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => row.configuration)).toHaveLength(5);
    for (const row of rows) expect(row.decode_tokens_per_s).toBeGreaterThan(0);
    expect(existsSync(path.join(results, "bench-quick.md"))).toBe(true);
    expect(resultsRecordProblems(JSON.parse(readFileSync(path.join(results, "bench-quick.json"), "utf8")))).toEqual([]);
  }, 300_000);

  it.skipIf(!nativeAvailability().available)("accuracy.ts passes its tolerances and prints every metric", async () => {
    const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
    const results = path.join(temporary, "accuracy-results");
    const run = await runCommand(tsx, ["accuracy.ts", "--tokens", "96", "--greedy-tokens", "16", "--results", results], { cwd: recipeDirectory, timeoutMilliseconds: 300_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/PASS {2}native Q8_0 \+ KV cache +mean KL divergence/);
    expect(run.stdout).not.toMatch(/FAIL/);
    const written = readdirSync(results).filter((file) => file.endsWith(".json"));
    expect(written).toHaveLength(1);
    const record = JSON.parse(readFileSync(path.join(results, written[0]), "utf8"));
    expect(resultsRecordProblems(record)).toEqual([]);
    expect(record.checks.length).toBeGreaterThan(0);
  }, 300_000);
});

describe("the recipe as a template", () => {
  it("pnpm new-recipe copies it out of the repository, and the copy installs and runs on its own", async () => {
    const repository = path.resolve(recipeDirectory, "../..");
    const target = path.join(temporary, "my-llama");
    const scaffold = await runCommand(process.execPath, [path.join(repository, "scripts/new-recipe.mjs"), "my-llama", "--out", target], {});
    expect(scaffold.status, scaffold.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(target, "package.json"), "utf8"));
    expect(manifest.name).toBe("@infer-recipes/recipe-my-llama");
    expect(manifest.dependencies["@infer-recipes/cli"]).toBe(`link:${path.join(repository, "packages/cli")}`);
    expect(readFileSync(path.join(target, "recipe.ts"), "utf8")).toMatch(/name: "my-llama"/);
    // --prefer-offline: packages come from the store this repository's install filled; a frozen-lockfile install
    // leaves no resolution metadata behind, so the version ranges may be resolved against the npm registry.
    const install = await runCommand("pnpm", ["install", "--prefer-offline", "--ignore-workspace"], { cwd: target, timeoutMilliseconds: 120_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    const run = await runCommand(path.join(target, "node_modules/.bin/tsx"), ["recipe.ts", "--model", model.ggufFile, "--prompt", "hi", "--max-tokens", "4", "--temperature", "0", "--json"], { cwd: target, timeoutMilliseconds: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split("\n").at(-1)!).token_ids.length).toBeGreaterThan(0);
  });
});
