// The recipe end to end through its command line, as a user runs it: tiny random Llama 3.2 models as target and draft
// (GGUF files with the same embedded tokenizer), whose speculative output must equal the target's own greedy output
// with every drafter; the real pair stories260K + llama2xs reproducing stories260K's reference ids; the refusal of a
// draft with another vocabulary (size or token strings) naming both files; option errors; paths relative to where
// the user ran pnpm (INIT_CWD); and the bench and accuracy scripts in their quick forms.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { loadTextModel, promptIds, recipeMetadataProblems } from "@infer-recipes/cli";
import { generate } from "@infer-recipes/engine";
import { resultsRecordProblems } from "@infer-recipes/harness";
import { randomLlamaTensors, tinyGgufTokenizerMetadata, tinyLlamaConfig, writeGgufModel, type LlamaConfig } from "@infer-recipes/models";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-speculative-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown> & { token_ids: number[] };
}

/** Runs a script of the recipe with tsx, without blocking the test worker (a blocked worker misses vitest's RPC). */
function runScript(script: string, args: string[], environment: Record<string, string> = {}, timeout = 180_000): Promise<Run> {
  const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
  return new Promise((resolve) => {
    execFile(tsx, [script, ...args], { cwd: recipeDirectory, encoding: "utf8", env: { ...process.env, INFER_THREADS: "1", ...environment }, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      let json;
      try {
        json = JSON.parse(stdout.trim().split("\n").at(-1)!);
      } catch {
        json = undefined;
      }
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ status, stdout, stderr, json });
    });
  });
}
const runRecipe = (args: string[], environment: Record<string, string> = {}) => runScript("recipe.ts", args, environment);

const llama32 = (overrides: Partial<LlamaConfig>) =>
  tinyLlamaConfig({
    hiddenSize: 64, intermediateSize: 192, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16,
    vocabSize: 352, contextLength: 256, ropeTheta: 500000, rmsNormEpsilon: 1e-5, tiedEmbeddings: true,
    ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 },
    bosTokenId: 1, eosTokenIds: [2], ...overrides,
  });

function writeModel(name: string, config: LlamaConfig, seed: number, tokenizer = tinyGgufTokenizerMetadata(config.vocabSize)): string {
  const file = path.join(temporary, name);
  writeGgufModel(file, config, randomLlamaTensors(config, seed), tokenizer);
  return file;
}

const target = writeModel("target.gguf", llama32({}), 3);
const draft = writeModel("draft.gguf", llama32({ layerCount: 1, intermediateSize: 96 }), 4);
const otherSize = writeModel("other-size.gguf", llama32({ vocabSize: 336 }), 5);
const renamed = tinyGgufTokenizerMetadata(352);
(renamed.get("tokenizer.ggml.tokens") as string[])[300] = "<renamed>"; // "O" in the tiny vocabulary
const otherTokens = writeModel("other-tokens.gguf", llama32({}), 6, renamed);

