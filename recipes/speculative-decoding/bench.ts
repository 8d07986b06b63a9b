// Benchmark of speculative decoding against target-only decoding, in one run. Each section that holds large models
// runs in its own process (its memory is its own):
//
//   tiny     the real tiny pair — stories260K as target, llama2xs as draft (../shared/models): acceptance, mean
//            accepted tokens and decode tokens/s for k = 1..8, auto and prompt lookup, target-only beside them; and
//            the per-step overhead of a tiny model's forward pass (JS side vs native calls, 1 vs 2 threads)
//   verify   Llama 3.2 3B shape (random weights), Q8_0 and Q4_0: the cost of one forward over k+1 tokens relative
//            to one decode token, k = 1..8 — the number that makes speculation pay
//   speed    3B Q4_0 target: target-only; the 1B shape as draft (acceptance ≈ 0 on random weights: the worst case),
//            adaptive and at k = 4; a replay drafter proposing the target's own greedy continuation (acceptance 1,
//            no draft cost: the upper bound of the mechanics)
//   then     the projected speed-up over the acceptance rate from the measured costs, with measured points marked,
//            and the targets checked. Every speculative run's tokens are compared with target-only decoding.
//
//   pnpm bench speculative-decoding [--quick] [--runs N] [--threads N] [--decode-tokens N] [--results DIR] [--json]
//
// --quick: 1-layer shapes and few tokens, to check that the benchmark runs (the targets are not checked).
// Unless --no-peers, the side-by-side comparison with llama.cpp (node-llama-cpp's token predictors on the same GGUF
// files) runs last, from the repository's benchmarks package (`pnpm bench speculative-peers`); a copy of this recipe
// outside the repository skips it and says so.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { loadTextModel, type TextModel } from "@infer-recipes/cli";
import {
  DenseModelSequence,
  ModelDrafter,
  PromptLookupDrafter,
  ReplayDrafter,
  bestDraftLength,
  generate,
  projectedSpeedup,
  speculativeGenerate,
  type Drafter,
  type StepCosts,
} from "@infer-recipes/engine";
import {
  barChartSvg,
  createStepReporter,
  describeMachine,
  lineChartSvg,
  machineInfo,
  markdownTable,
  positiveIntegerOption,
  reportJson,
  summarize,
  writeReportFiles,
  type Column,
  type HeadlineFigure,
  type ResultsRecord,
} from "@infer-recipes/harness";
import { Kernel, createKernel, type Backend, type DType } from "@infer-recipes/kernel";
import { LlamaModel, llama32Config, randomLlamaWeights, type Llama32Size } from "@infer-recipes/models";

const recipeDirectory = path.dirname(fileURLToPath(import.meta.url));
const sharedModels = path.resolve(recipeDirectory, "../../../shared/models");
const STORIES_260K = path.join(sharedModels, "stories260K-llama2c/stories260K.bin");
const LLAMA2XS = path.join(sharedModels, "llama2xs-tok512/model.bin");
const TINY_PROMPTS = ["Once upon a time", "Tom and his dog went to the park.", "Lily wanted to"];
const DRAFT_LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8] as const;

interface Options {
  quick: boolean;
  runs: number;
  threads: number;
  decodeTokens: number;
  tinyTokens: number;
  results: string;
  json: boolean;
  section?: string;
  format?: DType;
  /** Run the llama.cpp side-by-side comparison (the repository's benchmarks package) too. */
  peers: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, runs: { type: "string" }, threads: { type: "string" }, "decode-tokens": { type: "string" },
      results: { type: "string" }, json: { type: "boolean" }, section: { type: "string" }, format: { type: "string" },
      "no-peers": { type: "boolean" },
    },
  });
  const quick = Boolean(values.quick);
  return {
    quick,
    runs: positiveIntegerOption("runs", values.runs, quick ? 1 : 5),
    threads: positiveIntegerOption("threads", values.threads, 2),
    decodeTokens: positiveIntegerOption("decode-tokens", values["decode-tokens"], quick ? 8 : 64),
    tinyTokens: quick ? 24 : 128,
    results: values.results ?? path.join(recipeDirectory, "results"),
    json: Boolean(values.json),
    section: values.section,
    format: values.format as DType | undefined,
    peers: !values["no-peers"],
  };
}

// ---- results of the sections -------------------------------------------------------------------------------------

