// Native branch coverage of the kernels, per instruction set (`pnpm test:coverage-native`).
//
// 1. Builds the gcov-instrumented, unoptimized addon in build-coverage/ (build-native.mjs with INFER_NATIVE_COVERAGE=1;
//    the normal build/ is left alone).
// 2. For each instruction set the CPU runs (INFER_NATIVE_ISA=avx512, avx2, portable): clears the counters, runs the
//    kernel package's tests against that addon (every native op is compared with the TypeScript reference there), and
//    reads gcov's JSON (`gcov -b --json-format`: lines, and every outcome of every branch, per function instantiation).
// 3. Reports, per kernel function (template instantiations grouped under their name), the lines and branch outcomes
//    executed in each run, and fails (exit 1) when a line or branch outcome of a kernel source was executed in no run
//    and is not listed, with its reason, in coverage-unreachable.json beside this script.
//
// Writes benchmarks/results/coverage-native.md and .json (with the date and machine). Options:
//   --isa avx512,avx2   only these runs;   --no-build   reuse build-coverage/ as it is;   --json   print the JSON.
// Kernel sources are gated; support code (the Node-API glue, the bandwidth yardstick, CPU detection, the thread pool)
// is reported but not gated.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const repositoryRoot = join(packageRoot, "..", "..");
const coverageRoot = join(packageRoot, "build-coverage");
const gypOutput = join(coverageRoot, "build");
const addon = join(gypOutput, "Release", "kernel.node");
const allIsas = ["avx512", "avx2", "portable"];
const supportFiles = new Set(["addon.cc", "bandwidth.cc", "bandwidth.h", "cpu_features.cc", "cpu_features.h", "thread_pool.cc", "thread_pool.h", "aligned_buffer.h"]);

