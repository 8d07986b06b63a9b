// Turns the peer comparison's rows into the files under benchmarks/results/: a markdown report (the machine, the
// command, the engines, the files compared and how each was made — for the tiny case, the real file's source and how
// many warm-up runs it had —, the table of ratios, the targets, ours' multi-thread runs one by one with what its
// thread pool did, the memory check), the JSON, and an SVG chart of ours ÷ llama-bench (or ÷ node-llama-cpp when
// llama-bench was not run) per row.


import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import { contendedCpuShare, type OursRun, type PeerRow } from "./peer-rows.ts";

/** The issue's memory criterion: a loaded 3B-shape Q8_0 model takes at most this many times its file size. */
export const memoryLimitRatio = 1.15;

const range = (median: number | null, min: number | null, max: number | null, digits: number) =>
  median === null ? "" : min === null || max === null ? median.toFixed(digits) : `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
const ratioText = (ratio: number | null) => (ratio === null ? "" : `**${ratio.toFixed(2)}×**`);
const latency = (value: PeerRow["ours_inter_token_ms"]) => (value ? `${value.p50.toFixed(1)} / ${value.p95.toFixed(1)} / ${value.p99.toFixed(1)}` : "");
const gigabytes = (bytes: number | null) => (bytes === null ? "" : (bytes / 1e9).toFixed(2));
const threadsText = (threads: number) => `${threads} thread${threads === 1 ? "" : "s"}`;

/** A row's case as the report names it: "1b q8_0 2 threads decode". */
export const peerCaseLabel = (row: Pick<PeerRow, "shape" | "format" | "threads" | "phase">) => `${row.shape} ${row.format} ${threadsText(row.threads)} ${row.phase}`;

const columns = (rows: readonly PeerRow[], parts: readonly string[]): Column<PeerRow>[] => [
  { header: "shape", value: (row) => row.shape, align: "left" },
  { header: "format", value: (row) => `${row.format}${row.embedding_dtype !== row.format ? ` (output ${row.embedding_dtype})` : ""}`, align: "left" },
  { header: "threads", value: (row) => row.threads },
  { header: "phase", value: (row) => `${row.phase} ${row.tokens}${row.decode_after_tokens === 1 ? " from BOS" : ""}`, align: "left" },
  { header: "ours tok/s (min–max)", value: (row) => range(row.ours_tokens_per_s, row.ours_tokens_per_s_min, row.ours_tokens_per_s_max, 1) },
  { header: "llama-bench tok/s (min–max)", value: (row) => range(row.llama_bench_tokens_per_s, row.llama_bench_tokens_per_s_min, row.llama_bench_tokens_per_s_max, 1) + (row.llama_bench_source === "BASELINES.md" ? " (BASELINES.md)" : "") },
  // Where some row has a llama-bench ratio (always, in a run with llama-bench), a row without one says so.
  { header: "ours ÷ llama-bench", value: (row) => (row.ratio_llama_bench === null && rows.some((other) => other.ratio_llama_bench !== null) ? "not measured" : ratioText(row.ratio_llama_bench)) },
  { header: "node-llama-cpp tok/s (min–max)", value: (row) => range(row.peer_tokens_per_s, row.peer_tokens_per_s_min, row.peer_tokens_per_s_max, 1) },
  { header: "ours ÷ node-llama-cpp", value: (row) => ratioText(row.ratio) },
  { header: "ours ITL p50/p95/p99 ms", value: (row) => latency(row.ours_inter_token_ms) },
  { header: "node-llama-cpp ITL p50/p95/p99 ms", value: (row) => latency(row.peer_inter_token_ms) },
  { header: "others' CPU", value: (row) => `${(row.others_cpu_share * 100).toFixed(0)}%` },
  ...(rows.some((row) => row.measured_in !== undefined)
    ? [{ header: "measured in", value: (row: PeerRow) => (row.measured_in === undefined ? "" : partLabel(parts, row.measured_in)), align: "left" as const }]
    : []),
];

/** A merged report's name for a part: its number in the list of parts ("#3"), or its directory when not listed. */
const partLabel = (parts: readonly string[], directory: string) => (parts.includes(directory) ? `#${parts.indexOf(directory) + 1}` : directory);

