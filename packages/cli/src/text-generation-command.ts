// The body of a text-generation recipe's command line: parse options, load the model, then either generate once
// (streaming text to stdout, with --json a summary object as the last line), open an interactive chat that keeps
// its KV cache between turns (chat-session.ts), or with --serve run an OpenAI-compatible HTTP server
// (serve-command.ts). Expected failures (bad options, model not found, bad files, a prompt too long) end with a
// one-line message and a non-zero exit code, never a stack trace. A recipe that generates differently (speculative decoding) passes a GenerationMode:
// its own options, and the generator it builds once the model is loaded; everything else is shared.

import { createInterface } from "node:readline/promises";

import { generate, type GenerateOptions, type GenerationResult } from "@infer-recipes/engine";
import { createStreamDecoder, type ChatMessage } from "@infer-recipes/tokenizer";
import type { CacheDType } from "@infer-recipes/kernel";

import { encodeChatPrompt } from "./chat-prompt-ids.ts";
import { ChatSession } from "./chat-session.ts";
import { GENERATION_USAGE, UsageError, parseGenerationArguments, type ExtraOptions, type GenerationArguments } from "./generation-arguments.ts";
import { loadTextModel, type TextModel } from "./load-text-model.ts";
import type { RecipeMetadata } from "./recipe-metadata.ts";
import { describeFailure } from "./failures.ts";
import { runServer } from "./serve-command.ts";

/** A text-generation recipe: the shared metadata plus what its command line needs to generate. */
export interface TextRecipe extends RecipeMetadata {
  /** Sampling temperature when `--temperature` is absent (0 = greedy). */
  defaultTemperature: number;
  /** Nucleus sampling when --top-p is not given (chat models publish one, e.g. ChatGLM3's 0.8). */
  defaultTopP?: number;
  /** A chat model: --prompt goes through the chat template unless --raw (otherwise only with --chat). */
  chatByDefault?: boolean;
  /** Element type of the KV cache when --kv-cache-dtype is absent (default f32); each recipe says in its README why. */
  defaultKvCacheDType?: CacheDType;
}

/** How a command generates once its model is loaded: generate() by default, or what a GenerationMode prepares. */
export interface TextGenerator<Result extends GenerationResult = GenerationResult> {
  /** Generates from `promptIds` as the engine's generate does (same options, a result with at least its fields). */
  generate(model: TextModel["model"], promptIds: readonly number[], options: GenerateOptions): Promise<Result>;
  /** Text added to the statistics line on stderr after each generation. */
  describe?(result: Result): string;
  /** Fields added to the --json summary. */
  summarize?(result: Result): Record<string, unknown>;
}

/** A recipe's own way of generating: extra options (parsed and checked with the shared ones) and the generator it
 *  builds for the loaded model. */
export interface GenerationMode {
  /** The recipe's own command-line options (parseArgs syntax), parsed beside the shared ones; their values come in `extra`. */
  options: ExtraOptions;
  /** Lines appended to --help. */
  usage: string;
  /** Checks the recipe's options before anything is loaded; throws a UsageError. */
  check?(args: GenerationArguments): void;
  /** Builds the generator for the loaded model (may load more: a draft model). */
  prepare(textModel: TextModel, args: GenerationArguments, signal: AbortSignal): Promise<TextGenerator>;
  /** Why --serve is not available in this mode (undefined: it is). */
  serveUnsupported?: string;
}

const plainGenerator: TextGenerator = { generate: (model, promptIds, options) => generate(model, promptIds, options) };

/** The JSON object `--json` prints as the last line of stdout (snake_case, rounded to 0.01). */
export interface GenerationSummary {
  /** The model specifier as given (or the recipe's default). */
  model: string;
  /** The kernel backend that ran: "native" or "reference". */
  backend: string;
  /** Native kernel threads. */
  threads: number;
  /** Tokens in the prompt, after the chat template and BOS. */
  prompt_tokens: number;
  /** The generated token ids (stop tokens excluded). */
  token_ids: number[];
  /** The generated text. */
  text: string;
  /** Why generation ended: "stop", "length" or "cancelled". */
  finish_reason: string;
  /** Milliseconds from the start of prefill to the first generated token. */
  time_to_first_token_ms: number;
  /** Prompt tokens per second of prefill. */
  prefill_tokens_per_s: number;
  /** Generated tokens after the first, per second. */
  decode_tokens_per_s: number;
  /** Weight bytes streamed per second of decoding (decode tok/s × the bytes one step reads). */
  decode_gb_per_s: number;
  /** Element type of the KV cache the generation ran on. */
  kv_cache_dtype: CacheDType;
}