interface SpeedRow {
  section: string;
  configuration: string;
  draft_tokens: number | "auto" | "-";
  acceptance_rate: number;
  /** Estimated chance a draft token is accepted after its predecessors were (accepted / (accepted + rejections)). */
  acceptance_probability: number;
  mean_accepted_tokens: number;
  tokens_per_target_forward: number;
  decode_tokens_per_s: number;
  decode_tokens_per_s_min: number;
  decode_tokens_per_s_max: number;
  speedup: number;
  /** Whether every run produced exactly the target-only tokens. */
  identical: boolean;
}

interface VerifyRow {
  format: DType;
  tokens: number;
  milliseconds: number;
  relative: number;
}

interface OverheadRow {
  measurement: string;
  value: number;
  unit: string;
}

interface SectionResult {
  speed?: SpeedRow[];
  verify?: VerifyRow[];
  overhead?: OverheadRow[];
  /** Milliseconds of one draft-model decode token (the 1B shape), for the projection. */
  draftMilliseconds?: number;
  model?: string;
}

// ---- measuring generation ------------------------------------------------------------------------------------------

interface Configuration {
  name: string;
  draftTokens: number | "auto" | "-";
  /** undefined: target-only decoding (generate()). */
  drafter?: () => Drafter;
}

/**
 * Runs every configuration on every prompt, `runs` times interleaved (after a warm-up round), and summarizes decode
 * tokens/s (all prompts' tokens over their decode time, per run) against the first configuration (target-only).
 */
async function measureConfigurations(section: string, target: LlamaModel, prompts: number[][], maxTokens: number, configurations: Configuration[], runs: number): Promise<SpeedRow[]> {
  const expected = await Promise.all(prompts.map(async (ids) => (await generate(target, ids, { maxTokens })).tokenIds));
  const speeds = configurations.map(() => [] as number[]);
  const identical = configurations.map(() => true);
  const statistics = configurations.map(() => ({ drafted: 0, accepted: 0, rejections: 0, draftingSteps: 0, verifySteps: 0, generated: 0 }));
  for (let round = 0; round <= runs; round++) {
    for (const [index, configuration] of configurations.entries()) {
      let tokens = 0, milliseconds = 0;
      const counts = statistics[index];
      if (round === runs) Object.assign(counts, { drafted: 0, accepted: 0, rejections: 0, draftingSteps: 0, verifySteps: 0, generated: 0 });
      for (const [promptIndex, ids] of prompts.entries()) {
        const speculative = configuration.drafter
          ? await speculativeGenerate(target, ids, { drafter: configuration.drafter(), draftTokens: configuration.draftTokens as number | "auto", maxTokens })
          : undefined;
        const result = speculative ?? (await generate(target, ids, { maxTokens }));
        if (JSON.stringify(result.tokenIds) !== JSON.stringify(expected[promptIndex])) identical[index] = false;
        tokens += result.tokenIds.length - 1;
        milliseconds += result.decodeMs;
        if (speculative && round === runs) {
          const s = speculative.speculation;
          counts.drafted += s.draftedTokens;
          counts.accepted += s.acceptedTokens;
          counts.rejections += s.rejections;
          counts.draftingSteps += s.draftingSteps;
          counts.verifySteps += s.verifySteps;
          counts.generated += result.tokenIds.length - 1;
        }
      }
      if (round > 0) speeds[index].push((tokens / milliseconds) * 1000); // round 0 is the warm-up
    }
  }
  const baseline = summarize(speeds[0]).median;
  return configurations.map((configuration, index) => {
    const speed = summarize(speeds[index]);
    const counts = statistics[index];
    return {
      section,
      configuration: configuration.name,
      draft_tokens: configuration.draftTokens,
      acceptance_rate: counts.drafted > 0 ? counts.accepted / counts.drafted : 0,
      acceptance_probability: counts.accepted + counts.rejections > 0 ? counts.accepted / (counts.accepted + counts.rejections) : 0,
      mean_accepted_tokens: counts.draftingSteps > 0 ? counts.accepted / counts.draftingSteps : 0,
      tokens_per_target_forward: counts.verifySteps > 0 ? counts.generated / counts.verifySteps : 1,
      decode_tokens_per_s: speed.median,
      decode_tokens_per_s_min: speed.min,
      decode_tokens_per_s_max: speed.max,
      speedup: speed.median / baseline,
      identical: identical[index],
    };
  });
}