/** The table; a merged report's rows (with `measured_in`) get a "measured in" column naming each row's part by its
 *  number in `parts` (the parts' directories, in the order the report lists them). */
export function peerTable(rows: readonly PeerRow[], parts: readonly string[] = []): string {
  return markdownTable(rows, columns(rows, parts));
}

/** One run as the pool section lists it: "45.5 tok/s (2 stalls, 14 solo jobs, wait 31 ms; others 0%, 1858 faults, 40
 *  preempted)". */
export function oursRunText(run: OursRun): string {
  const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
  const pool = run.pool === null ? [] : [`${plural(run.pool.stalls, "stall")}, ${plural(run.pool.soloJobs, "solo job")}, wait ${run.pool.waitMs.toFixed(0)} ms`];
  const worker = [
    ...(run.page_faults === null ? [] : [plural(run.page_faults, "fault")]),
    ...(run.involuntary_context_switches === null ? [] : [`${run.involuntary_context_switches} preempted`]),
  ];
  const process = [[`others ${(run.others_cpu_share * 100).toFixed(0)}%`, ...worker].join(", ")];
  return `${run.tokens_per_s.toFixed(1)} tok/s (${[...pool, ...process].join("; ")})`;
}

/** The section on ours' thread pool: per multi-thread row whose runs report the pool, each run in order with its
 *  stalls, solo jobs and caller wait; empty when no row has them. */
export function poolSection(rows: readonly PeerRow[]): string[] {
  const listed = rows.filter((row) => row.threads > 1 && (row.ours_runs ?? []).some((run) => run.pool !== null));
  if (listed.length === 0) return [];
  return [
    "## This project's thread pool",
    "",
    "Ours' measured runs of each multi-thread row in the order they ran, with what the native thread pool did over the phase: stalls (the calling thread waited for a helper descheduled in the middle of a task; each one makes the pool run the next jobs of short tasks on the calling thread alone for 20 ms, doubling while stalls recur), solo jobs (jobs run alone that way) and the calling thread's total wait for helpers; then, over the whole run (prefill and decode), the share of all CPU time other processes took, the worker's page faults, and how often the kernel preempted one of its threads (an involuntary context switch: another thread or process took the core).",
    "",
    markdownTable(listed, [
      { header: "shape", value: (row) => row.shape, align: "left" },
      { header: "format", value: (row) => row.format, align: "left" },
      { header: "threads", value: (row) => row.threads },
      { header: "phase", value: (row) => `${row.phase} ${row.tokens}`, align: "left" },
      { header: "ours' runs", value: (row) => row.ours_runs!.map(oursRunText).join("; "), align: "left" },
    ]),
    "",
  ];
}

/** Memory per file (the rows of one file share it): each engine's resident set after loading and at its peak. */
export interface PeerMemoryRow {
  shape: string;
  format: string;
  file_bytes: number;
  ours_resident_after_load_bytes: number;
  ours_peak_memory_bytes: number;
  peer_resident_after_load_bytes: number | null;
  peer_peak_memory_bytes: number | null;
  /** ours after load ÷ file size, and ours peak ÷ file size. */
  ours_after_load_ratio: number;
  ours_peak_ratio: number;
}

export function peerMemoryRows(rows: readonly PeerRow[]): PeerMemoryRow[] {
  const byFile = new Map<string, PeerMemoryRow>();
  for (const row of rows) {
    const key = `${row.shape} ${row.format}`;
    if (byFile.has(key)) continue;
    byFile.set(key, {
      shape: row.shape,
      format: row.format,
      file_bytes: row.file_bytes,
      ours_resident_after_load_bytes: row.ours_resident_after_load_bytes,
      ours_peak_memory_bytes: row.ours_peak_memory_bytes,
      peer_resident_after_load_bytes: row.peer_resident_after_load_bytes,
      peer_peak_memory_bytes: row.peer_peak_memory_bytes,
      ours_after_load_ratio: row.ours_resident_after_load_bytes / row.file_bytes,
      ours_peak_ratio: row.ours_peak_memory_bytes / row.file_bytes,
    });
  }
  return [...byFile.values()];
}

