// The `pnpm convert` command line (convert-cli.ts runs it): arguments, progress lines and the summary, with the
// process's streams, environment and exit status passed in so that every part runs in a test.
//   pnpm convert <hf-model-directory> <out.gguf> [--quant q8_0] [--name NAME]
// Relative paths are taken from the directory pnpm was run in (INIT_CWD), not the repository root.

import path from "node:path";

import { convertSafetensorsToGguf, ggufQuantizations, type GgufQuantization } from "./convert.ts";
import { ModelFileError } from "./errors.ts";

export const convertUsage = `usage: convert-cli <hf-model-directory> <out.gguf> [--quant ${ggufQuantizations.join("|")}] [--name NAME]
  Converts a Hugging Face Llama model (config.json + *.safetensors) to GGUF. Default --quant q8_0.
  Each tensor gets the type llama-quantize would give it: q4_0 and q4_k_m keep the output matrix (or a tied
  token_embd) in q6_k (q8_0 when its rows are not whole 256-value blocks); q4_k_m puts half of the attn_v and
  ffn_down matrices in q6_k and the other matrices in q4_k.`;

/** What the command converts, from its arguments. */
export interface ConvertArguments {
  /** The model directory, absolute. */
  modelDirectory: string;
  /** The GGUF file to write, absolute. */
  outputPath: string;
  /** The scheme (default q8_0). */
  quant: GgufQuantization;
  /** general.name, when given. */
  name?: string;
}

/** Where relative paths start: INIT_CWD (the directory `pnpm convert` was run in) when it is absolute, else `cwd`. */
export function userBaseDirectory(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const initCwd = env.INIT_CWD;
  return initCwd !== undefined && path.isAbsolute(initCwd) ? initCwd : cwd;
}

/** The arguments, or "help" for --help / -h; anything else wrong is an Error whose message says what (and the usage). */
export function parseConvertArguments(argv: readonly string[], base: string): ConvertArguments | "help" {
  const positional: string[] = [];
  let quant = "q8_0";
  let name: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === "--help" || argument === "-h") return "help";
    if (argument === "--quant" || argument === "--name") {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${argument} needs a value\n${convertUsage}`);
      if (argument === "--quant") quant = value;
      else name = value;
    } else if (argument.startsWith("--quant=")) {
      quant = argument.slice("--quant=".length);
    } else if (argument.startsWith("-")) {
      throw new Error(`unknown option ${argument}\n${convertUsage}`);
    } else {
      positional.push(argument);
    }
  }
  if (positional.length !== 2) throw new Error(`expected 2 paths, got ${positional.length}\n${convertUsage}`);
  if (!(ggufQuantizations as readonly string[]).includes(quant)) throw new Error(`--quant must be one of ${ggufQuantizations.join(", ")}, got "${quant}"`);
  const [modelDirectory, outputPath] = positional.map((item) => path.resolve(base, item));
  return { modelDirectory, outputPath, quant: quant as GgufQuantization, ...(name === undefined ? {} : { name }) };
}

/** Where progress goes: a terminal gets one line rewritten in place, anything else a line every 10 %. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** A progress callback (bytes written, total) that writes "writing tensors  42% (1.2 / 3.4 MB)" once per percent. */
export function convertProgressReporter(stream: ProgressStream): (written: number, total: number) => void {
  let lastPercent = -1;
  return (written, total) => {
    const percent = total === 0 ? 100 : Math.floor((written / total) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);
    const line = `writing tensors ${String(percent).padStart(3)}% (${megabytes(written)} / ${megabytes(total)} MB)`;
    if (stream.isTTY) stream.write(`\r${line}${percent === 100 ? "\n" : ""}`);
    else if (percent % 10 === 0) stream.write(`${line}\n`);
  };
}

/** The process the command talks to. */
export interface ConvertCommandIo {
  /** A line of output (the usage, the summary). */
  log(line: string): void;
  /** A line of error output. */
  error(line: string): void;
  /** Where progress goes. */
  progress: ProgressStream;
  /** The environment (INIT_CWD) and the working directory, for relative paths. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Milliseconds, for the time the conversion took. */
  now(): number;
}

/** Runs the command; returns the exit status (0 done or help, 1 an error, printed as one line). */
export function runConvertCommand(argv: readonly string[], io: ConvertCommandIo): number {
  try {
    const options = parseConvertArguments(argv, userBaseDirectory(io.env, io.cwd));
    if (options === "help") {
      io.log(convertUsage);
      return 0;
    }
    const started = io.now();
    const result = convertSafetensorsToGguf(options.modelDirectory, options.outputPath, {
      quant: options.quant,
      ...(options.name === undefined ? {} : { name: options.name }),
      onProgress: convertProgressReporter(io.progress),
    });
    const counts = new Map<string, number>();
    for (const tensor of result.tensors) counts.set(tensor.dtype, (counts.get(tensor.dtype) ?? 0) + 1);
    const summary = [...counts].map(([dtype, count]) => `${count} ${dtype}`).join(", ");
    io.log(`wrote ${result.outputPath}: ${result.tensors.length} tensors (${summary}) in ${((io.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    io.error(error instanceof ModelFileError ? `error: ${error.message}` : error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/** Runs the command on this process's arguments and streams, and sets its exit status. */
export function runConvertCommandLine(): void {
  process.exitCode = runConvertCommand(process.argv.slice(2), {
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    progress: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => performance.now(),
  });
}