// ---- section: the real tiny pair --------------------------------------------------------------------------------

/** A kernel backend that counts and times every call (for the per-step overhead). */
function instrumented(backend: Backend): { backend: Backend; calls: () => number; milliseconds: () => number; reset: () => void } {
  let calls = 0, milliseconds = 0;
  const proxy = new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        try {
          return value.apply(target, args);
        } finally {
          milliseconds += performance.now() - start;
          calls++;
        }
      };
    },
  });
  return { backend: proxy, calls: () => calls, milliseconds: () => milliseconds, reset: () => ((calls = 0), (milliseconds = 0)) };
}

function medianMicroseconds(work: () => void, repetitions: number): number {
  const times: number[] = [];
  for (let index = 0; index < repetitions; index++) {
    const start = performance.now();
    work();
    times.push((performance.now() - start) * 1000);
  }
  return summarize(times).median;
}

/** Where the time of one draft step (one stories260K token) goes. */
async function tinyOverhead(target: TextModel, options: Options): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  const model = target.model;
  const repetitions = options.quick ? 200 : 3000;
  const cache = model.createCache(512);
  const prompt = Int32Array.from(target.tokenizer.encode(TINY_PROMPTS[0]));
  model.forward(prompt, cache);
  const step = () => {
    model.forward(Int32Array.of(300), cache);
    cache.truncate(prompt.length);
  };
  for (const threads of [1, 2]) {
    model.kernel.setThreads(threads);
    medianMicroseconds(step, repetitions / 10);
    rows.push({ measurement: `forward of 1 token, ${threads} thread${threads > 1 ? "s" : ""}`, value: medianMicroseconds(step, repetitions), unit: "µs" });
  }
  // The same forward through a kernel whose backend times each call (1 thread: no pool wake-ups in the figure):
  // mean time inside the backend (native work and the N-API crossing) vs the mean of the whole forward.
  model.kernel.setThreads(1);
  const probe = instrumented(model.kernel.backend);
  const probed = new LlamaModel(model.config, model.weights, model.frequencies, new Kernel(probe.backend));
  const probeCache = probed.createCache(512);
  probed.forward(prompt, probeCache);
  const probedStep = () => {
    probed.forward(Int32Array.of(300), probeCache);
    probeCache.truncate(prompt.length);
  };
  for (let index = 0; index < repetitions / 10; index++) probedStep();
  probe.reset();
  const started = performance.now();
  for (let index = 0; index < repetitions; index++) probedStep();
  const total = ((performance.now() - started) * 1000) / repetitions;
  const native = (probe.milliseconds() * 1000) / repetitions;
  model.kernel.setThreads(options.threads);
  rows.push({ measurement: "kernel calls per forward", value: probe.calls() / repetitions, unit: "calls" });
  rows.push({ measurement: "mean forward, 1 thread, each kernel call timed", value: total, unit: "µs" });
  rows.push({ measurement: "of which inside kernel backend calls (native work and the N-API crossing)", value: native, unit: "µs" });
  rows.push({ measurement: "of which JS around them (argument checks, tensor views, scratch, logits buffer, timers)", value: Math.max(0, total - native), unit: "µs" });
  const emptyCall = medianMicroseconds(() => {
    for (let index = 0; index < 1000; index++) void model.kernel.backend.threads;
  }, 200);
  rows.push({ measurement: "one N-API call that does nothing (threads())", value: emptyCall / 1000, unit: "µs" });
  // The speculative loop's own work per step (acceptance, output, yield to the event loop), outside draft and verify.
  const drafter = new ModelDrafter(new DenseModelSequence(model, model.createCache()));
  const ids = target.tokenizer.encode(TINY_PROMPTS[0]);
  await speculativeGenerate(model, ids, { drafter, draftTokens: 4, maxTokens: options.tinyTokens });
  const result = await speculativeGenerate(model, ids, { drafter, draftTokens: 4, maxTokens: options.tinyTokens });
  const s = result.speculation;
  rows.push({ measurement: "speculative loop per step outside draft and verify (k = 4, draft = target)", value: ((result.decodeMs - s.draftMs - s.verifyMs) * 1000) / s.verifySteps, unit: "µs" });
  rows.push({ measurement: "draft per token (k = 4, incl. sampling)", value: (s.draftMs * 1000) / Math.max(1, s.draftedTokens), unit: "µs" });
  rows.push({ measurement: "verify of 5 tokens", value: (s.verifyMs * 1000) / s.verifySteps, unit: "µs" });
  return rows;
}

