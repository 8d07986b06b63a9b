// `pnpm bench peers`: this project's engine side by side with llama.cpp on the same random-weight GGUF files of the
// exact Llama 3.2 1B/3B shapes (or, with --architecture chatglm, ChatGLM3-6B's), at the same thread counts: prefill
// tokens/s on a 512-token prompt, decode tokens/s over 128 greedy tokens, inter-token latency and memory. llama.cpp
// runs through node-llama-cpp (the in-repo peer) and, given --llama-bench PATH, as its own llama-bench (the figure to
// beat). Each engine runs in its own process with the model loaded (llama-bench: one process per run), and runs
// alternate ours / node-llama-cpp / llama-bench so a noisy machine shifts all alike; each run waits for a quiet CPU
// first and records how much CPU other processes took meanwhile (per run, with the worker's page faults and what ours'
// thread pool did: the report's thread-pool section). With --shape tiny it also measures a real trained model,
// stories260K from ../shared/models (the size of a speculative-decoding draft model, where per-token overhead sets the
// speed): its worker engines run --tiny-warmup whole runs first, so this project's JIT-compiled JS has settled, and
// its decode starts from BOS (llama-bench: -p 0 -n 128) rather than after the prompt. Options: peer-options.ts.

import path from "node:path";

import { availableMemoryBytes, cpuTimes, machineInfo, othersBusyFraction, waitForQuietCpu } from "@infer-recipes/harness";
import { nativeAvailability } from "@infer-recipes/kernel";

import { llamaBenchFigure } from "./llama-bench-baselines.ts";
import { runLlamaBench } from "./llama-bench-engine.ts";
import { loadLlamaCpp } from "./llama-cpp-peer.ts";
import { ensurePeerModelFile, tinyPeerModelFile, type PeerModelFile } from "./peer-model-files.ts";
import { batchSize, parsePeerOptions, type PeerOptions } from "./peer-options.ts";
import { contendedCpuShare, peerRows, type CaseRuns, type EngineMemory, type MeasuredRun, type PeerRow } from "./peer-rows.ts";
import { isRandomPeerShape, peerShapeConfig, peerShapeFileStem, type PeerArchitecture, type PeerShape } from "./peer-shapes.ts";
import { chatGlmPeerVocabulary, peerVocabulary } from "./peer-vocabulary.ts";
import type { RunMeasurement } from "./peer-protocol.ts";
import { PeerWorker } from "./peer-worker-client.ts";
import { peerTable, tinyCaseNote, writePeerReport } from "./peers-report.ts";

/** Warm-up runs of a worker engine right before each of its measured runs, left out of the medians: a short prompt and
 *  a few decode steps read every weight once and let the engine settle without costing a full prefill. Before every
 *  run, not once per thread count, as llama-bench warms up in each of its runs: a run that came right after another
 *  engine's process had read a multi-GB file into its memory ran ~10 % slower on this VM (the first pass over the
 *  weights afterwards is slower), and in the quiet-window runs of 12-04 that was every 3B run but the first. (The
 *  tiny case instead runs --tiny-warmup whole runs once: its runs are short, and the JIT needs several before this
 *  project's speed settles.) */
const warmupRuns = 1;
const warmupPromptTokens = 32;
const warmupDecodeTokens = 8;
/** What each architecture's prompt starts with (Llama 3's <|begin_of_text|>; ChatGLM's [gMASK] sop) and how many
 *  ordinary token ids lie below its special ones. */
const promptStart: Record<PeerArchitecture, { prefix: number[]; ordinaryTokens: number }> = {
  llama: { prefix: [128000], ordinaryTokens: 128000 },
  chatglm: { prefix: [64790, 64792], ordinaryTokens: 64789 },
};
/** stories260K's prompt: its BOS (1), then ids of its 512-token vocabulary. */
const tinyPromptStart = { prefix: [1], ordinaryTokens: 512 };

const gigabytes = (bytes: number) => (bytes / 1e9).toFixed(2);

