// Turns the quality comparison's rows into benchmarks/results/peers-quality.{md,json}: per model file this project's
// and llama.cpp's perplexity side by side with their ratio and the pass/fail at the tolerance, how close the logits
// are position by position, and how far greedy continuations stay identical.


import { describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { QualityResult, QualitySettings } from "./quality-comparison.ts";

export interface QualityRow extends QualityResult {
  model: string;
  format: string;
  /** The GGUF file both engines read. */
  file: string;
  vocab_size: number;
  /** Whether llama.cpp's tokenization of the text equals this project's (both engines are fed this project's ids). */
  tokenization_agrees: boolean;
  peer: "llama.cpp";
}

const percent = (share: number, digits = 1) => `${(share * 100).toFixed(digits)}%`;

const columns: Column<QualityRow>[] = [
  { header: "model", value: (row) => row.model, align: "left" },
  { header: "format", value: (row) => row.format, align: "left" },
  { header: "tokens scored", value: (row) => row.predicted_tokens },
  { header: "ours perplexity", value: (row) => row.ours_perplexity.toFixed(4) },
  { header: "llama.cpp perplexity", value: (row) => row.peer_perplexity.toFixed(4) },
  { header: "ours ÷ llama.cpp", value: (row) => row.perplexity_ratio.toFixed(5) },
  { header: "mean KL (nats)", value: (row) => row.mean_kl_divergence.toExponential(2) },
  { header: "top-1 agreement", value: (row) => percent(row.top1_agreement, 2) },
  { header: "max abs logit diff", value: (row) => row.max_abs_logit_difference.toExponential(2) },
  { header: "greedy agreement (common prefixes)", value: (row) => `${percent(row.greedy_agreement)} (${row.greedy.map((entry) => entry.common_prefix).join(", ")} of ${row.greedy[0]?.compared ?? 0})` },
  { header: "same tokenization", value: (row) => (row.tokenization_agrees ? "yes" : "no"), align: "left" },
  { header: "pass", value: (row) => (row.pass ? "pass" : "**FAIL**"), align: "left" },
];

export function qualityTable(rows: readonly QualityRow[]): string {
  return markdownTable(rows, columns);
}

export interface QualityReportContext {
  machine: MachineInfo;
  command: string;
  engines: { ours: string; peer: string };
  text: string;
  settings: QualitySettings & { characters: number };
  prompts: string[];
  sources: string[];
  elapsedSeconds: number;
}

export function qualityReportMarkdown(rows: readonly QualityRow[], context: QualityReportContext): string {
  const { settings } = context;
  const tolerance = percent(settings.perplexityTolerance, 0);
  return [
    "# Quality: this project vs llama.cpp on the same GGUF files",
    "",
    `Machine: ${describeMachine(context.machine)}. Date: ${context.machine.date}.`,
    `Command: \`${context.command}\` (${context.elapsedSeconds.toFixed(0)} s).`,
    "",
    `- ours: ${context.engines.ours}`,
    `- llama.cpp: ${context.engines.peer}`,
    ...context.sources.map((source) => `- ${source}`),
    `- text: the first ${settings.characters} characters of \`${context.text}\`, tokenized by this project's tokenizer from each file's embedded vocabulary; both engines score the same token ids ("same tokenization" tells whether llama.cpp's own tokenizer gives the same ids).`,
    `- perplexity: sliding windows of ${settings.window} tokens every ${settings.stride} (each token scored once, with at least ${settings.window - settings.stride} tokens of context after the first window); llama.cpp's logits are its raw logits for the whole vocabulary (controlledEvaluate with generateNext.logits). KL is KL(llama.cpp ‖ ours) per scored position.`,
    `- greedy: ${settings.greedyTokens} tokens after each of ${context.prompts.map((prompt) => JSON.stringify(prompt)).join(", ")}; the common prefix is how many tokens stay identical before the first difference.`,
    `- pass: perplexities within ${tolerance} of each other (or every greedy token identical).`,
    "",
    qualityTable(rows),
    "",
  ].join("\n");
}

/** Writes `<name>.md` and `<name>.json` into `directory`; returns their paths. */
export function writeQualityReport(directory: string, name: string, rows: readonly QualityRow[], context: QualityReportContext): string[] {
  return writeReportFiles(directory, {
    [`${name}.md`]: qualityReportMarkdown(rows, context),
    [`${name}.json`]: reportJson({ ...context, rows }),
  });
}