async function sectionTiny(options: Options): Promise<SectionResult> {
  const missing = [STORIES_260K, LLAMA2XS].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    process.stderr.write(`  skipped: missing ${missing.join(", ")} (../shared/models)\n`);
    return {};
  }
  const kernel = createKernel({ threads: options.threads });
  const target = await loadTextModel(STORIES_260K, { kernel, progress: false });
  const draft = await loadTextModel(LLAMA2XS, { kernel, progress: false });
  const prompts = TINY_PROMPTS.slice(0, options.quick ? 1 : undefined).map((text) => target.tokenizer.encode(text));
  const draftModel = () => new ModelDrafter(new DenseModelSequence(draft.model, draft.model.createCache()));
  const configurations: Configuration[] = [
    { name: "target-only (stories260K)", draftTokens: "-" },
    ...(options.quick ? [1, 4] : DRAFT_LENGTHS).map((k) => ({ name: `llama2xs draft, k = ${k}`, draftTokens: k, drafter: draftModel })),
    { name: "llama2xs draft, auto", draftTokens: "auto", drafter: draftModel },
    { name: "prompt lookup, auto", draftTokens: "auto", drafter: () => new PromptLookupDrafter() },
  ];
  const speed = await measureConfigurations("tiny", target.model, prompts, options.tinyTokens, configurations, options.runs);
  const overhead = await tinyOverhead(target, options);
  return { speed, overhead };
}

// ---- sections on the Llama 3.2 shapes -----------------------------------------------------------------------------

/** --quick keeps 1 layer and a 4096-token vocabulary: enough to run every step, small enough for a test. */
function shapeModel(size: Llama32Size, dtype: DType, kernel: Kernel, options: Options): LlamaModel {
  const config = llama32Config(size, { layers: options.quick ? 1 : undefined, contextLength: 4096 });
  if (options.quick) config.vocabSize = 4096;
  return LlamaModel.fromLoadedWeights(randomLlamaWeights(config, dtype, { packFor: kernel }), kernel);
}

function shapeLabel(size: Llama32Size, dtype: DType, options: Options): string {
  return `Llama 3.2 ${size.toUpperCase()} shape${options.quick ? " (1 layer, vocabulary 4096)" : ""}, ${dtype.toUpperCase()}, random weights`;
}

/** The cost of a forward over m = 1..9 tokens after a 64-token context, interleaved over rounds; medians. */
function sectionVerify(options: Options): SectionResult {
  const dtype = options.format ?? "q4_0";
  const kernel = createKernel({ threads: options.threads });
  const model = shapeModel("3b", dtype, kernel, options);
  const cache = model.createCache(256);
  const context = 64;
  model.forward(Int32Array.from({ length: context }, (_, index) => (index * 7919 + 13) % model.config.vocabSize), cache);
  const sizes = DRAFT_LENGTHS.length + 1;
  const times: number[][] = Array.from({ length: sizes }, () => []);
  const rounds = options.quick ? 2 : Math.max(7, options.runs * 2);
  for (let round = 0; round <= rounds; round++) {
    for (let tokens = 1; tokens <= sizes; tokens++) {
      const input = Int32Array.from({ length: tokens }, (_, index) => (index * 31 + round) % model.config.vocabSize);
      const start = performance.now();
      model.forward(input, cache, { allLogits: tokens > 1 });
      const elapsed = performance.now() - start;
      cache.truncate(context);
      if (round > 0) times[tokens - 1].push(elapsed);
    }
  }
  const one = summarize(times[0]).median;
  return {
    model: shapeLabel("3b", dtype, options),
    verify: times.map((values, index) => ({ format: dtype, tokens: index + 1, milliseconds: summarize(values).median, relative: summarize(values).median / one })),
  };
}

