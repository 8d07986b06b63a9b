// `pnpm bench kernels --decode-chain`: the native thread pool under a decode step's rhythm. One "token" is the chain of
// GEMVs a Llama decode step runs (q, k, v, o, gate, up, down per layer, then the LM head), back to back through the
// pool, so the figure is the pool's per-op cost on small models and its behaviour when another process takes a core:
//   - tiny:  stories260K's shapes (dim 64, hidden 172, 5 layers, vocab 512): per-op overhead dominates
//   - 1b:    Llama 3.2 1B's shapes in q8_0: memory-bound, ~1.3 GB of weights per token
// Each shape runs at 1 and 2 threads, on a quiet machine and with a contender (a child process spinning on one core
// for the whole contended phase), interleaved: the configurations take turns within every repetition. Attention,
// norms and sampling are left out: this measures the matrix work and the pool, not a model.

import { spawn, type ChildProcess } from "node:child_process";

import { NativeBackend, Tensor, createKernel, type DType, type PoolStatistics } from "@infer-recipes/kernel";
import { barChartSvg, describeMachine, markdownTable, reportJson, summarize, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";
import { randomActivations, randomWeights } from "@infer-recipes/models";

/** A model shape whose decode chain is timed. */
export interface ChainShape {
  name: "tiny" | "1b";
  format: DType;
  hidden: number;
  intermediate: number;
  /** Rows of k and v (key-value heads × head size). */
  keyValue: number;
  layers: number;
  vocabulary: number;
}

export const chainShapes: readonly ChainShape[] = [
  { name: "tiny", format: "f32", hidden: 64, intermediate: 172, keyValue: 32, layers: 5, vocabulary: 512 },
  { name: "1b", format: "q8_0", hidden: 2048, intermediate: 8192, keyValue: 512, layers: 16, vocabulary: 128256 },
];

/** One measured configuration: a shape at a thread count, quiet or contended. */
export interface DecodeChainResult {
  shape: ChainShape["name"];
  format: DType;
  threads: number;
  contended: boolean;
  /** Median tokens (whole chains) per second, with the spread over repetitions. */
  tokens_per_second: number;
  tokens_per_second_min: number;
  tokens_per_second_max: number;
  repetitions: number;
  /** GEMVs per token. */
  ops_per_token: number;
  /** Thread-pool counters over this configuration's measured runs (jobs, shared, solo after a stall, stalls). */
  pool: PoolStatistics | null;
  isa: string;
}

export interface DecodeChainOptions {
  shapes: readonly ChainShape["name"][];
  repetitions: number;
  /** Called with a one-line status. */
  progress?: (message: string) => void;
}

interface Matrix {
  weight: Tensor; // [rows, cols], packed as models pack it
  input: Tensor; // [1, cols]
  out: Tensor; // [1, rows]
}

function chainMatrices(shape: ChainShape, pack: (tensor: Tensor) => Tensor): Matrix[] {
  const matrix = (rows: number, cols: number): Matrix => ({
    weight: pack(randomWeights(shape.format, rows, cols)),
    input: randomActivations(1, cols),
    out: Tensor.zeros("f32", [1, rows]),
  });
  const matrices: Matrix[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    const { hidden, intermediate, keyValue } = shape;
    matrices.push(matrix(hidden, hidden), matrix(keyValue, hidden), matrix(keyValue, hidden), matrix(hidden, hidden));
    matrices.push(matrix(intermediate, hidden), matrix(intermediate, hidden), matrix(hidden, intermediate));
  }
  matrices.push(matrix(shape.vocabulary, shape.hidden));
  return matrices;
}

/** A child process that spins on one core until killed: the "other process takes a core" of the issue. */
function startContender(): ChildProcess {
  return spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
}

/** Combines two pool counter sets field by field (after − before, or a sum). */
function combine(a: PoolStatistics, b: PoolStatistics, sign: 1 | -1): PoolStatistics {
  const result = { ...a };
  for (const key of Object.keys(a) as (keyof PoolStatistics)[]) result[key] = a[key] + sign * b[key];
  return result;
}

function difference(after: PoolStatistics | undefined, before: PoolStatistics | undefined): PoolStatistics | null {
  return after === undefined || before === undefined ? null : combine(after, before, -1);
}

/** Times the decode chain of every shape at 1 and 2 threads, quiet and contended, interleaved; returns one row each. */
export async function runDecodeChainBenchmark(options: DecodeChainOptions): Promise<DecodeChainResult[]> {
  const kernel = createKernel({ backend: "native", threads: 2 });
  const backend = kernel.backend as NativeBackend;
  const results: DecodeChainResult[] = [];
  for (const shape of chainShapes.filter((candidate) => options.shapes.includes(candidate.name))) {
    options.progress?.(`decode chain ${shape.name} (${shape.format}): packing weights`);
    const matrices = chainMatrices(shape, (tensor) => kernel.packWeight(tensor));
    const weightBytes = matrices.reduce((sum, matrix) => sum + matrix.weight.data.byteLength, 0);
    // Enough tokens per timing for ~0.3 s on one thread (tiny chains take microseconds).
    const tokensPerTiming = shape.name === "tiny" ? 2000 : 4;
    const timeTokens = (threads: number): number => {
      backend.setThreads(threads);
      const start = process.hrtime.bigint();
      for (let token = 0; token < tokensPerTiming; token++) {
        for (const { weight, input, out } of matrices) backend.matmul(out, input, weight);
      }
      return tokensPerTiming / (Number(process.hrtime.bigint() - start) / 1e9);
    };
    const configurations = [1, 2].flatMap((threads) => [false, true].map((contended) => ({ threads, contended })));
    const samples = new Map(configurations.map((configuration) => [configuration, [] as number[]]));
    const pools = new Map(configurations.map((configuration) => [configuration, [] as (PoolStatistics | null)[]]));
    timeTokens(1);
    timeTokens(2); // warm-up: page the weights in, start the helpers
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      options.progress?.(`decode chain ${shape.name}: repetition ${repetition + 1}/${options.repetitions} (${(weightBytes / 1e6).toFixed(1)} MB of weights per token)`);
      for (const contended of [false, true]) {
        const contender = contended ? startContender() : undefined;
        if (contender) await new Promise((resolve) => setTimeout(resolve, 200)); // let it get scheduled
        try {
          for (const configuration of configurations.filter((candidate) => candidate.contended === contended)) {
            backend.setThreads(configuration.threads);
            const before = backend.poolStatistics();
            samples.get(configuration)!.push(timeTokens(configuration.threads));
            pools.get(configuration)!.push(difference(backend.poolStatistics(), before));
          }
        } finally {
          contender?.kill();
        }
      }
    }
    for (const configuration of configurations) {
      const summary = summarize(samples.get(configuration)!);
      const counted = pools.get(configuration)!.filter((pool): pool is PoolStatistics => pool !== null);
      const pool = counted.length === 0 ? null : counted.reduce((sum, next) => combine(sum, next, 1));
      results.push({
        shape: shape.name,
        format: shape.format,
        threads: configuration.threads,
        contended: configuration.contended,
        tokens_per_second: summary.median,
        tokens_per_second_min: summary.min,
        tokens_per_second_max: summary.max,
        repetitions: summary.count,
        ops_per_token: matrices.length,
        pool,
        isa: backend.isa,
      });
    }
  }
  return results;
}

