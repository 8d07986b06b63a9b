// pnpm bench peers-merge: which part's row is shown per case, the rows superseded, --prefer, the refusals (missing or
// malformed peers.json, mixed machine kinds) with their messages, rows without a llama-bench figure, and the report.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { PeerRow } from "../src/peer-rows.ts";
import { benchPeersMerge, issue17Targets, mergePeerParts, mergedReport, readPeerPart } from "../src/peers-merge.ts";
import { peerTable, targetSummary } from "../src/peers-report.ts";

type Case = Pick<PeerRow, "shape" | "format" | "threads" | "phase">;

function row(peerCase: Case, overrides: Partial<PeerRow> = {}): Partial<PeerRow> {
  const prefill = peerCase.phase === "prefill";
  return {
    ...peerCase,
    tokens: prefill ? 512 : 128,
    decode_after_tokens: prefill ? null : 512,
    ours_tokens_per_s: prefill ? 100 : 20,
    ours_tokens_per_s_min: prefill ? 95 : 19,
    ours_tokens_per_s_max: prefill ? 105 : 21,
    peer_tokens_per_s: null,
    peer_tokens_per_s_min: null,
    peer_tokens_per_s_max: null,
    ratio: null,
    llama_bench_tokens_per_s: prefill ? 80 : 16,
    llama_bench_tokens_per_s_min: null,
    llama_bench_tokens_per_s_max: null,
    llama_bench_source: "measured",
    ratio_llama_bench: 1.25,
    ours_inter_token_ms: null,
    peer_inter_token_ms: null,
    ours_peak_memory_bytes: 1.5e9,
    peer_peak_memory_bytes: null,
    ours_resident_after_load_bytes: 1.4e9,
    peer_resident_after_load_bytes: null,
    file_bytes: 1.3e9,
    made_by: "this project's writer",
    others_cpu_share: 0.01,
    llama_bench_contended_runs: 0,
    embedding_dtype: "q8_0",
    repetitions: 2,
    peer: "llama.cpp",
    ...overrides,
  };
}

const q8Prefill: Case = { shape: "1b", format: "q8_0", threads: 2, phase: "prefill" };
const q8Decode: Case = { shape: "1b", format: "q8_0", threads: 2, phase: "decode" };
const q4Decode: Case = { shape: "3b", format: "q4_0", threads: 1, phase: "decode" };

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "peers-merge-"));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Writes `<root>/<name>/peers.json` as pnpm bench peers --results would; returns the directory. */
function part(name: string, date: string, rows: Array<Partial<PeerRow>>, machine: { cpu?: string; logicalCpus?: number } = {}): string {
  const directory = path.join(root, "results", name);
  fs.mkdirSync(directory, { recursive: true });
  const json = {
    machine: { cpu: machine.cpu ?? "AMD EPYC", logicalCpus: machine.logicalCpus ?? 2, memoryGiB: 24, l3Bytes: null, node: "v20.20.2", date },
    command: `pnpm bench peers --results benchmarks/results/${name}`,
    engines: { ours: "this project: native backend (avx512), 2 threads", llamaBench: "llama-bench: 2 threads, pp512" },
    vocabulary: "Llama 3 tokenizer",
    settings: { promptTokens: 512, decodeTokens: 128, repetitions: "2 (1b)", warmupRuns: 1, warmupPromptTokens: 32, warmupDecodeTokens: 8, batchSize: 512, quietWaitSeconds: 3, llamaMemoryMap: false, peerEngines: ["llama-bench"] },
    files: [{ path: "../.cache/peers/llama-3.2-1b-random-q8_0-llama3-vocabulary.gguf", madeBy: "this project's writer" }],
    filesWritten: 0,
    skipped: [],
    notes: [],
    elapsedSeconds: 600,
    rows,
  };
  fs.writeFileSync(path.join(directory, "peers.json"), JSON.stringify(json));
  return directory;
}

const label = (row: PeerRow & { measured_in?: string }) => `${row.shape} ${row.format} ${row.threads} ${row.phase} ${row.ratio_llama_bench} ${row.measured_in}`;

