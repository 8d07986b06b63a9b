// `pnpm bench serving-reliability [--json]`: the figures behind the README's serving section, measured on the real
// server process as users start it (`node scripts/recipe.mjs llama-3.2-3b --serve`, model in a worker thread) with a
// tiny random Llama of 512 positions written to a temporary folder (the size of model in the original report; the
// model's speed does not matter here, its limits do):
//   concurrent streams: 100 streaming completions at once, 30 of them hanging up at a random moment after their
//     first chunk; every other one must finish with [DONE], and the KV cache must be empty afterwards;
//   largest request: the body limit the model's prompt limit gives, and how fast the largest refusals come back
//     (a 1 MB prompt: 400 untokenized; a 50,000-message chat: 413 unread);
//   stall bound: streams' longest gap between chunks and GET /health's latency while 10 × (1 MB prompt +
//     50,000-message chat) arrive from another client;
//   memory: the server process's resident memory after warm-up, at its peak during the above, and 3 s after;
//   event-loop delay: the server's own measure of how long its HTTP thread was held up over the whole run (/health's
//     event_loop_delay_ms: monitorEventLoopDelay, and the thread's own CPU time between two 10 ms ticks, which bounds
//     what it blocked itself for whatever the machine's load), beside an idle process's delay over the same time,
//     the share of CPU time other processes took and the load average: latencies measured from outside on a shared
//     machine include waiting for a CPU, the thread's own CPU time does not.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { cpuTimes, describeMachine, machineInfo, markdownTable, othersBusyFraction, percentile, reportJson, writeReportFiles, type MachineInfo } from "@infer-recipes/harness";
import { randomLlamaTensors, tinyGgufTokenizerMetadata, tinyLlamaConfig, writeGgufModel } from "@infer-recipes/models";

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ReliabilityRow {
  measure: string;
  value: string;
  detail: string;
}

/** Resident memory of a process in bytes (Linux /proc), or NaN elsewhere. */
function residentBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The server process: the launcher's child (the launcher only waits for it). */
function serverPid(launcherPid: number): number {
  try {
    const children = readFileSync(`/proc/${launcherPid}/task/${launcherPid}/children`, "utf8").trim().split(/\s+/).map(Number);
    return children[0] ?? launcherPid;
  } catch {
    return launcherPid;
  }
}

/** CPU time (user + system) a process has used, in milliseconds (Linux /proc; 0 elsewhere or once it has exited). */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime and stime, in clock ticks of 1/100 s
  } catch {
    return 0;
  }
}

