// `pnpm recipe llama-3.2-3b --serve` end to end, as a user runs it: the recipe's command line on a tiny random Llama
// 3.2 GGUF listens on a free port, answers an OpenAI client's completion and streaming chat requests, and stops
// cleanly on SIGINT.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { writeTinyLlama32 } from "./tiny-llama-3.2.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-serve-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));
const model = writeTinyLlama32(temporary);

describe("llama-3.2-3b --serve", () => {
  it("serves OpenAI-compatible completions and streaming chat, then stops on SIGINT", async () => {
    const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
    const child = spawn(tsx, ["recipe.ts", "--model", model.ggufFile, "--serve", "--port", "0", "--max-batch", "4", "--backend", "reference"], {
      cwd: recipeDirectory,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "serving" line within 60 s:\n${stderr}`)), 60_000);
        child.stderr.on("data", () => {
          const match = /serving ".*" on (http:\/\/[^\s]+)/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        void exited.then((code) => reject(new Error(`the server exited with ${code}:\n${stderr}`)));
      });
      expect(stderr).toMatch(/batch ≤ 4 requests/);
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
      expect(models.data[0].id).toBe("tiny-llama-3.2"); // its name, not a path of the server
      const completion = await fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "hello world", max_tokens: 5, temperature: 0 }),
      });
      expect(completion.status).toBe(200);
      const body = (await completion.json()) as { usage: { completion_tokens: number } };
      expect(body.usage.completion_tokens).toBeGreaterThan(0);
      const chat = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 4, stream: true }),
      });
      const text = await chat.text();
      expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopping/);
  });
});
