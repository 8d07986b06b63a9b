// Command-line options of a text-generation recipe (`pnpm recipe <name> ...`), parsed and checked up front so a
// typo is a one-line message naming the option, not a stack trace halfway through loading a model.

import { parseArgs } from "node:util";

export type QuantizationChoice = "f32" | "f16" | "bf16" | "q8_0" | "q4_0";
const QUANTIZATIONS: readonly QuantizationChoice[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];

export interface GenerationArguments {
  /** Path (folder, .gguf, llama2.c .bin) or hub repo id, optionally `repo:file.gguf`; undefined: the recipe's default. */
  model?: string;
  /** undefined: no --prompt given (interactive chat on a terminal); "" generates from BOS. */
  prompt?: string;
  system?: string;
  chat: boolean;
  maxTokens?: number;
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  quant?: QuantizationChoice;
  threads?: number;
  backend?: "native" | "reference";
  json: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export const GENERATION_USAGE = `options:
  --model PATH|REPO[:FILE]  a folder with config.json + *.safetensors, a .gguf or llama2.c .bin file, or a hub repo id
  --prompt TEXT             generate once from TEXT ("" starts from BOS); without it a terminal opens a chat
  --chat                    wrap --prompt in the model's chat template
  --system TEXT             system message for --chat and interactive chat
  --max-tokens N            tokens to generate at most (default 256)
  --temperature T           0 = greedy (the recipe sets the default)
  --top-k K  --top-p P  --min-p P  --repetition-penalty R
  --seed S                  makes sampling reproducible
  --quant f32|f16|bf16|q8_0|q4_0   convert weights on load
  --threads N               native kernel threads (default: physical cores)
  --backend native|reference
  --json                    print one JSON object (ids, text, tokens/s) as the last line of stdout
  --help`;

function number(name: string, text: string | undefined, check: (value: number) => boolean, expected: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) throw new UsageError(`--${name} must be ${expected}, got "${text}"`);
  return value;
}

const integer = (minimum: number) => (value: number) => Number.isInteger(value) && value >= minimum;

export function parseGenerationArguments(argv: readonly string[], defaults: { temperature: number }): GenerationArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: "string" },
        prompt: { type: "string" },
        system: { type: "string" },
        chat: { type: "boolean" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        "min-p": { type: "string" },
        "repetition-penalty": { type: "string" },
        seed: { type: "string" },
        quant: { type: "string" },
        threads: { type: "string" },
        backend: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  const quant = values.quant as QuantizationChoice | undefined;
  if (quant !== undefined && !QUANTIZATIONS.includes(quant)) throw new UsageError(`--quant must be one of ${QUANTIZATIONS.join(", ")}, got "${quant}"`);
  const backend = values.backend;
  if (backend !== undefined && backend !== "native" && backend !== "reference") throw new UsageError(`--backend must be native or reference, got "${backend}"`);
  return {
    model: values.model,
    prompt: values.prompt,
    system: values.system,
    chat: Boolean(values.chat),
    maxTokens: number("max-tokens", values["max-tokens"], integer(1), "an integer ≥ 1"),
    temperature: number("temperature", values.temperature, (value) => value >= 0, "a number ≥ 0") ?? defaults.temperature,
    topK: number("top-k", values["top-k"], integer(0), "an integer ≥ 0"),
    topP: number("top-p", values["top-p"], (value) => value > 0 && value <= 1, "in (0, 1]"),
    minP: number("min-p", values["min-p"], (value) => value >= 0 && value < 1, "in [0, 1)"),
    repetitionPenalty: number("repetition-penalty", values["repetition-penalty"], (value) => value > 0, "a number > 0"),
    seed: number("seed", values.seed, Number.isInteger, "an integer"),
    quant,
    threads: number("threads", values.threads, integer(1), "an integer ≥ 1"),
    backend,
    json: Boolean(values.json),
    help: Boolean(values.help),
  };
}