/** Share of time some task waited for a CPU over the last 60 s (Linux pressure stall information), in %; NaN elsewhere. */
function cpuPressure(): number {
  try {
    return Number(/some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** The server's own measure of its HTTP thread's event-loop delay (/health's event_loop_delay_ms). */
interface ServerLoopDelay {
  p50: number;
  p99: number;
  max: number;
  own_cpu_max?: number;
  at_max?: { running: number; waiting_for_cpu: number };
}

/** An idle process measuring its own event-loop delay until its stdin closes: how late a thread with nothing to do
 *  gets to run on this machine meanwhile. */
function idleControl(): { pid: number; result: () => Promise<{ p99: number; max: number; cpuMs: number }> } {
  const script = `
    const { monitorEventLoopDelay } = await import("node:perf_hooks");
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    process.stdin.resume();
    process.stdin.on("end", () => {
      const usage = process.cpuUsage();
      process.stdout.write(JSON.stringify({ p99: histogram.percentile(99) / 1e6 - 10, max: histogram.max / 1e6 - 10, cpuMs: (usage.user + usage.system) / 1000 }));
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    pid: child.pid!,
    result: async () => {
      child.stdin.end();
      await closed;
      return JSON.parse(output);
    },
  };
}

interface StreamResult {
  done: boolean;
  hungUp: boolean;
  gaps: number[];
}

/** A streaming completion; hangs up after `hangUpAfterMs` past its first chunk when given. */
async function stream(url: string, maxTokens: number, hangUpAfterMs?: number): Promise<StreamResult> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "once upon a time", max_tokens: maxTokens, temperature: 0.8, stream: true }),
    signal: controller.signal,
  });
  let text = "";
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk, { stream: true });
      arrivals.push(performance.now());
      if (hangUpAfterMs !== undefined && arrivals.length === 1) setTimeout(() => controller.abort(), hangUpAfterMs);
    }
  } catch {
    return { done: false, hungUp: true, gaps: [] };
  }
  return { done: text.trim().endsWith("data: [DONE]"), hungUp: false, gaps: arrivals.slice(1).map((time, index) => time - arrivals[index]) };
}

async function timedPost(url: string, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

interface HealthBody {
  running: number;
  waiting: number;
  kv_cache: { used_blocks: number };
  event_loop_delay_ms: ServerLoopDelay;
}

async function health(url: string): Promise<{ ms: number; body: HealthBody }> {
  const started = performance.now();
  const response = await fetch(`${url}/health`);
  const body = (await response.json()) as HealthBody;
  return { ms: performance.now() - started, body };
}

/** A client process sending `rounds` × (a 1 MB prompt and a 50,000-message chat at once); resolves with the statuses
 *  and the CPU time it used. */
function floodFromAnotherProcess(url: string, rounds: number): Promise<{ statuses: number[]; cpuMs: number }> {
  const script = `
    const [url, rounds] = [process.argv[1], Number(process.argv[2])];
    const prompt = JSON.stringify({ prompt: "hello there friend ".repeat(55000), max_tokens: 4 });
    const chat = JSON.stringify({ messages: Array.from({ length: 50000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "hi" })) });
    const post = async (route, body) => (await fetch(url + route, { method: "POST", headers: { "content-type": "application/json" }, body })).status;
    const statuses = [];
    for (let round = 0; round < rounds; round++) statuses.push(...(await Promise.all([post("/v1/completions", prompt), post("/v1/chat/completions", chat)])));
    const usage = process.cpuUsage();
    process.stdout.write(JSON.stringify({ statuses, cpuMs: (usage.user + usage.system) / 1000 }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, url, String(rounds)], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`the flooding client exited with ${code}`))));
  });
}

const hugePrompt = JSON.stringify({ prompt: "hello there friend ".repeat(55_000), max_tokens: 4 });
const hugeChat = JSON.stringify({ messages: Array.from({ length: 50_000 }, (_, index) => ({ role: index % 2 ? "assistant" : "user", content: "hi" })) });