/** The start token(s) then deterministic ordinary token ids (below the special ids), the same prompt for both engines. */
export function benchmarkPrompt(length: number, start: number | readonly number[], ordinaryTokens: number): number[] {
  const prompt = typeof start === "number" ? [start] : [...start];
  let state = 12345;
  while (prompt.length < length) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    prompt.push(state % ordinaryTokens);
  }
  return prompt;
}

function progressWriter(label: string): (written: number, total: number) => void {
  let lastPercent = -1;
  return (written, total) => {
    const percent = total === 0 ? 100 : Math.floor((written / total) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    const line = `  writing ${label}: ${String(percent).padStart(3)}% (${(written / 1e9).toFixed(2)} / ${(total / 1e9).toFixed(2)} GB)`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${percent === 100 ? "\n" : ""}`);
    else if (percent % 10 === 0) process.stderr.write(`${line}\n`);
  };
}

function describeRun(engine: string, run: MeasuredRun): string {
  const others = run.othersCpuShare >= 0.05 ? ` (others used ${(run.othersCpuShare * 100).toFixed(0)}% of the CPU)` : "";
  return `${engine}: prefill ${((run.prefillTokens / run.prefillMs) * 1000).toFixed(1)} tok/s, decode ${((run.decodeTokens / run.decodeMs) * 1000).toFixed(2)} tok/s${others}`;
}

type EngineKey = "ours" | "peer" | "llamaBench";
const engineLabel = (engine: EngineKey) => (engine === "ours" ? "ours" : engine === "peer" ? "node-llama-cpp" : "llama-bench");

/** Waits (up to quietWaitMs) for other processes to leave the CPU, saying so when it waited or gave up. */
async function waitQuiet(quietWaitMs: number, log: (line: string) => void): Promise<void> {
  if (quietWaitMs <= 0) return;
  const quiet = await waitForQuietCpu({ timeoutMs: quietWaitMs });
  if (!quiet.quiet) log(`  the CPU stayed ${(quiet.busyFraction * 100).toFixed(0)}% busy for ${(quiet.waitedMs / 1000).toFixed(0)} s; measuring anyway`);
  else if (quiet.waitedMs > 2000) log(`  waited ${(quiet.waitedMs / 1000).toFixed(0)} s for other processes to leave the CPU`);
}

/** The tiny case's run from its two worker runs: the prompt's prefill from the first, the decode from BOS of the second;
 *  CPU time, page faults and context switches over both. */
export function combineBosRuns(prefill: RunMeasurement, decode: RunMeasurement): RunMeasurement {
  const sum = (first: number | undefined, second: number | undefined) => (first === undefined || second === undefined ? undefined : first + second);
  const pageFaults = sum(prefill.pageFaults, decode.pageFaults);
  const involuntaryContextSwitches = sum(prefill.involuntaryContextSwitches, decode.involuntaryContextSwitches);
  const { pool: _decodePool, pageFaults: _faults, involuntaryContextSwitches: _switches, ...decodeRun } = decode;
  return {
    ...decodeRun,
    prefillTokens: prefill.prefillTokens,
    prefillMs: prefill.prefillMs,
    cpuMs: prefill.cpuMs + decode.cpuMs,
    ...(pageFaults === undefined ? {} : { pageFaults }),
    ...(involuntaryContextSwitches === undefined ? {} : { involuntaryContextSwitches }),
    ...(prefill.pool && decode.pool ? { pool: { prefill: prefill.pool.prefill, decode: decode.pool.decode } } : {}),
  };
}

/** One run on a worker, after waiting for a quiet CPU, with the share of CPU time other processes took meanwhile.
 *  With `decodeFromBos` (the tiny case) the run is two worker runs, one after the other: the prompt's prefill alone,
 *  then the decode after the prompt's first token (BOS) — the prefill of the first, the decode of the second. */
async function measuredRun(worker: PeerWorker, prompt: number[], decodeTokens: number, quietWaitMs: number, log: (line: string) => void, decodeFromBos = false): Promise<MeasuredRun> {
  await waitQuiet(quietWaitMs, log);
  const before = cpuTimes();
  const started = performance.now();
  let measurement: RunMeasurement;
  if (decodeFromBos) {
    const prefill = (await worker.request({ kind: "run", prompt, decodeTokens: 0 }, "run")).measurement;
    const decode = (await worker.request({ kind: "run", prompt: prompt.slice(0, 1), decodeTokens }, "run")).measurement;
    measurement = combineBosRuns(prefill, decode);
  } else {
    measurement = (await worker.request({ kind: "run", prompt, decodeTokens }, "run")).measurement;
  }
  const wallMs = performance.now() - started;
  return { ...measurement, othersCpuShare: othersBusyFraction(before, cpuTimes(), measurement.cpuMs, wallMs) };
}

/** The warm-up runs of a worker engine: one short run before each measured run, or for the tiny case --tiny-warmup
 *  whole runs like the measured ones, once before them. */
function warmupPlan(shape: PeerShape, options: PeerOptions, prompt: number[]): { runs: number; prompt: number[]; decodeTokens: number } {
  return shape === "tiny"
    ? { runs: options.tinyWarmupRuns, prompt, decodeTokens: options.decodeTokens }
    : { runs: warmupRuns, prompt: prompt.slice(0, warmupPromptTokens), decodeTokens: warmupDecodeTokens };
}

interface FileResult {
  rows: PeerRow[];
  engines: Partial<Record<EngineKey, string>>;
}

/** One llama-bench run on `file` at `threads` (after waiting for a quiet CPU), and its description; with
 *  `decodeFromBos` (the tiny case) its tg test starts from an empty context. */
async function llamaBenchRun(file: PeerModelFile, threads: number, options: PeerOptions, quietWaitMs: number, log: (line: string) => void, decodeFromBos: boolean): Promise<{ run: MeasuredRun; description: string }> {
  await waitQuiet(quietWaitMs, log);
  const before = cpuTimes();
  const started = performance.now();
  const result = await runLlamaBench({ binary: options.llamaBench!, modelPath: file.path, threads, promptTokens: options.promptTokens, decodeTokens: options.decodeTokens, memoryMap: options.llamaMemoryMap, decodeDepth: decodeFromBos ? 0 : options.promptTokens });
  const run = { ...result.measurement, othersCpuShare: othersBusyFraction(before, cpuTimes(), result.measurement.cpuMs, performance.now() - started) };
  if (threads > 1 && run.othersCpuShare >= contendedCpuShare) {
    log(`  note: other processes took ${(run.othersCpuShare * 100).toFixed(0)}% of the CPU during this llama-bench run; llama.cpp's threads wait for each other at every op, so a contended ${threads}-thread run collapses (BASELINES.md: 785 ms/token) — not a comparison`);
  }
  return { run, description: result.description };
}

/** The measured runs of each engine at one thread count. */
interface ThreadRuns {
  threads: number;
  runs: CaseRuns;
}

/** Loads the worker engines on one file and measures every thread count, runs interleaved ours / node-llama-cpp /
 *  llama-bench. */
async function benchFile(file: PeerModelFile, shape: PeerShape, options: PeerOptions, prompt: number[], log: (line: string) => void): Promise<FileResult> {
  const withPeer = options.engines.includes("node-llama-cpp");
  const withBench = options.engines.includes("llama-bench");
  const decodeFromBos = shape === "tiny";
  const workers = { ours: PeerWorker.start("ours"), peer: withPeer ? PeerWorker.start("llama.cpp") : undefined };
  const descriptions: FileResult["engines"] = {};
  try {
    const contextSize = options.promptTokens + options.decodeTokens + 16;
    const load = { kind: "load" as const, modelPath: file.path, threads: options.threads[0], contextSize, batchSize, memoryMap: options.llamaMemoryMap };
    // Load one after the other: both read the same file, and loading is not what is measured.
    const oursLoaded = await workers.ours.request(load, "loaded");
    const peerLoaded = workers.peer ? await workers.peer.request(load, "loaded") : undefined;
    log(`  loaded: ours in ${(oursLoaded.loadMs / 1000).toFixed(1)} s (${gigabytes(oursLoaded.residentBytes)} GB resident)` +
      (peerLoaded ? `, node-llama-cpp in ${(peerLoaded.loadMs / 1000).toFixed(1)} s (${gigabytes(peerLoaded.residentBytes)} GB resident)` : ""));
    descriptions.ours = oursLoaded.description;
    if (peerLoaded) descriptions.peer = peerLoaded.description;
    const quietWaitMs = options.quietWaitSeconds * 1000;
    const caseRuns: ThreadRuns[] = [];
    for (const threads of options.threads) {
      await workers.ours.request({ kind: "threads", threads }, "threads");
      await workers.peer?.request({ kind: "threads", threads }, "threads");
      const runs = { ours: [] as MeasuredRun[], peer: [] as MeasuredRun[], llamaBench: [] as MeasuredRun[] };
      const plural = threads === 1 ? "" : "s";
      const repetitions = options.repetitions[shape];
      const warmups = warmupPlan(shape, options, prompt);
      // The tiny case's whole warm-up runs come first, in rounds of their own; the other shapes' short warm-up runs
      // right before each measured run.
      const warmupRounds = shape === "tiny" ? warmups.runs : 0;
      for (let index = 0; index < warmupRounds + repetitions; index++) {
        const warmup = index < warmupRounds;
        const label = warmup ? (warmupRounds === 1 ? "warm-up" : `warm-up ${index + 1}/${warmupRounds}`) : `run ${index - warmupRounds + 1}/${repetitions}`;
        for (const engine of ["ours", "peer", "llamaBench"] as const) {
          let run: MeasuredRun;
          if (engine === "llamaBench") {
            // llama-bench warms itself up in every run; it sits out the tiny case's warm-up rounds.
            if (!withBench || warmup) continue;
            const measured = await llamaBenchRun(file, threads, options, quietWaitMs, log, decodeFromBos);
            descriptions.llamaBench = measured.description;
            run = measured.run;
          } else {
            const worker = workers[engine];
            if (!worker) continue;
            if (!warmup && warmupRounds === 0) {
              for (let before = 0; before < warmups.runs; before++) {
                const warmed = await measuredRun(worker, warmups.prompt, warmups.decodeTokens, 0, log);
                log(`  ${threads} thread${plural}, warm-up before ${label}, ${describeRun(engineLabel(engine), warmed)}`);
              }
            }
            run = warmup
              ? await measuredRun(worker, warmups.prompt, warmups.decodeTokens, quietWaitMs, log, decodeFromBos)
              : await measuredRun(worker, prompt, options.decodeTokens, quietWaitMs, log, decodeFromBos);
          }
          if (!warmup) runs[engine].push(run);
          log(`  ${threads} thread${plural}, ${label}, ${describeRun(engineLabel(engine), run)}`);
        }
      }
      caseRuns.push({ threads, runs: { ours: runs.ours, ...(withPeer ? { peer: runs.peer } : {}), ...(withBench ? { llamaBench: runs.llamaBench } : {}) } });
    }
    const memory: EngineMemory = { ours: { peakBytes: (await workers.ours.request({ kind: "memory" }, "memory")).peakResidentBytes, afterLoadBytes: oursLoaded.residentBytes } };
    if (workers.peer && peerLoaded) memory.peer = { peakBytes: (await workers.peer.request({ kind: "memory" }, "memory")).peakResidentBytes, afterLoadBytes: peerLoaded.residentBytes };
    return fileResult(file, shape, options, caseRuns, memory, descriptions);
  } finally {
    await Promise.all([workers.ours.close(), workers.peer?.close()]);
  }
}

/** The rows of one file from its runs, and the engines' descriptions for the report. */
function fileResult(file: PeerModelFile, shape: PeerShape, options: PeerOptions, caseRuns: ThreadRuns[], memory: EngineMemory, descriptions: FileResult["engines"]): FileResult {
  const rows = caseRuns.flatMap(({ threads, runs }) =>
    peerRows({ shape, format: file.format, threads, fileBytes: file.bytes, embeddingDType: file.embeddingDType, madeBy: file.madeBy, decodeFromBos: shape === "tiny" }, runs, memory, (phase) =>
      llamaBenchFigure(shape, file.format, threads, phase, phase === "prefill" ? options.promptTokens : options.decodeTokens)),
  );
  const threadList = `${options.threads.join("/")} threads`;
  const engines: FileResult["engines"] = {};
  for (const [engine, description] of Object.entries(descriptions) as Array<[EngineKey, string]>) engines[engine] = description.replace(/\d+ threads/, threadList);
  return { rows, engines };
}

/**
 * Measures one file with only one engine loaded at a time, for files too large to hold twice within the memory budget:
 * per thread count and repetition, each worker engine in turn is loaded, warmed up, measured once and unloaded (and
 * llama-bench, a process per run anyway, runs once), so runs still alternate ours / node-llama-cpp / llama-bench;
 * loading is not measured.
 */
async function benchFileOneEngineAtATime(file: PeerModelFile, shape: PeerShape, options: PeerOptions, prompt: number[], log: (line: string) => void): Promise<FileResult> {
  const withPeer = options.engines.includes("node-llama-cpp");
  const withBench = options.engines.includes("llama-bench");
  const decodeFromBos = shape === "tiny";
  const warmups = warmupPlan(shape, options, prompt);
  const contextSize = options.promptTokens + options.decodeTokens + 16;
  const quietWaitMs = options.quietWaitSeconds * 1000;
  const memory: Required<EngineMemory> = { ours: { peakBytes: 0, afterLoadBytes: 0 }, peer: { peakBytes: 0, afterLoadBytes: 0 } };
  const descriptions: FileResult["engines"] = {};
  const caseRuns: ThreadRuns[] = [];
  for (const threads of options.threads) {
    const runs = { ours: [] as MeasuredRun[], peer: [] as MeasuredRun[], llamaBench: [] as MeasuredRun[] };
    const repetitions = options.repetitions[shape];
    for (let repetition = 0; repetition < repetitions; repetition++) {
      for (const engine of ["ours", "peer", "llamaBench"] as const) {
        if (engine === "llamaBench") {
          // llama-bench is a process of its own per run anyway, with its own warm-up.
          if (!withBench) continue;
          const measured = await llamaBenchRun(file, threads, options, quietWaitMs, log, decodeFromBos);
          descriptions.llamaBench = measured.description;
          runs.llamaBench.push(measured.run);
          log(`  ${threads} thread${threads === 1 ? "" : "s"}, run ${repetition + 1}/${repetitions}, ${describeRun(engineLabel(engine), measured.run)}`);
          continue;
        }
        if (engine === "peer" && !withPeer) continue;
        const worker = PeerWorker.start(engine === "ours" ? "ours" : "llama.cpp");
        try {
          const loaded = await worker.request({ kind: "load", modelPath: file.path, threads, contextSize, batchSize, memoryMap: options.llamaMemoryMap }, "loaded");
          descriptions[engine] = loaded.description;
          memory[engine].afterLoadBytes = Math.max(memory[engine].afterLoadBytes, loaded.residentBytes);
          for (let warmup = 0; warmup < warmups.runs; warmup++) await measuredRun(worker, warmups.prompt, warmups.decodeTokens, 0, log, decodeFromBos);
          const run = await measuredRun(worker, prompt, options.decodeTokens, quietWaitMs, log, decodeFromBos);
          runs[engine].push(run);
          memory[engine].peakBytes = Math.max(memory[engine].peakBytes, (await worker.request({ kind: "memory" }, "memory")).peakResidentBytes);
          log(`  ${threads} thread${threads === 1 ? "" : "s"}, run ${repetition + 1}/${repetitions} (loaded in ${(loaded.loadMs / 1000).toFixed(1)} s, warmed up), ${describeRun(engineLabel(engine), run)}`);
        } finally {
          await worker.close();
        }
      }
    }
    caseRuns.push({ threads, runs: { ours: runs.ours, ...(withPeer ? { peer: runs.peer } : {}), ...(withBench ? { llamaBench: runs.llamaBench } : {}) } });
  }
  return fileResult(file, shape, options, caseRuns, withPeer ? memory : { ours: memory.ours }, descriptions);
}

export async function benchPeers(argv: string[], resultsDirectory: string): Promise<void> {
  const options = parsePeerOptions(argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  if (options.engines.includes("node-llama-cpp")) {
    const llamaCpp = await loadLlamaCpp();
    if (llamaCpp.llama === undefined) throw new Error(`${llamaCpp.reason}\nThe peer benchmark needs llama.cpp: run pnpm install (node-llama-cpp installs its prebuilt linux-x64 binary from npm), or measure against llama-bench alone with --engines llama-bench --llama-bench PATH.`);
  }
  const availability = nativeAvailability();
  if (!availability.available) throw new Error(`the peer benchmark measures this project's native backend, which is unavailable: ${availability.reason}`);
  const machine = machineInfo();
  const glm = options.architecture === "chatglm";
  // The random-weight files embed a vocabulary of their shape's size; the tiny real model brings its own.
  const firstRandomShape = options.shapes.find(isRandomPeerShape);
  const withTiny = options.shapes.includes("tiny");
  const vocabularySize = firstRandomShape === undefined ? undefined : peerShapeConfig(firstRandomShape).vocabSize;
  const vocabulary = vocabularySize === undefined ? undefined : glm ? chatGlmPeerVocabulary(vocabularySize) : peerVocabulary(vocabularySize);
  if (vocabulary) log(`vocabulary: ${vocabulary.description}`);
  const tinyVocabulary = "stories260K's own (512 tokens)";
  const vocabularyDescription = !vocabulary ? tinyVocabulary : `${vocabulary.description}${withTiny ? `; the tiny case: ${tinyVocabulary}` : ""}`;
  const { prefix, ordinaryTokens } = promptStart[options.architecture];
  const randomPrompt = benchmarkPrompt(options.promptTokens, prefix, ordinaryTokens);
  const tinyPrompt = benchmarkPrompt(options.promptTokens, tinyPromptStart.prefix, tinyPromptStart.ordinaryTokens);
  resultsDirectory = options.resultsDirectory ?? resultsDirectory;

  const rows: PeerRow[] = [];
  const files: Array<{ path: string; madeBy: string }> = [];
  let filesWritten = 0;
  const skipped: string[] = [];
  const oneEngineFiles: string[] = [];
  const engines: FileResult["engines"] = {};
  let tinyMeasured = false;
  for (const shape of options.shapes) {
    const prompt = shape === "tiny" ? tinyPrompt : randomPrompt;
    // The tiny case is one real F32 file, whatever --formats says.
    for (const format of isRandomPeerShape(shape) ? options.formats : (["f32"] as const)) {
      const label = `${peerShapeFileStem(shape)} ${shape === "tiny" ? "(tiny)" : "shape"} ${format}`;
      const file = format === "f32" || !isRandomPeerShape(shape) ? tinyPeerModelFile() : ensurePeerModelFile(shape, format, {
        vocabulary: vocabulary!.metadata, vocabularyKind: vocabulary!.kind, onProgress: progressWriter(label), directory: options.cacheDirectory,
        ...(options.llamaQuantize === undefined ? {} : { llamaQuantize: options.llamaQuantize }),
      });
      if ("skipped" in file) {
        log(`skipping ${label}: ${file.skipped}`);
        skipped.push(`${label}: ${file.skipped}`);
        continue;
      }
      const size = file.bytes < 1e8 ? `${(file.bytes / 1e6).toFixed(1)} MB` : `${gigabytes(file.bytes)} GB`;
      log(`${label}: ${file.reused ? "reusing" : "wrote"} ${file.path} (${size}; ${file.madeBy})`);
      // Ours and node-llama-cpp hold the weights in their own memory (node-llama-cpp only once mapped pages are touched
      // with --llama-mmap); llama-bench maps the file, whose pages the page cache holds anyway.
      const peerCopies = options.engines.includes("node-llama-cpp") ? (options.llamaMemoryMap ? 0.2 : 1.2) : 0.2;
      const neededBytes = file.bytes * (1 + peerCopies) + 1e9;
      const oneEngineBytes = file.bytes * 1.05 + 5e8;
      const budgetBytes = Math.min(availableMemoryBytes(), options.memoryBudgetBytes ?? Infinity);
      const oneAtATime = options.oneEngineAtATime || budgetBytes < neededBytes;
      if (budgetBytes < (oneAtATime ? oneEngineBytes : neededBytes)) {
        const reason = `${label}: ${oneAtATime ? "one engine" : "both engines"} loaded need${oneAtATime ? "s" : ""} about ${gigabytes(oneAtATime ? oneEngineBytes : neededBytes)} GB but only ${gigabytes(budgetBytes)} GB of memory is available${options.memoryBudgetBytes === undefined ? "" : " within --memory-budget"}`;
        log(`skipping ${reason}`);
        skipped.push(reason);
        continue;
      }
      if (options.oneEngineAtATime) log("  one engine at a time (--one-engine-at-a-time)");
      else if (oneAtATime) log(`  one engine at a time: both loaded would need about ${gigabytes(neededBytes)} GB, more than the ${gigabytes(budgetBytes)} GB available${options.memoryBudgetBytes === undefined ? "" : " within --memory-budget"}`);
      files.push({ path: path.relative(path.resolve(resultsDirectory, ".."), file.path), madeBy: file.madeBy });
      if (!file.reused) filesWritten++;
      if (oneAtATime) oneEngineFiles.push(label);
      const result = oneAtATime ? await benchFileOneEngineAtATime(file, shape, options, prompt, log) : await benchFile(file, shape, options, prompt, log);
      if (shape === "tiny") tinyMeasured = true;
      Object.assign(engines, result.engines);
      for (const row of result.rows) {
        rows.push(row);
        if (options.json) process.stdout.write(JSON.stringify(row) + "\n");
        else {
          const peer = row.peer_tokens_per_s === null ? "" : `, node-llama-cpp ${row.peer_tokens_per_s.toFixed(2)} tok/s (ours ÷ it ${row.ratio!.toFixed(2)})`;
          const bench = row.llama_bench_source !== "measured" ? "" : `, llama-bench ${row.llama_bench_tokens_per_s!.toFixed(2)} tok/s (ours ÷ it ${row.ratio_llama_bench!.toFixed(2)})`;
          log(`  ${row.phase} ${row.threads} thread${row.threads === 1 ? "" : "s"}: ours ${row.ours_tokens_per_s.toFixed(2)} tok/s${peer}${bench}`);
        }
      }
    }
  }
  if (rows.length === 0) throw new Error(`nothing was measured${skipped.length > 0 ? `: ${skipped.join("; ")}` : ""}`);
  const command = `pnpm bench peers ${argv.join(" ")}`.trim();
  const name = `${options.quick ? "peers-quick" : "peers"}${glm ? "-chatglm" : ""}${options.shapes.every((shape) => shape === "tiny") ? "-tiny" : ""}`;
  const elapsedSeconds = (Date.now() - started) / 1000;
  const paths = writePeerReport(resultsDirectory, name, rows, {
    machine,
    command,
    engines,
    vocabulary: vocabularyDescription,
    settings: {
      promptTokens: options.promptTokens, decodeTokens: options.decodeTokens, repetitions: options.shapes.map((shape) => `${options.repetitions[shape]} (${shape})`).join(", "), warmupRuns, warmupBeforeEachRun: true, warmupPromptTokens, warmupDecodeTokens, batchSize, quietWaitSeconds: options.quietWaitSeconds, llamaMemoryMap: options.llamaMemoryMap, peerEngines: options.engines,
      ...(tinyMeasured ? { tinyWarmupRuns: options.tinyWarmupRuns } : {}),
    },
    files,
    filesWritten,
    skipped,
    notes: [
      ...(oneEngineFiles.length === 0 ? [] : [
        `one engine at a time (memory budget): ${oneEngineFiles.join(", ")} — for each thread count and run, ours then node-llama-cpp were loaded, warmed up (one short run; the tiny case --tiny-warmup whole runs), measured once and unloaded (llama-bench runs in a process of its own anyway), so runs still alternate; not both resident at once`,
      ]),
      ...(tinyMeasured ? [tinyCaseNote({ warmupRuns: options.tinyWarmupRuns, promptTokens: options.promptTokens, decodeTokens: options.decodeTokens, peerEngines: options.engines })] : []),
    ],
    elapsedSeconds,
  });
  if (!options.json) process.stdout.write(peerTable(rows) + "\n");
  log(`finished in ${elapsedSeconds.toFixed(0)} s; wrote ${paths.join(", ")}`);
}