const memoryColumns: Column<PeerMemoryRow>[] = [
  { header: "shape", value: (row) => row.shape, align: "left" },
  { header: "format", value: (row) => row.format, align: "left" },
  { header: "file GB", value: (row) => gigabytes(row.file_bytes) },
  { header: "ours after load GB", value: (row) => gigabytes(row.ours_resident_after_load_bytes) },
  { header: "after load ÷ file", value: (row) => `${row.ours_after_load_ratio.toFixed(3)}×` },
  { header: "ours peak GB", value: (row) => gigabytes(row.ours_peak_memory_bytes) },
  { header: "peak ÷ file", value: (row) => `${row.ours_peak_ratio.toFixed(3)}×` },
  { header: "node-llama-cpp after load GB", value: (row) => gigabytes(row.peer_resident_after_load_bytes) },
  { header: "node-llama-cpp peak GB", value: (row) => gigabytes(row.peer_peak_memory_bytes) },
];

/** The targets: for every format, shape and thread count, prefill and decode at ≥ 1.0× llama-bench (measured in
 *  the same run). Without llama-bench in the run, the rows are checked against node-llama-cpp instead, and say so. */
export const ratioTargets = { decode: 1.0, prefill: 1.0 } as const;

/** Issue 17's targets name every format at 1 and 2 threads on the 1B and 3B shapes, prefill and decode. */
export interface TargetCases {
  shapes: readonly string[];
  formats: readonly string[];
  threads: readonly number[];
}

/** Whether a row's llama-bench figure is no comparison: others held a core during its multi-thread llama-bench runs
 *  (counted per run; for a merged row from a part that predates the count, its median others' CPU share). */
export function llamaBenchContended(row: PeerRow): boolean {
  if (row.llama_bench_contended_runs === null) return row.threads > 1 && row.others_cpu_share >= contendedCpuShare;
  return row.llama_bench_contended_runs > 0;
}

/** Which rows meet the targets and which do not, as a short list. Rows whose multi-thread llama-bench runs were
 *  contended (others held a core: llama.cpp collapses) are listed apart as no comparison, neither met nor missed.
 *  `merged`: the rows come from several runs (`pnpm bench peers-merge`), each ratio measured within its row's run.
 *  `expected`: the cases the targets name; those without a row, or whose row has no llama-bench ratio, are listed as
 *  not measured. */
export function targetSummary(rows: readonly PeerRow[], options: { merged?: boolean; expected?: TargetCases } = {}): string {
  const againstBench = rows.some((row) => row.ratio_llama_bench !== null);
  const ratioOf = (row: PeerRow) => (againstBench ? row.ratio_llama_bench : row.ratio);
  const contended = (row: PeerRow) => againstBench && llamaBenchContended(row);
  const measured = rows.filter((row) => ratioOf(row) !== null);
  const targeted = measured.filter((row) => !contended(row));
  const where = options.merged ? "measured side by side in each row's run" : "measured in this run";
  const against = againstBench ? `llama-bench (${where})` : "node-llama-cpp (llama-bench was not run)";
  if (measured.length === 0) return `Targets (prefill and decode ≥ 1.0× llama-bench): no rows with a measured llama.cpp engine in ${options.merged ? "these runs" : "this run"}.`;
  const label = (row: PeerRow) => `${peerCaseLabel(row)} ${ratioOf(row)!.toFixed(2)}×`;
  const met = targeted.filter((row) => ratioOf(row)! >= ratioTargets[row.phase]);
  const missed = targeted.filter((row) => ratioOf(row)! < ratioTargets[row.phase]);
  const noComparison = measured.filter(contended);
  const contention = (row: PeerRow) =>
    row.llama_bench_contended_runs === null
      ? `(runs not counted in its part; others took ${(row.others_cpu_share * 100).toFixed(0)}% of the CPU over the row's runs)`
      : `(${row.llama_bench_contended_runs} of ${row.repetitions} runs)`;
  const notMeasured = againstBench ? rows.filter((row) => row.ratio_llama_bench === null).map((row) => `${peerCaseLabel(row)} (no llama-bench figure)`) : [];
  if (options.expected) {
    const { shapes, formats, threads } = options.expected;
    for (const shape of shapes) for (const format of formats) for (const threadCount of threads) for (const phase of ["prefill", "decode"] as const) {
      if (!rows.some((row) => row.shape === shape && row.format === format && row.threads === threadCount && row.phase === phase)) notMeasured.push(`${peerCaseLabel({ shape, format, threads: threadCount, phase })} (no row)`);
    }
  }
  return [
    `Targets (prefill ≥ ${ratioTargets.prefill.toFixed(1)}× and decode ≥ ${ratioTargets.decode.toFixed(1)}× ${against}): ${met.length} of ${targeted.length} rows met.`,
    `- met: ${met.length > 0 ? met.map(label).join("; ") : "none"}`,
    `- missed: ${missed.length > 0 ? missed.map(label).join("; ") : "none"}`,
    ...(noComparison.length > 0
      ? [`- not a comparison (others took ≥ ${contendedCpuShare * 100}% of the CPU during a multi-thread llama-bench run, which then collapses): ${noComparison.map((row) => `${label(row)} ${contention(row)}`).join("; ")}`]
      : []),
    ...(notMeasured.length > 0 ? [`- not measured against llama-bench: ${notMeasured.join("; ")}`] : []),
  ].join("\n");
}