function option(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function fail(message) {
  console.error(`coverage-native: ${message}`);
  process.exit(1);
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  return result.status ?? 1;
}

// ---- build and runs ----

function build() {
  const status = run(process.execPath, [join(packageRoot, "scripts", "build-native.mjs")], { env: { ...process.env, INFER_NATIVE_COVERAGE: "1" } });
  if (status !== 0 || !existsSync(addon)) fail("the coverage build failed (it needs g++ with gcov, make and python3)");
}

/** The instruction sets this CPU runs, asked of the coverage addon in a child process (its counters are reset after). */
function availableIsas() {
  const probe = `const a = require(${JSON.stringify(addon)}); console.log(JSON.stringify(${JSON.stringify(allIsas)}.filter((isa) => a.selectIsa(isa))))`;
  const result = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
  if (result.status !== 0) fail(`the coverage addon does not load: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout);
}

function gcdaFiles(directory = gypOutput) {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? gcdaFiles(path) : entry.name.endsWith(".gcda") ? [path] : [];
  });
}

/** Runs the kernel tests on one ISA against the coverage addon; returns gcov's JSON documents. */
function runIsa(isa) {
  for (const file of gcdaFiles()) rmSync(file);
  console.log(`\ncoverage-native: kernel tests with INFER_NATIVE_ISA=${isa} on the coverage addon…`);
  // Worker threads, one test file at a time: the addon is loaded once per process and its counters are written when
  // the process exits normally (forked workers are killed, which would lose them).
  const env = { ...process.env, INFER_NATIVE_ADDON: addon, INFER_NATIVE_ISA: isa, INFER_REQUIRE_NATIVE: "1" };
  // vitest is a devDependency of the workspace root (pnpm links it there, not into each package).
  const vitest = [packageRoot, repositoryRoot].map((root) => join(root, "node_modules", ".bin", "vitest")).find((path) => existsSync(path));
  if (!vitest) fail("vitest is not installed: run `pnpm install` at the repository root");
  const status = run(vitest, ["run", "--pool=threads", "--no-file-parallelism"], { cwd: packageRoot, env });
  if (status !== 0) fail(`the kernel tests failed with INFER_NATIVE_ISA=${isa}; coverage is only meaningful for passing tests`);
  const documents = [];
  for (const file of gcdaFiles()) {
    const result = spawnSync("gcov", ["-b", "--json-format", "--stdout", relative(gypOutput, file)], { cwd: gypOutput, encoding: "utf8", maxBuffer: 1 << 28 });
    if (result.status !== 0) fail(`gcov failed on ${file}: ${result.stderr.trim()}`);
    for (const line of result.stdout.split("\n")) if (line.trim()) documents.push(JSON.parse(line));
  }
  if (documents.length === 0) fail("no coverage data was written (did the tests load the coverage addon?)");
  return documents;
}

// ---- the model: items keyed by file, function and line ----

/** The ISA whose build a function belongs to (its namespace), or "shared". */
function isaOf(name) {
  const match = /kernel::(avx512|avx2|portable)::/.exec(name);
  return match ? match[1] : "shared";
}

/** A function's name without template arguments and parameters: what the report groups instantiations under. */
function kernelName(name) {
  let depth = 0, plain = "";
  for (const character of name.replace(/\(anonymous namespace\)::/g, "")) {
    if (character === "<") depth++;
    else if (character === ">") depth--;
    else if (depth === 0) plain += character;
  }
  return plain.replace(/\(.*$/, "").replace(/^kernel::/, "").trim();
}

/**
 * Counts per function, line and branch outcome over all objects (inline functions of headers are kept once by the
 * linker, so their counts land in one object's file: summing by name puts them back together).
 */
function collect(documents) {
  const functions = new Map(); // key file|name → { file, name, startLine, count }
  const lines = new Map(); // key file|name|line → count
  const branches = new Map(); // key file|name|line|index → count
  for (const document of documents) {
    for (const file of document.files) {
      const path = join(gypOutput, file.file);
      if (!path.startsWith(join(coverageRoot, "native") + "/")) continue;
      const source = basename(path);
      const names = new Map(file.functions.map((f) => [f.name, f.demangled_name]));
      for (const f of file.functions) {
        const key = `${source}|${f.demangled_name}`;
        const entry = functions.get(key) ?? { file: source, name: f.demangled_name, startLine: f.start_line, count: 0 };
        entry.count += f.execution_count;
        functions.set(key, entry);
      }
      for (const line of file.lines) {
        const name = names.get(line.function_name) ?? "(file scope)";
        const key = `${source}|${name}|${line.line_number}`;
        lines.set(key, (lines.get(key) ?? 0) + line.count);
        line.branches.filter((branch) => !branch.throw).forEach((branch, index) => {
          branches.set(`${key}|${index}`, (branches.get(`${key}|${index}`) ?? 0) + branch.count);
        });
      }
    }
  }
  return { functions, lines, branches };
}

// ---- unreachable list ----

const sourceCache = new Map();
function sourceLine(file, line) {
  if (!sourceCache.has(file)) sourceCache.set(file, readFileSync(join(packageRoot, "native", file), "utf8").split("\n"));
  return sourceCache.get(file)[line - 1] ?? "";
}

function loadUnreachable() {
  const path = join(packageRoot, "scripts", "coverage-unreachable.json");
  const entries = JSON.parse(readFileSync(path, "utf8"));
  return entries.map((entry, index) => {
    for (const field of ["file", "reason"]) if (typeof entry[field] !== "string") fail(`coverage-unreachable.json entry ${index}: "${field}" must be a string`);
    return { ...entry, index, functionPattern: entry.function ? new RegExp(entry.function) : null, sourcePattern: entry.source ? new RegExp(entry.source) : null, matched: 0 };
  });
}

/** The unreachable entry covering an item (a whole function when the entry names no source line), if any. */
function unreachableFor(entries, file, name, line) {
  for (const entry of entries) {
    if (entry.file !== "*" && entry.file !== file) continue;
    if (entry.functionPattern && !entry.functionPattern.test(name)) continue;
    if (entry.sourcePattern && (line === undefined || !entry.sourcePattern.test(sourceLine(file, line)))) continue;
    if (!entry.functionPattern && !entry.sourcePattern) continue;
    entry.matched++;
    return entry;
  }
  return undefined;
}

// ---- report ----

function summarize(isas, models, unreachable) {
  const union = { functions: new Map(), lines: new Map(), branches: new Map() };
  for (const model of Object.values(models)) {
    for (const kind of ["functions", "lines", "branches"]) {
      for (const [key, value] of model[kind]) {
        const count = kind === "functions" ? value.count : value;
        const previous = union[kind].get(key);
        if (kind === "functions") union.functions.set(key, { ...value, count: (previous?.count ?? 0) + count });
        else union[kind].set(key, (previous ?? 0) + count);
      }
    }
  }
  // Gaps: every item of a gated file executed in no run and not listed as unreachable.
  const gaps = [];
  const unreachableItems = [];
  const neverRun = new Set();
  for (const [key, f] of union.functions) {
    if (supportFiles.has(f.file) || f.count > 0) continue;
    const entry = unreachableFor(unreachable, f.file, f.name, undefined);
    if (entry) unreachableItems.push({ file: f.file, function: f.name, what: "function", reason: entry.reason });
    else gaps.push({ file: f.file, function: f.name, line: f.startLine, what: "function never executed" });
    neverRun.add(key);
  }
  for (const kind of ["lines", "branches"]) {
    for (const [key, count] of union[kind]) {
      const [file, name, lineText, index] = key.split("|");
      if (supportFiles.has(file) || count > 0 || neverRun.has(`${file}|${name}`)) continue;
      const line = Number(lineText);
      const what = kind === "lines" ? "line never executed" : `branch outcome ${index} never taken`;
      const entry = unreachableFor(unreachable, file, name, line);
      if (entry) unreachableItems.push({ file, function: name, line, what, reason: entry.reason });
      else gaps.push({ file, function: name, line, what, source: sourceLine(file, line).trim() });
    }
  }
  // Per run: per kernel (name without template arguments), instantiations, lines and branch outcomes executed.
  const runs = {};
  for (const isa of isas) {
    const model = models[isa];
    const kernels = new Map();
    const row = (file, name) => {
      const key = `${file} ${isaOf(name) === "shared" ? "" : `[${isaOf(name)}] `}${kernelName(name)}`;
      if (!kernels.has(key)) kernels.set(key, { kernel: key, file, isa: isaOf(name), gated: !supportFiles.has(file), instances: 0, instancesRun: 0, lines: 0, linesRun: 0, branches: 0, branchesRun: 0 });
      return kernels.get(key);
    };
    for (const f of model.functions.values()) {
      const entry = row(f.file, f.name);
      entry.instances++;
      if (f.count > 0) entry.instancesRun++;
    }
    for (const [kind, total, done] of [["lines", "lines", "linesRun"], ["branches", "branches", "branchesRun"]]) {
      for (const [key, count] of model[kind]) {
        const [file, name] = key.split("|");
        if (name === "(file scope)") continue;
        const entry = row(file, name);
        entry[total]++;
        if (count > 0) entry[done]++;
      }
    }
    const rows = [...kernels.values()].sort((a, b) => a.kernel.localeCompare(b.kernel));
    const totals = (filter) => rows.filter(filter).reduce((sum, r) => ({ lines: sum.lines + r.lines, linesRun: sum.linesRun + r.linesRun, branches: sum.branches + r.branches, branchesRun: sum.branchesRun + r.branchesRun }), { lines: 0, linesRun: 0, branches: 0, branchesRun: 0 });
    runs[isa] = { kernels: rows, ownAndShared: totals((r) => r.gated && (r.isa === isa || r.isa === "shared")), allGated: totals((r) => r.gated) };
  }
  const stale = unreachable.filter((entry) => entry.matched === 0).map(({ file, function: name, source, reason }) => ({ file, function: name, source, reason }));
  return { runs, gaps, unreachable: unreachableItems, staleUnreachableEntries: stale };
}

const percent = (done, total) => (total === 0 ? "–" : `${((100 * done) / total).toFixed(1)} %`);

function markdown(report) {
  const out = [];
  out.push("# Native kernel coverage", "");
  out.push(`${report.date} · ${report.machine} · \`${report.command}\``, "");
  out.push("Kernel tests (`packages/kernel/test`, every native op against the TypeScript reference) on the gcov build of the addon, once per",
    "`INFER_NATIVE_ISA`. Lines and branch outcomes of the kernel sources (support code — Node-API glue, bandwidth yardstick, CPU",
    "detection, thread pool — is listed but not gated). The tests also select every ISA themselves, so each run reaches all",
    "tables; the ISA's own kernels and the shared ones (attention, norms, activations, formats) are what its row counts.", "");
  out.push("| run | lines (own + shared kernels) | branch outcomes (own + shared) | lines (all kernels) | branch outcomes (all kernels) |", "|---|---|---|---|---|");
  for (const [isa, run] of Object.entries(report.runs)) {
    const own = run.ownAndShared, all = run.allGated;
    out.push(`| ${isa} | ${own.linesRun}/${own.lines} (${percent(own.linesRun, own.lines)}) | ${own.branchesRun}/${own.branches} (${percent(own.branchesRun, own.branches)}) | ${all.linesRun}/${all.lines} (${percent(all.linesRun, all.lines)}) | ${all.branchesRun}/${all.branches} (${percent(all.branchesRun, all.branches)}) |`);
  }
  out.push("", `Not executed in any run and not listed as unreachable: **${report.gaps.length}**. Listed as unreachable: ${report.unreachable.length} items (reasons below).`, "");
  if (report.gaps.length > 0) {
    out.push("## Not executed", "", "| file | function | line | what | source |", "|---|---|---|---|---|");
    for (const gap of report.gaps) out.push(`| ${gap.file} | \`${gap.function}\` | ${gap.line ?? ""} | ${gap.what} | \`${(gap.source ?? "").replace(/\|/g, "\\|")}\` |`);
    out.push("");
  }
  const reasons = new Map();
  for (const item of report.unreachable) {
    const key = `${item.file}: ${item.reason}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  if (reasons.size > 0) {
    out.push("## Unreachable (from packages/kernel/scripts/coverage-unreachable.json)", "", "| items | file: reason |", "|---|---|");
    for (const [key, count] of reasons) out.push(`| ${count} | ${key} |`);
    out.push("");
  }
  for (const [isa, run] of Object.entries(report.runs)) {
    out.push(`## Run INFER_NATIVE_ISA=${isa}`, "", "| kernel | instantiations run | lines | branch outcomes |", "|---|---|---|---|");
    for (const row of run.kernels) {
      const name = row.gated ? row.kernel : `${row.kernel} (support)`;
      out.push(`| ${name} | ${row.instancesRun}/${row.instances} | ${row.linesRun}/${row.lines} | ${row.branchesRun}/${row.branches} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

// ---- main ----

if (!process.argv.includes("--no-build")) build();
if (!existsSync(addon)) fail(`${addon} does not exist: run without --no-build`);
const requested = option("--isa")?.split(",") ?? allIsas;
const unknown = requested.filter((isa) => !allIsas.includes(isa));
if (unknown.length > 0) fail(`unknown --isa ${unknown.join(",")}: expected ${allIsas.join(", ")}`);
const available = availableIsas();
const isas = requested.filter((isa) => available.includes(isa));
for (const isa of requested) if (!available.includes(isa)) console.warn(`coverage-native: this CPU cannot run ${isa}: its run is skipped (its kernels count as not executed)`);
const models = {};
for (const isa of isas) models[isa] = collect(runIsa(isa));
const report = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} threads, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  command: `pnpm test:coverage-native${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  isas,
  ...summarize(isas, models, loadUnreachable()),
};
const results = join(repositoryRoot, "benchmarks", "results");
mkdirSync(results, { recursive: true });
writeFileSync(join(results, "coverage-native.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(results, "coverage-native.md"), `${markdown(report)}\n`);
if (process.argv.includes("--json")) console.log(JSON.stringify(report));
console.log("");
for (const [isa, run] of Object.entries(report.runs)) {
  const own = run.ownAndShared;
  console.log(`coverage-native: ${isa}: lines ${own.linesRun}/${own.lines} (${percent(own.linesRun, own.lines)}), branch outcomes ${own.branchesRun}/${own.branches} (${percent(own.branchesRun, own.branches)}) of its own and the shared kernels`);
}
for (const gap of report.gaps.slice(0, 40)) console.log(`  not executed: ${gap.file}:${gap.line ?? ""} ${gap.what} in ${gap.function}${gap.source ? `: ${gap.source}` : ""}`);
if (report.gaps.length > 40) console.log(`  … and ${report.gaps.length - 40} more (benchmarks/results/coverage-native.md)`);
for (const entry of report.staleUnreachableEntries) console.log(`  unreachable entry matches nothing (remove it?): ${JSON.stringify(entry)}`);
console.log(`coverage-native: ${report.gaps.length} kernel lines/branch outcomes executed by no test; report in benchmarks/results/coverage-native.md`);
process.exit(report.gaps.length === 0 && report.staleUnreachableEntries.length === 0 ? 0 : 1);
