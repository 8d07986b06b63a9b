// WorkerModelHost without HTTP, on the tiny model in real worker threads: what it reports before and after loading,
// prepare and generate with their answers (prepared ids as an array, the body transferred only when it is a whole
// buffer, refusals as ApiErrors, failures as Errors), streaming callbacks, cancellation before and after submission,
// cancelAll, close; and after its model worker dies, the failure everywhere (503s, onFailure once, no info); a load
// that fails in the prompt worker after the model worker is ready, or stops with the model worker's exit; requests
// after close refused, and a close while loading failing the load. (worker-host-protocol.test.ts plays every order of
// worker messages against stand-in workers.)

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ApiError, ModelLoadError, WorkerModelHost, type GenerationOutcome, type PreparedRequest } from "../src/index.ts";
import { file, tokenizer } from "./helpers.ts";
import type { TinyLoadOptions } from "./tiny-loader.ts";

const loaderModule = new URL("./tiny-loader.ts", import.meta.url);
const body = (json: unknown) => new TextEncoder().encode(JSON.stringify(json));
const completion = (maxTokens: number): PreparedRequest => ({
  kind: "completion",
  parameters: { stop: [], stream: false, includeUsage: false, temperature: 0, maxTokens },
  promptIds: tokenizer.encode("ab ba"),
});
const open = () => ({ signal: new AbortController().signal });

describe("a loaded WorkerModelHost", () => {
  let host: WorkerModelHost;
  beforeAll(async () => {
    host = WorkerModelHost.start({ loaderModule, loadOptions: { file, blockCount: 64 } satisfies TinyLoadOptions });
    expect(host.info()).toBeUndefined();
    expect(host.health()).toBeUndefined();
    await host.ready;
  });
  afterAll(() => host.close());

  it("reports the model, its summary and counters once ready", async () => {
    expect(await host.ready).toEqual(host.info());
    expect(host.info()).toMatchObject({ id: "tiny-llama", contextLength: 96, hasChatTemplate: true });
    expect(host.summary).toBe("tiny model in a worker");
    expect(host.health()).toMatchObject({ running: 0, waiting: 0, kvCache: { totalBlocks: 63, usedBlocks: 0 } });
    expect(host.failureReason()).toBeUndefined();
  });

  it("prepares requests in the prompt worker: ids as an array; a whole buffer is transferred, a view into one is copied", async () => {
    const whole = body({ prompt: "ab ba", max_tokens: 3 });
    const prepared = await host.prepare("completion", whole);
    expect(prepared).toEqual({ kind: "completion", parameters: expect.objectContaining({ maxTokens: 3 }), promptIds: tokenizer.encode("ab ba") });
    expect(Array.isArray(prepared.promptIds)).toBe(true);
    expect(whole.byteLength).toBe(0); // transferred
    const padded = new Uint8Array(64);
    const text = body({ prompt: "ab" });
    padded.set(text, 8);
    const view = padded.subarray(8, 8 + text.length);
    expect((await host.prepare("completion", view)).promptIds).toEqual(tokenizer.encode("ab"));
    expect(view.byteLength).toBe(text.length); // still there
  });

  it("answers a refused preparation with the ApiError", async () => {
    const error = await host.prepare("chat", body({ messages: [] })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).toData()).toMatchObject({ status: 400, param: "messages", message: "'messages' must be a non-empty array of {role, content}" });
  });

  it("generates with onAccepted once, the text streamed, and the outcome", async () => {
    let accepted = 0;
    let streamed = "";
    const outcome = await host.generate("g1", completion(5), { ...open(), onAccepted: () => accepted++, onText: (text) => (streamed += text) });
    expect(accepted).toBe(1);
    expect(outcome).toMatchObject({ completionTokens: 5, finishReason: "length", promptTokens: tokenizer.encode("ab ba").length });
    expect(streamed).toBe(outcome.text);
  });

  it("answers a refused generation with the ApiError and a failed one with an Error", async () => {
    let accepted = false;
    const refused = await host.generate("big", completion(500), { ...open(), onAccepted: () => (accepted = true) }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).toData()).toMatchObject({ status: 400, param: "max_tokens", code: "context_length_exceeded" });
    expect(accepted).toBe(false);
    const broken = await host.generate("broken", { kind: "completion", promptIds: [1] } as unknown as PreparedRequest, open()).catch((caught: unknown) => caught);
    expect(broken).toBeInstanceOf(Error);
    expect(broken).not.toBeInstanceOf(ApiError);
    expect((broken as Error).message).toMatch(/Cannot (destructure|read properties)/);
  });

  it("cancels a request whose signal aborts, before or after it was sent, and all requests with cancelAll", async () => {
    const before = new AbortController();
    before.abort();
    expect((await host.generate("before", completion(60), { signal: before.signal })).finishReason).toBe("cancelled");
    const after = new AbortController();
    const running = host.generate("after", completion(60), { signal: after.signal, onAccepted: () => after.abort() });
    expect((await running).finishReason).toBe("cancelled");
    const all: Array<Promise<GenerationOutcome>> = ["x", "y"].map((id) => host.generate(id, completion(60), open()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    host.cancelAll();
    expect((await Promise.all(all)).map((outcome) => outcome.finishReason)).toEqual(["cancelled", "cancelled"]);
  });
});

