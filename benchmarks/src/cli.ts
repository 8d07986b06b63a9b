// `pnpm bench <name>`: the entry point for the project's benchmarks. Progress goes to stderr; results go to stdout
// (a markdown table, or one JSON object per line with --json) and to files under benchmarks/results/.

import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { nativeAvailability, type DType } from "@infer-recipes/kernel";

import { profileDecode, type DecodeProfile } from "./decode-profile.ts";
import { profileSection, writeDecodeProfileReport } from "./decode-profile-report.ts";
import { chainShapes, decodeChainTable, runDecodeChainBenchmark, writeDecodeChainReport, type ChainShape } from "./kernels-decode-chain.ts";
import { runKernelBenchmark, type KernelResult } from "./kernels.ts";
import { BANDWIDTH_TARGET, kernelTable, writeKernelReport } from "./kernels-report.ts";
import { machineInfo } from "@infer-recipes/harness";
import { benchServing } from "./serving.ts";
import { benchServingReliability } from "./serving-reliability.ts";
import { ensurePeerModelFile, peerFormats, type PeerFormat } from "./peer-model-files.ts";
import { PEERS_USAGE } from "./peer-options.ts";
import { peerShapeConfig, type PeerShape } from "./peer-shapes.ts";
import { peerVocabulary } from "./peer-vocabulary.ts";
import { benchPeers } from "./peers.ts";
import { benchPeersMerge, PEERS_MERGE_USAGE } from "./peers-merge.ts";
import { benchPeersQuality, PEERS_QUALITY_USAGE } from "./peers-quality.ts";
import { benchSpeculativePeers, SPECULATIVE_PEERS_USAGE } from "./speculative-peers.ts";
import { profileVerify, type VerifyProfileModel } from "./verify-profile.ts";
import { verifySizeSection, writeVerifyProfileReport } from "./verify-profile-report.ts";

const RESULTS_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

