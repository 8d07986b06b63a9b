// Turns decode profiles into the files under benchmarks/results/: a markdown report (per thread count: the token's
// time, what streaming the weights at the measured read bandwidth would cost, and each op entry's time and share), the
// JSON, and an SVG chart of ms per token by entry and thread count.

import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { DecodeProfile, ProfileEntry } from "./decode-profile.ts";

const entryColumns: Column<ProfileEntry>[] = [
  { header: "entry", value: (entry) => entry.name, align: "left" },
  { header: "calls/token", value: (entry) => (entry.calls_per_token === 0 ? "" : entry.calls_per_token.toFixed(0)) },
  { header: "ms/token", value: (entry) => entry.ms_per_token.toFixed(3) },
  { header: "share of the token", value: (entry) => `${(entry.share * 100).toFixed(1)}%` },
  { header: "weights GB/s", value: (entry) => (entry.gbps === null ? "" : entry.gbps.toFixed(1)) },
  { header: "fraction of read bandwidth", value: (entry) => (entry.bandwidth_fraction === null ? "" : entry.bandwidth_fraction.toFixed(2)) },
];

/** The markdown of one profile: its headline figures, then its entries. */
export function profileSection(profile: DecodeProfile): string {
  const matmulMs = profile.entries.filter((entry) => entry.name.startsWith("matmul")).reduce((sum, entry) => sum + entry.ms_per_token, 0);
  return [
    `## ${profile.threads} thread${profile.threads === 1 ? "" : "s"}`,
    "",
    `Decode token: **${profile.token_ms.toFixed(2)} ms** median (${profile.token_ms_min.toFixed(2)}–${profile.token_ms_max.toFixed(2)}), ` +
      `${(1000 / profile.token_ms).toFixed(1)} tok/s. Matmuls ${matmulMs.toFixed(2)} ms (${((matmulMs / profile.token_ms) * 100).toFixed(0)}%), ` +
      `other ops ${(profile.ops_ms - matmulMs).toFixed(2)} ms, outside kernel ops ${profile.outside_ops_ms.toFixed(2)} ms. ` +
      `The matmuls stream ${(profile.weight_bytes_per_token / 1e9).toFixed(3)} GB per token: ${profile.weights_at_read_bandwidth_ms.toFixed(2)} ms at the ` +
      `${profile.read_gbps.toFixed(1)} GB/s read bandwidth measured in the same run (the token at that speed: ${(1000 / profile.weights_at_read_bandwidth_ms).toFixed(1)} tok/s).`,
    "",
    markdownTable(profile.entries, entryColumns),
  ].join("\n");
}

function chart(profiles: readonly DecodeProfile[]): string {
  const labels = [...new Set(profiles.flatMap((profile) => profile.entries.map((entry) => entry.name)))];
  const colors = ["#7aa6d8", "#1f5fa8", "#9bbf5a", "#c97a2b"];
  return barChartSvg({
    title: "Decode token: ms per token by op entry",
    unit: "ms",
    labels,
    series: profiles.map((profile, index) => ({
      name: `${profile.threads} thread${profile.threads === 1 ? "" : "s"}`,
      color: colors[index % colors.length],
      values: labels.map((label) => profile.entries.find((entry) => entry.name === label)?.ms_per_token ?? Number.NaN),
    })),
  });
}

/** Writes `<name>.md`, `<name>.json` and `<name>.svg` into `directory`; returns the paths. */
export function writeDecodeProfileReport(directory: string, name: string, profiles: readonly DecodeProfile[], machine: MachineInfo, command: string, load: string): string[] {
  const first = profiles[0];
  const markdown = [
    "# Where a decode token's time goes",
    "",
    `Machine: ${describeMachine(machine)}; native kernels: ${first.isa}. Date: ${machine.date}. Load average at the start: ${load}.`,
    `Command: \`${command}\`.`,
    `Model: \`${first.model}\`; ${first.decode_tokens} greedy decode tokens after a ${first.prompt_tokens}-token prompt, ${first.repetitions} runs per thread count after a warm-up run, medians.`,
    "",
    "Every kernel op call is timed (matmuls per weight dtype and shape: each projection and the LM head; the other ops by",
    "name); \"outside kernel ops\" is the step's time no op accounts for (the engine's JavaScript, cache bookkeeping,",
    "tensor allocation). Timing each call adds about a microsecond per op. \"fraction of read bandwidth\" compares a",
    "matmul's weight bytes per second with a plain streaming read of 1 GiB through the same thread pool, measured before",
    "each run.",
    "",
    ...profiles.map(profileSection),
    "",
    `![ms per token by op entry](${name}.svg)`,
    "",
  ].join("\n");
  return writeReportFiles(directory, {
    [`${name}.md`]: markdown,
    [`${name}.json`]: reportJson({ machine, command, load, profiles }),
    [`${name}.svg`]: chart(profiles),
  });
}
