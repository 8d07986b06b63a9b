// `pnpm bench <name>`: the entry point for the project's benchmarks. Progress goes to stderr; results go to stdout
// (a markdown table, or one JSON object per line with --json) and to files under benchmarks/results/.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { nativeAvailability } from "@infer-recipes/kernel";

import { runKernelBenchmark, type KernelResult } from "./kernels.ts";
import { BANDWIDTH_TARGET, kernelTable, writeKernelReport } from "./kernels-report.ts";
import { machineInfo } from "@infer-recipes/harness";
import { benchServing } from "./serving.ts";
import { benchServingReliability } from "./serving-reliability.ts";
import { PEERS_USAGE } from "./peer-options.ts";
import { benchPeers } from "./peers.ts";
import { benchPeersQuality, PEERS_QUALITY_USAGE } from "./peers-quality.ts";
import { benchSpeculativePeers, SPECULATIVE_PEERS_USAGE } from "./speculative-peers.ts";

const RESULTS_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

const USAGE = `usage: pnpm bench <benchmark> [options]

benchmarks:
  <recipe>  a recipe's bench.ts (pnpm recipe --list)
  kernels   native GEMV/GEMM at Llama 3.2 shapes vs the measured read bandwidth
            --quick   a subset that runs in under a minute
            --json    one JSON object per result line on stdout
            --check   exit 1 when decode GEMV (Q8_0/Q4_0, 2 threads) streams below ${BANDWIDTH_TARGET * 100}% of the read bandwidth
  serving   sequential vs continuous batching at 1–16 clients, TTFT with/without the prefix cache, and the model in
            the HTTP thread vs a worker thread (/health latency, decode tok/s); --quick, --json, --worker-only
  serving-reliability  the --serve process under 100 concurrent streams with disconnects, 1 MB prompts and
            50,000-message chats: stall bound, largest request, memory (--json)
${PEERS_USAGE}
${PEERS_QUALITY_USAGE}
${SPECULATIVE_PEERS_USAGE}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function failWithError(error: Error): never {
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(1);
}

function benchKernels(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { quick: { type: "boolean" }, json: { type: "boolean" }, check: { type: "boolean" } } });
  const availability = nativeAvailability();
  if (!availability.available) fail(`the kernel benchmark measures the native backend, which is unavailable: ${availability.reason}`);
  const machine = machineInfo();
  const results: KernelResult[] = [];
  const started = Date.now();
  for (const result of runKernelBenchmark({ quick: Boolean(values.quick), progress: (line) => process.stderr.write(`${line}\n`) })) {
    results.push(result);
    if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
    else process.stderr.write(`  ${result.ms.toFixed(3)} ms, ${result.gbps.toFixed(1)} GB/s (${(result.bandwidth_fraction * 100).toFixed(0)}% of ${result.stream_gbps.toFixed(1)} GB/s read), ${result.gops.toFixed(1)} GOP/s\n`);
  }
  const name = values.quick ? "kernels-quick" : "kernels";
  const command = `pnpm bench kernels${values.quick ? " --quick" : ""}`;
  const paths = writeKernelReport(RESULTS_DIRECTORY, name, results, machine, command);
  if (!values.json) process.stdout.write(kernelTable(results) + "\n");
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);

  if (values.check) {
    const decode = results.filter((row) => row.op === "gemv" && row.threads === 2 && row.layout === "packed" && (row.format === "q8_0" || row.format === "q4_0") &&
      ((row.rows === 2048 && row.cols === 8192) || (row.rows === 8192 && row.cols === 2048)));
    const below = decode.filter((row) => row.bandwidth_fraction < BANDWIDTH_TARGET);
    for (const row of decode) process.stderr.write(`check: ${row.weight_dtype} ${row.rows}×${row.cols} 2 threads: ${(row.bandwidth_fraction * 100).toFixed(0)}% of read bandwidth ${row.bandwidth_fraction >= BANDWIDTH_TARGET ? "ok" : "BELOW TARGET"}\n`);
    if (below.length > 0) process.exit(1);
  }
}

const [name, ...rest] = process.argv.slice(2);
if (rest.includes("--help") || rest.includes("-h")) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}
switch (name) {
  case "kernels":
    benchKernels(rest);
    break;
  case "serving":
    await benchServing(rest, RESULTS_DIRECTORY);
    break;
  case "serving-reliability":
    await benchServingReliability(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "peers":
    await benchPeers(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "peers-quality":
    await benchPeersQuality(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "speculative-peers":
    await benchSpeculativePeers(rest)
      .then((markdown) => {
        if (!rest.includes("--json")) process.stdout.write(markdown + "\n");
      })
      .catch(failWithError);
    break;
  case undefined:
  case "--help":
  case "-h":
    process.stdout.write(USAGE + "\n");
    break;
  default:
    fail(`unknown benchmark "${name}"`);
}
