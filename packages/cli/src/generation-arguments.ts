// Command-line options of a text-generation recipe (`pnpm recipe <name> ...`), parsed and checked up front so a
// typo is a one-line message naming the option, not a stack trace halfway through loading a model.

import { parseArgs, type ParseArgsConfig } from "node:util";

import { MAXIMUM_THREADS, cacheDTypes, isCacheDType, type CacheDType } from "@infer-recipes/kernel";

import { resolveModelArgument } from "./user-paths.ts";

/** The weight formats `--quant` converts to on load. */
export type QuantizationChoice = "f32" | "f16" | "bf16" | "q8_0" | "q4_0";
const QUANTIZATIONS: readonly QuantizationChoice[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];

/** A text recipe's command line, parsed and checked by {@link parseGenerationArguments}. */
export interface GenerationArguments {
  /** Path (folder, .gguf, llama2.c .bin) or hub repo id, optionally `repo:file.gguf`; undefined: the recipe's default. */
  model?: string;
  /** undefined: no --prompt given (interactive chat on a terminal); "" generates from BOS. */
  prompt?: string;
  /** --system: the system message of --chat and of the interactive chat. */
  system?: string;
  /** --chat: wrap the prompt in the model's chat template. */
  chat: boolean;
  /** --raw: send --prompt as is even where the recipe chats by default. */
  raw: boolean;
  /** --max-tokens: tokens to generate at most (undefined: the engine's default, up to the context). */
  maxTokens?: number;
  /** --temperature (0 = greedy), or the recipe's default. */
  temperature: number;
  /** --top-k: sample among the k most likely tokens (0 = off). */
  topK?: number;
  /** --top-p: sample from the smallest set of tokens whose probability reaches p. */
  topP?: number;
  /** --min-p: drop tokens less likely than min-p × the most likely one's probability. */
  minP?: number;
  /** --repetition-penalty: divide positive (multiply negative) logits of tokens already seen by this. */
  repetitionPenalty?: number;
  /** --seed: makes sampling reproducible. */
  seed?: number;
  /** --quant: convert weights to this format on load. */
  quant?: QuantizationChoice;
  /** --kv-cache-dtype: element type of the KV cache (undefined: the recipe's default). */
  kvCacheDType?: CacheDType;
  /** --threads: native kernel threads (undefined: INFER_THREADS or the physical cores). */
  threads?: number;
  /** --backend (undefined: INFER_BACKEND, or native when the addon loads). */
  backend?: "native" | "reference";
  /** --json: print one JSON summary ({@link GenerationSummary}) as the last line of stdout. */
  json: boolean;
  /** --help / -h: print the usage and exit. */
  help: boolean;
  /** Serve an OpenAI-compatible HTTP API instead of generating once. */
  serve: boolean;
  /** --serve: port to listen on (0 picks a free one). */
  port: number;
  /** --serve: address to listen on. */
  host: string;
  /** --serve: requests decoded together at most. */
  maxBatch: number;
  /** --serve: tokens one batched step runs at most (decodes plus prefill chunks). */
  maxBatchTokens: number;
  /** --serve: requests waiting for a place in the batch at most; more get HTTP 429. */
  queueLimit: number;
  /** --serve: positions the paged KV cache holds over all requests (undefined: sized from --max-batch). */
  cacheTokens?: number;
  /** --serve: required as `Authorization: Bearer KEY` (--api-key, else the INFER_API_KEY environment variable). */
  apiKey?: string;
  /** --serve: host names accepted in the Host header besides IP addresses and localhost (DNS-rebinding guard). */
  allowedHosts: string[];
  /** --serve: web origins allowed to call from a browser (CORS). */
  corsOrigins: string[];
  /** --serve: seconds open requests get to finish after SIGTERM/SIGINT before they are cancelled. */
  shutdownGraceSeconds: number;
  /** Values of the recipe's own options (see parseGenerationArguments' extraOptions), by option name. */
  extra?: Record<string, string | boolean | string[] | undefined>;
}

/** A command-line mistake: an unknown option or a value out of range, with the option's name in the message. */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override name = "UsageError";
}