/** The sentence on the memory criterion (3B-shape Q8_0, ours ≤ 1.15× the file), or why it was not measured. */
export function memoryCheck(rows: readonly PeerRow[]): string {
  const row = peerMemoryRows(rows).find((candidate) => candidate.shape === "3b" && candidate.format === "q8_0");
  if (!row) return `Memory criterion (a loaded 3B-shape Q8_0 model ≤ ${memoryLimitRatio}× its file size): not measured in this run (no 3b q8_0 file).`;
  const verdict = (ratio: number) => (ratio <= memoryLimitRatio ? "pass" : "FAIL");
  return (
    `Memory criterion (a loaded 3B-shape Q8_0 model ≤ ${memoryLimitRatio}× its file size of ${gigabytes(row.file_bytes)} GB): ` +
    `this project's process holds ${gigabytes(row.ours_resident_after_load_bytes)} GB after loading, **${row.ours_after_load_ratio.toFixed(3)}×** (${verdict(row.ours_after_load_ratio)}), ` +
    `and peaks at ${gigabytes(row.ours_peak_memory_bytes)} GB over loading and all runs (KV cache and activations included), **${row.ours_peak_ratio.toFixed(3)}×** (${verdict(row.ours_peak_ratio)}).`
  );
}

export interface PeerReportContext {
  machine: MachineInfo;
  command: string;
  /** Descriptions of the engines that ran: ours, node-llama-cpp (peer), llama-bench. */
  engines: { ours?: string; peer?: string; llamaBench?: string };
  vocabulary: string;
  settings: {
    promptTokens: number;
    decodeTokens: number;
    /** Measured runs per engine and thread count, e.g. "3 (1b), 2 (3b)". */
    repetitions: string;
    warmupRuns: number;
    /** The short warm-up runs right before each measured run of a worker engine (absent: once per thread count, as
     *  runs before 2026-12-05 did). */
    warmupBeforeEachRun?: boolean;
    warmupPromptTokens: number;
    warmupDecodeTokens: number;
    batchSize: number;
    quietWaitSeconds: number;
    llamaMemoryMap: boolean;
    /** The llama.cpp engines run besides ours. */
    peerEngines: readonly string[];
    /** Whole-run warm-ups per worker engine and thread count before the tiny case's measured runs (when it ran). */
    tinyWarmupRuns?: number;
  };
  /** The files measured (relative to benchmarks/) and how each was made. */
  files: Array<{ path: string; madeBy: string }>;
  /** How many of `files` this run wrote (the others came from the cache). */
  filesWritten: number;
  skipped: string[];
  /** Further remarks on how this run measured (e.g. files measured with one engine loaded at a time). */
  notes?: string[];
  elapsedSeconds: number;
  /** A merged report's parts (`pnpm bench peers-merge`); absent for a report of one run. */
  merge?: PeerMergeInfo;
}

