// `pnpm mutate [package ...]`: mutation testing of the TypeScript packages with StrykerJS and its vitest runner.
// Stryker changes the package's source one small edit at a time (a flipped comparison, a removed call, a constant) and
// reruns the tests that cover that spot; a mutant no test notices "survives". The mutation score is the share killed.
//
// With no package, every package in PACKAGES runs, one after the other. Per package it writes
// benchmarks/results/mutation/<package>/index.html (browse the survivors) and mutation.json (the mutation-testing-report
// schema), and the scores of every package run so far to benchmarks/results/mutation/README.md. Incremental mode keeps
// the previous results in benchmarks/.cache/mutation/, so a rerun tests only mutants whose code or tests changed.
//
// A big package can be run in parts (--files). scores.json keeps each source file's latest result (with a hash of the
// source it was measured on), and a package's score is over all its files measured so far; the README table says how
// many of the package's files that is, and which changed since their run ("stale").
//
// It is CPU-heavy: it runs at lowered priority (nice 10) with --concurrency (default 2) test processes. On a shared
// machine take the benchmark lock for a full run: `flock /work/locks/bench.lock pnpm mutate engine`.
// Options: --concurrency N, --force (ignore the incremental file), --files GLOB (mutate only these files, relative to
// the package, e.g. src/sampler.ts).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The packages whose mutation score the project keeps (README, testing section). */
const PACKAGES = ["engine", "cache", "scheduler", "server", "hub", "tokenizer", "harness", "models", "image"];
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

// Tests that need the real tiny models find them through this variable inside Stryker's sandbox copy of a package.
const sharedModels = join(root, "..", "shared", "models");
if (process.env.INFER_SHARED_MODELS === undefined && existsSync(sharedModels)) process.env.INFER_SHARED_MODELS = sharedModels;

try {
  setPriority(Math.max(getPriority(), 10)); // children (the test runners) inherit it; a higher nice given is kept
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
    await new Stryker(options).runMutationTest();
    const report = JSON.parse(readFileSync(join(results, "mutation.json"), "utf8"));
    const date = new Date().toISOString();
    // --files "src/a.ts:10-80" mutates only those lines: that file's result is then partial.
    const ranges = new Map((files ?? "").split(",").filter((pattern) => /:\d+-\d+$/.test(pattern)).map((pattern) => pattern.split(":")));
    // With --files the report also carries the incremental file's other files, with their old results under today's
    // source: only the files this run mutated are its results.
    const mutated = files === undefined ? () => true : inPatterns(files.split(",").map((pattern) => pattern.replace(/:\d+-\d+$/, "")));
    const measured = Object.fromEntries(
      Object.entries(report.files).filter(([file]) => mutated(file)).map(([file, { source, mutants }]) => [
        file,
        { ...countStatuses(mutants), sourceHash: hashOf(source), date, ...(ranges.has(file) ? { onlyLines: ranges.get(file) } : {}) },
      ]),
    );
    // Stryker's report leaves out the files it found no mutant in (types, re-exports): those of the package (or of
    // --files) are measured too, with zero mutants.
    for (const file of sourceFiles(name)) {
      if (measured[file] !== undefined || !mutated(file)) continue;
      const source = readFileSync(join(packageRoot, file), "utf8");
      measured[file] = { ...countStatuses([]), sourceHash: hashOf(source), date };
    }
    return { files: files ?? "all of src/", minutes: (Date.now() - started) / 60_000, date, measured };
  } finally {
    process.chdir(previousDirectory);
  }
}