export async function measureReliability(progress: (line: string) => void): Promise<ReliabilityRow[]> {
  const directory = mkdtempSync(path.join(tmpdir(), "serving-reliability-"));
  const config = tinyLlamaConfig({ vocabSize: 352, contextLength: 512, eosTokenIds: [2] });
  const file = path.join(directory, "tiny-512.gguf");
  writeGgufModel(file, config, randomLlamaTensors(config, 9), tinyGgufTokenizerMetadata(config.vocabSize));
  const launcher = spawn(process.execPath, [path.join(repository, "scripts/recipe.mjs"), "llama-3.2-3b", "--model", file, "--serve", "--port", "0", "--max-batch", "32", "--queue-limit", "200", "--backend", "reference"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  launcher.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start within 120 s:\n${log}`)), 120_000);
      launcher.stderr.on("data", () => {
        const match = /serving ".*" on (http:\/\/\S+)/.exec(log);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      launcher.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${log}`)));
    });
    const pid = serverPid(launcher.pid!);
    // The machine's load over the run, and what an idle thread meets meanwhile.
    const loadAverage = os.loadavg()[0];
    const pressureBefore = cpuPressure();
    const control = idleControl();
    const cpuBefore = cpuTimes();
    const ownBefore = process.cpuUsage();
    const serverCpuBefore = processCpuMs(pid) + processCpuMs(launcher.pid!);
    const runStarted = performance.now();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(pid))), 50);
    const rows: ReliabilityRow[] = [];

    progress("warm-up…");
    await Promise.all(Array.from({ length: 4 }, () => stream(url, 8)));
    await timedPost(`${url}/v1/completions`, hugePrompt);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const baseline = residentBytes(pid);

    progress("100 concurrent streams, 30 of them hanging up mid-stream…");
    const results = await Promise.all(Array.from({ length: 100 }, (_, index) => stream(url, 64, index % 10 < 3 ? 20 + ((index * 37) % 200) : undefined)));
    const completed = results.filter((result) => result.done).length;
    const hungUp = results.filter((result) => result.hungUp).length;
    let after = await health(url);
    for (let attempt = 0; attempt < 100 && (after.body.running > 0 || after.body.kv_cache.used_blocks > 0); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await health(url);
    }
    rows.push({
      measure: "concurrent streams",
      value: `${completed} of ${100 - hungUp} finished, ${hungUp} hung up`,
      detail: `100 at once (batch ≤ 32), 64 tokens each; afterwards ${after.body.running} running, ${after.body.kv_cache.used_blocks} KV blocks in use`,
    });

    const afterStreams = residentBytes(pid);
    progress("largest requests…");
    const prompt = await timedPost(`${url}/v1/completions`, hugePrompt);
    const chat = await timedPost(`${url}/v1/chat/completions`, hugeChat);
    const limitAnswer = await (await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "x".repeat(10_000_000) }) })).json() as { error?: { message?: string } };
    const limit = /limit of (\d+) bytes/.exec(limitAnswer.error?.message ?? "")?.[1] ?? "?";
    rows.push({
      measure: "largest request",
      value: `${limit} bytes`,
      detail: `the body limit for 511 prompt tokens; a 1 MB prompt: ${prompt.status} in ${prompt.ms.toFixed(0)} ms, a 50,000-message chat (1.7 MB): ${chat.status} in ${chat.ms.toFixed(0)} ms`,
    });

    const afterLargest = residentBytes(pid);
    progress("streams and /health while 10 × (1 MB prompt + 50,000-message chat) arrive…");
    let flooding = true;
    // From another process, as clients would be: building and sending them here would hold up this measuring thread.
    const flood = floodFromAnotherProcess(url, 10).finally(() => (flooding = false));
    const gaps: number[] = [];
    const streams = (async () => {
      while (flooding) gaps.push(...(await stream(url, 200)).gaps);
    })();
    const healthLatencies: number[] = [];
    let lastHealth: HealthBody | undefined;
    const poller = (async () => {
      while (flooding) {
        const polled = await health(url);
        healthLatencies.push(polled.ms);
        lastHealth = polled.body;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const [{ statuses, cpuMs: floodCpuMs }] = await Promise.all([flood, streams, poller]);
    const runWall = performance.now() - runStarted;
    const own = process.cpuUsage(ownBefore);
    const ourCpuMs = (own.user + own.system) / 1000 + processCpuMs(pid) + processCpuMs(launcher.pid!) - serverCpuBefore + floodCpuMs;
    const othersBusy = othersBusyFraction(cpuBefore, cpuTimes(), ourCpuMs, runWall);
    const idle = await control.result();
    const loop = (await health(url)).body.event_loop_delay_ms ?? lastHealth?.event_loop_delay_ms;
    if (statuses.some((status, index) => status !== (index % 2 === 0 ? 400 : 413))) throw new Error(`serving reliability: the huge requests were answered ${statuses.join(", ")}, expected 400/413`);
    rows.push({
      measure: "stall bound",
      value: `longest chunk gap ${Math.max(...gaps).toFixed(0)} ms; /health max ${Math.max(...healthLatencies).toFixed(0)} ms`,
      detail:
        `200-token streams one after another (chunk gap p50 ${percentile(gaps, 50).toFixed(1)} ms, p99 ${percentile(gaps, 99).toFixed(1)} ms) and /health every 10 ms ` +
        `(p50 ${percentile(healthLatencies, 50).toFixed(1)} ms, p99 ${percentile(healthLatencies, 99).toFixed(1)} ms, ${healthLatencies.length} polls) while the huge requests arrive`,
    });
    const split = loop.at_max ? ` (${loop.at_max.running.toFixed(0)} ms of it running, ${loop.at_max.waiting_for_cpu.toFixed(0)} ms waiting for a CPU)` : "";
    rows.push({
      measure: "event-loop delay",
      value:
        `HTTP thread p99 ${loop.p99.toFixed(1)} ms, max ${loop.max.toFixed(0)} ms${split}; ` +
        `its own CPU between two 10 ms ticks at most ${loop.own_cpu_max?.toFixed(0) ?? "?"} ms; an idle process meanwhile: p99 ${idle.p99.toFixed(1)} ms, max ${idle.max.toFixed(0)} ms`,
      detail:
        "the server's own measure over the whole run (/health's event_loop_delay_ms: monitorEventLoopDelay, and the thread's scheduler counters); " +
        `other processes took ${(othersBusy * 100).toFixed(0)} % of the CPUs' time meanwhile (load average ${loadAverage.toFixed(1)} at the start, ` +
        `CPU pressure ${pressureBefore.toFixed(0)} % → ${cpuPressure().toFixed(0)} % of the last minute with a task waiting for a CPU)`,
    });

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const soon = residentBytes(pid);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    clearInterval(sampler);
    const settled = residentBytes(pid);
    const megabytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
    rows.push({
      measure: "memory",
      value: `${megabytes(baseline)} → peak ${megabytes(peak)} → ${megabytes(soon)} → ${megabytes(settled)}`,
      detail:
        "resident memory of the server process after warm-up, at its peak during all of the above, 3 s after and 15 s after " +
        `(after the concurrent streams ${megabytes(afterStreams)}, after the largest requests ${megabytes(afterLargest)})`,
    });
    return rows;
  } finally {
    if (launcher.exitCode === null && launcher.signalCode === null) {
      const exited = new Promise((resolve) => launcher.once("exit", resolve));
      launcher.kill("SIGTERM");
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
  }
}

function writeReport(directory: string, rows: readonly ReliabilityRow[], machine: MachineInfo, command: string): string[] {
  const markdown = [
    "# Serving reliability: concurrent streams, disconnects, large requests, stalls, memory",
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\`.`,
    "",
    "The server process as users start it (`node scripts/recipe.mjs llama-3.2-3b --serve`, the model in a worker thread),",
    "serving a tiny random Llama with 512 positions of context on the reference kernels. The machine is shared: latencies",
    "measured from outside include waiting for a CPU behind other processes; the event-loop row separates that from the",
    "HTTP thread's own work (its CPU time between two ticks of its delay timer, from the Linux scheduler's counters).",
    "",
    markdownTable(rows, [
      { header: "measure", value: (row) => row.measure, align: "left" },
      { header: "result", value: (row) => row.value, align: "left" },
      { header: "how", value: (row) => row.detail, align: "left" },
    ]),
    "",
  ].join("\n");
  return writeReportFiles(directory, { "serving-reliability.md": markdown, "serving-reliability.json": reportJson({ machine, command, rows }) });
}

export async function benchServingReliability(argv: string[], resultsDirectory: string): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
  const machine = machineInfo();
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const rows = await measureReliability(progress);
  for (const row of rows) {
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else process.stdout.write(`${row.measure}: ${row.value} (${row.detail})\n`);
  }
  const paths = writeReport(resultsDirectory, rows, machine, "pnpm bench serving-reliability");
  process.stderr.write(`wrote ${paths.join(", ")}\n`);
}
