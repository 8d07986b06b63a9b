// The recipe through its launcher, as pnpm and supervisors run it (`node scripts/recipe.mjs llama-3.2-3b …`): a
// SIGTERM or SIGHUP to the launcher's PID reaches the server, which lets the open stream finish within
// --shutdown-grace (or cancels it with a last error event), frees the port and exits 0, and so does the launcher;
// the child's exit status passes through; a relative --model is found relative to INIT_CWD (where pnpm was run).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { runCommand, type CommandResult } from "@infer-recipes/harness";

import { writeTinyLlama32 } from "./tiny-llama-3.2.ts";

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const launcher = path.join(repository, "scripts/recipe.mjs");
const temporary = mkdtempSync(path.join(tmpdir(), "recipe-launcher-"));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));
// A long context, so a stream can be made to outlast any signal's delivery (256 tokens of this model take < 0.2 s).
const longContext = 16_384;
const model = writeTinyLlama32(temporary, 3, longContext);

interface Launched {
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
  stderr: () => string;
}

/** Starts the launcher in its own process group (so a failed test can kill the whole group). */
function launch(args: string[]): Launched {
  const child = spawn(process.execPath, [launcher, "llama-3.2-3b", ...args], { cwd: repository, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 60 s:\n${stderr}`)), 60_000);
    child.stderr.on("data", () => {
      const match = /serving ".*" on (http:\/\/[^\s]+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(({ code }) => reject(new Error(`the launcher exited with ${code}:\n${stderr}`)));
  });
  return { url, exited, pid: child.pid!, stderr: () => stderr };
}

/** Opens a streaming completion; resolves `first` at its first chunk and `body` with everything once it ends. */
function openStream(url: string, maxTokens: number): { first: Promise<void>; body: Promise<string> } {
  let markFirst!: () => void;
  const first = new Promise<void>((resolve) => (markFirst = resolve));
  const body = (async () => {
    const response = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello", max_tokens: maxTokens, temperature: 0, stream: true }),
    });
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk, { stream: true });
      markFirst();
    }
    return text;
  })();
  return { first, body };
}

/** Runs the launcher to its end without blocking this process (vitest's worker must keep answering its runner). */
function run(args: string[], environment: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  return runCommand(process.execPath, [launcher, "llama-3.2-3b", ...args], { cwd: repository, env: environment });
}

function portIsClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.on("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(true));
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

describe("scripts/recipe.mjs --serve under a supervisor", () => {
  it("passes SIGTERM to the server, which finishes the open stream within the grace period and exits 0", async () => {
    const launched = launch(["--model", model.ggufFile, "--serve", "--port", "0", "--backend", "reference", "--shutdown-grace", "60"]);
    try {
      const url = await launched.url;
      // 2048 tokens: seconds on the reference kernels, so the stream is still open when the signal arrives even on a
      // loaded machine (200 tokens once finished first), and well within the 60 s grace period.
      const stream = openStream(url, 2048);
      await stream.first;
      process.kill(launched.pid, "SIGTERM");
      const body = await stream.body;
      expect(body.trim().endsWith("data: [DONE]")).toBe(true);
      expect(body).toContain('"finish_reason":"length"');
      expect(await launched.exited).toEqual({ code: 0, signal: null });
      expect(launched.stderr()).toMatch(/SIGTERM: stopping — no new requests; 1 open request\(s\) get 60 s to finish/);
      expect(await portIsClosed(url)).toBe(true);
    } finally {
      killGroup(launched.pid);
    }
  });

  it("on SIGHUP with a short grace period, cancels the stream with a last error event and exits 0", async () => {
    const launched = launch(["--model", model.ggufFile, "--serve", "--port", "0", "--backend", "reference", "--shutdown-grace", "0.2"]);
    try {
      const url = await launched.url;
      // Nearly the whole 16k context: seconds on the reference kernels (attention grows with every token), far beyond
      // the 0.2 s grace period however quickly the signal arrives.
      const stream = openStream(url, longContext - 64);
      await stream.first;
      process.kill(launched.pid, "SIGHUP");
      const body = await stream.body;
      expect(body).toContain('"code":"server_shutting_down"');
      expect(body.trim().endsWith("data: [DONE]")).toBe(true);
      expect(await launched.exited).toEqual({ code: 0, signal: null });
      expect(await portIsClosed(url)).toBe(true);
    } finally {
      killGroup(launched.pid);
    }
  });
});

describe("scripts/recipe.mjs", () => {
  it("exits with the recipe's status and its one-line error", async () => {
    const result = await run(["--model", model.ggufFile, "--threads", "257"]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual(['error: --threads must be an integer in 1..256, got "257" (pnpm recipe llama-3.2-3b --help lists the options)']);
    // Found while the server's worker loads the model: still one line, after the listening line.
    const served = await run(["--model", model.ggufFile, "--serve", "--port", "0"], { ...process.env, INFER_THREADS: "99999" });
    expect(served.status).toBe(1);
    expect(served.stderr.trim().split("\n").at(-1)).toBe('error: INFER_THREADS must be an integer in 1..256, got "99999"');
    expect(served.stderr).not.toMatch(/\n\s+at /);
  });

  it("finds a relative --model in the folder pnpm was run from (INIT_CWD), not the repository root", async () => {
    const result = await run(["--model", "./tiny-llama-3.2.gguf", "--prompt", "hi", "--max-tokens", "2", "--backend", "reference", "--json"], { ...process.env, INIT_CWD: temporary });
    expect(result.stderr).toContain(`loading ${model.ggufFile}`);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!).token_ids.length).toBeGreaterThan(0);
  });
});
