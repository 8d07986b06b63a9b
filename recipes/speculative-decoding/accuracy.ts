// Accuracy of speculative decoding: it must change nothing about the output. Three checks, each with its gate; the
// command exits non-zero when any leaves its tolerance.
//
// 1. Real weights, greedy: stories260K as target with llama2xs as draft, and the reverse (two independently trained
//    models on one tokenizer, from ../shared/models), several prompts, every draft length and prompt lookup: the
//    output must be token for token target-only greedy decoding. Acceptance is printed.
// 2. Sampling: on a tiny Llama 3.2 with an 8-token vocabulary, the first 3 generated tokens of many seeded runs must
//    follow the target's exact distribution (enumerated), by a chi-square test with a false-alarm rate of 1e-3 per
//    setting; a deliberately wrong acceptance rule must fail the same test (so the test can see a wrong rule).
// 3. Rollback paths: tiny random Llama 3.2 models with the target on a dense and on a paged cache (prefix caching on,
//    a second sequence sharing the prompt's blocks): greedy identical to target-only, seeded sampling identical
//    between dense and paged, the block pool's invariants intact and no block leaked.
//
//   pnpm accuracy speculative-decoding [--tokens N] [--samples N] [--threads N] [--backend native|reference] [--json]
//                                      [--results DIR]
//
// Writes results/accuracy.{md,json} (the gates, the identity and sampling rows, the machine and the command).

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { loadTextModel, resolveUserPath, type TextModel } from "@infer-recipes/cli";
import {
  DenseModelSequence,
  ModelDrafter,
  PagedModelSequence,
  PromptLookupDrafter,
  Sampler,
  generate,
  resampleFromTargetOnRejection,
  speculativeGenerate,
  speculativeGenerateOn,
  speculativeSampling,
  type AcceptanceRule,
  type Drafter,
  type SamplingOptions,
} from "@infer-recipes/engine";
import {
  chiSquareGoodnessOfFit,
  describeChecks,
  exactSequenceProbabilities,
  machineInfo,
  describeMachine,
  markdownTable,
  passes,
  reportJson,
  sequenceIndex,
  writeReportFiles,
  type ResultsRecord,
  type ToleranceCheck,
} from "@infer-recipes/harness";
import { createKernel, nativeAvailability, type BackendName, type Kernel } from "@infer-recipes/kernel";
import { LlamaModel, assembleLoadedWeights, llamaTensorNames, randomLlamaTensors, tinyLlamaConfig, type LlamaConfig } from "@infer-recipes/models";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const STORIES_260K = path.join(sharedModels, "stories260K-llama2c/stories260K.bin");
const LLAMA2XS = path.join(sharedModels, "llama2xs-tok512/model.bin");
const PROMPTS = ["", "Once upon a time", "Tom and his dog went to the park.", "Lily wanted to", "The sun was shining and the birds"];
/** The false-alarm rate of each chi-square check. */
const ALPHA = 1e-3;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      tokens: { type: "string" }, samples: { type: "string" }, threads: { type: "string" }, backend: { type: "string" }, json: { type: "boolean" },
      results: { type: "string" },
    },
  });
  const count = (name: string, text: string | undefined, fallback: number, minimum: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer ≥ ${minimum}, got "${text}"`);
    return value;
  };
  const backend = (values.backend ?? (nativeAvailability().available ? "native" : "reference")) as BackendName;
  if (backend !== "native" && backend !== "reference") throw new Error(`--backend must be native or reference, got "${values.backend}"`);
  return {
    tokens: count("tokens", values.tokens, 256, 8),
    samples: count("samples", values.samples, 20000, 100),
    threads: values.threads === undefined ? 1 : count("threads", values.threads, 1, 1),
    backend,
    json: Boolean(values.json),
    results: values.results === undefined ? path.join(recipeDirectory, "results") : resolveUserPath(values.results),
  };
}

type Options = ReturnType<typeof parseOptions>;

interface IdentityRow {
  target: string;
  draft: string;
  draftTokens: number | "auto";
  tokens: number;
  identical: number;
  acceptanceRate: number;
  meanAcceptedTokens: number;
  tokensPerTargetForward: number;
}

/** 1. Greedy identity on the real pair, both directions, every draft length and prompt lookup. */
async function realPairIdentity(options: Options, kernel: Kernel, checks: ToleranceCheck[], notes: string[]): Promise<IdentityRow[]> {
  const missing = [STORIES_260K, LLAMA2XS].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    notes.push(`real-pair greedy identity skipped: missing ${missing.join(", ")} (../shared/models)`);
    return [];
  }
  const load = (file: string) => loadTextModel(file, { kernel, progress: false });
  const models: Array<[string, TextModel]> = [["stories260K", await load(STORIES_260K)], ["llama2xs", await load(LLAMA2XS)]];
  const rows: IdentityRow[] = [];
  for (const [targetName, target] of models) {
    for (const [draftName, draft] of models) {
      if (draft === target) continue;
      const prompts = PROMPTS.map((text) => target.tokenizer.encode(text)).map((ids) => (ids.length > 0 ? ids : [target.tokenizer.bosTokenId!]));
      const limit = (ids: number[]) => Math.min(options.tokens, target.model.config.contextLength - ids.length);
      const expected = await Promise.all(prompts.map(async (ids) => (await generate(target.model, ids, { maxTokens: limit(ids) })).tokenIds));
      const configurations: Array<[string, number | "auto", () => Drafter]> = [
        ...([1, 2, 3, 4, 6, 8, "auto"] as const).map((k): [string, number | "auto", () => Drafter] => [
          draftName, k, () => new ModelDrafter(new DenseModelSequence(draft.model, draft.model.createCache())),
        ]),
        ["prompt lookup", "auto", () => new PromptLookupDrafter()],
      ];
      for (const [label, draftTokens, makeDrafter] of configurations) {
        const drafter = makeDrafter();
        let tokens = 0, identical = 0, drafted = 0, accepted = 0, draftingSteps = 0, verifySteps = 0, generated = 0;
        for (const [index, ids] of prompts.entries()) {
          const result = await speculativeGenerate(target.model, ids, { drafter, draftTokens, maxTokens: limit(ids) });
          const want = expected[index];
          tokens += want.length;
          let same = 0;
          while (same < want.length && result.tokenIds[same] === want[same]) same++;
          identical += result.tokenIds.length === want.length ? same : Math.min(same, result.tokenIds.length);
          const s = result.speculation;
          drafted += s.draftedTokens;
          accepted += s.acceptedTokens;
          draftingSteps += s.draftingSteps;
          verifySteps += s.verifySteps;
          generated += result.tokenIds.length - 1;
        }
        const row: IdentityRow = {
          target: targetName,
          draft: label,
          draftTokens,
          tokens,
          identical,
          acceptanceRate: drafted > 0 ? accepted / drafted : 0,
          meanAcceptedTokens: draftingSteps > 0 ? accepted / draftingSteps : 0,
          tokensPerTargetForward: verifySteps > 0 ? generated / verifySteps : 1,
        };
        rows.push(row);
        checks.push({ what: `${targetName} ← ${label} k=${draftTokens}`, metric: `greedy identity /${tokens}`, value: identical / tokens, limit: 1, kind: "min" });
        process.stderr.write(`  ${targetName} ← ${label}, k=${draftTokens}: ${identical}/${tokens} identical, acceptance ${(row.acceptanceRate * 100).toFixed(1)}%\n`);
      }
    }
  }
  return rows;
}

/** A tiny model of the exact Llama 3.2 architecture with random weights; `finalNorm` sets the final RMSNorm's weights
 *  (they scale the logits: 0.3 spreads an 8-token model's next-token distributions as a trained model's are). */
function tinyLlama32(kernel: Kernel, seed: number, overrides: Partial<LlamaConfig> = {}, finalNorm?: number): LlamaModel {
  const config = tinyLlamaConfig({
    hiddenSize: 64, intermediateSize: 160, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16,
    vocabSize: 96, contextLength: 256, ropeTheta: 500000, tiedEmbeddings: true, rmsNormEpsilon: 1e-5,
    ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 },
    ...overrides,
  });
  const tensors = randomLlamaTensors(config, seed);
  if (finalNorm !== undefined) (tensors.get(llamaTensorNames.outputNorm)!.data as Float32Array).fill(finalNorm);
  const raw = { config, tensors, source: { format: "random" as const, path: "(tiny random Llama 3.2)", files: [] }, metadata: new Map() };
  return LlamaModel.fromLoadedWeights(assembleLoadedWeights(raw), kernel);
}

interface SamplingRow {
  setting: string;
  rule: string;
  samples: number;
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/** 2. The distribution of the first 3 tokens under speculative sampling vs the target's exact one. */
async function samplingEquivalence(options: Options, kernel: Kernel, checks: ToleranceCheck[]): Promise<SamplingRow[]> {
  const vocabSize = 8, length = 3;
  const target = tinyLlama32(kernel, 21, { vocabSize }, 0.3);
  const draft = tinyLlama32(kernel, 22, { vocabSize, layerCount: 1 }, 0.3);
  const prompt = [1, 5, 3];
  const settings: Array<[string, SamplingOptions]> = [
    ["temperature 1", { temperature: 1 }],
    ["temperature 0.7, top-k 5", { temperature: 0.7, topK: 5 }],
    ["temperature 1.2, top-p 0.9", { temperature: 1.2, topP: 0.9 }],
  ];
  const rows: SamplingRow[] = [];
  const test = async (setting: string, sampling: SamplingOptions, rule: AcceptanceRule, ruleName: string) => {
    const sampler = new Sampler(sampling);
    const exact = exactSequenceProbabilities(prompt, length, vocabSize, (history) => {
      const logits = target.forward(Int32Array.from(history), target.createCache(history.length + 1)).data as Float32Array;
      return sampler.distribution(logits, history);
    });
    const counts = new Array<number>(exact.length).fill(0);
    for (let run = 1; run <= options.samples; run++) {
      const drafter = new ModelDrafter(new DenseModelSequence(draft, draft.createCache(16)));
      const seed = Math.imul(run, 2654435761) >>> 0;
      const result = await speculativeGenerate(target, prompt, { ...sampling, seed, drafter, draftTokens: 2, maxTokens: length, acceptance: rule, cache: target.createCache(16) });
      counts[sequenceIndex(result.tokenIds, vocabSize)]++;
    }
    const fit = chiSquareGoodnessOfFit(counts, exact);
    rows.push({ setting, rule: ruleName, samples: options.samples, statistic: fit.statistic, degreesOfFreedom: fit.degreesOfFreedom, pValue: fit.pValue });
    process.stderr.write(`  ${setting}, ${ruleName}: chi-square ${fit.statistic.toFixed(1)} over ${fit.degreesOfFreedom} degrees of freedom, p = ${fit.pValue.toExponential(2)}\n`);
    return fit.pValue;
  };
  for (const [setting, sampling] of settings) {
    const pValue = await test(setting, sampling, speculativeSampling, "speculative sampling");
    checks.push({ what: `sampling, ${setting}`, metric: `chi-square p-value`, value: pValue, limit: ALPHA, kind: "min" });
  }
  // The test must be able to see a wrong rule: with a rejected draft resampled from p instead of max(0, p − q).
  const wrong = await test(settings[0][0], settings[0][1], resampleFromTargetOnRejection, "WRONG rule (resample from p)");
  checks.push({ what: "sampling, a wrong rule", metric: "chi-square p-value", value: wrong, limit: ALPHA, kind: "max" });
  return rows;
}

/** 3. Dense and paged target caches: greedy identity, dense = paged under seeded sampling, pool invariants. */
async function rollbackPaths(kernel: Kernel, checks: ToleranceCheck[]): Promise<void> {
  const target = tinyLlama32(kernel, 31);
  const draft = tinyLlama32(kernel, 32, { layerCount: 1, intermediateSize: 96 });
  const prompt = [1, 40, 41, 42, 7, 40, 41, 9, 13];
  const maxTokens = 64;
  const expected = (await generate(target, prompt, { maxTokens })).tokenIds;
  const newDrafter = () => new ModelDrafter(new DenseModelSequence(draft, draft.createCache()));
  const cache = target.createPagedCache({ blockCount: 160, blockSize: 4, prefixCaching: true });
  let identical = 0, total = 0, samplingAgree = 0, samplingRuns = 0;
  const longer = (await generate(target, [...prompt, ...expected], { maxTokens: 16 })).tokenIds;
  const compare = (tokens: readonly number[], want: readonly number[]) => {
    total += want.length;
    if (tokens.length === want.length && want.every((token, index) => tokens[index] === token)) identical += want.length;
  };
  for (const draftTokens of [1, 3, 5, "auto"] as const) {
    compare((await speculativeGenerate(target, prompt, { drafter: newDrafter(), draftTokens, maxTokens })).tokenIds, expected);
    const first = new PagedModelSequence(target, cache);
    compare((await speculativeGenerateOn(first, target.config, prompt, { drafter: newDrafter(), draftTokens, maxTokens })).tokenIds, expected);
    // A fork shares every block, its last one partly filled: its verifies copy that block before writing (and roll
    // back inside the copy); the parent's blocks stay as they were, so the parent continues correctly afterwards.
    const child = new PagedModelSequence(target, cache, cache.fork(first.sequence));
    const history = [...prompt, ...expected];
    compare((await speculativeGenerateOn(child, target.config, history, { drafter: newDrafter(), draftTokens, maxTokens: 16 })).tokenIds, longer);
    compare((await speculativeGenerateOn(first, target.config, history, { drafter: new PromptLookupDrafter(), draftTokens, maxTokens: 16 })).tokenIds, longer);
    // A prefix-cache hit, rolled back into the shared full blocks before generating.
    const second = new PagedModelSequence(target, cache);
    const matched = cache.matchPrefix(second.sequence, history);
    cache.truncate(second.sequence, Math.min(5, Math.max(0, matched - 3)));
    compare((await speculativeGenerateOn(second, target.config, prompt, { drafter: newDrafter(), draftTokens, maxTokens })).tokenIds, expected);
    // Seeded sampling: the paged logits equal the dense ones, so the same seed gives the same tokens (with "auto",
    // given assumed costs: measured ones would let timing pick k).
    const assumedCosts = { draftPerToken: 0.5, verify: (tokens: number) => 1 + 0.1 * (tokens - 1) };
    for (const seed of [1, 2, 3]) {
      const sampling = { temperature: 0.9, topP: 0.95, seed, assumedCosts };
      const denseSampled = await speculativeGenerate(target, prompt, { ...sampling, drafter: newDrafter(), draftTokens, maxTokens });
      const sequence = new PagedModelSequence(target, cache);
      const pagedSampled = await speculativeGenerateOn(sequence, target.config, prompt, { ...sampling, drafter: newDrafter(), draftTokens, maxTokens });
      samplingRuns++;
      if (JSON.stringify(denseSampled.tokenIds) === JSON.stringify(pagedSampled.tokenIds)) samplingAgree++;
      cache.free(sequence.sequence);
    }
    for (const sequence of [first, child, second]) cache.free(sequence.sequence);
  }
  let invariantsHold = 1;
  try {
    cache.pool.checkInvariants();
  } catch (error) {
    invariantsHold = 0;
    process.stderr.write(`  ${(error as Error).message}\n`);
  }
  checks.push({ what: "dense + paged targets", metric: `greedy identity /${total}`, value: identical / total, limit: 1, kind: "min" });
  checks.push({ what: "paged = dense, sampling", metric: `same tokens /${samplingRuns} runs`, value: samplingAgree / samplingRuns, limit: 1, kind: "min" });
  checks.push({ what: "paged pool", metric: "invariants hold", value: invariantsHold, limit: 1, kind: "min" });
  checks.push({ what: "paged pool", metric: "blocks leaked", value: cache.pool.usedBlocks, limit: 0, kind: "max" });
}

/** results/accuracy.{md,json}: every gate, the identity and sampling rows, machine, date and command. */
function writeResults(options: Options, identity: IdentityRow[], sampling: SamplingRow[], checks: ToleranceCheck[], notes: string[]): void {
  const machine = machineInfo();
  const command = ["pnpm accuracy speculative-decoding", ...process.argv.slice(2).filter((argument, index, all) => argument !== "--results" && all[index - 1] !== "--results")].join(" ");
  const identical = identity.reduce((sum, row) => sum + row.identical, 0);
  const tokens = identity.reduce((sum, row) => sum + row.tokens, 0);
  const wrong = sampling.find((row) => row.rule.startsWith("WRONG"));
  const auto = identity.find((row) => row.target === "stories260K" && row.draft === "llama2xs" && row.draftTokens === "auto");
  const record: ResultsRecord<Record<string, unknown>> = {
    machine,
    command,
    headline: [
      ...(tokens > 0 ? [{ label: "greedy tokens identical to target-only (real pair, both ways)", value: identical / tokens, unit: "" }] : []),
      ...(auto ? [{ label: "stories260K ← llama2xs acceptance (auto)", value: auto.acceptanceRate, unit: "" }] : []),
      ...sampling.filter((row) => !row.rule.startsWith("WRONG")).map((row) => ({ label: `sampling chi-square p-value, ${row.setting}`, value: row.pValue, unit: "" })),
      ...(wrong ? [{ label: "the wrong rule's p-value (must be < 1e-3)", value: wrong.pValue, unit: "" }] : []),
    ],
    rows: [...identity.map((row) => ({ check: "greedy identity", ...row })), ...sampling.map((row) => ({ check: "sampling equivalence", ...row }))],
    checks,
  };
  const markdown = [
    "# speculative-decoding accuracy",
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}. Command: \`${command}\`.`,
    "",
    ...(identity.length > 0
      ? [
          markdownTable(identity, [
            { header: "target", value: (row) => row.target, align: "left" },
            { header: "draft", value: (row) => row.draft, align: "left" },
            { header: "k", value: (row) => String(row.draftTokens) },
            { header: "identical tokens", value: (row) => `${row.identical}/${row.tokens}` },
            { header: "acceptance", value: (row) => `${(row.acceptanceRate * 100).toFixed(1)}%` },
            { header: "accepted / step", value: (row) => row.meanAcceptedTokens.toFixed(2) },
            { header: "tokens / target forward", value: (row) => row.tokensPerTargetForward.toFixed(2) },
          ]),
          "",
        ]
      : []),
    markdownTable(sampling, [
      { header: "sampling setting", value: (row) => row.setting, align: "left" },
      { header: "rule", value: (row) => row.rule, align: "left" },
      { header: "runs", value: (row) => String(row.samples) },
      { header: "chi-square", value: (row) => row.statistic.toFixed(1) },
      { header: "degrees of freedom", value: (row) => String(row.degreesOfFreedom) },
      { header: "p-value", value: (row) => row.pValue.toExponential(2) },
    ]),
    "",
    "```",
    describeChecks(checks),
    ...notes.map((note) => `note  ${note}`),
    "```",
    "",
  ].join("\n");
  writeReportFiles(options.results, { "accuracy.md": markdown, "accuracy.json": reportJson(record) });
  process.stderr.write(`wrote ${path.join(options.results, "accuracy")}.{md,json}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const kernel = createKernel({ backend: options.backend, threads: options.threads });
  process.stderr.write(`accuracy of speculative decoding (${kernel.backend.name} backend, ${kernel.backend.threads} thread(s))\n`);
  const checks: ToleranceCheck[] = [];
  const notes: string[] = [];
  process.stderr.write("1. greedy identity on the real pair (stories260K, llama2xs)\n");
  const identity = await realPairIdentity(options, kernel, checks, notes);
  process.stderr.write(`2. sampling equivalence on a tiny Llama 3.2 (vocabulary 8, ${options.samples} seeded runs per setting)\n`);
  const sampling = await samplingEquivalence(options, kernel, checks);
  process.stderr.write("3. rollback paths: dense and paged target caches on tiny random Llama 3.2 models\n");
  await rollbackPaths(kernel, checks);
  const ok = checks.every(passes);
  writeResults(options, identity, sampling, checks, notes);
  if (options.json) {
    for (const row of identity) process.stdout.write(JSON.stringify({ check: "greedy identity", ...row }) + "\n");
    for (const row of sampling) process.stdout.write(JSON.stringify({ check: "sampling equivalence", ...row }) + "\n");
    for (const check of checks) process.stdout.write(JSON.stringify({ check: "gate", ...check, pass: passes(check) }) + "\n");
  } else {
    if (identity.length > 0) {
      process.stdout.write("\ntarget      draft           k     identical      acceptance  accepted/step  tokens/target forward\n");
      for (const row of identity) {
        process.stdout.write(
          `${row.target.padEnd(11)} ${row.draft.padEnd(15)} ${String(row.draftTokens).padEnd(5)} ${`${row.identical}/${row.tokens}`.padEnd(14)} ` +
            `${(row.acceptanceRate * 100).toFixed(1).padStart(9)}%  ${row.meanAcceptedTokens.toFixed(2).padStart(13)}  ${row.tokensPerTargetForward.toFixed(2).padStart(21)}\n`,
        );
      }
    }
    process.stdout.write(`\n${describeChecks(checks)}\n`);
    for (const note of notes) process.stdout.write(`note  ${note}\n`);
  }
  process.stderr.write(ok ? "accuracy: all checks within tolerance\n" : "accuracy: FAILED — a check left its tolerance\n");
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: Error) => {
  process.stderr.write(`accuracy: ${error.message}\n`);
  process.exit(1);
});
