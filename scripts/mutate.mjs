// `pnpm mutate [package ...]`: mutation testing of the TypeScript packages with StrykerJS and its vitest runner.
// Stryker changes the package's source one small edit at a time (a flipped comparison, a removed call, a constant) and
// reruns the tests that cover that spot; a mutant no test notices "survives". The mutation score is the share killed.
//
// With no package, every package in PACKAGES runs, one after the other. Per package it writes
// benchmarks/results/mutation/<package>/index.html (browse the survivors) and mutation.json (the mutation-testing-report
// schema), and the scores of every package run so far to benchmarks/results/mutation/README.md. Incremental mode keeps
// the previous results in benchmarks/.cache/mutation/, so a rerun tests only mutants whose code or tests changed.
//
// It is CPU-heavy: it runs at lowered priority (nice 10) with --concurrency (default 2) test processes. On a shared
// machine take the benchmark lock for a full run: `flock /work/locks/bench.lock pnpm mutate engine`.
// Options: --concurrency N, --force (ignore the incremental file), --files GLOB (mutate only these files, relative to
// the package, e.g. src/sampler.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The packages whose mutation score the project keeps (README, testing section). */
const PACKAGES = ["engine", "cache", "scheduler", "server", "hub", "tokenizer", "harness", "models"];
const resultsRoot = join(root, "benchmarks", "results", "mutation");
const cacheRoot = join(root, "benchmarks", ".cache", "mutation");

function option(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const valued = new Set(["--concurrency", "--files"]);
const positional = process.argv.slice(2).filter((argument, index, all) => !argument.startsWith("--") && !valued.has(all[index - 1]));
const unknown = positional.filter((name) => !existsSync(join(root, "packages", name, "package.json")));
if (unknown.length > 0) {
  console.error(`mutate: no package ${unknown.join(", ")} under packages/ (the kept set: ${PACKAGES.join(", ")})`);
  process.exit(1);
}
const packages = positional.length > 0 ? positional : PACKAGES;
const concurrency = Number(option("--concurrency") ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`mutate: --concurrency must be an integer ≥ 1, got ${option("--concurrency")}`);
  process.exit(1);
}

try {
  setPriority(10); // children (the test runners) inherit it
} catch {
  // not permitted here: run at normal priority
}

let Stryker;
try {
  ({ Stryker } = await import("@stryker-mutator/core"));
} catch (error) {
  console.error(`mutate: StrykerJS is not installed (${error.message}); run \`pnpm install\` at the repository root`);
  process.exit(1);
}

/** Runs Stryker on one package; returns its score summary. */
async function mutatePackage(name) {
  const packageRoot = join(root, "packages", name);
  const results = join(resultsRoot, name);
  mkdirSync(results, { recursive: true });
  mkdirSync(cacheRoot, { recursive: true });
  const files = option("--files");
  const options = {
    packageManager: "pnpm",
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    // related: false — the tests import the sources through src/index.ts, which vitest's related-file search misses.
    vitest: { configFile: "vitest.config.ts", related: false },
    mutate: files ? files.split(",") : ["src/**/*.ts", "!src/**/*.d.ts"],
    coverageAnalysis: "perTest",
    concurrency,
    incremental: true,
    force: process.argv.includes("--force"),
    incrementalFile: join(cacheRoot, `${name}.json`),
    ignoreStatic: true,
    timeoutFactor: 3,
    timeoutMS: 20_000,
    reporters: ["html", "json", "clear-text", "progress"],
    htmlReporter: { fileName: join(results, "index.html") },
    jsonReporter: { fileName: join(results, "mutation.json") },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    thresholds: { high: 90, low: 85, break: null },
    tempDirName: join(root, "node_modules", ".stryker-tmp", name),
    cleanTempDir: true,
  };
  const previousDirectory = process.cwd();
  process.chdir(packageRoot);
  const started = Date.now();
  try {
    const mutants = await new Stryker(options).runMutationTest();
    const count = (status) => mutants.filter((mutant) => mutant.status === status).length;
    const killed = count("Killed") + count("Timeout");
    const survived = count("Survived");
    const noCoverage = count("NoCoverage");
    const detected = killed;
    const valid = killed + survived + noCoverage;
    return {
      package: name,
      score: valid === 0 ? null : (100 * detected) / valid,
      killed,
      survived,
      noCoverage,
      errors: count("CompileError") + count("RuntimeError"),
      ignored: count("Ignored"),
      files: files ?? "all of src/",
      minutes: (Date.now() - started) / 60_000,
      date: new Date().toISOString(),
    };
  } finally {
    process.chdir(previousDirectory);
  }
}

const summaryFile = join(resultsRoot, "scores.json");
const scores = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, "utf8")) : {};
for (const name of packages) {
  console.log(`\nmutate: ${name}`);
  const summary = await mutatePackage(name);
  scores[name] = summary;
  writeFileSync(summaryFile, `${JSON.stringify(scores, null, 2)}\n`);
  console.log(`mutate: ${name}: score ${summary.score?.toFixed(1) ?? "–"} % (${summary.killed} killed, ${summary.survived} survived, ${summary.noCoverage} without coverage) in ${summary.minutes.toFixed(1)} min`);
}

const lines = [
  "# Mutation scores",
  "",
  "StrykerJS with the vitest runner (`pnpm mutate [package]`, scripts/mutate.mjs). Score = killed (or timed out) ÷ (killed + survived + not covered).",
  "Per package: `<package>/index.html` (survivors in their source) and `<package>/mutation.json`. Equivalent mutants: `EQUIVALENT.md`.",
  "",
  "| package | score | killed | survived | no coverage | run on |",
  "|---|---|---|---|---|---|",
  ...Object.values(scores)
    .sort((a, b) => a.package.localeCompare(b.package))
    .map((s) => `| ${s.package}${s.files === "all of src/" ? "" : ` (only ${s.files})`} | ${s.score === null ? "–" : `${s.score.toFixed(1)} %`} | ${s.killed} | ${s.survived} | ${s.noCoverage} | ${s.date.slice(0, 10)} |`),
  "",
];
writeFileSync(join(resultsRoot, "README.md"), lines.join("\n"));
console.log(`\nmutate: scores in ${relative(process.env.INIT_CWD ?? root, join(resultsRoot, "README.md"))}`);
