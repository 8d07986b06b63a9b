// Reads the JSON body of /v1/completions and /v1/chat/completions into checked parameters. Every wrong field is a 400
// naming it (OpenAI's "param"); fields this server cannot honour (n > 1, logprobs, echo, penalties other than
// repetition_penalty) are refused rather than silently ignored; unknown fields are ignored, as OpenAI does.

import type { ChatMessage } from "@infer-recipes/tokenizer";

import { invalidField } from "./api-error.ts";
import type { ImageReference } from "./image-input.ts";

/** The fields both endpoints share, checked and renamed to camelCase. */
export interface SamplingParameters {
  /** "model": must name the served model when given. */
  model?: string;
  /** "max_tokens" (or "max_completion_tokens"): tokens to generate at most. */
  maxTokens?: number;
  /** "temperature" (0 = greedy). */
  temperature?: number;
  /** "top_p". */
  topP?: number;
  /** "top_k" (an extension OpenAI lacks; vLLM accepts it). */
  topK?: number;
  /** "min_p" (extension). */
  minP?: number;
  /** "repetition_penalty" (extension). */
  repetitionPenalty?: number;
  /** "seed": reproducible sampling. */
  seed?: number;
  /** "stop": strings that end generation (one string or a list). */
  stop: string[];
  /** "stream": answer with server-sent events. */
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the token counts. */
  includeUsage: boolean;
}

/** A checked /v1/completions request. */
export interface CompletionParameters extends SamplingParameters {
  /** Text, or token ids. */
  prompt: string | number[];
}

/** A checked /v1/chat/completions request. */
export interface ChatParameters extends SamplingParameters {
  /** A message's content is its text, or — when it has image_url parts — a list of {type: "text", text} and
   *  {type: "image"} parts in the request's order (the form vision models' chat templates read). */
  messages: ChatMessage[];
  /** The image_url parts, in order of appearance. */
  images: ImageReference[];
}

type Body = Record<string, unknown>;

function isObject(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as the client wrote it, for messages. JSON numbers past ±1.8e308 (e.g. 1e400) parse to ±Infinity, which
 *  JSON.stringify would show as "null". */
function describeValue(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return `${value < 0 ? "-" : ""}a number too large to represent (beyond ±1.8e308)`;
  return JSON.stringify(value);
}

function optionalNumber(body: Body, field: string, check: (value: number) => boolean, expected: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || !check(value)) {
    throw invalidField(field, `'${field}' must be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

const integerAtLeast = (minimum: number) => (value: number) => Number.isInteger(value) && value >= minimum;

function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidField(field, `'${field}' must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

function refuseUnsupported(body: Body): void {
  const n = optionalNumber(body, "n", integerAtLeast(1), "an integer ≥ 1");
  if (n !== undefined && n !== 1) throw invalidField("n", `'n' = ${n} is not supported: this server returns one choice per request`);
  const bestOf = optionalNumber(body, "best_of", integerAtLeast(1), "an integer ≥ 1");
  if (bestOf !== undefined && bestOf !== 1) throw invalidField("best_of", `'best_of' = ${bestOf} is not supported`);
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) throw invalidField("logprobs", "'logprobs' is not supported");
  if (body.echo === true) throw invalidField("echo", "'echo' is not supported");
  for (const field of ["presence_penalty", "frequency_penalty"]) {
    const value = optionalNumber(body, field, (v) => v >= -2 && v <= 2, "a number in [-2, 2]");
    if (value !== undefined && value !== 0) throw invalidField(field, `'${field}' is not supported; use 'repetition_penalty' (> 1 discourages repeats)`);
  }
}

function readStop(body: Body): string[] {
  const stop = body.stop;
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
    throw invalidField("stop", `'stop' must be a string or an array of strings, got ${JSON.stringify(stop)}`);
  }
  if (list.length > 4) throw invalidField("stop", `'stop' takes at most 4 strings, got ${list.length}`);
  return (list as string[]).filter((item) => item.length > 0);
}

function readSampling(body: Body): SamplingParameters {
  refuseUnsupported(body);
  if (body.model !== undefined && body.model !== null && typeof body.model !== "string") {
    throw invalidField("model", `'model' must be a string, got ${JSON.stringify(body.model)}`);
  }
  const maxTokens = optionalNumber(body, "max_tokens", integerAtLeast(1), "an integer ≥ 1");
  const maxCompletionTokens = optionalNumber(body, "max_completion_tokens", integerAtLeast(1), "an integer ≥ 1");
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    throw invalidField("stream_options", `'stream_options' must be an object, got ${JSON.stringify(streamOptions)}`);
  }
  const stream = optionalBoolean(body, "stream") ?? false;
  const includeUsage = streamOptions ? optionalBoolean(streamOptions, "include_usage") ?? false : false;
  return {
    model: (body.model as string | undefined) ?? undefined,
    maxTokens: maxCompletionTokens ?? maxTokens,
    temperature: optionalNumber(body, "temperature", (v) => v >= 0 && v <= 2, "a number in [0, 2]"),
    topP: optionalNumber(body, "top_p", (v) => v > 0 && v <= 1, "a number in (0, 1]"),
    topK: optionalNumber(body, "top_k", (v) => Number.isInteger(v) && v >= -1, "an integer ≥ -1 (-1 or 0: off)"),
    minP: optionalNumber(body, "min_p", (v) => v >= 0 && v < 1, "a number in [0, 1)"),
    repetitionPenalty: optionalNumber(body, "repetition_penalty", (v) => v > 0, "a number > 0"),
    seed: optionalNumber(body, "seed", Number.isInteger, "an integer"),
    stop: readStop(body),
    stream,
    includeUsage,
  };
}