const USAGE = `usage: pnpm bench <benchmark> [options]

benchmarks:
  <recipe>  a recipe's bench.ts (pnpm recipe --list)
  kernels   native GEMV/GEMM at Llama 3.2 shapes vs the measured read bandwidth
            --quick   a subset that runs in under a minute
            --json    one JSON object per result line on stdout
            --check   exit 1 when decode GEMV (Q8_0/Q4_0, 2 threads) streams below ${BANDWIDTH_TARGET * 100}% of the read bandwidth
            --formats LIST   only these weight formats (of f32,f16,bf16,q8_0,q4_0,q4_k,q6_k)
            --threads LIST   only these thread counts (of 1,2)
            --decode-chain   instead: the thread pool at a decode step's rhythm (a Llama decode step's GEMVs back to
                             back) for stories260K's and the 1B's shapes, at 1 and 2 threads, quiet and with another
                             process spinning on a core; --shapes tiny,1b, --repetitions N (default 5)
  decode-profile  where a decode token's time goes in this project's engine: every kernel op timed (matmuls per
            weight shape), the rest is the engine's own time; beside the read bandwidth measured in the same run
            --model PATH      a Llama GGUF file (default: the peer benchmark's random-weight file of --shape/--format)
            --shape S         1b or 3b (default 1b)   --format F   of ${peerFormats.join(",")} (default q4_0)
            --threads LIST    (default 1,2)   --prompt-tokens N (default 64)   --decode-tokens N (default 64)
            --repetitions N   runs per thread count after a warm-up (default 3)
  verify-profile  where a speculative verify pass (one forward over m tokens, all logits) spends its time beyond one
            decode token: every kernel op timed at 1 and at m tokens, interleaved
            --model PATH | --shape S --format F   as decode-profile (default: the 3B Q4_0 file, output matrix Q6_K)
            --random          instead: random weights of --shape with every matrix in --format (the
                              speculative-decoding recipe's verify model; q8_0, q4_0, q4_k, q6_k, f16, bf16)
            --threads N (default 2)   --tokens LIST (default 2,5,9)   --context N (default 64)   --rounds N (default 7)
  serving   sequential vs continuous batching at 1–16 clients, TTFT with/without the prefix cache, the model in
            the HTTP thread vs a worker thread (/health latency, decode tok/s), and the sequences a paged cache of a
            fixed size holds per cache type (cache budget); --quick, --json, --worker-only, --cache-budget-only
            --kv-cache-dtype LIST   cache types of the cache-budget rows (default f32,q8_0)
            --cache-budget-mib N    their cache's bytes (default: every client's sequence in a q8_0 cache)
  serving-reliability  the --serve process under 100 concurrent streams with disconnects, 1 MB prompts and
            50,000-message chats: stall bound, largest request, memory (--json)
${PEERS_USAGE}
${PEERS_MERGE_USAGE}
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

async function benchDecodeChain(values: { shapes?: string; repetitions?: string; json?: boolean }): Promise<void> {
  const shapes = (values.shapes ?? "tiny,1b").split(",").map((item) => item.trim());
  for (const shape of shapes) if (!chainShapes.some((candidate) => candidate.name === shape)) fail(`--shapes: "${shape}" is not one of ${chainShapes.map((candidate) => candidate.name).join(", ")}`);
  const repetitions = Number(values.repetitions ?? "5");
  if (!Number.isInteger(repetitions) || repetitions < 1) fail(`--repetitions must be an integer ≥ 1, got "${values.repetitions}"`);
  const machine = machineInfo();
  const load = loadavg().map((value) => value.toFixed(2)).join(", ");
  const started = Date.now();
  const results = await runDecodeChainBenchmark({ shapes: shapes as ChainShape["name"][], repetitions, progress: (line) => process.stderr.write(`${line}\n`) });
  const command = `pnpm bench kernels --decode-chain${values.shapes ? ` --shapes ${values.shapes}` : ""}${values.repetitions ? ` --repetitions ${values.repetitions}` : ""}`;
  const paths = writeDecodeChainReport(RESULTS_DIRECTORY, "kernels-decode-chain", results, machine, command, load);
  if (values.json) for (const result of results) process.stdout.write(JSON.stringify(result) + "\n");
  else process.stdout.write(decodeChainTable(results) + "\n");
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);
}

async function benchKernels(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, json: { type: "boolean" }, check: { type: "boolean" }, formats: { type: "string" }, threads: { type: "string" },
      "decode-chain": { type: "boolean" }, shapes: { type: "string" }, repetitions: { type: "string" },
    },
  });
  const kernelFormats: readonly DType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];
  const formats = values.formats?.split(",").map((item) => item.trim());
  for (const format of formats ?? []) if (!kernelFormats.includes(format as DType)) fail(`--formats: "${format}" is not one of ${kernelFormats.join(", ")}`);
  const threads = values.threads?.split(",").map((item) => Number(item.trim()));
  for (const count of threads ?? []) if (count !== 1 && count !== 2) fail(`--threads: each must be 1 or 2, got "${values.threads}"`);
  const availability = nativeAvailability();
  if (!availability.available) fail(`the kernel benchmark measures the native backend, which is unavailable: ${availability.reason}`);
  if (values["decode-chain"]) return benchDecodeChain(values);
  const machine = machineInfo();
  const results: KernelResult[] = [];
  const started = Date.now();
  const selection = { formats: formats as DType[] | undefined, threads };
  for (const result of runKernelBenchmark({ quick: Boolean(values.quick), ...selection, progress: (line) => process.stderr.write(`${line}\n`) })) {
    results.push(result);
    if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
    else {
      const peak = result.fma_peak_fraction === null ? "" : ` (${(result.fma_peak_fraction * 100).toFixed(0)}% of the ${result.fma_peak_gops!.toFixed(0)} GOP/s FMA peak)`;
      process.stderr.write(`  ${result.ms.toFixed(3)} ms, ${result.gbps.toFixed(1)} GB/s (${(result.bandwidth_fraction * 100).toFixed(0)}% of ${result.stream_gbps.toFixed(1)} GB/s read), ${result.gops.toFixed(1)} GOP/s${peak}\n`);
    }
  }
  const selected = values.formats !== undefined || values.threads !== undefined;
  const name = values.quick ? "kernels-quick" : selected ? `kernels-${(formats ?? ["all"]).join("-")}` : "kernels";
  const command = `pnpm bench kernels${values.quick ? " --quick" : ""}${values.formats ? ` --formats ${values.formats}` : ""}${values.threads ? ` --threads ${values.threads}` : ""}`;
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

async function benchDecodeProfile(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, shape: { type: "string" }, format: { type: "string" }, threads: { type: "string" },
      "prompt-tokens": { type: "string" }, "decode-tokens": { type: "string" }, repetitions: { type: "string" },
    },
  });
  const count = (text: string | undefined, fallback: number, option: string) => {
    const value = Number(text ?? fallback);
    if (!Number.isInteger(value) || value < 1) fail(`${option} must be an integer ≥ 1, got "${text}"`);
    return value;
  };
  const threads = (values.threads ?? "1,2").split(",").map((item) => count(item.trim(), 1, "--threads"));
  const promptTokens = count(values["prompt-tokens"], 64, "--prompt-tokens");
  const decodeTokens = count(values["decode-tokens"], 64, "--decode-tokens");
  const repetitions = count(values.repetitions, 3, "--repetitions");
  let modelPath: string;
  if (values.model !== undefined) {
    modelPath = resolve(process.env.INIT_CWD ?? process.cwd(), values.model);
  } else {
    const shape = (values.shape ?? "1b") as PeerShape;
    const format = (values.format ?? "q4_0") as PeerFormat;
    if (shape !== "1b" && shape !== "3b") fail(`--shape must be 1b or 3b, got "${values.shape}"`);
    if (!peerFormats.includes(format)) fail(`--format must be one of ${peerFormats.join(", ")}, got "${values.format}"`);
    const vocabulary = peerVocabulary(peerShapeConfig(shape).vocabSize);
    const file = ensurePeerModelFile(shape, format, { vocabulary: vocabulary.metadata, vocabularyKind: vocabulary.kind });
    if ("skipped" in file) fail(file.skipped);
    modelPath = file.path;
  }
  const machine = machineInfo();
  const load = loadavg().map((value) => value.toFixed(2)).join(", ");
  const started = Date.now();
  const streamBuffer = new Uint8Array(1024 ** 3);
  for (let offset = 0; offset < streamBuffer.length; offset += 4096) streamBuffer[offset] = offset & 0xff;
  const profiles: DecodeProfile[] = [];
  for (const threadCount of threads) {
    process.stderr.write(`profiling ${modelPath} at ${threadCount} thread${threadCount === 1 ? "" : "s"}\n`);
    profiles.push(profileDecode({ modelPath, threads: threadCount, promptTokens, decodeTokens, repetitions, progress: (line) => process.stderr.write(`${line}\n`) }, streamBuffer));
  }
  const stem = modelPath.split("/").pop()!.replace(/\.gguf$/, "").replace(/-llama3-vocabulary$/, "");
  const command = `pnpm bench decode-profile ${argv.join(" ")}`.trim();
  const paths = writeDecodeProfileReport(RESULTS_DIRECTORY, `decode-profile-${stem}`, profiles, machine, command, load);
  process.stdout.write(profiles.map(profileSection).join("\n\n") + "\n");
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);
}

async function benchVerifyProfile(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, shape: { type: "string" }, format: { type: "string" }, random: { type: "boolean" }, threads: { type: "string" },
      tokens: { type: "string" }, context: { type: "string" }, rounds: { type: "string" },
    },
  });
  const count = (text: string | undefined, fallback: number, option: string, minimum = 1) => {
    const value = Number(text ?? fallback);
    if (!Number.isInteger(value) || value < minimum) fail(`${option} must be an integer ≥ ${minimum}, got "${text}"`);
    return value;
  };
  const threads = count(values.threads, 2, "--threads");
  const tokens = (values.tokens ?? "2,5,9").split(",").map((item) => count(item.trim(), 2, "--tokens (each)", 2));
  const contextTokens = count(values.context, 64, "--context");
  const rounds = count(values.rounds, 7, "--rounds");
  const shape = (values.shape ?? "3b") as PeerShape;
  if (shape !== "1b" && shape !== "3b") fail(`--shape must be 1b or 3b, got "${values.shape}"`);
  let model: VerifyProfileModel;
  let stem: string;
  if (values.model !== undefined) {
    model = { path: resolve(process.env.INIT_CWD ?? process.cwd(), values.model) };
    stem = model.path.split("/").pop()!.replace(/\.gguf$/, "");
  } else if (values.random) {
    const randomFormats: readonly DType[] = ["f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];
    const format = (values.format ?? "q4_0") as DType;
    if (!randomFormats.includes(format)) fail(`--format with --random must be one of ${randomFormats.join(", ")}, got "${values.format}"`);
    model = { shape, dtype: format };
    stem = `llama-3.2-${shape}-random-all-${format}`;
  } else {
    const format = (values.format ?? "q4_0") as PeerFormat;
    if (!peerFormats.includes(format)) fail(`--format must be one of ${peerFormats.join(", ")}, got "${values.format}"`);
    const vocabulary = peerVocabulary(peerShapeConfig(shape).vocabSize);
    const file = ensurePeerModelFile(shape, format, { vocabulary: vocabulary.metadata, vocabularyKind: vocabulary.kind });
    if ("skipped" in file) fail(file.skipped);
    model = { path: file.path };
    stem = file.path.split("/").pop()!.replace(/\.gguf$/, "").replace(/-llama3-vocabulary$/, "");
  }
  const machine = machineInfo();
  const load = loadavg().map((value) => value.toFixed(2)).join(", ");
  const started = Date.now();
  process.stderr.write(`profiling verify passes of ${tokens.join(", ")} tokens against 1 (${"path" in model ? model.path : stem}, ${threads} thread${threads === 1 ? "" : "s"})\n`);
  const profile = profileVerify({ model, threads, contextTokens, tokens, rounds, progress: (line) => process.stderr.write(`${line}\n`) });
  const command = `pnpm bench verify-profile ${argv.join(" ")}`.trim();
  const paths = writeVerifyProfileReport(RESULTS_DIRECTORY, `verify-profile-${stem}-${threads}t`, profile, machine, command, load);
  process.stdout.write(profile.sizes.map(verifySizeSection).join("\n\n") + "\n");
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);
}

const [name, ...rest] = process.argv.slice(2);
if (rest.includes("--help") || rest.includes("-h")) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}
switch (name) {
  case "kernels":
    await benchKernels(rest);
    break;
  case "decode-profile":
    await benchDecodeProfile(rest).catch(failWithError);
    break;
  case "verify-profile":
    await benchVerifyProfile(rest).catch(failWithError);
    break;
  case "serving":
    await benchServing(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "serving-reliability":
    await benchServingReliability(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "peers":
    await benchPeers(rest, RESULTS_DIRECTORY).catch(failWithError);
    break;
  case "peers-merge":
    try {
      benchPeersMerge(rest, RESULTS_DIRECTORY);
    } catch (error) {
      failWithError(error as Error);
    }
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