/** One part of a merged report: the results directory of one `pnpm bench peers` run. */
export interface PeerReportPart {
  /** Its directory, relative to the merged report's directory (as its rows' `measured_in` name it). */
  directory: string;
  machine: MachineInfo;
  command: string;
  elapsedSeconds: number;
  /** Rows it measured, and how many of them the merged report shows. */
  rows: number;
  used: number;
  /** Given with --prefer: its rows win over newer parts'. */
  preferred: boolean;
}

export interface PeerMergeInfo {
  /** The parts, oldest first: the table's "measured in" column numbers them #1, #2, … in this order. */
  parts: PeerReportPart[];
  /** Rows that another part measured again: each with the part that measured it and the part whose row is shown. */
  superseded: Array<{ row: PeerRow; part: string; by: string }>;
  /** The parts' machines differ in kind (CPU model or logical CPUs), merged with --allow-mixed-machines. */
  mixedMachines: boolean;
  /** The cases the targets name (those without a measured comparison are listed as such). */
  expected: TargetCases;
}

const machineKind = (machine: MachineInfo) => `${machine.cpu} with ${machine.logicalCpus} logical CPU${machine.logicalCpus === 1 ? "" : "s"}`;

/** A merged report's opening lines: how it was merged, the machine, and the parts with their dates and commands. */
function mergeHeading(context: PeerReportContext, merge: PeerMergeInfo): string[] {
  const directories = merge.parts.map((part) => part.directory);
  const dates = merge.parts.map((part) => part.machine.date);
  const newest = merge.parts[merge.parts.length - 1];
  return [
    `Merged from ${merge.parts.length} run${merge.parts.length === 1 ? "" : "s"} of \`pnpm bench peers\` (the parts below) by \`${context.command}\`: each row is the one of the newest part that measured it${merge.parts.some((part) => part.preferred) ? " (of a part given with --prefer first)" : ""}, and its figures and ratios all come from that part's run, where the engines ran interleaved.`,
    merge.mixedMachines
      ? `Machines: the parts were measured on machines of different kinds (merged with --allow-mixed-machines; each part's below); the newest: ${describeMachine(newest.machine)}. Dates: ${dates[0]} to ${dates[dates.length - 1]}.`
      : `Machine: ${describeMachine(newest.machine)} (every part). Dates: ${dates[0]} to ${dates[dates.length - 1]}.`,
    "",
    "Parts (the table's \"measured in\" column):",
    "",
    ...merge.parts.map((part) =>
      `- ${partLabel(directories, part.directory)}: [\`${part.directory}\`](${part.directory}/peers.md), ${part.machine.date}, ${(part.elapsedSeconds / 60).toFixed(1)} minutes, ${machineKind(part.machine)}${part.preferred ? ", preferred (--prefer)" : ""}; ${part.used} of its ${part.rows} rows shown: \`${part.command}\``),
  ];
}

/** A merged report's list of the rows that another part measured again. */
function supersededLines(merge: PeerMergeInfo): string[] {
  if (merge.superseded.length === 0) return [];
  const directories = merge.parts.map((part) => part.directory);
  return [
    "",
    "Superseded rows (measured again by a newer or preferred part, whose row the table shows):",
    "",
    ...merge.superseded.map(({ row, part, by }) =>
      `- ${row.shape} ${row.format} ${threadsText(row.threads)} ${row.phase}: ${row.ratio_llama_bench === null ? "no llama-bench figure" : `${row.ratio_llama_bench.toFixed(2)}× llama-bench`} (others' CPU ${(row.others_cpu_share * 100).toFixed(0)}%) in ${partLabel(directories, part)}, replaced by ${partLabel(directories, by)}`),
  ];
}