describe("a WorkerModelHost whose model worker dies", () => {
  it("fails the open request, reports once, and refuses everything after with 503", async () => {
    const failures: Error[] = [];
    const host = WorkerModelHost.start({ loaderModule, loadOptions: { file, exitAtStep: 1 } satisfies TinyLoadOptions, onFailure: (error) => failures.push(error) });
    await host.ready;
    const open = await host.generate("dies", completion(5), { signal: new AbortController().signal }).catch((caught: unknown) => caught);
    expect(open).toBeInstanceOf(Error);
    expect((open as Error).message).toBe("the model worker exited (code 3)");
    expect(failures.map((error) => error.message)).toEqual(["the model worker exited (code 3)"]);
    expect(host.failureReason()).toBe("the model worker exited (code 3)");
    expect(host.info()).toBeUndefined();
    for (const refused of [host.prepare("completion", body({ prompt: "a" })), host.generate("later", completion(1), { signal: new AbortController().signal })]) {
      const error = await refused.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).toData()).toEqual({ status: 503, type: "server_error", code: "model_unavailable", param: null, message: "the model is not available: the model worker exited (code 3)" });
    }
    host.cancelAll(); // nothing to cancel, and no worker to ask
    await host.close();
    expect(failures).toHaveLength(1);
  });
});

describe("a WorkerModelHost stopping or failing around its load", () => {
  it("fails the load when the prompt worker fails after the model worker is ready, and when the model worker exits while loading", async () => {
    const modelLoaded = new Int32Array(new SharedArrayBuffer(4));
    const host = WorkerModelHost.start({ loaderModule, loadOptions: { file, failPromptLoadingAfterModel: modelLoaded } satisfies TinyLoadOptions });
    const error = await host.ready.catch((caught: unknown) => caught);
    expect(Atomics.load(modelLoaded, 0)).toBe(1);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error).toMatchObject({ exitCode: 1, message: `error: ${file}: no tokenizer: this is a test` });
    expect(host.info()).toBeUndefined();
    const exiting = WorkerModelHost.start({ loaderModule, loadOptions: { file, exitWhileLoading: true } satisfies TinyLoadOptions });
    const exited = await exiting.ready.catch((caught: unknown) => caught);
    expect(exited).toBeInstanceOf(ModelLoadError);
    expect((exited as ModelLoadError).message).toBe("the model worker exited (code 3)");
  });

  it("refuses requests once closed, and a close while loading fails the load", async () => {
    const host = WorkerModelHost.start({ loaderModule, loadOptions: { file } satisfies TinyLoadOptions });
    await host.ready;
    await host.close();
    for (const refused of [host.prepare("completion", body({ prompt: "a" })), host.generate("late", completion(1), open())]) {
      const error = await refused.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).toData()).toEqual({ status: 503, type: "server_error", code: "model_unavailable", param: null, message: "the model is not available: the model host is closed" });
    }
    const early = WorkerModelHost.start({ loaderModule, loadOptions: { file } satisfies TinyLoadOptions });
    await early.close();
    const error = await early.ready.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).message).toBe("the model host was closed before the model loaded");
  });
});