/** Target-only vs the 1B shape as draft (worst case) vs replay (upper bound), 3B Q4_0. */
async function sectionSpeed(options: Options): Promise<SectionResult> {
  const kernel = createKernel({ threads: options.threads });
  const target = shapeModel("3b", "q4_0", kernel, options);
  const draft = shapeModel("1b", "q4_0", kernel, options);
  const prompt = Array.from({ length: 32 }, (_, index) => (index * 7919 + 13) % target.config.vocabSize);
  const maxTokens = options.decodeTokens;
  const recorded = [...prompt, ...(await generate(target, prompt, { maxTokens })).tokenIds];
  const draftModel = () => new ModelDrafter(new DenseModelSequence(draft, draft.createCache(1024)));
  const configurations: Configuration[] = [
    { name: "target-only (3B Q4_0)", draftTokens: "-" },
    { name: "1B Q4_0 draft, auto (worst case: acceptance ≈ 0)", draftTokens: "auto", drafter: draftModel },
    { name: "1B Q4_0 draft, k = 4 (no adaptation)", draftTokens: 4, drafter: draftModel },
    { name: "replay, k = 4 (upper bound: acceptance 1)", draftTokens: 4, drafter: () => new ReplayDrafter(recorded) },
    { name: "replay, auto", draftTokens: "auto", drafter: () => new ReplayDrafter(recorded) },
  ];
  const speed = await measureConfigurations("speed", target, [prompt], maxTokens, configurations, options.runs);
  // The draft's cost per token (for the projection): 1B decode, median over runs.
  const draftRuns: number[] = [];
  for (let run = 0; run <= options.runs; run++) {
    const result = await generate(draft, prompt, { maxTokens: Math.min(16, maxTokens) });
    if (run > 0) draftRuns.push(result.decodeMs / (result.tokenIds.length - 1));
  }
  return { speed, draftMilliseconds: summarize(draftRuns).median, model: `${shapeLabel("3b", "q4_0", options)}; draft ${shapeLabel("1b", "q4_0", options)}` };
}

// ---- the parent: run the sections, project, report ---------------------------------------------------------------

function runSection(options: Options, forwarded: string[], section: string, extra: string[] = []): SectionResult {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...forwarded, "--section", section, ...extra], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`section ${section} ${extra.join(" ")} failed (exit ${child.status})`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as SectionResult;
}

const number = (digits: number) => (value: number) => (Number.isFinite(value) ? value.toFixed(digits) : "—");

const speedColumns: Column<SpeedRow>[] = [
  { header: "configuration", value: (row) => row.configuration, align: "left" },
  { header: "acceptance", value: (row) => (row.draft_tokens === "-" ? "—" : `${(row.acceptance_rate * 100).toFixed(1)}%`) },
  { header: "accepted / step", value: (row) => (row.draft_tokens === "-" ? "—" : number(2)(row.mean_accepted_tokens)) },
  { header: "tokens / target forward", value: (row) => number(2)(row.tokens_per_target_forward) },
  { header: "decode tok/s (min–max)", value: (row) => `${number(1)(row.decode_tokens_per_s)} (${number(1)(row.decode_tokens_per_s_min)}–${number(1)(row.decode_tokens_per_s_max)})` },
  { header: "× target-only", value: (row) => `${row.speedup.toFixed(2)}×` },
  { header: "output = target-only", value: (row) => (row.identical ? "yes" : "NO") },
];

interface Check {
  what: string;
  value: number;
  limit: number;
  kind: "min" | "max";
}

const peersScript = path.resolve(recipeDirectory, "../../benchmarks/src/speculative-peers.ts");

/** The llama.cpp comparison's markdown (it writes speculative-peers.{md,json} beside this benchmark's results). */
function runPeers(options: Options): string {
  if (!existsSync(peersScript)) return `Skipped: the comparison runs from the repository's benchmarks package (${peersScript} is absent).`;
  const args = [peersScript, "--threads", String(options.threads), "--results", options.results, ...(options.quick ? ["--quick"] : [])];
  const child = spawnSync(path.resolve(recipeDirectory, "node_modules/.bin/tsx"), args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) return `The comparison failed (exit ${child.status}); see its messages above.`;
  return child.stdout.trim();
}

