// The peer report: table formatting, the memory criterion's sentence, and the three result files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { machineInfo } from "@infer-recipes/harness";
import { describe, expect, it } from "vitest";

import type { PeerRow } from "../src/peer-rows.ts";
import { memoryCheck, memoryLimitRatio, peerMemoryRows, peerReportMarkdown, peerTable, poolSection, targetSummary, tinyCaseNote, writePeerReport, type PeerReportContext } from "../src/peers-report.ts";

function row(overrides: Partial<PeerRow>): PeerRow {
  return {
    shape: "3b",
    format: "q8_0",
    threads: 2,
    phase: "decode",
    tokens: 128,
    decode_after_tokens: 512,
    ours_tokens_per_s: 12,
    peer_tokens_per_s: 10,
    ratio: 1.2,
    ours_tokens_per_s_min: 11,
    ours_tokens_per_s_max: 13,
    peer_tokens_per_s_min: 9,
    peer_tokens_per_s_max: 11,
    ours_inter_token_ms: { p50: 80, p95: 90, p99: 99 },
    peer_inter_token_ms: { p50: 100, p95: 110, p99: 120 },
    ours_peak_memory_bytes: 3.8e9,
    peer_peak_memory_bytes: 3.9e9,
    ours_resident_after_load_bytes: 3.6e9,
    peer_resident_after_load_bytes: 3.7e9,
    file_bytes: 3.4e9,
    others_cpu_share: 0.02,
    llama_bench_contended_runs: 0,
    llama_bench_tokens_per_s: 11.1,
    llama_bench_tokens_per_s_min: null,
    llama_bench_tokens_per_s_max: null,
    llama_bench_source: "BASELINES.md",
    ratio_llama_bench: null,
    made_by: "this project's writer",
    embedding_dtype: "q8_0",
    repetitions: 2,
    peer: "llama.cpp",
    ...overrides,
  };
}

const context: PeerReportContext = {
  machine: machineInfo(),
  command: "pnpm bench peers --shape 3b",
  engines: { ours: "this project", peer: "llama.cpp" },
  vocabulary: "synthetic",
  settings: { promptTokens: 512, decodeTokens: 128, repetitions: "2 (3b)", warmupRuns: 1, warmupPromptTokens: 32, warmupDecodeTokens: 8, batchSize: 512, quietWaitSeconds: 60, llamaMemoryMap: false, peerEngines: ["node-llama-cpp", "llama-bench"] },
  files: [{ path: ".cache/peers/llama-3.2-3b-random-q8_0-llama3-vocabulary.gguf", madeBy: "this project's writer" }],
  filesWritten: 0,
  skipped: [],
  elapsedSeconds: 600,
};