/** Prompt token ids: through the chat template with --chat, else the text with the tokenizer's BOS. */
export function promptIds(textModel: TextModel, messages: ChatMessage[] | string): number[] {
  const { tokenizer, chatTemplate } = textModel;
  if (typeof messages === "string") {
    const ids = tokenizer.encode(messages);
    if (ids.length === 0 && tokenizer.bosTokenId !== undefined) return [tokenizer.bosTokenId];
    return ids;
  }
  if (!chatTemplate) throw new UsageError(`${textModel.resolved.path} has no chat template; drop --chat to use a plain prompt`);
  return encodeChatPrompt(tokenizer, chatTemplate, messages).ids;
}

function summary(textModel: TextModel, result: GenerationResult, specifier: string): GenerationSummary {
  return {
    model: specifier,
    backend: textModel.kernel.backend.name,
    threads: textModel.kernel.backend.threads,
    prompt_tokens: result.promptTokens,
    token_ids: result.tokenIds,
    text: result.text,
    finish_reason: result.finishReason,
    time_to_first_token_ms: round(result.timeToFirstTokenMs),
    prefill_tokens_per_s: round(result.prefillTokensPerSecond),
    decode_tokens_per_s: round(result.decodeTokensPerSecond),
    decode_gb_per_s: round((result.decodeTokensPerSecond * textModel.decodeBytes) / 1e9),
    kv_cache_dtype: textModel.model.cacheDType,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function statistics(textModel: TextModel, result: GenerationResult, generator: TextGenerator): string {
  const extra = generator.describe?.(result);
  const gbps = (result.decodeTokensPerSecond * textModel.decodeBytes) / 1e9;
  return (
    `prompt ${result.promptTokens} tokens at ${result.prefillTokensPerSecond.toFixed(1)} tok/s, ` +
    `first token after ${result.timeToFirstTokenMs.toFixed(0)} ms; ${result.tokenIds.length} tokens at ` +
    `${result.decodeTokensPerSecond.toFixed(1)} tok/s (${gbps.toFixed(1)} GB/s of weights); ${result.finishReason}` +
    (extra ? `; ${extra}` : "")
  );
}

function samplingOptions(args: GenerationArguments) {
  return {
    temperature: args.temperature,
    topK: args.topK,
    topP: args.topP,
    minP: args.minP,
    repetitionPenalty: args.repetitionPenalty,
    seed: args.seed,
  };
}

/** Runs the command; returns the process exit code. */
export async function runTextGenerationCommand(recipe: TextRecipe, argv: readonly string[], mode?: GenerationMode): Promise<number> {
  let args: GenerationArguments;
  try {
    args = parseGenerationArguments(argv, { temperature: recipe.defaultTemperature, topP: recipe.defaultTopP }, process.env, mode?.options);
    mode?.check?.(args);
    if (args.serve && mode?.serveUnsupported) throw new UsageError(mode.serveUnsupported);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message} (pnpm recipe ${recipe.name} --help lists the options)\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(
      `${recipe.description}\n\nusage: pnpm recipe ${recipe.name} [options]\n${GENERATION_USAGE}${mode ? `\n${mode.usage}` : ""}\n\n` +
        `default model: ${recipe.defaultModel}${recipe.originalModel ? ` (the original: --model ${recipe.originalModel}, gated: set HF_TOKEN)` : ""}\n` +
        `default KV cache element type: ${recipe.defaultKvCacheDType ?? "f32"}\n` +
        `\nexamples:\n${recipe.examples.map((example) => `  ${example.command}\n      ${example.what}`).join("\n")}\n`,
    );
    return 0;
  }
  const specifier = args.model ?? recipe.defaultModel;
  const controller = new AbortController();
  try {
    // The recipe's default cache type, as plain data the serving workers receive too.
    args.kvCacheDType ??= recipe.defaultKvCacheDType;
    if (args.serve) return await runServer(args, specifier);
    const textModel = await loadTextModel(specifier, {
      quant: args.quant,
      kvCacheDType: args.kvCacheDType,
      threads: args.threads,
      backend: args.backend,
      progress: true,
      signal: controller.signal,
    });
    const generator = mode ? await mode.prepare(textModel, args, controller.signal) : plainGenerator;
    const interactive = args.prompt === undefined && process.stdin.isTTY && !args.json;
    if (interactive) return await chat(textModel, args, generator);
    const prompt = args.prompt ?? (process.stdin.isTTY ? "" : await readStandardInput());
    const wrapInTemplate = args.chat || (recipe.chatByDefault === true && !args.raw);
    const messages = wrapInTemplate ? [...(args.system ? [{ role: "system", content: args.system }] : []), { role: "user", content: prompt }] : prompt;
    const ids = promptIds(textModel, messages);
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    const result = await generator.generate(textModel.model, ids, {
      ...samplingOptions(args),
      maxTokens: args.maxTokens,
      stopTokenIds: textModel.stopTokenIds,
      decoder: createStreamDecoder(textModel.tokenizer, { contextIds: ids, skipSpecialTokens: true }),
      onText: args.json ? undefined : (text) => process.stdout.write(text),
      signal: controller.signal,
    });
    process.off("SIGINT", onInterrupt);
    if (!args.json) process.stdout.write("\n");
    process.stderr.write(`${statistics(textModel, result, generator)}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify({ ...summary(textModel, result, specifier), ...generator.summarize?.(result) })}\n`);
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    if (!failure) throw error;
    process.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\n$/, "");
}

/**
 * Interactive chat. Each turn re-renders the whole conversation through the chat template and reuses the KV cache
 * for the part of it that is unchanged (ChatSession), so only the new user message (and the template's headers) is
 * prefilled. /system sets the system message, /reset clears the conversation, Ctrl-C stops a reply and keeps the chat.
 */
async function chat(textModel: TextModel, args: GenerationArguments, generator: TextGenerator): Promise<number> {
  const session = new ChatSession(textModel, { system: args.system, generate: generator.generate });
  if (!session.templated) process.stderr.write("this model has no chat template: each line is a plain prompt continued from the last\n");
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  let generation: AbortController | undefined;
  readline.on("SIGINT", () => {
    if (generation) generation.abort();
    else readline.close();
  });
  process.stderr.write("chat: type a message; /system TEXT sets the system message, /reset clears the conversation, /exit or Ctrl-D quits, Ctrl-C stops a reply\n");
  for (;;) {
    let line: string;
    try {
      line = await readline.question("> ");
    } catch {
      break; // closed (Ctrl-D / Ctrl-C at the prompt)
    }
    const input = line.trim();
    if (input === "/exit") break;
    if (input === "/reset") {
      session.reset();
      continue;
    }
    if (input === "/system" || input.startsWith("/system ")) {
      const system = input.slice("/system".length).trim();
      session.setSystem(system === "" ? undefined : system);
      process.stderr.write(system === "" ? "[system message removed]\n" : "[system message set]\n");
      continue;
    }
    if (!input) continue;
    generation = new AbortController();
    try {
      const turn = await session.send(input, {
        ...samplingOptions(args),
        maxTokens: args.maxTokens ?? 1024,
        onText: (text) => process.stdout.write(text),
        signal: generation.signal,
      });
      process.stdout.write("\n");
      process.stderr.write(`[${statistics(textModel, turn.result, generator)}; ${turn.reusedTokens} of ${turn.promptTokens} prompt tokens reused from the cache]\n`);
    } catch (error) {
      const failure = describeFailure(error);
      if (!failure) throw error;
      process.stderr.write(`${failure.message}\n(use /reset to start a new conversation)\n`);
    } finally {
      generation = undefined;
    }
  }
  readline.close();
  return 0;
}
