// `pnpm bench peers-merge`: one peer report from several `pnpm bench peers --results DIR` runs ("parts"). The whole
// matrix against llama-bench takes 1.5–2 hours of a quiet machine, so it is measured in parts, each in a quiet window,
// each row's ratios measured side by side within its own run. This reads each part's peers.json, keeps per (shape,
// format, threads, phase) the row of the newest part that measured it (a --prefer part's first), and writes
// peers.md/.json/.svg through the report code of `pnpm bench peers`, with the part of every row, the rows superseded,
// and issue 17's targets (every format, 1 and 2 threads, 1B and 3B, prefill and decode ≥ 1.0× llama-bench).

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import type { MachineInfo } from "@infer-recipes/harness";

import { peerFormats } from "./peer-model-files.ts";
import type { PeerRow } from "./peer-rows.ts";
import { peerCaseLabel, peerTable, writePeerReport, type PeerMergeInfo, type PeerReportContext, type TargetCases } from "./peers-report.ts";

export const PEERS_MERGE_USAGE = `  peers-merge  one peer report (peers.md/.json/.svg) from the results directories of several pnpm bench peers runs
            (each a --results DIR run in its own quiet window): per shape, format, threads and phase the row of the
            newest part that measured it; the report names each row's part and the rows superseded
            pnpm bench peers-merge [options] PART_DIR...
            --results D             where the merged report goes (default benchmarks/results)
            --prefer D              this part's rows win over newer parts' (repeatable; must be one of the parts)
            --allow-mixed-machines  merge parts measured on machines of different kinds (CPU model or logical CPUs)`;

/** Issue 17's targets: every format users run, at 1 and 2 threads, on the 1B and 3B shapes. */
export const issue17Targets: TargetCases = { shapes: ["1b", "3b"], formats: peerFormats, threads: [1, 2] };

/** One part: a `pnpm bench peers` run's results directory and what its peers.json says. */
export interface PeerPart {
  /** The directory (absolute) and its peers.json. */
  directory: string;
  file: string;
  machine: MachineInfo;
  command: string;
  engines: PeerReportContext["engines"];
  vocabulary: string;
  settings: PeerReportContext["settings"];
  files: Array<{ path: string; madeBy: string }>;
  skipped: string[];
  notes: string[];
  elapsedSeconds: number;
  rows: PeerRow[];
}

const rowKey = (row: Pick<PeerRow, "shape" | "format" | "threads" | "phase">) => `${row.shape} ${row.format} ${row.threads} ${row.phase}`;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** Reads and checks a part's peers.json; throws an Error naming the file when it is missing or malformed. Rows of
 *  parts from before a field existed get it: `llama_bench_contended_runs` null (not counted per run),
 *  `decode_after_tokens` the prompt for decode rows. */