describe("speculative-decoding recipe on tiny Llama 3.2 models", () => {
  const greedy = ["--prompt", "hello world", "--max-tokens", "24", "--temperature", "0", "--json"];
  /** Target-only greedy decoding of the same prompt, in this process. */
  const targetOnly = async () => {
    const model = await loadTextModel(target, { progress: false });
    return (await generate(model.model, promptIds(model, "hello world"), { maxTokens: 24 })).tokenIds;
  };

  it("outputs the target's greedy tokens with a draft model (fixed and auto k) and with prompt lookup, and reports the speculation", async () => {
    const expected = await targetOnly();
    const runs = [
      await runRecipe(["--model", target, "--draft", draft, ...greedy]),
      await runRecipe(["--model", target, "--draft", draft, "--draft-tokens", "4", ...greedy]),
      await runRecipe(["--model", target, "--draft", target, "--draft-tokens", "3", ...greedy]),
      await runRecipe(["--model", target, "--lookup", "--lookup-ngram", "2", ...greedy]),
    ];
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.json!.token_ids).toEqual(expected);
      for (const field of ["acceptance_rate", "mean_accepted_tokens", "draft_tokens", "tokens_per_target_forward", "equivalent_target_gb_per_s"]) expect(run.json).toHaveProperty(field);
    }
    expect(runs[0].json!.draft_tokens).toBe("auto");
    expect(runs[1].json!.draft_tokens).toBe(4);
    expect(runs[2].json!.acceptance_rate).toBe(1); // the target as its own draft
    expect(runs[2].json!.tokens_per_target_forward).toBeGreaterThan(2);
    expect(runs[0].stderr).toMatch(/accepted \(\d+\/\d+\), [\d.]+ tokens per target forward/);
  });

  it("samples reproducibly with a seed, wraps the prompt with --chat, and streams text without --json", async () => {
    const sampled = ["--model", target, "--draft", draft, "--prompt", "abc", "--max-tokens", "12", "--temperature", "0.8", "--top-k", "40", "--seed", "7", "--json"];
    const first = await runRecipe(sampled);
    expect(first.status, first.stderr).toBe(0);
    expect((await runRecipe(sampled)).json!.token_ids).toEqual(first.json!.token_ids);
    const chat = await runRecipe(["--model", target, "--draft", draft, "--prompt", "hi", "--chat", "--max-tokens", "4", "--json"]);
    expect(chat.status, chat.stderr).toBe(0);
    const streamed = await runRecipe(["--model", target, "--lookup", "--prompt", "hi", "--max-tokens", "6"]);
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(streamed.stderr).toMatch(/prompt lookup/);
  });

  it("refuses a draft with another vocabulary, naming both files, before generating", async () => {
    for (const [other, difference] of [[otherSize, /the target has 352 tokens, the draft 336/], [otherTokens, /token 300 is "O" in the target and "<renamed>" in the draft/]] as const) {
      const run = await runRecipe(["--model", target, "--draft", other, "--prompt", "hi", "--max-tokens", "4"]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(target);
      expect(run.stderr).toContain(other);
      expect(run.stderr).toMatch(difference);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stdout).toBe("");
    }
  });

  it("rejects bad speculative options by name", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--draft-tokens", "0"], /--draft-tokens must be an integer in 1..16 or auto, got "0"/],
      [["--draft-tokens", "many"], /--draft-tokens must be an integer in 1..16 or auto, got "many"/],
      [["--lookup-ngram", "2"], /--lookup-ngram only applies with --lookup/],
      [["--lookup", "--draft", draft], /--lookup drafts without a model/],
      [["--serve"], /--serve is not available with speculative decoding/],
    ];
    for (const [args, message] of cases) {
      const run = await runRecipe(["--model", target, ...args]);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });

  it("resolves --model and --draft against the directory pnpm was run from (INIT_CWD)", async () => {
    const elsewhere = path.join(temporary, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    const run = await runRecipe(["--model", "../target.gguf", "--draft", "../draft.gguf", ...greedy], { INIT_CWD: elsewhere });
    expect(run.status, run.stderr).toBe(0);
    expect(run.json!.token_ids).toEqual(await targetOnly());
  });

  it("offline and uncached, names the default draft it could not find", async () => {
    const run = await runRecipe(["--model", target, "--prompt", "hi"], { HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: path.join(temporary, "empty-cache"), HF_HOME: path.join(temporary, "empty-home") });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/Llama-3\.2-1B-Instruct/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

const STORIES_260K = path.join(sharedModels, "stories260K-llama2c/stories260K.bin");
const LLAMA2XS = path.join(sharedModels, "llama2xs-tok512/model.bin");
// stories260K's reference greedy ids after BOS (../shared/models/PROVENANCE.md).
const STORIES_260K_IDS = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385];
const missing = [STORIES_260K, LLAMA2XS].filter((file) => !existsSync(file));
if (missing.length > 0) console.warn(`skipping the real-pair recipe run: missing ${missing.join(", ")}`);

describe.skipIf(missing.length > 0)("the real pair stories260K (target) + llama2xs (draft)", () => {
  it("reproduces stories260K's reference greedy ids, and the drafts are accepted often", async () => {
    const run = await runRecipe(["--model", STORIES_260K, "--draft", LLAMA2XS, "--prompt", "", "--max-tokens", "32", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json!.token_ids).toEqual(STORIES_260K_IDS);
    expect(run.json!.acceptance_rate).toBeGreaterThan(0.5); // the two agree on the first 25 tokens
  });
});

describe("the recipe's metadata", () => {
  it("fills the recipe metadata contract", async () => {
    const { recipe } = await import("../recipe.ts");
    expect(recipeMetadataProblems(recipe, "speculative-decoding")).toEqual([]);
  });
});

describe("the recipe's benchmark and accuracy check", () => {
  it("accuracy.ts passes every gate (fewer samples) and prints them", async () => {
    const results = path.join(temporary, "accuracy-results");
    const run = await runScript("accuracy.ts", ["--tokens", "24", "--samples", "1500", "--results", results], {}, 600_000);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/PASS {2}sampling, a wrong rule/);
    expect(run.stdout).toMatch(/PASS {2}dense \+ paged targets/);
    expect(run.stdout).not.toMatch(/FAIL/);
    expect(resultsRecordProblems(JSON.parse(readFileSync(path.join(results, "accuracy.json"), "utf8")))).toEqual([]);
  }, 900_000);

  it("bench.ts --quick measures every section and writes its table, chart and JSON", async () => {
    const results = path.join(temporary, "bench-results");
    const run = await runScript("bench.ts", ["--quick", "--no-peers", "--results", results], {}, 600_000);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    // The real tiny pair's section (and its chart) needs ../shared/models; without it the report says it was skipped.
    const tinyPairPresent = existsSync(STORIES_260K) && existsSync(LLAMA2XS);
    for (const file of ["bench-quick.md", "bench-quick.json", "bench-quick-verify.svg", "bench-quick-projection.svg"]) {
      expect(existsSync(path.join(results, file)), file).toBe(true);
    }
    expect(existsSync(path.join(results, "bench-quick-tiny.svg")), "bench-quick-tiny.svg").toBe(tinyPairPresent);
    if (!tinyPairPresent) expect(readFileSync(path.join(results, "bench-quick.md"), "utf8")).toMatch(/Real tiny pair: skipped \(\.\.\/shared\/models absent\)/);
    expect(run.stdout).toMatch(/PASS/);
    expect(resultsRecordProblems(JSON.parse(readFileSync(path.join(results, "bench-quick.json"), "utf8")))).toEqual([]);
  }, 900_000);
});
