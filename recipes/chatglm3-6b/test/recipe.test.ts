// The recipe end to end through its command line, as a user runs it, on tiny random models of the ChatGLM3
// architecture: THUDM's checkpoint layout with ChatGLM3's real tokenizer (safetensors, PyTorch .bin, and the GGUF
// `pnpm convert` writes from it: the same greedy tokens on both backends), the chat format by default, quantize on
// load, the multi-turn server reusing its prefix cache, and the failures a user can cause.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { resultsRecordProblems, runCommand } from "@infer-recipes/harness";
import { nativeAvailability } from "@infer-recipes/kernel";

import { chatGlm3TokenizerModel, writeTinyChatGlm } from "./tiny-chatglm.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repository = path.resolve(recipeDirectory, "../..");
const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-chatglm-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json?: { token_ids: number[]; text: string; prompt_tokens: number; finish_reason: string };
}

async function runRecipe(args: string[], environment: Record<string, string> = {}): Promise<Run> {
  const result = await runCommand(tsx, ["recipe.ts", ...args], { cwd: recipeDirectory, env: { ...process.env, ...environment }, timeoutMilliseconds: 300_000 });
  let json;
  try {
    json = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  } catch {
    json = undefined;
  }
  return { ...result, json };
}

const backends = nativeAvailability().available ? ["native", "reference"] : ["reference"];
const models = writeTinyChatGlm(temporary);
const greedy = (modelPath: string, backend: string, extra: string[] = []) =>
  runRecipe(["--model", modelPath, "--prompt", "你好，请介绍一下你自己。", "--max-tokens", "10", "--temperature", "0", "--backend", backend, "--json", ...extra]);

if (models.safetensorsDirectory === undefined) console.warn(`skipping the runs with ChatGLM3's tokenizer: missing ${chatGlm3TokenizerModel}`);

describe.skipIf(models.safetensorsDirectory === undefined)("chatglm3-6b recipe on a tiny ChatGLM3 with the real tokenizer", () => {
  it("generates the same greedy tokens from safetensors, PyTorch .bin and the converted GGUF, on every backend", async () => {
    const gguf = path.join(temporary, "converted-f32.gguf");
    const convert = await runCommand(path.join(repository, "node_modules/.bin/tsx"), ["packages/models/src/convert-cli.ts", models.safetensorsDirectory!, gguf, "--quant", "f32"], { cwd: repository });
    expect(convert.status, convert.stderr).toBe(0);
    const runs: Run[] = [];
    for (const backend of backends) for (const model of [models.safetensorsDirectory!, models.pytorchDirectory!, gguf]) runs.push(await greedy(model, backend));
    for (const run of runs) expect(run.status, run.stderr).toBe(0);
    const reference = runs[0].json!;
    // [gMASK] sop <|user|> ▁ \n ... <|assistant|>: the prompt went through ChatGLM3's chat template.
    expect(reference.prompt_tokens).toBeGreaterThan(8);
    expect(reference.token_ids.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.json!.token_ids).toEqual(reference.token_ids);
    expect(runs[0].stderr).toMatch(/loaded in .*: chatglm, 2 layers, hidden 64, 4\/2 heads, vocab 65024/);
  });

  it("sends --prompt as is with --raw, and quantizes on load", async () => {
    const raw = await greedy(models.safetensorsDirectory!, "reference", ["--raw"]);
    const chat = await greedy(models.safetensorsDirectory!, "reference");
    expect(raw.json!.prompt_tokens).toBeLessThan(chat.json!.prompt_tokens);
    const quantized = await greedy(models.pytorchDirectory!, backends[0], ["--quant", "q8_0"]);
    expect(quantized.status, quantized.stderr).toBe(0);
    expect(quantized.stderr).toMatch(/q8_0/);
  });
});