export function readPeerPart(directory: string): PeerPart {
  const file = path.join(directory, "peers.json");
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file — each part must be the --results directory of a pnpm bench peers run`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`${file}: malformed peers.json: not JSON (${(error as Error).message})`);
  }
  const malformed = (what: string): never => {
    throw new Error(`${file}: malformed peers.json: ${what}`);
  };
  if (!isObject(json)) return malformed("not an object");
  const { machine, command, settings, rows } = json;
  if (!isObject(machine) || typeof machine.cpu !== "string" || !isNumber(machine.logicalCpus) || typeof machine.date !== "string" || Number.isNaN(Date.parse(machine.date))) {
    return malformed("machine needs cpu, logicalCpus and an ISO date");
  }
  if (typeof command !== "string") return malformed("command is not a string");
  if (!isObject(settings) || !isNumber(settings.promptTokens) || !isNumber(settings.decodeTokens)) return malformed("settings need promptTokens and decodeTokens");
  if (!Array.isArray(rows) || rows.length === 0) return malformed("rows is not a non-empty array");
  const seen = new Map<string, number>();
  const checked = rows.map((row: unknown, index): PeerRow => {
    const where = `rows[${index}]`;
    if (!isObject(row)) return malformed(`${where} is not an object`);
    if (typeof row.shape !== "string" || typeof row.format !== "string") malformed(`${where} needs shape and format`);
    if (!Number.isInteger(row.threads) || (row.threads as number) < 1) malformed(`${where}.threads is ${JSON.stringify(row.threads)}, not an integer ≥ 1`);
    if (row.phase !== "prefill" && row.phase !== "decode") malformed(`${where}.phase is ${JSON.stringify(row.phase)}, not prefill or decode`);
    for (const field of ["tokens", "ours_tokens_per_s", "others_cpu_share", "file_bytes", "ours_peak_memory_bytes", "ours_resident_after_load_bytes", "repetitions"]) {
      if (!isNumber(row[field])) malformed(`${where}.${field} is ${JSON.stringify(row[field])}, not a number`);
    }
    for (const field of ["ratio_llama_bench", "llama_bench_tokens_per_s", "ratio", "peer_tokens_per_s"]) {
      if (row[field] !== undefined && row[field] !== null && !isNumber(row[field])) malformed(`${where}.${field} is ${JSON.stringify(row[field])}, not a number or null`);
    }
    const peerRow = row as unknown as PeerRow;
    const key = rowKey(peerRow);
    if (seen.has(key)) malformed(`rows[${seen.get(key)}] and ${where} are both ${peerCaseLabel(peerRow)}`);
    seen.set(key, index);
    return {
      ...peerRow,
      ratio_llama_bench: peerRow.ratio_llama_bench ?? null,
      llama_bench_tokens_per_s: peerRow.llama_bench_tokens_per_s ?? null,
      llama_bench_contended_runs: isNumber(row.llama_bench_contended_runs) ? row.llama_bench_contended_runs : null,
      decode_after_tokens: peerRow.decode_after_tokens ?? (peerRow.phase === "decode" ? (settings.promptTokens as number) : null),
    };
  });
  const engines = isObject(json.engines) ? (json.engines as PeerReportContext["engines"]) : {};
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);
  return {
    directory,
    file,
    machine: machine as unknown as MachineInfo,
    command,
    engines,
    vocabulary: typeof json.vocabulary === "string" ? json.vocabulary : "",
    settings: settings as unknown as PeerReportContext["settings"],
    files: Array.isArray(json.files) ? (json.files as PeerPart["files"]) : [],
    skipped: strings(json.skipped),
    notes: strings(json.notes),
    elapsedSeconds: isNumber(json.elapsedSeconds) ? json.elapsedSeconds : 0,
    rows: checked,
  };
}

export interface MergeOptions {
  /** Directories (as given, resolved) whose rows win over newer parts'. */
  prefer?: readonly string[];
  allowMixedMachines?: boolean;
}

export interface MergedPeers {
  /** The parts, oldest first. */
  parts: PeerPart[];
  /** The rows shown, each from its part (`measured_in`: the part's directory as given), in table order. */
  rows: Array<PeerRow & { measured_in: string }>;
  /** Rows another part measured again: the row, its part's directory and the directory of the part shown instead. */
  superseded: Array<{ row: PeerRow; part: string; by: string }>;
  /** The directories of the parts given with --prefer. */
  preferred: string[];
  mixedMachines: boolean;
}

const machineKind = (machine: MachineInfo) => `${machine.cpu} with ${machine.logicalCpus} logical CPU${machine.logicalCpus === 1 ? "" : "s"}`;

const shapeOrder = ["tiny", "1b", "3b"];
const orderOf = (list: readonly string[], value: string) => (list.includes(value) ? list.indexOf(value) : list.length);

/** Per (shape, format, threads, phase) the row of the newest part that measured it — parts in `options.prefer` before
 *  the others, then by the date their run started, then by their order in `parts`. Throws when the parts' machines
 *  differ in kind (CPU model or logical CPUs) unless `allowMixedMachines`, or when a --prefer directory is not a part. */
export function mergePeerParts(parts: readonly PeerPart[], options: MergeOptions = {}): MergedPeers {
  if (parts.length === 0) throw new Error("peers-merge: give at least one part (a results directory of pnpm bench peers)");
  const prefer = new Set((options.prefer ?? []).map((directory) => path.resolve(directory)));
  for (const directory of prefer) if (!parts.some((part) => path.resolve(part.directory) === directory)) throw new Error(`--prefer ${directory}: not one of the parts given`);
  const first = parts[0];
  const mixed = parts.filter((part) => machineKind(part.machine) !== machineKind(first.machine));
  if (mixed.length > 0 && !options.allowMixedMachines) {
    const other = mixed[0];
    throw new Error(`${other.file}: measured on ${machineKind(other.machine)}, but ${first.file} on ${machineKind(first.machine)}; rows from different machine kinds are not comparable (a run pinned to fewer cores, as with taskset, records only those); give --allow-mixed-machines to merge them anyway`);
  }
  const rank = (part: PeerPart) => [prefer.has(path.resolve(part.directory)) ? 1 : 0, Date.parse(part.machine.date), parts.indexOf(part)];
  const newer = (a: PeerPart, b: PeerPart) => {
    const [ra, rb] = [rank(a), rank(b)];
    for (let index = 0; index < ra.length; index++) if (ra[index] !== rb[index]) return ra[index] > rb[index];
    return false;
  };
  const chosen = new Map<string, { row: PeerRow; part: PeerPart }>();
  for (const part of parts) {
    for (const row of part.rows) {
      const current = chosen.get(rowKey(row));
      if (!current || newer(part, current.part)) chosen.set(rowKey(row), { row, part });
    }
  }
  const superseded: MergedPeers["superseded"] = [];
  for (const part of parts) {
    for (const row of part.rows) {
      const winner = chosen.get(rowKey(row))!;
      if (winner.part !== part) superseded.push({ row, part: part.directory, by: winner.part.directory });
    }
  }
  const byTableOrder = (a: PeerRow, b: PeerRow) =>
    orderOf(shapeOrder, a.shape) - orderOf(shapeOrder, b.shape) || a.shape.localeCompare(b.shape) ||
    orderOf(peerFormats, a.format) - orderOf(peerFormats, b.format) || a.format.localeCompare(b.format) ||
    a.threads - b.threads || (a.phase === b.phase ? 0 : a.phase === "prefill" ? -1 : 1);
  const rows = [...chosen.values()].map(({ row, part }) => ({ ...row, measured_in: part.directory })).sort(byTableOrder);
  superseded.sort((a, b) => byTableOrder(a.row, b.row));
  const byDate = [...parts].sort((a, b) => Date.parse(a.machine.date) - Date.parse(b.machine.date) || parts.indexOf(a) - parts.indexOf(b));
  const preferred = parts.filter((part) => prefer.has(path.resolve(part.directory))).map((part) => part.directory);
  return { parts: byDate, rows, superseded, preferred, mixedMachines: mixed.length > 0 };
}

/** The merged report's rows (`measured_in` relative to the report's directory) and context: the newest part's machine
 *  and settings, each engine's newest description (its thread count replaced by all the rows'), every part's files,
 *  notes and skipped cases (numbered by part), and the parts. */
export function mergedReport(merged: MergedPeers, command: string, resultsDirectory: string): { rows: PeerRow[]; context: PeerReportContext } {
  const { parts } = merged;
  const relative = (directory: string) => path.relative(resultsDirectory, path.resolve(directory)) || ".";
  const rows = merged.rows.map((row) => ({ ...row, measured_in: relative(row.measured_in) }));
  const newest = parts[parts.length - 1];
  const number = (part: PeerPart) => `#${parts.indexOf(part) + 1}`;
  const threads = [...new Set(rows.map((row) => row.threads))].sort((a, b) => a - b).join("/");
  const engines: PeerReportContext["engines"] = {};
  for (const part of parts) {
    for (const [engine, description] of Object.entries(part.engines) as Array<[keyof PeerReportContext["engines"], string]>) {
      if (typeof description === "string") engines[engine] = description.replace(/\b\d+(?:\/\d+)* threads\b/, `${threads} threads`);
    }
  }
  const files = new Map<string, string>();
  for (const part of parts) for (const file of part.files) files.set(path.basename(file.path), file.madeBy);
  const repetitions = [...new Set(rows.map((row) => `${row.repetitions} (${row.shape})`))].join(", ");
  const peerEngines = [...new Set(parts.flatMap((part) => part.settings.peerEngines ?? []))];
  const notes: string[] = [];
  for (const setting of ["promptTokens", "decodeTokens", "warmupRuns", "batchSize", "quietWaitSeconds", "llamaMemoryMap"] as const) {
    const values = [...new Set(parts.map((part) => String(part.settings[setting])))];
    if (values.length > 1) notes.push(`the parts differ in ${setting}: ${values.map((value) => `${value} (${parts.filter((part) => String(part.settings[setting]) === value).map(number).join(", ")})`).join("; ")}; the text above gives the newest part's`);
  }
  const merge: PeerMergeInfo = {
    parts: parts.map((part) => ({
      directory: relative(part.directory),
      machine: part.machine,
      command: part.command,
      elapsedSeconds: part.elapsedSeconds,
      rows: part.rows.length,
      used: merged.rows.filter((row) => row.measured_in === part.directory).length,
      preferred: merged.preferred.includes(part.directory),
    })),
    superseded: merged.superseded.map((entry) => ({ ...entry, part: relative(entry.part), by: relative(entry.by) })),
    mixedMachines: merged.mixedMachines,
    expected: issue17Targets,
  };
  const context: PeerReportContext = {
    machine: newest.machine,
    command,
    engines,
    vocabulary: newest.vocabulary,
    settings: { ...newest.settings, repetitions, peerEngines },
    files: [...files].map(([file, madeBy]) => ({ path: file, madeBy })),
    filesWritten: 0,
    skipped: parts.flatMap((part) => part.skipped.map((reason) => `${number(part)}: ${reason}`)),
    notes: [...notes, ...parts.flatMap((part) => part.notes.map((note) => `${number(part)}: ${note}`))],
    elapsedSeconds: parts.reduce((sum, part) => sum + part.elapsedSeconds, 0),
    merge,
  };
  return { rows, context };
}