const columns: Column<DecodeChainResult>[] = [
  { header: "shape", value: (row) => `${row.shape} (${row.format}, ${row.ops_per_token} GEMVs/token)`, align: "left" },
  { header: "threads", value: (row) => row.threads },
  { header: "another process on a core", value: (row) => (row.contended ? "yes" : "no"), align: "left" },
  { header: "tokens/s (median)", value: (row) => row.tokens_per_second.toFixed(row.tokens_per_second < 100 ? 2 : 0) },
  { header: "min–max", value: (row) => `${row.tokens_per_second_min.toFixed(row.tokens_per_second < 100 ? 2 : 0)}–${row.tokens_per_second_max.toFixed(row.tokens_per_second < 100 ? 2 : 0)}` },
  { header: "÷ 1 thread quiet", value: (row) => "" + row.tokens_per_second.toFixed(2) },
  {
    header: "pool: jobs shared / too small to share / alone after a stall / stalls",
    value: (row) => (row.pool ? `${row.pool.sharedJobs} / ${row.pool.callerOnlyJobs ?? 0} / ${row.pool.soloJobs} / ${row.pool.stalls}` : ""),
    align: "left",
  },
];

/** The configuration each row is compared with: the same shape at 1 thread, quiet. */
function baselineOf(results: readonly DecodeChainResult[], row: DecodeChainResult): number {
  return results.find((candidate) => candidate.shape === row.shape && candidate.threads === 1 && !candidate.contended)?.tokens_per_second ?? Number.NaN;
}