describe("peers-merge: choosing rows", () => {
  it("shows per case the row of the newest part, in table order, and lists the rows it superseded", () => {
    const older = part("older", "2026-12-01T10:00:00.000Z", [row(q4Decode, { ratio_llama_bench: 1.1 }), row(q8Prefill, { ratio_llama_bench: 0.8 }), row(q8Decode, { ratio_llama_bench: 1.3 })]);
    const newer = part("newer", "2026-12-02T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 0.95 })]);
    // Given newest first: the date decides, not the order.
    const merged = mergePeerParts([readPeerPart(newer), readPeerPart(older)]);
    expect(merged.rows.map(label)).toEqual([`1b q8_0 2 prefill 0.95 ${newer}`, `1b q8_0 2 decode 1.3 ${older}`, `3b q4_0 1 decode 1.1 ${older}`]);
    expect(merged.superseded.map(({ row: superseded, part: from, by }) => `${label(superseded)} ${from} ${by}`)).toEqual([`1b q8_0 2 prefill 0.8 undefined ${older} ${newer}`]);
    expect(merged.parts.map((entry) => entry.directory)).toEqual([older, newer]); // oldest first
    expect(merged.mixedMachines).toBe(false);
  });

  it("lets --prefer name the part whose rows win over newer ones", () => {
    const older = part("older", "2026-12-01T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 0.8 }), row(q8Decode, { ratio_llama_bench: 1.3 })]);
    const newer = part("newer", "2026-12-02T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 0.95 }), row(q8Decode, { ratio_llama_bench: 1.2 })]);
    const merged = mergePeerParts([readPeerPart(older), readPeerPart(newer)], { prefer: [older] });
    expect(merged.rows.map(label)).toEqual([`1b q8_0 2 prefill 0.8 ${older}`, `1b q8_0 2 decode 1.3 ${older}`]);
    expect(merged.superseded.map(({ part: from, by }) => `${from} → ${by}`)).toEqual([`${newer} → ${older}`, `${newer} → ${older}`]);
    expect(merged.preferred).toEqual([older]);
  });

  it("takes the later of two parts given with the same date", () => {
    const first = part("first", "2026-12-01T10:00:00.000Z", [row(q8Decode, { ratio_llama_bench: 1.1 })]);
    const second = part("second", "2026-12-01T10:00:00.000Z", [row(q8Decode, { ratio_llama_bench: 1.2 })]);
    expect(mergePeerParts([readPeerPart(first), readPeerPart(second)]).rows.map(label)).toEqual([`1b q8_0 2 decode 1.2 ${second}`]);
  });
});

describe("peers-merge: refusals", () => {
  it("refuses a part without peers.json, naming the file", () => {
    const directory = path.join(root, "empty");
    fs.mkdirSync(directory);
    expect(() => readPeerPart(directory)).toThrow(`${path.join(directory, "peers.json")}: no such file — each part must be the --results directory of a pnpm bench peers run`);
  });

  it("refuses a malformed peers.json, naming the file and what is wrong", () => {
    const notJson = path.join(root, "not-json");
    fs.mkdirSync(notJson);
    fs.writeFileSync(path.join(notJson, "peers.json"), "{ rows: ");
    expect(() => readPeerPart(notJson)).toThrow(new RegExp(`^${path.join(notJson, "peers.json").replace(/[.]/g, "\\.")}: malformed peers\\.json: not JSON \\(`));
    const badPhase = part("bad-phase", "2026-12-01T10:00:00.000Z", [row(q8Prefill), row(q8Decode, { phase: "middle" as PeerRow["phase"] })]);
    expect(() => readPeerPart(badPhase)).toThrow(`${badPhase}/peers.json: malformed peers.json: rows[1].phase is "middle", not prefill or decode`);
    const noRatio = part("bad-ratio", "2026-12-01T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: "fast" as unknown as number })]);
    expect(() => readPeerPart(noRatio)).toThrow(`${noRatio}/peers.json: malformed peers.json: rows[0].ratio_llama_bench is "fast", not a number or null`);
    const twice = part("twice", "2026-12-01T10:00:00.000Z", [row(q8Prefill), row(q8Decode), row(q8Prefill)]);
    expect(() => readPeerPart(twice)).toThrow(`${twice}/peers.json: malformed peers.json: rows[0] and rows[2] are both 1b q8_0 2 threads prefill`);
    const noRows = part("no-rows", "2026-12-01T10:00:00.000Z", []);
    expect(() => readPeerPart(noRows)).toThrow(`${noRows}/peers.json: malformed peers.json: rows is not a non-empty array`);
    const badDate = part("bad-date", "yesterday", [row(q8Prefill)]);
    expect(() => readPeerPart(badDate)).toThrow(`${badDate}/peers.json: malformed peers.json: machine needs cpu, logicalCpus and an ISO date`);
  });

  it("refuses parts from machines of different kinds unless --allow-mixed-machines", () => {
    const two = part("two", "2026-12-01T10:00:00.000Z", [row(q8Prefill)]);
    const one = part("one", "2026-12-02T10:00:00.000Z", [row({ ...q8Prefill, threads: 1 })], { logicalCpus: 1 });
    const intel = part("intel", "2026-12-03T10:00:00.000Z", [row(q8Decode)], { cpu: "Intel Xeon" });
    const parts = [two, one, intel].map(readPeerPart);
    expect(() => mergePeerParts(parts)).toThrow(
      `${one}/peers.json: measured on AMD EPYC with 1 logical CPU, but ${two}/peers.json on AMD EPYC with 2 logical CPUs; rows from different machine kinds are not comparable (a run pinned to fewer cores, as with taskset, records only those); give --allow-mixed-machines to merge them anyway`,
    );
    expect(() => mergePeerParts([parts[0], parts[2]])).toThrow(`${intel}/peers.json: measured on Intel Xeon with 2 logical CPUs, but ${two}/peers.json on AMD EPYC with 2 logical CPUs;`);
    const merged = mergePeerParts(parts, { allowMixedMachines: true });
    expect(merged.mixedMachines).toBe(true);
    expect(merged.rows).toHaveLength(3);
  });

  it("refuses a --prefer directory that is not one of the parts", () => {
    const only = part("only", "2026-12-01T10:00:00.000Z", [row(q8Prefill)]);
    expect(() => mergePeerParts([readPeerPart(only)], { prefer: [path.join(root, "other")] })).toThrow(`--prefer ${path.join(root, "other")}: not one of the parts given`);
  });
});

describe("peers-merge: rows without a llama-bench figure, and older parts", () => {
  it("keeps a part's rows without llama-bench, marked as not measured in the table and the targets", () => {
    const bench = part("bench", "2026-12-01T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 1.25 }), row(q8Decode, { ratio_llama_bench: 0.9 })]);
    const nodeOnly = part("node-only", "2026-12-02T10:00:00.000Z", [row(q4Decode, { ratio_llama_bench: null, llama_bench_tokens_per_s: null, llama_bench_source: null, ratio: 1.1 })]);
    const { rows, context } = mergedReport(mergePeerParts([readPeerPart(bench), readPeerPart(nodeOnly)]), "pnpm bench peers-merge", path.join(root, "results"));
    expect(rows.map((merged) => merged.measured_in)).toEqual(["bench", "bench", "node-only"]);
    const lines = peerTable(rows, context.merge!.parts.map((entry) => entry.directory)).split("\n");
    expect(lines[0]).toMatch(/\| measured in \|$/);
    expect(lines[2]).toMatch(/\| \*\*1\.25×\*\* \|.*\| #1 \|$/);
    expect(lines[4]).toMatch(/\| not measured \|.*\| #2 \|$/);
    expect(targetSummary(rows, { merged: true, expected: { shapes: ["1b", "3b"], formats: ["q8_0", "q4_0"], threads: [1] } }).split("\n")).toEqual([
      "Targets (prefill ≥ 1.0× and decode ≥ 1.0× llama-bench (measured side by side in each row's run)): 1 of 2 rows met.",
      "- met: 1b q8_0 2 threads prefill 1.25×",
      "- missed: 1b q8_0 2 threads decode 0.90×",
      "- not measured against llama-bench: 3b q4_0 1 thread decode (no llama-bench figure); 1b q8_0 1 thread prefill (no row); 1b q8_0 1 thread decode (no row); 1b q4_0 1 thread prefill (no row); 1b q4_0 1 thread decode (no row); 3b q8_0 1 thread prefill (no row); 3b q8_0 1 thread decode (no row); 3b q4_0 1 thread prefill (no row)",
    ]);
  });

  it("judges a multi-thread row of a part without the per-run contention count by its others' CPU share", () => {
    const old = part("old", "2026-12-01T10:00:00.000Z", [
      row(q8Prefill, { ratio_llama_bench: 1.98, others_cpu_share: 0.3, llama_bench_contended_runs: undefined }),
      row(q8Decode, { ratio_llama_bench: 1.2, others_cpu_share: 0.05, llama_bench_contended_runs: undefined }),
      row(q4Decode, { ratio_llama_bench: 1.4, others_cpu_share: 0.6, llama_bench_contended_runs: undefined }),
    ]);
    const merged = mergePeerParts([readPeerPart(old)]);
    expect(merged.rows.map((merged) => merged.llama_bench_contended_runs)).toEqual([null, null, null]);
    expect(targetSummary(merged.rows, { merged: true }).split("\n")).toEqual([
      "Targets (prefill ≥ 1.0× and decode ≥ 1.0× llama-bench (measured side by side in each row's run)): 2 of 2 rows met.",
      "- met: 1b q8_0 2 threads decode 1.20×; 3b q4_0 1 thread decode 1.40×",
      "- missed: none",
      "- not a comparison (others took ≥ 15% of the CPU during a multi-thread llama-bench run, which then collapses): 1b q8_0 2 threads prefill 1.98× (runs not counted in its part; others took 30% of the CPU over the row's runs)",
    ]);
  });
});

describe("peers-merge: the command", () => {
  it("writes peers.md/.json/.svg with each row's part, the parts' dates and commands, and the superseded rows", () => {
    const older = part("peers-a", "2026-12-01T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 0.8 }), row(q8Decode, { ratio_llama_bench: 1.3 })]);
    const newer = part("peers-b", "2026-12-02T10:00:00.000Z", [row(q8Prefill, { ratio_llama_bench: 0.95, others_cpu_share: 0.02 })]);
    const out = path.join(root, "results");
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    let paths: string[];
    try {
      paths = benchPeersMerge(["--results", out, newer, older], path.join(root, "unused"));
    } finally {
      vi.restoreAllMocks();
    }
    expect(paths.map((file) => path.relative(out, file))).toEqual(["peers.md", "peers.json", "peers.svg"]);
    const markdown = fs.readFileSync(paths[0], "utf8");
    expect(markdown).toContain(`Merged from 2 runs of \`pnpm bench peers\` (the parts below) by \`pnpm bench peers-merge --results ${out} ${newer} ${older}\`: each row is the one of the newest part that measured it,`);
    expect(markdown).toContain("Machine: AMD EPYC, 2 logical CPUs, 24 GiB RAM; Node v20.20.2 (every part). Dates: 2026-12-01T10:00:00.000Z to 2026-12-02T10:00:00.000Z.");
    expect(markdown).toContain("- #1: [`peers-a`](peers-a/peers.md), 2026-12-01T10:00:00.000Z, 10.0 minutes, AMD EPYC with 2 logical CPUs; 1 of its 2 rows shown: `pnpm bench peers --results benchmarks/results/peers-a`");
    expect(markdown).toContain("- #2: [`peers-b`](peers-b/peers.md), 2026-12-02T10:00:00.000Z, 10.0 minutes, AMD EPYC with 2 logical CPUs; 1 of its 1 rows shown: `pnpm bench peers --results benchmarks/results/peers-b`");
    expect(markdown).toContain("- 1b q8_0 2 threads prefill: 0.80× llama-bench (others' CPU 1%) in #1, replaced by #2");
    expect(markdown).toContain("- missed: 1b q8_0 2 threads prefill 0.95×");
    expect(markdown).toContain("- met: 1b q8_0 2 threads decode 1.30×");
    const json = JSON.parse(fs.readFileSync(paths[1], "utf8"));
    expect(json.rows.map((merged: PeerRow) => `${merged.phase} ${merged.measured_in} ${merged.ratio_llama_bench}`)).toEqual(["prefill peers-b 0.95", "decode peers-a 1.3"]);
    expect(json.merge.parts.map((entry: { directory: string; command: string }) => entry.directory)).toEqual(["peers-a", "peers-b"]);
    expect(json.merge.superseded).toHaveLength(1);
    expect(json.merge.expected).toEqual(issue17Targets);
  });

  it("refuses a part given twice", () => {
    const only = part("only", "2026-12-01T10:00:00.000Z", [row(q8Prefill)]);
    expect(() => benchPeersMerge([only, `${only}/`], root)).toThrow(`peers-merge: ${only} is given twice`);
  });
});