function report(options: Options, command: string, tiny: SectionResult, verify: SectionResult[], speed: SectionResult, peers: string | undefined) {
  const machine = machineInfo();
  const lines: string[] = [];
  const files: Record<string, string> = {};
  const name = options.quick ? "bench-quick" : "bench";
  lines.push(`Machine: ${describeMachine(machine)}. Threads: ${options.threads}. Date: ${machine.date}.`);
  lines.push(`Command: \`${command}\`. Medians of ${options.runs} runs after a warm-up, configurations interleaved; greedy decoding.`, "");

  if (tiny.speed) {
    lines.push(`### Real tiny pair: stories260K (target) + llama2xs (draft), ${options.quick ? 1 : TINY_PROMPTS.length} prompt(s) × ${options.tinyTokens} tokens`, "");
    lines.push(markdownTable(tiny.speed, speedColumns), "");
    files[`${name}-tiny.svg`] = barChartSvg({
      title: "stories260K + llama2xs: decode tokens/s",
      unit: "tok/s",
      labels: tiny.speed.map((row) => row.configuration),
      series: [{ name: "decode", color: "#1f5fa8", values: tiny.speed.map((row) => row.decode_tokens_per_s) }],
    });
    lines.push(`![tiny pair](${name}-tiny.svg)`, "");
  } else lines.push("### Real tiny pair: skipped (../shared/models absent)", "");
  if (tiny.overhead) {
    lines.push("### Per-step overhead: one stories260K token (a draft step of a small model)", "");
    lines.push(markdownTable(tiny.overhead, [
      { header: "measurement", value: (row) => row.measurement, align: "left" },
      { header: "value", value: (row) => `${row.value.toFixed(row.unit === "calls" ? 0 : 2)} ${row.unit}` },
    ]), "");
  }

  const verifyRows = verify.flatMap((section) => section.verify ?? []);
  const formats = [...new Set(verifyRows.map((row) => row.format))];
  lines.push(`### Verify cost: one forward over k+1 tokens vs one decode token (${verify[0]?.model?.replace(/, Q\d_0/, "")}, 64-token context)`, "");
  const byTokens = Array.from({ length: DRAFT_LENGTHS.length + 1 }, (_, index) => index + 1);
  lines.push(markdownTable(byTokens, [
    { header: "k (drafts)", value: (tokens) => String(tokens - 1) },
    { header: "tokens verified", value: (tokens) => String(tokens) },
    ...formats.flatMap((format): Column<number>[] => {
      const row = (tokens: number) => verifyRows.find((entry) => entry.format === format && entry.tokens === tokens)!;
      return [
        { header: `${format.toUpperCase()} ms`, value: (tokens) => row(tokens).milliseconds.toFixed(1) },
        { header: `${format.toUpperCase()} × 1 token`, value: (tokens) => `${row(tokens).relative.toFixed(2)}×` },
      ];
    }),
  ]), "");
  files[`${name}-verify.svg`] = barChartSvg({
    title: "Verify cost relative to one decode token (3B shape)",
    unit: "×",
    labels: byTokens.map((tokens) => `${tokens} token${tokens > 1 ? "s" : ""} (k = ${tokens - 1})`),
    series: formats.map((format, index) => ({ name: format.toUpperCase(), color: ["#7aa6d8", "#1f5fa8"][index % 2], values: byTokens.map((tokens) => verifyRows.find((entry) => entry.format === format && entry.tokens === tokens)!.relative) })),
    reference: { value: 1.4, label: "target for 5 tokens at Q4_0: ≤ 1.4×" },
  });
  lines.push(`![verify cost](${name}-verify.svg)`, "");

  lines.push(`### Measured tokens/s: ${speed.model}, prompt 32 tokens, ${options.decodeTokens} decoded`, "");
  lines.push(markdownTable(speed.speed!, speedColumns), "");

  // Projection from the measured Q4_0 costs: verify(m) and the 1B draft's cost per token.
  const q4 = verifyRows.filter((row) => row.format === "q4_0");
  const verifyMs = (tokens: number) => q4[Math.min(tokens, q4.length) - 1].milliseconds;
  const draftCosts: StepCosts = { draftPerToken: speed.draftMilliseconds!, verify: verifyMs };
  const lookupCosts: StepCosts = { draftPerToken: 0, verify: verifyMs };
  const grid = Array.from({ length: 21 }, (_, index) => index / 20);
  const curve = (costs: StepCosts) => grid.map((alpha) => ({ x: alpha, y: bestDraftLength(Math.min(alpha, 0.999999), costs, 8).speedup }));
  const row = (rows: SpeedRow[] | undefined, name: string) => rows?.find((entry) => entry.configuration === name);
  const tinyDraft = row(tiny.speed, "llama2xs draft, k = 4");
  const tinyLookup = row(tiny.speed, "prompt lookup, auto");
  const worst = row(speed.speed, "1B Q4_0 draft, auto (worst case: acceptance ≈ 0)")!;
  const replay = row(speed.speed, "replay, k = 4 (upper bound: acceptance 1)")!;
  const marks = [
    ...(tinyDraft ? [{ label: `stories260K ← llama2xs: α = ${tinyDraft.acceptance_probability.toFixed(2)} (projected)`, x: tinyDraft.acceptance_probability, y: bestDraftLength(tinyDraft.acceptance_probability, draftCosts, 8).speedup, color: "#d97a00" }] : []),
    ...(tinyLookup ? [{ label: `prompt lookup on stories260K: α = ${tinyLookup.acceptance_probability.toFixed(2)} (projected)`, x: tinyLookup.acceptance_probability, y: bestDraftLength(tinyLookup.acceptance_probability, lookupCosts, 8).speedup, color: "#2a9d3a" }] : []),
    { label: `replay k = 4: measured ${replay.speedup.toFixed(2)}×`, x: 1, y: replay.speedup, color: "#c0392b" },
    { label: `1B draft, auto: measured ${worst.speedup.toFixed(2)}×`, x: worst.acceptance_probability, y: worst.speedup, color: "#555" },
  ];
  files[`${name}-projection.svg`] = lineChartSvg({
    title: "Projected speed-up over the acceptance rate (3B Q4_0 target, measured costs)",
    xLabel: "α: chance a draft token is accepted",
    yLabel: "× target-only tokens/s",
    series: [
      { name: "1B draft, best k (projected)", color: "#1f5fa8", points: curve(draftCosts), dashed: true },
      { name: "prompt lookup, best k (projected)", color: "#2a9d3a", points: curve(lookupCosts), dashed: true },
    ],
    marks,
    reference: { value: 1, label: "target-only" },
  });
  lines.push("### Projected speed-up over the acceptance rate (projected, from the measured costs above)", "");
  lines.push(
    `E(α, k) = (1 − α^(k+1)) / (1 − α) tokens per step, at k × ${speed.draftMilliseconds!.toFixed(1)} ms (1B Q4_0 draft token) + verify(k + 1) ms; ` +
      "best k in 1..8 (below 1× the adaptive policy decodes without drafting).",
    "",
  );
  const projected = [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  lines.push(markdownTable(projected, [
    { header: "α", value: (alpha) => alpha.toFixed(1) },
    { header: "1B draft: best k", value: (alpha) => String(bestDraftLength(Math.min(alpha, 0.999999), draftCosts, 8).draftTokens || "— (0)") },
    { header: "1B draft: projected ×", value: (alpha) => `${bestDraftLength(Math.min(alpha, 0.999999), draftCosts, 8).speedup.toFixed(2)}×` },
    { header: "1B draft at k = 4: projected ×", value: (alpha) => `${projectedSpeedup(Math.min(alpha, 0.999999), 4, draftCosts).toFixed(2)}×` },
    { header: "prompt lookup: best k", value: (alpha) => String(bestDraftLength(Math.min(alpha, 0.999999), lookupCosts, 8).draftTokens || "— (0)") },
    { header: "prompt lookup: projected ×", value: (alpha) => `${bestDraftLength(Math.min(alpha, 0.999999), lookupCosts, 8).speedup.toFixed(2)}×` },
  ]), "");
  lines.push(`Marked on the chart: ${marks.map((mark) => mark.label).join("; ")}.`, "");
  lines.push(`![projected speed-up](${name}-projection.svg)`, "");

  if (peers !== undefined) {
    lines.push("### Side by side with llama.cpp (node-llama-cpp's draft-model and input-lookup token predictors, same GGUF files and threads)", "", peers, "");
  }

  // Targets.
  const q4Five = q4.find((entry) => entry.tokens === 5)!;
  const identical = [...(tiny.speed ?? []), ...speed.speed!].every((entry) => entry.identical);
  const checks: Check[] = [
    { what: "greedy identity: every speculative run = target-only", value: identical ? 1 : 0, limit: 1, kind: "min" },
    ...(options.quick ? [] : [
      { what: "verify of 5 tokens / 1 token, 3B Q4_0", value: q4Five.relative, limit: 1.4, kind: "max" as const },
      { what: "replay (acceptance 1), k = 4, × target-only", value: replay.speedup, limit: 2.5, kind: "min" as const },
      { what: "1B draft on random weights (worst case), auto, × target-only", value: worst.speedup, limit: 0.9, kind: "min" as const },
    ]),
  ];
  const passes = (check: Check) => (check.kind === "max" ? check.value <= check.limit : check.value >= check.limit);
  lines.push("### Targets", "");
  lines.push(markdownTable(checks, [
    { header: "target", value: (check) => check.what, align: "left" },
    { header: "measured", value: (check) => check.value.toFixed(2) },
    { header: "limit", value: (check) => `${check.kind === "max" ? "≤" : "≥"} ${check.limit}` },
    { header: "", value: (check) => (passes(check) ? "PASS" : "FAIL") },
  ]), "");
  const markdown = lines.join("\n");
  files[`${name}.md`] = `# speculative-decoding benchmark\n\n${markdown}\n`;
  const headline: HeadlineFigure[] = [
    { label: "verify of 5 tokens vs 1 decode token, 3B Q4_0", value: q4Five.relative, unit: "×" },
    { label: "replay (acceptance 1), k = 4, vs target-only, 3B Q4_0", value: replay.speedup, unit: "×" },
    { label: "1B draft on random weights (worst case), auto, vs target-only", value: worst.speedup, unit: "×" },
    ...(tinyDraft ? [{ label: "stories260K ← llama2xs acceptance at k = 4", value: tinyDraft.acceptance_rate, unit: "" }] : []),
  ];
  const record: ResultsRecord<SpeedRow> & Record<string, unknown> = {
    machine,
    command,
    headline,
    rows: [...(tiny.speed ?? []), ...speed.speed!],
    threads: options.threads,
    tiny: tiny.speed ?? null,
    overhead: tiny.overhead ?? null,
    verify: verifyRows,
    verify_model: verify[0]?.model,
    speed: speed.speed,
    speed_model: speed.model,
    draft_milliseconds_per_token: speed.draftMilliseconds,
    projection: grid.map((alpha) => ({ acceptance: alpha, draft_model: bestDraftLength(Math.min(alpha, 0.999999), draftCosts, 8), prompt_lookup: bestDraftLength(Math.min(alpha, 0.999999), lookupCosts, 8) })),
    marks,
    checks: checks.map((check) => ({ ...check, metric: "", pass: passes(check) })),
  };
  files[`${name}.json`] = reportJson(record);
  return { markdown, files, ok: checks.every(passes), name };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.section) {
    const run = { tiny: sectionTiny, verify: sectionVerify, speed: sectionSpeed }[options.section];
    if (!run) throw new Error(`unknown section ${options.section}`);
    process.stdout.write(JSON.stringify(await run(options)) + "\n");
    return;
  }
  const forwarded = process.argv.slice(2);
  const progress = createStepReporter(options.peers ? 5 : 4);
  progress("real tiny pair: stories260K + llama2xs");
  const tiny = runSection(options, forwarded, "tiny");
  const verify: SectionResult[] = [];
  for (const format of options.quick ? (["q4_0"] as const) : (["q8_0", "q4_0"] as const)) {
    progress(`verify cost, 3B shape, ${format}`);
    verify.push(runSection(options, forwarded, "verify", ["--format", format]));
  }
  progress("tokens/s, 3B Q4_0: target-only, 1B draft, replay");
  const speed = runSection(options, forwarded, "speed");
  let peers: string | undefined;
  if (options.peers) {
    progress("side by side with llama.cpp (node-llama-cpp)");
    peers = runPeers(options);
  }
  const command = `pnpm bench speculative-decoding ${forwarded.join(" ")}`.trim();
  const { markdown, files, ok, name } = report(options, command, tiny, verify, speed, peers);
  if (options.json) process.stdout.write(files[`${name}.json`]);
  else process.stdout.write(markdown + "\n");
  writeReportFiles(options.results, files);
  process.stderr.write(`wrote ${Object.keys(files).map((file) => path.join(options.results, file)).join(", ")}\n`);
  if (!ok) {
    process.stderr.write("bench: a target was missed (see Targets)\n");
    process.exitCode = 1;
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