/** The markdown table of a decode-chain run. */
export function decodeChainTable(results: readonly DecodeChainResult[]): string {
  const relative = columns.map((column) =>
    column.header === "÷ 1 thread quiet" ? { ...column, value: (row: DecodeChainResult) => (row.tokens_per_second / baselineOf(results, row)).toFixed(2) } : column,
  );
  return markdownTable(results, relative);
}

/** Writes `<name>.md`, `<name>.json` and `<name>.svg` into `directory`; returns the paths. */
export function writeDecodeChainReport(directory: string, name: string, results: readonly DecodeChainResult[], machine: MachineInfo, command: string, load: string): string[] {
  const labels = [...new Set(results.map((row) => `${row.shape} ${row.threads} thread${row.threads > 1 ? "s" : ""}`))];
  const series = [false, true].map((contended) => ({
    name: contended ? "another process spinning on a core" : "quiet",
    color: contended ? "#d8853a" : "#1f5fa8",
    values: labels.map((label) => {
      const row = results.find((candidate) => `${candidate.shape} ${candidate.threads} thread${candidate.threads > 1 ? "s" : ""}` === label && candidate.contended === contended);
      return row ? row.tokens_per_second / baselineOf(results, row) : Number.NaN;
    }),
  }));
  const markdown = [
    `# Decode chain: the native thread pool at a decode step's rhythm`,
    ``,
    `Machine: ${describeMachine(machine)}; native kernels: ${results[0]?.isa ?? "unknown"}. Date: ${machine.date}. Load before the run: ${load}.`,
    `Command: \`${command}\`.`,
    ``,
    `One token is the chain of GEMVs a Llama decode step runs (q, k, v, o, gate, up, down per layer, then the LM head)`,
    `on random weights packed as models pack them; attention, norms and sampling are left out. "tiny" has stories260K's`,
    `shapes (per-op overhead dominates), "1b" Llama 3.2 1B's in q8_0 (memory-bound). "Another process on a core": a`,
    `child process spins on one core during those runs. Configurations are interleaved within every repetition; medians.`,
    `The pool columns: jobs a helper took part in / jobs too small to share (under 128 KiB of weights × tokens, run on the`,
    `caller) / jobs the caller ran alone while backing off after a stall / stalls detected (a helper descheduled in the`,
    `middle of a task), summed over the measured runs.`,
    ``,
    decodeChainTable(results),
    ``,
    `![decode chain](${name}.svg)`,
    ``,
  ].join("\n");
  return writeReportFiles(directory, {
    [`${name}.md`]: markdown,
    [`${name}.json`]: reportJson({ machine, command, load, results }),
    [`${name}.svg`]: barChartSvg({ title: "Decode chain: tokens/s ÷ the same shape at 1 thread, quiet", unit: "×", labels, series, reference: { value: 1, label: "1 thread, quiet" } }),
  });
}