/** The report's line on the tiny case (stories260K, a real model): its warm-up and what its decode rows measure. */
export function tinyCaseNote(settings: { warmupRuns: number; promptTokens: number; decodeTokens: number; peerEngines: readonly string[] }): string {
  const engines = ["ours", ...settings.peerEngines.filter((engine) => engine === "node-llama-cpp")].join(" and ");
  const bench = settings.peerEngines.includes("llama-bench") ? `; llama-bench: pp${settings.promptTokens}, and tg${settings.decodeTokens} from an empty context (-p 0 -n ${settings.decodeTokens})` : "";
  return `tiny: stories260K, a real trained model (~260K parameters, F32; the file and its source are listed above), the size of a speculative-decoding draft model, where per-token overhead sets the speed. Per thread count ${engines} first ran ${settings.warmupRuns} whole warm-up run${settings.warmupRuns === 1 ? "" : "s"} in the worker (prefill and decode, as measured; this project's decode speed settles only after its JS is JIT-compiled, a few runs in), then the measured runs. Its decode rows ("from BOS") decode ${settings.decodeTokens} greedy tokens after BOS alone, not after the prompt (each run: the ${settings.promptTokens}-token prefill, then a separate decode from BOS)${bench}.`;
}

const rowLabel = (row: PeerRow) => `${row.shape} ${row.format} ${threadsText(row.threads)}`;

function ratioChart(rows: readonly PeerRow[]): string {
  const againstBench = rows.some((row) => row.ratio_llama_bench !== null);
  const labels = [...new Set(rows.map(rowLabel))];
  const values = (phase: PeerRow["phase"]) =>
    labels.map((label) => {
      const row = rows.find((candidate) => candidate.phase === phase && rowLabel(candidate) === label);
      return (againstBench ? row?.ratio_llama_bench : row?.ratio) ?? Number.NaN;
    });
  const peerName = againstBench ? "llama-bench" : "llama.cpp (node-llama-cpp)";
  return barChartSvg({
    title: `This project ÷ ${peerName}, same GGUF file and threads: tokens/s ratio`,
    unit: "×",
    labels,
    series: [
      { name: "decode", color: "#1f5fa8", values: values("decode") },
      { name: "prefill", color: "#7aa6d8", values: values("prefill") },
    ],
    reference: { value: 1, label: `parity with ${peerName}` },
  });
}