/** A test of file names against --files patterns (globs with * and **, "!" to exclude), as Stryker's `mutate` reads them. */
function inPatterns(patterns) {
  const toRegExp = (glob) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*\*\//g, "\u0000")
        .replace(/\*\*/g, "\u0001")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")
        .replace(/\u0000/g, "(?:.*/)?")
        .replace(/\u0001/g, ".*")}$`,
    );
  const included = patterns.filter((pattern) => !pattern.startsWith("!")).map(toRegExp);
  const excluded = patterns.filter((pattern) => pattern.startsWith("!")).map((pattern) => toRegExp(pattern.slice(1)));
  return (file) => included.some((pattern) => pattern.test(file)) && !excluded.some((pattern) => pattern.test(file));
}

/** Killed (timed out counts as killed), survived, not covered, errors and ignored mutants of a list. */
function countStatuses(mutants) {
  const count = (...statuses) => mutants.filter((mutant) => statuses.includes(mutant.status)).length;
  return {
    killed: count("Killed", "Timeout"),
    survived: count("Survived"),
    noCoverage: count("NoCoverage"),
    errors: count("CompileError", "RuntimeError"),
    ignored: count("Ignored"),
  };
}

function hashOf(text) {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The package's source files as Stryker names them (src/…, no .d.ts). */
function sourceFiles(name) {
  const packageRoot = join(root, "packages", name);
  return readdirSync(join(packageRoot, "src"), { recursive: true })
    .map((file) => `src/${String(file).replaceAll("\\", "/")}`)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .sort();
}

/** A package's summary over the latest result of every file measured so far. */
function summarize(name, entry) {
  const current = new Set(sourceFiles(name));
  const totals = { killed: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 };
  const stale = [];
  for (const [file, result] of Object.entries(entry.byFile)) {
    if (!current.has(file)) continue; // deleted or renamed since
    for (const key of Object.keys(totals)) totals[key] += result[key];
    const source = readFileSync(join(root, "packages", name, file), "utf8");
    if (hashOf(source) !== result.sourceHash) stale.push(file);
  }
  const valid = totals.killed + totals.survived + totals.noCoverage;
  const notRun = [...current].filter((file) => entry.byFile[file] === undefined);
  const partial = [...current].filter((file) => entry.byFile[file]?.onlyLines !== undefined).map((file) => `${file}:${entry.byFile[file].onlyLines}`);
  return {
    ...totals,
    score: valid === 0 ? null : (100 * totals.killed) / valid,
    filesMeasured: current.size - notRun.length,
    filesTotal: current.size,
    notRun,
    partial,
    stale,
  };
}

const summaryFile = join(resultsRoot, "scores.json");
const readScores = () => (existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, "utf8")) : {});
let scores = readScores();
for (const name of packages) {
  console.log(`\nmutate: ${name}`);
  const run = await mutatePackage(name);
  // Read again after the run (it can take hours): the file may have gained other packages' results meanwhile (a
  // rebase, another checkout's run), and only this package's entry is this run's to write.
  scores = readScores();
  // Entries written before per-file results were kept hold totals only: they are replaced, not merged.
  const byFile = { ...(scores[name]?.byFile ?? {}), ...run.measured };
  const summary = summarize(name, { byFile });
  scores[name] = { package: name, ...summary, lastRun: { files: run.files, minutes: run.minutes, date: run.date }, byFile };
  writeFileSync(summaryFile, `${JSON.stringify(scores, null, 2)}\n`);
  console.log(
    `mutate: ${name}: score ${summary.score?.toFixed(1) ?? "–"} % over ${summary.filesMeasured} of ${summary.filesTotal} files ` +
      `(${summary.killed} killed, ${summary.survived} survived, ${summary.noCoverage} without coverage); this run ${run.minutes.toFixed(1)} min`,
  );
  if (summary.notRun.length > 0) console.log(`mutate: ${name}: not run yet: ${summary.notRun.join(", ")}`);
  if (summary.partial.length > 0) console.log(`mutate: ${name}: measured on some lines only: ${summary.partial.join(", ")}`);
  if (summary.stale.length > 0) console.log(`mutate: ${name}: changed since their run: ${summary.stale.join(", ")}`);
}

/** The README table's "files" cell: how much of the package the score covers. */
function coverageText(entry) {
  // A summary from before per-file results were kept.
  if (entry.byFile === undefined) return entry.files === "all of src/" ? "all (one run)" : `only ${entry.files}`;
  const parts = [`${entry.filesMeasured} of ${entry.filesTotal}`];
  if (entry.partial.length > 0) parts.push(`${entry.partial.length} on some lines only`);
  if (entry.stale.length > 0) parts.push(`${entry.stale.length} changed since`);
  return parts.join(", ");
}

const lines = [
  "# Mutation scores",
  "",
  "StrykerJS with the vitest runner (`pnpm mutate [package]`, scripts/mutate.mjs). Score = killed (or timed out) ÷ (killed + survived + not covered),",
  "over the latest result of each source file measured so far (a package may be run in parts with --files; scores.json lists every file's result).",
  "Per package: `<package>/index.html` (survivors in their source) and `<package>/mutation.json` of the last run (both local, not in git). Equivalent mutants: `EQUIVALENT.md`.",
  "",
  "| package | score | killed | survived | no coverage | source files measured | last run |",
  "|---|---|---|---|---|---|---|",
  ...Object.values(scores)
    .sort((a, b) => a.package.localeCompare(b.package))
    .map((entry) => {
      const date = (entry.lastRun?.date ?? entry.date).slice(0, 10);
      return `| ${entry.package} | ${entry.score === null ? "–" : `${entry.score.toFixed(1)} %`} | ${entry.killed} | ${entry.survived} | ${entry.noCoverage} | ${coverageText(entry)} | ${date} |`;
    }),
  "",
];
const readme = join(resultsRoot, "README.md");
// The hand-written notes after the table are kept.
const previous = existsSync(readme) ? readFileSync(readme, "utf8").split("\n") : [];
let notesStart = previous.findIndex((line) => line.startsWith("| package"));
if (notesStart >= 0) {
  while (notesStart < previous.length && previous[notesStart].startsWith("|")) notesStart++;
  while (notesStart < previous.length && previous[notesStart].trim() === "") notesStart++;
}
const notes = notesStart >= 0 ? previous.slice(notesStart).join("\n") : "";
writeFileSync(readme, [...lines, notes].join("\n"));
console.log(`\nmutate: scores in ${relative(process.env.INIT_CWD ?? root, readme)}`);
