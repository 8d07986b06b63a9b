// What the server tests share: a tiny random Llama written as GGUF (with its embedded tokenizer and chat template),
// loaded on the reference kernel; a slowed-down copy so a client can act while a request runs; an HTTP client that
// returns status, headers and body; SSE parsing; and a server started on a free port of 127.0.0.1.

import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import type { PagedKvCache } from "@infer-recipes/cache";
import { Kernel, createReferenceBackend } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights, randomLlamaTensors, tinyGgufTokenizerMetadata, tinyLlamaConfig, writeGgufModel } from "@infer-recipes/models";
import { Scheduler, type BatchEntry, type BatchLanguageModel, type SchedulerOptions } from "@infer-recipes/scheduler";
import { chatTemplateFromGgufMetadata, compileChatTemplate, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import { InferenceServer, type InferenceServerOptions, type ServedModel } from "../src/index.ts";

export const config = tinyLlamaConfig({ vocabSize: 352, contextLength: 96, eosTokenIds: [2] });
export const directory = mkdtempSync(path.join(tmpdir(), "server-test-"));
export const file = path.join(directory, "tiny.gguf");
writeGgufModel(file, config, randomLlamaTensors(config, 9), tinyGgufTokenizerMetadata(config.vocabSize));
export const loaded = loadModelWeights(file);
export const model = LlamaModel.fromLoadedWeights(loaded, new Kernel(createReferenceBackend()));
export const tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
export const chatTemplate = compileChatTemplate(chatTemplateFromGgufMetadata(loaded.metadata)!);

/** The tiny model made slow enough (busy-waits each step) that a client can act while its request runs. */
export class SlowModel implements BatchLanguageModel {
  readonly config = model.config;
  constructor(private readonly stepMilliseconds: number) {}
  forwardBatch(batch: readonly BatchEntry[], cache: PagedKvCache) {
    const until = performance.now() + this.stepMilliseconds;
    while (performance.now() < until) {
      // a step of a bigger model
    }
    return model.forwardBatch(batch, cache);
  }
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Sends a request (a JSON body unless `body` is a string, which goes as is); `headers` add to or replace the
 *  defaults (content-type: application/json when there is a body). */
export function send(server: InferenceServer, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const request = httpRequest(`${server.url}${route}`, { method, headers: { ...(payload ? { "content-type": "application/json" } : {}), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    request.on("error", reject);
    request.end(payload);
  });
}

/** The JSON payloads of an SSE body, and whether it ended with [DONE]. */
export function events(text: string): { chunks: any[]; done: boolean } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const lines = text.split("\n\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6));
  const done = lines[lines.length - 1] === "[DONE]";
  return { chunks: lines.filter((line) => line !== "[DONE]").map((line) => JSON.parse(line)), done };
}

export async function startServer(
  schedulerOptions: SchedulerOptions = {},
  stepMilliseconds = 0,
  blockCount = 64,
  serverOptions: Omit<InferenceServerOptions, "served" | "model"> = {},
): Promise<{ server: InferenceServer; scheduler: Scheduler }> {
  const batchModel = stepMilliseconds > 0 ? new SlowModel(stepMilliseconds) : model;
  const scheduler = new Scheduler(batchModel, model.createPagedCache({ blockCount, blockSize: 4 }), schedulerOptions);
  const served: ServedModel = { id: "tiny-llama", scheduler, tokenizer, chatTemplate, stopTokenIds: config.eosTokenIds, defaultTemperature: 0.7 };
  return { server: await InferenceServer.start({ port: 0, ...serverOptions, served }), scheduler };
}

export async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

process.on("exit", () => rmSync(directory, { recursive: true, force: true }));