describe("chatglm3-6b recipe with a tiny ChatGLM-style GGUF (no shared files needed)", () => {
  it("chats by default and stops cleanly", async () => {
    const result = await greedy(models.syntheticGguf, backends[0]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.json!.prompt_tokens).toBeGreaterThan(5);
  });

  it("serves multi-turn chat, the second turn reusing the first from the prefix cache, then stops on SIGINT", async () => {
    const child = spawn(tsx, ["recipe.ts", "--model", models.syntheticGguf, "--serve", "--port", "0", "--backend", "reference"], { cwd: recipeDirectory, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "serving" line within 120 s:\n${stderr}`)), 120_000);
        child.stderr.on("data", () => {
          const match = /serving ".*" on (http:\/\/[^\s]+)/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        void exited.then((code) => reject(new Error(`the server exited with ${code}:\n${stderr}`)));
      });
      const ask = async (messages: Array<{ role: string; content: string }>) => {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages, max_tokens: 6, temperature: 0 }),
        });
        expect(response.status).toBe(200);
        return (await response.json()) as { choices: Array<{ message: { content: string } }>; usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
      };
      const first = [{ role: "user", content: "tell me a long story about the sea and the ships on it, please" }];
      const one = await ask(first);
      const two = await ask([...first, { role: "assistant", content: one.choices[0].message.content }, { role: "user", content: "and then?" }]);
      expect(two.usage.prompt_tokens).toBeGreaterThan(one.usage.prompt_tokens);
      // Whole 16-token blocks of the first turn's prompt come from the prefix cache.
      expect(two.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(16);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });

  it("offline and uncached: a clear message naming the default model and where it looked, no stack trace", async () => {
    const result = await runRecipe(["--prompt", "hi"], { HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: path.join(temporary, "empty-cache"), HF_HOME: path.join(temporary, "empty-home") });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/chatglm3-6b/);
    expect(result.stderr).toMatch(/empty-cache/);
    expect(result.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects contradicting options by name", async () => {
    const result = await runRecipe(["--model", models.syntheticGguf, "--chat", "--raw"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--chat and --raw contradict each other/);
  });
});

describe("the recipe's accuracy check and benchmark", () => {
  it.skipIf(!nativeAvailability().available)("accuracy.ts reproduces THUDM's golden outputs and passes its quantized gates", async () => {
    const result = await runCommand(tsx, ["accuracy.ts", "--skip-llama-cpp", "--tokens", "48", "--greedy-tokens", "8", "--results", path.join(temporary, "accuracy-results")], { cwd: recipeDirectory });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/PASS {2}native Q8_0 \+ KV cache +mean KL divergence/);
    if (models.safetensorsDirectory !== undefined) expect(result.stdout).toMatch(/PASS {2}glm4 native paged +golden max \|Δ\|/);
    expect(result.stdout).not.toMatch(/FAIL/);
  });

  it.skipIf(!nativeAvailability().available)("bench.ts measures time to first token by turn, with and without reuse, the same replies", async () => {
    const results = path.join(temporary, "bench-results");
    const result = await runCommand(tsx, ["bench.ts", "--quick", "--layers", "1", "--turns", "3", "--reply-tokens", "4", "--json", "--results", results], { cwd: recipeDirectory });
    expect(result.status, result.stderr).toBe(0);
    const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { reuse: boolean; turn: number; prompt_tokens: number; prefilled_tokens: number; reply_token_ids: number[] });
    expect(rows).toHaveLength(6);
    for (const turn of [1, 2, 3]) {
      const [without, withReuse] = [false, true].map((reuse) => rows.find((row) => row.reuse === reuse && row.turn === turn)!);
      expect(withReuse.reply_token_ids).toEqual(without.reply_token_ids);
      expect(without.prefilled_tokens).toBe(without.prompt_tokens);
      // The whole earlier prompt comes from the cache: only the reply (as re-rendered) and the new turn are prefilled.
      const earlier = rows.find((row) => row.reuse && row.turn === turn - 1);
      if (earlier) expect(withReuse.prefilled_tokens).toBeLessThanOrEqual(withReuse.prompt_tokens - earlier.prompt_tokens);
    }
    expect(readFileSync(path.join(results, "bench-quick.md"), "utf8")).toMatch(/TTFT with reuse/);
    expect(resultsRecordProblems(JSON.parse(readFileSync(path.join(results, "bench-quick.json"), "utf8")))).toEqual([]);
  });
});
