// Turns kernel benchmark results into the files under benchmarks/results/: a markdown table with the machine and
// command, the raw JSON, and SVG charts (GEMV as a fraction of read bandwidth, GEMM as GOP/s).


import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { KernelResult } from "./kernels.ts";

/** The decode target of the kernel issue: GEMV streams weights at ≥ 80% of the measured read bandwidth. */
export const BANDWIDTH_TARGET = 0.8;

/** A figure GEMV rows (and results from before the field existed) do not have: empty. */
function optional(value: number | null | undefined, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "";
}

/** A peak's total with its per-thread figures: "123 (62 + 61)". */
function peakText(total: number | null | undefined, perThread: readonly number[] | null | undefined): string {
  if (typeof total !== "number") return "";
  return perThread && perThread.length > 1 ? `${total.toFixed(0)} (${perThread.map((value) => value.toFixed(0)).join(" + ")})` : total.toFixed(0);
}

const columns: Column<KernelResult>[] = [
  { header: "op", value: (row) => row.op, align: "left" },
  { header: "format", value: (row) => row.format, align: "left" },
  { header: "computed as", value: (row) => row.weight_dtype, align: "left" },
  { header: "rows×cols", value: (row) => `${row.rows}×${row.cols}`, align: "left" },
  { header: "tokens", value: (row) => row.tokens },
  { header: "threads", value: (row) => row.threads },
  { header: "ms (median)", value: (row) => row.ms.toFixed(3) },
  { header: "ms min–max", value: (row) => `${row.ms_min.toFixed(3)}–${row.ms_max.toFixed(3)}` },
  { header: "weights GB/s", value: (row) => row.gbps.toFixed(1) },
  { header: "GOP/s", value: (row) => row.gops.toFixed(1) },
  { header: "read GB/s", value: (row) => row.stream_gbps.toFixed(1) },
  { header: "fraction of read bandwidth", value: (row) => row.bandwidth_fraction.toFixed(2) },
  { header: "4-stream read GB/s", value: (row) => row.stream4_gbps.toFixed(1) },
  { header: "fraction of 4-stream read", value: (row) => row.bandwidth_fraction_four_streams.toFixed(2) },
  { header: "FMA peak GOP/s (per thread)", value: (row) => peakText(row.fma_peak_gops, row.fma_peak_per_thread_gops) },
  { header: "fraction of FMA peak", value: (row) => optional(row.fma_peak_fraction, 2) },
  { header: "bf16-dot peak GOP/s (per thread)", value: (row) => peakText(row.bf16_peak_gops, row.bf16_peak_per_thread_gops) },
  { header: "fraction of bf16-dot peak", value: (row) => optional(row.bf16_peak_fraction, 2) },
];

export function kernelTable(results: readonly KernelResult[]): string {
  return markdownTable(results, columns);
}

function label(row: KernelResult): string {
  return `${row.weight_dtype} ${row.rows}×${row.cols}${row.op === "gemm" ? ` ×${row.tokens} tok` : ""}`;
}

function chartOf(results: readonly KernelResult[], op: "gemv" | "gemm"): string {
  const rows = results.filter((row) => row.op === op);
  const labels = [...new Set(rows.map(label))];
  const value = (threads: number) => labels.map((name) => {
    const row = rows.find((candidate) => label(candidate) === name && candidate.threads === threads);
    if (!row) return Number.NaN;
    return op === "gemv" ? row.bandwidth_fraction : row.gops;
  });
  return barChartSvg({
    title: op === "gemv" ? "Decode GEMV: weight bytes streamed ÷ measured read bandwidth" : "Prefill GEMM: GOP/s",
    unit: op === "gemv" ? "×" : "GOP/s",
    labels,
    series: [
      { name: "1 thread", color: "#7aa6d8", values: value(1) },
      { name: "2 threads", color: "#1f5fa8", values: value(2) },
    ],
    reference: op === "gemv" ? { value: BANDWIDTH_TARGET, label: "80% target" } : undefined,
  });
}

/** Writes `<name>.md`, `<name>.json`, `<name>-gemv.svg` and `<name>-gemm.svg` into `directory`; returns the paths. */
export function writeKernelReport(directory: string, name: string, results: readonly KernelResult[], machine: MachineInfo, command: string): string[] {
  const isa = results[0]?.isa ?? "unknown";
  const markdown = [
    `# Kernel benchmark`,
    ``,
    `Machine: ${describeMachine(machine)}; native kernels: ${isa}. Date: ${machine.date}.`,
    `Command: \`${command}\`.`,
    ``,
    `GEMV rotates through weight copies larger than the last-level cache (decode never hits cache); "read GB/s" is a`,
    `plain sequential streaming read of 1 GiB through the same thread pool, "4-stream read" the same bytes read from four`,
    `places side by side (as a 4-row GEMV tile reads), both measured interleaved with each case. Medians of several`,
    `repetitions; the machine is shared, so compare the fraction columns rather than absolute figures. "computed as" is`,
    `the dtype the kernel ran on: models pack q8_0 / q4_0 weights into the interleaved q8_0x16 / q4_0x16 at load time`,
    `(Kernel.packWeight, on AVX-512); the rows computed as plain q8_0 / q4_0 are the row layout, measured in the same run.`,
    `"FMA peak" is the arithmetic yardstick of GEMM, as the read bandwidth is of GEMV: 12 independent chains of 512-bit`,
    `f32 FMAs (2 operations per lane) in one task pinned to each pool thread, all threads at once, each for at least`,
    `100 ms of its own time; the total is the sum of the threads' rates (in brackets), the best of the runs interleaved`,
    `with each GEMM case. "bf16-dot peak" is the same with vdpbf16ps (4 operations per lane), the instruction the bf16`,
    `GEMM runs on AVX512_BF16 CPUs; a bf16 GEMM row's fraction is of that peak.`,
    ``,
    kernelTable(results),
    ``,
    `![GEMV](${name}-gemv.svg)`,
    ``,
    `![GEMM](${name}-gemm.svg)`,
    ``,
  ].join("\n");
  return writeReportFiles(directory, {
    [`${name}.md`]: markdown,
    [`${name}.json`]: reportJson({ machine, command, results }),
    [`${name}-gemv.svg`]: chartOf(results, "gemv"),
    [`${name}-gemm.svg`]: chartOf(results, "gemm"),
  });
}