/** The options section of a text recipe's `--help`, one line per option. */
export const GENERATION_USAGE = `options:
  --model PATH|REPO[:FILE]  a folder with config.json + *.safetensors, a .gguf or llama2.c .bin file, or a hub repo id
  --prompt TEXT             generate once from TEXT ("" starts from BOS); without it a terminal opens a chat
  --chat                    wrap --prompt in the model's chat template
  --raw                     send --prompt as is, without the chat template (for recipes that chat by default)
  --system TEXT             system message for --chat and interactive chat
  --max-tokens N            tokens to generate at most (default 256)
  --temperature T           0 = greedy (the recipe sets the default)
  --top-k K  --top-p P  --min-p P  --repetition-penalty R
  --seed S                  makes sampling reproducible
  --quant f32|f16|bf16|q8_0|q4_0   convert weights on load
  --kv-cache-dtype f32|f16|bf16|q8_0|q4_0   element type of the KV cache (the recipe sets the default): q8_0 takes
                            0.27× the memory of f32, q4_0 0.14×; also for --serve
  --threads N               native kernel threads, 1..256 (default: physical cores)
  --backend native|reference
  --json                    print one JSON object (ids, text, tokens/s) as the last line of stdout
  --serve                   serve an OpenAI-compatible API (POST /v1/completions, /v1/chat/completions;
                            GET /v1/models, /health) with continuous batching instead of generating once
  --port P                  --serve: port (default 8000; 0 picks a free one)
  --host H                  --serve: address (default 127.0.0.1; 0.0.0.0 for the network)
  --max-batch N             --serve: requests decoded together at most (default 16)
  --max-batch-tokens N      --serve: tokens per batched step at most, decodes plus prefill chunks (default 256)
  --queue-limit N           --serve: waiting requests at most before answering 429 (default 64)
  --cache-tokens N          --serve: KV cache positions over all requests (default: max-batch × 4096, ≤ 2 GiB)
  --api-key KEY             --serve: require 'Authorization: Bearer KEY' on /v1 routes (or set INFER_API_KEY)
  --allowed-hosts A,B       --serve: host names clients may use besides IP addresses and localhost (".x.com":
                            its subdomains too; "*": any, no DNS-rebinding guard)
  --cors-origin ORIGIN      --serve: a web origin (https://app.example.com) allowed to call from a browser; repeatable
  --shutdown-grace S        --serve: seconds open requests get to finish on SIGTERM/SIGINT (default 10)
  --help
paths are relative to the folder you run the command from`;

function number(name: string, text: string | undefined, check: (value: number) => boolean, expected: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) throw new UsageError(`--${name} must be ${expected}, got "${text}"`);
  return value;
}

function requireText(name: string, text: string | undefined): string | undefined {
  if (text !== undefined && text.trim() === "") throw new UsageError(`--${name} must not be empty`);
  return text;
}

const integer = (minimum: number) => (value: number) => Number.isInteger(value) && value >= minimum;

/** Options a recipe adds to the shared ones (parseArgs' option syntax); their values come back in `extra`. */
export type ExtraOptions = NonNullable<ParseArgsConfig["options"]>;

/** A --cors-origin value, checked: "*" or an origin as browsers send it (scheme://host[:port], no path). */
function corsOrigin(text: string): string {
  if (text === "*") return text;
  let origin: string | undefined;
  try {
    origin = new URL(text).origin;
  } catch {
    origin = undefined;
  }
  if (!origin || origin === "null" || origin !== text.replace(/\/+$/, "").toLowerCase()) {
    throw new UsageError(`--cors-origin must be an origin such as https://app.example.com (scheme://host[:port], no path) or *, got "${text}"`);
  }
  return origin;
}

/**
 * Parses a text recipe's command line; throws a {@link UsageError} naming the option for an unknown option or a
 * value out of range, before anything is loaded. Paths (--model) come back absolute, relative to the folder the user
 * ran the command from (user-paths.ts); `environment` supplies INIT_CWD and INFER_API_KEY.
 *
 * @param defaults - what the recipe sets: its default sampling temperature.
 * @example
 * ```ts
 * import { parseGenerationArguments } from "@infer-recipes/cli";
 *
 * const args = parseGenerationArguments(["--prompt", "Hello", "--max-tokens", "16"], { temperature: 0.7 });
 * console.log(args.prompt, args.maxTokens, args.temperature); // Hello 16 0.7
 * ```
 */
