// The shape of a recipe's results/*.json (what its bench.ts and accuracy.ts write): the machine and date, the command
// that produced it, a few headline figures, and the rows. The docs' recipe gallery reads the latest of each kind and
// refuses a file that lacks a field, naming it, so every recipe's figures appear the same way.

import type { MachineInfo } from "./machine.ts";
import type { ToleranceCheck } from "./tolerance.ts";

/** One figure worth putting in front of a reader: "decode, + Q4_0 weights: 86.8 tok/s". */
export interface HeadlineFigure {
  /** What was measured, e.g. "decode, + Q4_0 weights" or "Q8_0 mean KL divergence". */
  label: string;
  /** The measured value (a median for speeds). */
  value: number;
  /** Its unit, e.g. "tok/s", "×", "GB/s"; `""` for a plain number such as a KL divergence. */
  unit: string;
}

/**
 * A results file as `bench.ts` and `accuracy.ts` write it: `results/bench.json`, `results/accuracy.json` (and
 * variants such as `bench-quick.json`). Write it with {@link reportJson}; check one with {@link resultsRecordProblems}.
 *
 * @typeParam Row - one measured configuration, with snake_case fields.
 * @example
 * ```ts
 * import { machineInfo, reportJson, writeReportFiles, type ResultsRecord } from "@infer-recipes/harness";
 *
 * const rows = [{ configuration: "baseline", decode_tokens_per_s: 10 }, { configuration: "optimized", decode_tokens_per_s: 25 }];
 * const record: ResultsRecord<(typeof rows)[number]> = {
 *   machine: machineInfo(),
 *   command: "pnpm bench my-recipe",
 *   headline: [{ label: "decode speed-up over the baseline", value: 2.5, unit: "×" }],
 *   rows,
 * };
 * writeReportFiles("results", { "bench.json": reportJson(record) });
 * ```
 */
export interface ResultsRecord<Row = Record<string, unknown>> {
  /** The machine it ran on, with the date (ISO 8601) of the run. */
  machine: MachineInfo;
  /** The command line that produced the file, as a user would type it. */
  command: string;
  /** The figures a reader should see first (at least one). */
  headline: HeadlineFigure[];
  /** Every measured configuration. */
  rows: Row[];
  /** For an accuracy check: each metric against its tolerance. */
  checks?: ToleranceCheck[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The fields of a parsed results file that are missing or of the wrong type, each as `"field: what is expected"`;
 * an empty list when it is a complete {@link ResultsRecord}.
 */
export function resultsRecordProblems(value: unknown): string[] {
  if (!isObject(value)) return ["(top level): a JSON object"];
  const problems: string[] = [];
  const machine = value.machine;
  if (!isObject(machine)) problems.push("machine: an object (machineInfo() from @infer-recipes/harness)");
  else {
    if (typeof machine.cpu !== "string") problems.push("machine.cpu: a string");
    if (typeof machine.date !== "string" || Number.isNaN(Date.parse(machine.date))) problems.push("machine.date: an ISO 8601 date string");
  }
  if (typeof value.command !== "string" || value.command.trim() === "") problems.push("command: the command line that produced the file");
  const headline = value.headline;
  if (!Array.isArray(headline) || headline.length === 0) problems.push("headline: a non-empty list of { label, value, unit }");
  else {
    headline.forEach((figure: unknown, index) => {
      if (!isObject(figure) || typeof figure.label !== "string" || typeof figure.value !== "number" || !Number.isFinite(figure.value) || typeof figure.unit !== "string") {
        problems.push(`headline[${index}]: { label: string, value: finite number, unit: string }`);
      }
    });
  }
  if (!Array.isArray(value.rows)) problems.push("rows: a list of the measured configurations");
  return problems;
}
