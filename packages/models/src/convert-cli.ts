#!/usr/bin/env tsx
// Command line for convertSafetensorsToGguf (`pnpm convert`):
//   pnpm convert <hf-model-directory> <out.gguf> [--quant q8_0]
// Relative paths are taken from the directory pnpm was run in (INIT_CWD), not the repository root.

import path from "node:path";

import { convertSafetensorsToGguf, ggufQuantizations, type GgufQuantization } from "./convert.ts";
import { ModelFileError } from "./errors.ts";

const usage = `usage: convert-cli <hf-model-directory> <out.gguf> [--quant ${ggufQuantizations.join("|")}] [--name NAME]
  Converts a Hugging Face Llama model (config.json + *.safetensors) to GGUF. Default --quant q8_0.
  Each tensor gets the type llama-quantize would give it: q4_0 and q4_k_m keep the output matrix (or a tied
  token_embd) in q6_k (q8_0 when its rows are not whole 256-value blocks); q4_k_m puts half of the attn_v and
  ffn_down matrices in q6_k and the other matrices in q4_k.`;

interface Arguments {
  modelDirectory: string;
  outputPath: string;
  quant: GgufQuantization;
  name?: string;
}

function parseArguments(argv: string[]): Arguments {
  const positional: string[] = [];
  let quant: string = "q8_0";
  let name: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === "--help" || argument === "-h") {
      console.log(usage);
      process.exit(0);
    } else if (argument === "--quant" || argument === "--name") {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${argument} needs a value\n${usage}`);
      if (argument === "--quant") quant = value;
      else name = value;
    } else if (argument.startsWith("--quant=")) {
      quant = argument.slice("--quant=".length);
    } else if (argument.startsWith("-")) {
      throw new Error(`unknown option ${argument}\n${usage}`);
    } else {
      positional.push(argument);
    }
  }
  if (positional.length !== 2) throw new Error(`expected 2 paths, got ${positional.length}\n${usage}`);
  if (!(ggufQuantizations as readonly string[]).includes(quant)) throw new Error(`--quant must be one of ${ggufQuantizations.join(", ")}, got "${quant}"`);
  // Relative to where the user ran `pnpm convert` (pnpm runs scripts from the repository root and passes the user's
  // folder as INIT_CWD), the rule @infer-recipes/cli's resolveUserPath applies to every recipe's paths.
  const base = process.env.INIT_CWD && path.isAbsolute(process.env.INIT_CWD) ? process.env.INIT_CWD : process.cwd();
  const [modelDirectory, outputPath] = positional.map((item) => path.resolve(base, item));
  return { modelDirectory, outputPath, quant: quant as GgufQuantization, ...(name === undefined ? {} : { name }) };
}

function progressReporter(): (written: number, total: number) => void {
  let lastPercent = -1;
  return (written, total) => {
    const percent = total === 0 ? 100 : Math.floor((written / total) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);
    const line = `writing tensors ${String(percent).padStart(3)}% (${megabytes(written)} / ${megabytes(total)} MB)`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${percent === 100 ? "\n" : ""}`);
    else if (percent % 10 === 0) process.stderr.write(`${line}\n`);
  };
}

function main(): void {
  const options = parseArguments(process.argv.slice(2));
  const started = performance.now();
  const result = convertSafetensorsToGguf(options.modelDirectory, options.outputPath, {
    quant: options.quant,
    ...(options.name === undefined ? {} : { name: options.name }),
    onProgress: progressReporter(),
  });
  const counts = new Map<string, number>();
  for (const tensor of result.tensors) counts.set(tensor.dtype, (counts.get(tensor.dtype) ?? 0) + 1);
  const summary = [...counts].map(([dtype, count]) => `${count} ${dtype}`).join(", ");
  console.log(`wrote ${result.outputPath}: ${result.tensors.length} tensors (${summary}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof ModelFileError ? `error: ${error.message}` : error instanceof Error ? error.message : String(error));
  process.exit(1);
}