export function parseGenerationArguments(
  argv: readonly string[],
  defaults: {
    /** Sampling temperature when --temperature is absent. */
    temperature: number;
    /** Nucleus sampling when --top-p is absent (undefined: off). */
    topP?: number;
  },
  environment: Readonly<Record<string, string | undefined>> = process.env,
  extraOptions: ExtraOptions = {},
): GenerationArguments {
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
        raw: { type: "boolean" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        "min-p": { type: "string" },
        "repetition-penalty": { type: "string" },
        seed: { type: "string" },
        quant: { type: "string" },
        "kv-cache-dtype": { type: "string" },
        threads: { type: "string" },
        backend: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        serve: { type: "boolean" },
        port: { type: "string" },
        host: { type: "string" },
        "max-batch": { type: "string" },
        "max-batch-tokens": { type: "string" },
        "queue-limit": { type: "string" },
        "cache-tokens": { type: "string" },
        "api-key": { type: "string" },
        "allowed-hosts": { type: "string", multiple: true },
        "cors-origin": { type: "string", multiple: true },
        "shutdown-grace": { type: "string" },
        ...extraOptions,
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.chat && values.raw) throw new UsageError("--chat and --raw contradict each other: give one");
  const quant = values.quant as QuantizationChoice | undefined;
  if (quant !== undefined && !QUANTIZATIONS.includes(quant)) throw new UsageError(`--quant must be one of ${QUANTIZATIONS.join(", ")}, got "${quant}"`);
  const kvCacheDType = values["kv-cache-dtype"];
  if (kvCacheDType !== undefined && !isCacheDType(kvCacheDType)) throw new UsageError(`--kv-cache-dtype must be one of ${cacheDTypes.join(", ")}, got "${kvCacheDType}"`);
  if (!values.serve) {
    for (const option of ["port", "host", "max-batch", "max-batch-tokens", "queue-limit", "cache-tokens", "api-key", "allowed-hosts", "cors-origin", "shutdown-grace"] as const) {
      if (values[option] !== undefined) throw new UsageError(`--${option} only applies with --serve`);
    }
  }
  if (values["api-key"] !== undefined && values["api-key"].trim() === "") throw new UsageError("--api-key must not be empty");
  const apiKey = values["api-key"] ?? (environment.INFER_API_KEY ? environment.INFER_API_KEY : undefined);
  const allowedHosts = (values["allowed-hosts"] ?? []).flatMap((list) => list.split(",")).map((host) => host.trim()).filter((host) => host !== "");
  for (const host of allowedHosts) {
    if (host !== "*" && !/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(host)) throw new UsageError(`--allowed-hosts takes host names such as api.example.com, .example.com or *, got "${host}"`);
  }
  const backend = values.backend;
  if (backend !== undefined && backend !== "native" && backend !== "reference") throw new UsageError(`--backend must be native or reference, got "${backend}"`);
  return {
    model: values.model === undefined ? undefined : resolveModelArgument(values.model, environment),
    prompt: values.prompt,
    system: values.system,
    chat: Boolean(values.chat),
    raw: Boolean(values.raw),
    maxTokens: number("max-tokens", values["max-tokens"], integer(1), "an integer ≥ 1"),
    temperature: number("temperature", values.temperature, (value) => value >= 0, "a number ≥ 0") ?? defaults.temperature,
    topK: number("top-k", values["top-k"], integer(0), "an integer ≥ 0"),
    topP: number("top-p", values["top-p"], (value) => value > 0 && value <= 1, "in (0, 1]") ?? defaults.topP,
    minP: number("min-p", values["min-p"], (value) => value >= 0 && value < 1, "in [0, 1)"),
    repetitionPenalty: number("repetition-penalty", values["repetition-penalty"], (value) => value > 0, "a number > 0"),
    seed: number("seed", values.seed, Number.isInteger, "an integer"),
    quant,
    kvCacheDType,
    threads: number("threads", values.threads, (value) => Number.isInteger(value) && value >= 1 && value <= MAXIMUM_THREADS, `an integer in 1..${MAXIMUM_THREADS}`),
    backend,
    json: Boolean(values.json),
    help: Boolean(values.help),
    serve: Boolean(values.serve),
    port: number("port", values.port, (value) => Number.isInteger(value) && value >= 0 && value <= 65535, "an integer in 0..65535") ?? 8000,
    host: requireText("host", values.host) ?? "127.0.0.1",
    maxBatch: number("max-batch", values["max-batch"], integer(1), "an integer ≥ 1") ?? 16,
    maxBatchTokens: number("max-batch-tokens", values["max-batch-tokens"], integer(1), "an integer ≥ 1") ?? 256,
    queueLimit: number("queue-limit", values["queue-limit"], integer(0), "an integer ≥ 0") ?? 64,
    cacheTokens: number("cache-tokens", values["cache-tokens"], integer(1), "an integer ≥ 1"),
    apiKey,
    allowedHosts,
    corsOrigins: (values["cors-origin"] ?? []).map(corsOrigin),
    shutdownGraceSeconds: number("shutdown-grace", values["shutdown-grace"], (value) => value >= 0 && value <= 86400, "a number of seconds in 0..86400") ?? 10,
    extra: Object.fromEntries(Object.keys(extraOptions).map((name) => [name, (values as Record<string, string | boolean | string[] | undefined>)[name]])),
  };
}