/** `pnpm bench peers-merge [--results DIR] [--prefer DIR]... [--allow-mixed-machines] PART_DIR...` */
export function benchPeersMerge(argv: string[], defaultResultsDirectory: string): string[] {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { results: { type: "string" }, prefer: { type: "string", multiple: true }, "allow-mixed-machines": { type: "boolean" } },
  });
  const base = process.env.INIT_CWD ?? process.cwd();
  if (positionals.length === 0) throw new Error("peers-merge: give the parts, the --results directories of pnpm bench peers runs");
  const directories = positionals.map((directory) => path.resolve(base, directory));
  const twice = directories.find((directory, index) => directories.indexOf(directory) !== index);
  if (twice !== undefined) throw new Error(`peers-merge: ${twice} is given twice`);
  const parts = directories.map(readPeerPart);
  const prefer = (values.prefer ?? []).map((directory) => path.resolve(base, directory));
  const merged = mergePeerParts(parts, { prefer, allowMixedMachines: Boolean(values["allow-mixed-machines"]) });
  const resultsDirectory = values.results === undefined ? defaultResultsDirectory : path.resolve(base, values.results);
  const { rows, context } = mergedReport(merged, `pnpm bench peers-merge ${argv.join(" ")}`.trim(), resultsDirectory);
  const paths = writePeerReport(resultsDirectory, "peers", rows, context);
  process.stdout.write(peerTable(rows, context.merge!.parts.map((part) => part.directory)) + "\n");
  for (const entry of context.merge!.superseded) process.stderr.write(`superseded: ${peerCaseLabel(entry.row)} of ${entry.part} by ${entry.by}'s\n`);
  process.stderr.write(`merged ${rows.length} rows from ${parts.length} parts; wrote ${paths.join(", ")}\n`);
  return paths;
}
