// Turns verify profiles (verify-profile.ts) into the files under benchmarks/results/: a markdown report (per verify size
// m: the forward's time against one token's, and each op entry at 1 and at m tokens with its share of the extra time),
// the JSON, and an SVG chart of each entry's extra milliseconds.

import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { VerifyProfile, VerifyProfileEntry, VerifySizeProfile } from "./verify-profile.ts";

const entryColumns = (tokens: number): Column<VerifyProfileEntry>[] => [
  { header: "entry", value: (entry) => entry.name, align: "left" },
  { header: `calls (${tokens} tokens)`, value: (entry) => (entry.calls === 0 ? "" : String(entry.calls)) },
  { header: "ms, 1 token", value: (entry) => entry.one_ms.toFixed(2) },
  { header: `ms, ${tokens} tokens`, value: (entry) => entry.many_ms.toFixed(2) },
  { header: "×", value: (entry) => (Number.isFinite(entry.ratio) ? `${entry.ratio.toFixed(2)}×` : "") },
  { header: "extra ms", value: (entry) => entry.extra_ms.toFixed(2) },
  { header: "share of the extra", value: (entry) => `${(entry.extra_share * 100).toFixed(0)}%` },
];

/** The markdown of one verify size: the headline, then the entries with the largest extra time first. */
export function verifySizeSection(size: VerifySizeProfile): string {
  return [
    `## ${size.tokens} tokens against 1`,
    "",
    `Forward over ${size.tokens} tokens: **${size.forward_ms.toFixed(1)} ms**, one token ${size.one_token_ms.toFixed(1)} ms: ` +
      `**${size.ratio.toFixed(2)}×** (${(size.forward_ms - size.one_token_ms).toFixed(1)} ms extra).`,
    "",
    markdownTable(size.entries, entryColumns(size.tokens)),
  ].join("\n");
}

/** Writes `<name>.md`, `<name>.json` and `<name>.svg` into `directory`; returns the paths. */
export function writeVerifyProfileReport(directory: string, name: string, profile: VerifyProfile, machine: MachineInfo, command: string, load: string): string[] {
  const markdown = [
    "# Where a verify pass's extra time goes (one forward over m tokens vs one decode token)",
    "",
    `Machine: ${describeMachine(machine)}; native kernels: ${profile.isa}; ${profile.threads} thread${profile.threads === 1 ? "" : "s"}. ` +
      `Date: ${machine.date}. Load average at the start: ${load}.`,
    `Command: \`${command}\`.`,
    `Model: ${profile.model}. After a ${profile.context_tokens}-token context, forwards over 1 and m tokens (all logits) ` +
      `interleaved, ${profile.rounds} rounds after a warm-up round, medians; every kernel op call timed (matmuls per weight dtype and shape).`,
    "",
    ...profile.sizes.map(verifySizeSection),
    "",
    `![extra ms by op entry](${name}.svg)`,
    "",
  ].join("\n");
  const labels = [...new Set(profile.sizes.flatMap((size) => size.entries.map((entry) => entry.name)))];
  const colors = ["#7aa6d8", "#1f5fa8", "#9bbf5a", "#c97a2b"];
  const chart = barChartSvg({
    title: "Verify pass: extra ms over one decode token, by op entry",
    unit: "ms",
    labels,
    series: profile.sizes.map((size, index) => ({
      name: `${size.tokens} tokens`,
      color: colors[index % colors.length],
      values: labels.map((label) => size.entries.find((entry) => entry.name === label)?.extra_ms ?? Number.NaN),
    })),
  });
  return writeReportFiles(directory, {
    [`${name}.md`]: markdown,
    [`${name}.json`]: reportJson({ machine, command, load, profile }),
    [`${name}.svg`]: chart,
  });
}