/** The report's markdown. */
export function peerReportMarkdown(name: string, rows: readonly PeerRow[], context: PeerReportContext): string {
  const { settings, engines } = context;
  const withPeer = settings.peerEngines.includes("node-llama-cpp");
  const withBench = settings.peerEngines.includes("llama-bench");
  const order = ["ours", ...(withPeer ? ["node-llama-cpp"] : []), ...(withBench ? ["llama-bench"] : [])].join(" / ");
  const onlyTiny = rows.length > 0 && rows.every((row) => row.shape === "tiny");
  const shortWarmup = settings.warmupBeforeEachRun
    ? `${settings.warmupRuns} warm-up run (${settings.warmupPromptTokens}-token prompt, ${settings.warmupDecodeTokens} decode tokens) right before each measured run of a worker engine, as llama-bench warms up in each of its runs`
    : `${settings.warmupRuns} warm-up run per worker engine (${settings.warmupPromptTokens}-token prompt, ${settings.warmupDecodeTokens} decode tokens)`;
  const warmups = onlyTiny ? `the tiny case's ${settings.tinyWarmupRuns} whole warm-up runs per worker engine (below)`
    : `${shortWarmup}${settings.tinyWarmupRuns === undefined ? "" : ` (the tiny case: ${settings.tinyWarmupRuns} whole runs, below)`}`;
  return [
    "# This project vs llama.cpp on the same GGUF files",
    "",
    ...(context.merge ? mergeHeading(context, context.merge) : [
      `Machine: ${describeMachine(context.machine)}. Date: ${context.machine.date}.`,
      `Command: \`${context.command}\` (${(context.elapsedSeconds / 60).toFixed(1)} minutes; ${context.filesWritten} of ${context.files.length} files written by this run, the others reused from the cache).`,
    ]),
    "",
    ...(engines.ours ? [`- ours: ${engines.ours}`] : []),
    ...(engines.llamaBench ? [`- llama-bench: ${engines.llamaBench}`] : []),
    ...(engines.peer ? [`- node-llama-cpp: ${engines.peer}`] : []),
    `- files: random-weight GGUF files of exact published shapes (Llama 3.2 1B/3B; ChatGLM3-6B for llama.cpp's chatglm architecture), each tensor in the type llama-quantize gives it (Q4_0 files keep the output matrix — the tied token_embd/output for Llama 3.2 — in Q6_K; Q4_K_M files put it, and half of attn_v / ffn_down, in Q6_K and the rest in Q4_K)${settings.tinyWarmupRuns === undefined ? "" : "; the tiny case is a real model's file instead"}; vocabulary: ${context.vocabulary}`,
    ...context.files.map((file) => `  - \`${file.path}\`: ${file.madeBy}`),
    `- each run: prefill of a ${settings.promptTokens}-token prompt in one batch (batch size ${settings.batchSize}), then ${settings.decodeTokens} greedy decode steps (one forward pass and one argmax per token${withPeer ? "; node-llama-cpp's through its sequence.evaluate, JS included" : ""}). ${withBench ? `llama-bench runs its own pp${settings.promptTokens} test (from an empty context) and tg${settings.decodeTokens} test at depth ${settings.promptTokens} (after a prompt's worth of context, as ours decodes), each in a fresh process per run after its own warm-up. ` : ""}Runs alternate ${order}; ${settings.warmupBeforeEachRun && !onlyTiny ? "" : "per thread count "}${warmups}, then the median of the measured runs per engine (${settings.repetitions}; min–max in brackets).`,
    `- loading: this project reads the file into its own memory${withPeer ? `; node-llama-cpp ${settings.llamaMemoryMap ? "memory-maps it (--llama-mmap)" : "does the same (useMmap: false; on this VM its decode from a memory-mapped file was up to 1.9× slower, with stalls of 150–300 ms)"}` : ""}${withBench ? `; llama-bench ${settings.llamaMemoryMap ? "memory-maps it (its default)" : "reads it into memory too (-mmp 0)"}` : ""}.`,
    `- noise: before each run the benchmark waits (up to ${settings.quietWaitSeconds} s) for a quiet CPU; "others' CPU" is the median share of all CPU time that other processes took during the row's runs. ITL = inter-token latency.`,
    withBench
      ? "- llama-bench is llama.cpp's own benchmark, built outside this repository from llama.cpp's public source: the figure to beat. node-llama-cpp (the in-repo peer CI can install) runs the same llama.cpp through its JS layer, which slows its 2-thread decode. llama.cpp's threads wait for each other at every op, so a 2-thread llama-bench run while another process holds a core collapses (BASELINES.md: 785 ms/token); read a row's ratios together with its others' CPU column."
      : "- llama-bench was not run (give --llama-bench PATH): its column shows BASELINES.md's figure for the case, measured on a quiet machine of this kind, where there is one.",
    ...(context.notes ?? []).map((note) => `- ${note}`),
    ...(context.skipped.length > 0 ? ["", "Skipped:", ...context.skipped.map((reason) => `- ${reason}`)] : []),
    "",
    peerTable(rows, context.merge?.parts.map((part) => part.directory)),
    "",
    targetSummary(rows, context.merge ? { merged: true, expected: context.merge.expected } : {}),
    ...(context.merge ? supersededLines(context.merge) : []),
    "",
    `![ours ÷ llama.cpp](${name}.svg)`,
    "",
    ...poolSection(rows),
    "## Memory",
    "",
    `Resident set of each engine's worker process${withPeer && settings.llamaMemoryMap ? " (node-llama-cpp's counts the pages of its memory-mapped file it has touched)" : ""}.`,
    "",
    markdownTable(peerMemoryRows(rows), memoryColumns),
    "",
    memoryCheck(rows),
    "",
  ].join("\n");
}

/** Writes `<name>.md`, `<name>.json` and `<name>.svg` into `directory`; returns their paths. */
export function writePeerReport(directory: string, name: string, rows: readonly PeerRow[], context: PeerReportContext): string[] {
  return writeReportFiles(directory, {
    [`${name}.md`]: peerReportMarkdown(name, rows, context),
    [`${name}.json`]: reportJson({ ...context, memory: peerMemoryRows(rows), memory_check: memoryCheck(rows), rows }),
    [`${name}.svg`]: ratioChart(rows),
  });
}