describe("peer report", () => {
  it("formats the table with ranges, both ratios and the llama-bench figure (measured, or BASELINES.md's)", () => {
    const measured = row({ llama_bench_tokens_per_s: 10, llama_bench_tokens_per_s_min: 9.5, llama_bench_tokens_per_s_max: 10.5, llama_bench_source: "measured", ratio_llama_bench: 1.2 });
    const table = peerTable([row({ phase: "prefill", tokens: 512, ours_inter_token_ms: null, peer_inter_token_ms: null, llama_bench_tokens_per_s: null, llama_bench_source: null }), row({}), measured]);
    const lines = table.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain("ours ÷ llama-bench");
    expect(lines[0]).toContain("ours ÷ node-llama-cpp");
    expect(lines[2]).toContain("prefill 512");
    expect(lines[3]).toContain("decode 128");
    expect(lines[3]).toContain("12.0 (11.0–13.0)");
    expect(lines[3]).toContain("**1.20×**");
    expect(lines[3]).toContain("11.1 (BASELINES.md)");
    expect(lines[3]).toContain("80.0 / 90.0 / 99.0");
    expect(lines[4]).toContain("10.0 (9.5–10.5)");
    expect(lines[4]).not.toContain("BASELINES.md");
  });

  it("marks the tiny case's decode rows as decoded from BOS, its prefill and the other decode rows as before", () => {
    const tiny = { shape: "tiny", format: "f32", embedding_dtype: "f32" as const, threads: 1 };
    const lines = peerTable([row({ ...tiny, phase: "prefill", tokens: 512, decode_after_tokens: null, ours_inter_token_ms: null, peer_inter_token_ms: null }), row({ ...tiny, decode_after_tokens: 1 }), row({})]).split("\n");
    expect(lines[2]).toMatch(/^\| tiny +\| f32 +\| +1 \| prefill 512 +\|/);
    expect(lines[3]).toMatch(/^\| tiny +\| f32 +\| +1 \| decode 128 from BOS \|/);
    expect(lines[4]).toMatch(/\| decode 128 +\|/);
    expect(lines[4]).not.toContain("from BOS");
  });

  it("says how the tiny case was warmed up and what its decode rows measure", () => {
    expect(tinyCaseNote({ warmupRuns: 10, promptTokens: 512, decodeTokens: 128, peerEngines: ["node-llama-cpp", "llama-bench"] })).toBe(
      "tiny: stories260K, a real trained model (~260K parameters, F32; the file and its source are listed above), the size of a speculative-decoding draft model, where per-token overhead sets the speed. " +
      "Per thread count ours and node-llama-cpp first ran 10 whole warm-up runs in the worker (prefill and decode, as measured; this project's decode speed settles only after its JS is JIT-compiled, a few runs in), then the measured runs. " +
      'Its decode rows ("from BOS") decode 128 greedy tokens after BOS alone, not after the prompt (each run: the 512-token prefill, then a separate decode from BOS); llama-bench: pp512, and tg128 from an empty context (-p 0 -n 128).',
    );
    const benchOnly = tinyCaseNote({ warmupRuns: 1, promptTokens: 64, decodeTokens: 32, peerEngines: ["llama-bench"] });
    expect(benchOnly).toContain("Per thread count ours first ran 1 whole warm-up run in the worker");
    expect(benchOnly).toContain("llama-bench: pp64, and tg32 from an empty context (-p 0 -n 32).");
    expect(tinyCaseNote({ warmupRuns: 3, promptTokens: 512, decodeTokens: 128, peerEngines: ["node-llama-cpp"] })).toMatch(/from BOS\)\.$/);
  });

  it("lists the tiny case's real file and its note in the report", () => {
    const tinyContext: PeerReportContext = {
      ...context,
      vocabulary: "stories260K's own (512 tokens)",
      settings: { ...context.settings, tinyWarmupRuns: 10 },
      files: [{ path: "../../shared/models/stories260K-gguf/stories260K.gguf", madeBy: "real weights, not written by this run: stories260K" }],
      notes: [tinyCaseNote({ warmupRuns: 10, promptTokens: 512, decodeTokens: 128, peerEngines: ["llama-bench"] })],
    };
    const markdown = peerReportMarkdown("peers-tiny", [row({ shape: "tiny", format: "f32", embedding_dtype: "f32", decode_after_tokens: 1 })], tinyContext);
    expect(markdown).toContain("in Q6_K and the rest in Q4_K); the tiny case is a real model's file instead; vocabulary: stories260K's own (512 tokens)");
    expect(markdown).toContain("  - `../../shared/models/stories260K-gguf/stories260K.gguf`: real weights, not written by this run: stories260K");
    expect(markdown).toContain("- tiny: stories260K, a real trained model");
    expect(markdown).toContain("Runs alternate ours / node-llama-cpp / llama-bench; per thread count the tiny case's 10 whole warm-up runs per worker engine (below), then the median");
    const mixed = peerReportMarkdown("peers", [row({}), row({ shape: "tiny", format: "f32", embedding_dtype: "f32", decode_after_tokens: 1 })], tinyContext);
    expect(mixed).toContain("per thread count 1 warm-up run per worker engine (32-token prompt, 8 decode tokens) (the tiny case: 10 whole runs, below), then the median");
    expect(peerReportMarkdown("peers", [row({})], context)).toContain("per thread count 1 warm-up run per worker engine (32-token prompt, 8 decode tokens), then the median");
    // Runs since 2026-12-05: the short warm-up right before each measured run (the tiny case's whole runs stay once).
    const eachRun = { ...tinyContext, settings: { ...tinyContext.settings, warmupBeforeEachRun: true } };
    expect(peerReportMarkdown("peers", [row({})], { ...context, settings: { ...context.settings, warmupBeforeEachRun: true } })).toContain(
      "Runs alternate ours / node-llama-cpp / llama-bench; 1 warm-up run (32-token prompt, 8 decode tokens) right before each measured run of a worker engine, as llama-bench warms up in each of its runs, then the median");
    expect(peerReportMarkdown("peers", [row({}), row({ shape: "tiny", format: "f32", embedding_dtype: "f32", decode_after_tokens: 1 })], eachRun)).toContain(
      "right before each measured run of a worker engine, as llama-bench warms up in each of its runs (the tiny case: 10 whole runs, below), then the median");
    expect(peerReportMarkdown("peers-tiny", [row({ shape: "tiny", format: "f32", embedding_dtype: "f32", decode_after_tokens: 1 })], eachRun)).toContain(
      "per thread count the tiny case's 10 whole warm-up runs per worker engine (below), then the median");
    expect(peerReportMarkdown("peers", [row({})], context)).not.toContain("the tiny case is a real model's file instead");
  });

  it("marks the Q4_0 files' Q6_K embedding", () => {
    expect(peerTable([row({ format: "q4_0", embedding_dtype: "q6_k" })])).toContain("q4_0 (output q6_k)");
  });

  it("checks the 3B Q8_0 memory criterion against the file size", () => {
    expect(memoryCheck([row({})])).toMatch(/1\.059×\*\* \(pass\).*1\.118×\*\* \(pass\)/);
    expect(memoryCheck([row({ ours_peak_memory_bytes: 3.4e9 * (memoryLimitRatio + 0.01) })])).toContain("(FAIL)");
    expect(memoryCheck([row({ shape: "1b" })])).toContain("not measured");
    expect(peerMemoryRows([row({ threads: 1 }), row({ threads: 2 })])).toHaveLength(1); // one entry per file
  });

  it("lists the rows that meet the targets (prefill and decode ≥ 1.0× llama-bench) and those that miss", () => {
    const summary = targetSummary([row({ phase: "prefill", ratio_llama_bench: 1.05 }), row({ ratio_llama_bench: 0.95 }), row({ format: "f16", ratio_llama_bench: 0.5 })]);
    expect(summary).toContain("llama-bench (measured in this run)): 1 of 3 rows met");
    expect(summary).toContain("- met: 3b q8_0 2 threads prefill 1.05×");
    expect(summary).toContain("- missed: 3b q8_0 2 threads decode 0.95×; 3b f16 2 threads decode 0.50×");
    expect(summary).not.toContain("not a comparison");
    // A 2-thread row whose llama-bench runs were contended is neither met nor missed.
    const contended = targetSummary([row({ ratio_llama_bench: 1.1 }), row({ format: "q4_0", ratio_llama_bench: 17.3, llama_bench_contended_runs: 2, repetitions: 2 })]);
    expect(contended).toContain("1 of 1 rows met");
    expect(contended).toContain("- met: 3b q8_0 2 threads decode 1.10×");
    expect(contended).toMatch(/- not a comparison \(.*\): 3b q4_0 2 threads decode 17\.30× \(2 of 2 runs\)/);
    // Without llama-bench, against node-llama-cpp, and it says so.
    expect(targetSummary([row({ ratio: 1.2 })])).toContain("node-llama-cpp (llama-bench was not run)): 1 of 1 rows met");
    expect(targetSummary([row({ ratio: null })])).toContain("no rows with a measured llama.cpp engine");
  });

  it("lists ours' multi-thread runs with the pool's stalls, solo jobs and wait, in a section of their own", () => {
    const pool = (stalls: number, soloJobs: number, waitMs: number) => ({ jobs: 900, sharedJobs: 800, soloJobs, callerOnlyJobs: 0, stalls, waitMs });
    const prefill = row({ phase: "prefill", tokens: 512, ours_runs: [{ tokens_per_s: 45.5, others_cpu_share: 0.004, page_faults: 77_502, involuntary_context_switches: 40, pool: pool(0, 0, 12.4) }, { tokens_per_s: 38.44, others_cpu_share: 0.2, page_faults: 1, involuntary_context_switches: 2_100, pool: pool(3, 1, 40.6) }] });
    const decode = row({ ours_runs: [{ tokens_per_s: 5.64, others_cpu_share: 0.004, page_faults: 77_502, involuntary_context_switches: 40, pool: pool(1, 30, 2) }, { tokens_per_s: 7.06, others_cpu_share: 0, page_faults: null, involuntary_context_switches: null, pool: null }] });
    const oneThread = row({ threads: 1, phase: "prefill", tokens: 512, ours_runs: [{ tokens_per_s: 22, others_cpu_share: 0, page_faults: 5, involuntary_context_switches: 0, pool: pool(0, 0, 0) }] });
    const before = row({ shape: "1b" }); // a merged part's row from before the field
    const lines = poolSection([prefill, decode, oneThread, before]).join("\n").split("\n");
    expect(lines[0]).toBe("## This project's thread pool");
    const table = lines.filter((line) => line.startsWith("| 3b"));
    expect(table).toEqual([
      "| 3b | q8_0 | 2 | prefill 512 | 45.5 tok/s (0 stalls, 0 solo jobs, wait 12 ms; others 0%, 77502 faults, 40 preempted); 38.4 tok/s (3 stalls, 1 solo job, wait 41 ms; others 20%, 1 fault, 2100 preempted) |",
      "| 3b | q8_0 | 2 | decode 128 | 5.6 tok/s (1 stall, 30 solo jobs, wait 2 ms; others 0%, 77502 faults, 40 preempted); 7.1 tok/s (others 0%) |",
    ]);
    expect(lines.some((line) => line.startsWith("| 1b") || line.includes("22.0 tok/s"))).toBe(false);
    expect(poolSection([oneThread, before])).toEqual([]);
    const markdown = peerReportMarkdown("peers", [prefill, decode], context);
    expect(markdown.indexOf("## This project's thread pool")).toBeGreaterThan(markdown.indexOf("![ours ÷ llama.cpp](peers.svg)"));
    expect(markdown.indexOf("## This project's thread pool")).toBeLessThan(markdown.indexOf("## Memory"));
    expect(peerReportMarkdown("peers", [row({})], context)).not.toContain("thread pool");
  });

  it("writes markdown, JSON and SVG with the machine and every row", () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "peers-report-"));
    try {
      const rows = [row({ phase: "prefill", tokens: 512, ours_inter_token_ms: null, peer_inter_token_ms: null }), row({})];
      const paths = writePeerReport(directory, "peers", rows, context);
      expect(paths.map((file) => path.basename(file))).toEqual(["peers.md", "peers.json", "peers.svg"]);
      const markdown = fs.readFileSync(paths[0], "utf8");
      expect(markdown).toContain("Machine:");
      expect(markdown).toContain("![ours ÷ llama.cpp](peers.svg)");
      expect(markdown).toContain("Memory criterion");
      const json = JSON.parse(fs.readFileSync(paths[1], "utf8"));
      expect(json.rows).toHaveLength(2);
      expect(json.machine.logicalCpus).toBeGreaterThan(0);
      expect(json.memory[0].ours_peak_ratio).toBeCloseTo(3.8 / 3.4, 9);
      expect(fs.readFileSync(paths[2], "utf8")).toMatch(/^<svg/);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