/** Parses the raw body text; a 400 when it is not a JSON object. */
export function parseJsonBody(text: string): Body {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidField("body", `the request body is not valid JSON: ${(error as Error).message}`, "invalid_json");
  }
  if (!isObject(value)) throw invalidField("body", `the request body must be a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`);
  return value;
}

/** Checks a /v1/completions body; an {@link ApiError} 400 naming the first field at fault. */
export function readCompletionParameters(body: Record<string, unknown>): CompletionParameters {
  const sampling = readSampling(body);
  let prompt = body.prompt;
  if (prompt === undefined || prompt === null) throw invalidField("prompt", "'prompt' is required");
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") prompt = prompt[0];
  if (Array.isArray(prompt)) {
    if (prompt.length === 0) throw invalidField("prompt", "'prompt' must not be an empty array");
    if (prompt.some((item) => typeof item === "string" || Array.isArray(item))) {
      throw invalidField("prompt", "'prompt' with several prompts is not supported: send one request per prompt");
    }
    if (prompt.some((item) => !Number.isInteger(item) || (item as number) < 0)) throw invalidField("prompt", "'prompt' as an array must hold token ids (integers ≥ 0)");
    return { ...sampling, prompt: prompt as number[] };
  }
  if (typeof prompt !== "string") throw invalidField("prompt", `'prompt' must be a string or an array of token ids, got ${JSON.stringify(prompt)}`);
  return { ...sampling, prompt };
}

/** The URL of an image_url part: {"image_url": {"url": ...}} as OpenAI sends it, or {"image_url": "..."}. */
function imageUrlOf(part: Body, where: string): string {
  const value = part.image_url;
  const url = isObject(value) ? value.url : value;
  if (typeof url !== "string" || url === "") throw invalidField(`${where}.image_url`, `'image_url' must be {"url": "data:image/...;base64,..."}, got ${JSON.stringify(value)}`);
  return url;
}

/** Message content: a string, or an array of text parts (joined) and image_url parts (kept as {type: "image"}). */
function messageContent(content: unknown, index: number, images: ImageReference[]): string | Array<{ type: "text"; text: string } | { type: "image" }> {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const parts = content.map((part, partIndex) => {
      const where = `messages[${index}].content[${partIndex}]`;
      if (isObject(part) && part.type === "text" && typeof part.text === "string") return { type: "text" as const, text: part.text };
      if (isObject(part) && (part.type === "image_url" || part.type === "input_image")) {
        images.push({ url: imageUrlOf(part, where), source: where });
        return { type: "image" as const };
      }
      throw invalidField(where, `only text and image_url content parts are supported, got ${JSON.stringify(isObject(part) ? part.type : part)}`);
    });
    if (parts.every((part) => part.type === "text")) return parts.map((part) => (part as { text: string }).text).join("");
    return parts;
  }
  throw invalidField(`messages[${index}].content`, `'content' must be a string or an array of text and image_url parts, got ${JSON.stringify(content)}`);
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

/** Checks a /v1/chat/completions body; an {@link ApiError} 400 naming the first field at fault. */
export function readChatParameters(body: Record<string, unknown>): ChatParameters {
  const sampling = readSampling(body);
  const messages = body.messages;
  if (messages === undefined || messages === null) throw invalidField("messages", "'messages' is required");
  if (!Array.isArray(messages) || messages.length === 0) throw invalidField("messages", "'messages' must be a non-empty array of {role, content}");
  const images: ImageReference[] = [];
  const read: ChatMessage[] = messages.map((message, index) => {
    if (!isObject(message)) throw invalidField(`messages[${index}]`, `each message must be an object {role, content}, got ${JSON.stringify(message)}`);
    if (typeof message.role !== "string" || !ROLES.has(message.role)) {
      throw invalidField(`messages[${index}].role`, `'role' must be one of ${[...ROLES].join(", ")}, got ${JSON.stringify(message.role)}`);
    }
    // The developer role is OpenAI's new name for system.
    return { role: message.role === "developer" ? "system" : message.role, content: messageContent(message.content ?? "", index, images) };
  });
  return { ...sampling, messages: read, images };
}
