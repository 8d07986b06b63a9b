// WorkerModelHost against stand-ins for its two worker threads (node:worker_threads' Worker replaced), so every order
// of worker messages and thread events can be played exactly (worker-host.test.ts and worker.test.ts run real
// threads): the workers it starts; a load that fails in either worker, or a worker that stops while loading, also after
// the other one is ready; prepare and generate with the protocol's messages and answers, and answers for requests no
// longer open ignored; cancelAll only to a loaded, running model worker; close — the close message, the wait for
// "closed" or the timeout (10 s unless set), one wait for two calls, no wait while loading or after a failure, workers
// stopping during or after a close not taken for a failure, requests refused afterwards and those left open failed, a
// "closed" it did not ask for ignored; a worker failing after load reported once, with its error. Timers are fake, and
// a promise still pending where it should have settled fails the test at once instead of hanging it.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError, ModelLoadError, WorkerModelHost, type GenerationOutcome, type HealthSnapshot, type ModelInfo, type PreparedRequest } from "../src/index.ts";
import type { FromModelWorker, FromPromptWorker, WorkerStart } from "../src/worker-protocol.ts";

/** A stand-in for a Worker: keeps what the host posts; the test emits its messages and events. */
const threads = vi.hoisted(() => {
  class FakeWorker {
    readonly received: unknown[] = [];
    readonly workerData: WorkerStart;
    terminated = 0;
    private readonly listeners = new Map<string, Array<(value: unknown) => void>>();
    constructor(
      readonly url: URL,
      options: { workerData: WorkerStart },
    ) {
      this.workerData = options.workerData;
      threads.started.push(this);
    }
    on(event: string, listener: (value: unknown) => void): this {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
      return this;
    }
    /** Delivers an event as the thread would; a listener's exception reaches the caller. */
    emit(event: string, value?: unknown): boolean {
      const listeners = this.listeners.get(event) ?? [];
      // A Worker 'error' with no listener is thrown, as EventEmitter does.
      if (event === "error" && listeners.length === 0) throw value;
      for (const listener of listeners) listener(value);
      return listeners.length > 0;
    }
    postMessage(message: unknown): void {
      this.received.push(message);
    }
    /** Like Worker.terminate: the thread ends ('exit', code 1) after the call returns. */
    terminate(): Promise<number> {
      this.terminated++;
      return Promise.resolve().then(() => {
        this.emit("exit", 1);
        return 1;
      });
    }
  }
  return { FakeWorker, started: [] as FakeWorker[] };
});
type FakeWorker = InstanceType<typeof threads.FakeWorker>;

vi.mock("node:worker_threads", async (importOriginal) => ({ ...(await importOriginal<object>()), Worker: threads.FakeWorker }));

const info: ModelInfo = { id: "fake", contextLength: 64, limits: { maxPromptTokens: 63, longestTokenCharacters: 4 }, hasChatTemplate: true };
const health = (running: number): HealthSnapshot => ({
  running,
  waiting: 0,
  kvCache: { blockSize: 4, totalBlocks: 8, usedBlocks: running, freeBlocks: 8 - running, cachedBlocks: 0, usedBytes: 0, totalBytes: 0 },
  completed: 0,
  cancelled: 0,
  failed: 0,
});
const outcome: GenerationOutcome = { text: "hi", completionTokens: 1, finishReason: "length", promptTokens: 2, cachedPromptTokens: 0, timeToFirstTokenMs: 1, totalMs: 2 };
const request: PreparedRequest = { kind: "completion", parameters: { stop: [], stream: false, includeUsage: false, temperature: 0, maxTokens: 1 }, promptIds: [1, 2] };
const open = () => ({ signal: new AbortController().signal });
const closedRefusal = { status: 503, type: "server_error", code: "model_unavailable", param: null, message: "the model is not available: the model host is closed" };

function start(options: { closeTimeoutMs?: number } = {}) {
  const failures: Error[] = [];
  threads.started.length = 0;
  const host = WorkerModelHost.start({ loaderModule: "file:///loader.ts", loadOptions: { file: "model.gguf" }, onFailure: (error) => failures.push(error), ...options });
  const [model, prompt] = threads.started as [FakeWorker, FakeWorker];
  const fromModel = (message: FromModelWorker) => model.emit("message", message);
  const fromPrompt = (message: FromPromptWorker) => prompt.emit("message", message);
  return { host, model, prompt, fromModel, fromPrompt, failures };
}

async function loaded(options: { closeTimeoutMs?: number } = {}) {
  const started = start(options);
  started.fromModel({ kind: "ready", info, summary: "fake model", health: health(0) });
  started.fromPrompt({ kind: "ready" });
  await settled(started.host.ready);
  return started;
}

/** Lets every pending promise callback run (no timer fires: they are fake). */
const settle = () => vi.advanceTimersByTimeAsync(0);
/** `promise`, once pending callbacks have run; fails at once if it is still pending (where a bug would hang). */
async function settled<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => undefined);
  await settle();
  if (!done) throw new Error("still pending: this would hang");
  return watched;
}
const rejection = (promise: Promise<unknown>) => settled(promise).then(() => "resolved", (error: unknown) => error);
/** Marks `promise`'s rejection handled now (the test looks at it later). */
const handled = <T>(promise: Promise<T>): Promise<T> => (promise.catch(() => undefined), promise);
const kinds = (worker: FakeWorker) => worker.received.map((message) => (message as { kind: string }).kind);
const refusalData = (error: unknown) => (error instanceof ApiError ? error.toData() : error);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("starting and loading", () => {
  it("starts a model worker and a prompt worker from the same loader module and load options, and tells the prompt worker the model", async () => {
    const { model, prompt, fromModel, fromPrompt, host } = start();
    expect(model.workerData).toEqual({ role: "model", loaderModule: "file:///loader.ts", loadOptions: { file: "model.gguf" } });
    expect(prompt.workerData).toEqual({ role: "prompt", loaderModule: "file:///loader.ts", loadOptions: { file: "model.gguf" } });
    fromModel({ kind: "ready", info, summary: "fake model", health: health(0) });
    expect(prompt.received).toEqual([{ kind: "info", info }]);
    expect(host.info()).toBeUndefined(); // the prompt worker is not ready yet
    fromPrompt({ kind: "ready" });
    expect(await settled(host.ready)).toEqual(info);
    expect(host.info()).toEqual(info);
  });

  it("fails the load with the prompt worker's failure, also when the model worker was ready first, and stops both workers", async () => {
    const { host, model, prompt, fromModel, fromPrompt, failures } = start();
    fromModel({ kind: "ready", info, health: health(0) });
    fromPrompt({ kind: "load-failed", failure: { message: "error: model.gguf: no tokenizer", exitCode: 1 } });
    const error = await rejection(host.ready);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error).toMatchObject({ message: "error: model.gguf: no tokenizer", exitCode: 1, workerStack: undefined });
    await settle();
    expect([model.terminated, prompt.terminated]).toEqual([1, 1]);
    expect(failures).toEqual([]); // a load failure is ready's to report
    expect(host.info()).toBeUndefined();
  });

  it("fails the load with the model worker's failure, also when the prompt worker was ready first, and stops both workers", async () => {
    const { host, model, prompt, fromModel, fromPrompt } = start();
    fromPrompt({ kind: "ready" });
    fromModel({ kind: "load-failed", failure: { message: "a bug", stack: "TypeError: a bug\n    at loadServedModel" } });
    expect(await rejection(host.ready)).toMatchObject({ name: "ModelLoadError", message: "a bug", exitCode: undefined, workerStack: "TypeError: a bug\n    at loadServedModel" });
    await settle();
    expect([model.terminated, prompt.terminated]).toEqual([1, 1]);
    // Requests are refused, not sent to stopped workers.
    expect(refusalData(await rejection(host.prepare("completion", new Uint8Array(2))))).toEqual(closedRefusal);
    expect(kinds(prompt)).toEqual([]);
  });

  it("fails the load when a worker stops while loading: its exit code, or its error", async () => {
    const exited = start();
    exited.fromModel({ kind: "ready", info, health: health(0) });
    exited.prompt.emit("exit", 3);
    const error = await rejection(exited.host.ready);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toBe("the prompt worker exited (code 3)");
    await settle();
    expect([exited.model.terminated, exited.prompt.terminated]).toEqual([1, 1]);

    const failed = start();
    failed.model.emit("error", new Error("out of memory"));
    expect(await rejection(failed.host.ready)).toMatchObject({ name: "ModelLoadError", message: "the model worker failed: out of memory" });
    expect(failed.failures).toEqual([]);
  });
});

describe("requests", () => {
  it("prepares in the prompt worker with one message per request and answers each with its own reply", async () => {
    const { host, prompt, fromPrompt } = await loaded();
    const body = new TextEncoder().encode('{"prompt":"ab"}');
    const first = host.prepare("completion", body);
    const second = handled(host.prepare("chat", new Uint8Array(3)));
    const third = handled(host.prepare("completion", new Uint8Array(1)));
    const sent = prompt.received.slice(1) as Array<{ kind: string; id: number; endpoint: string; body: Uint8Array }>;
    expect(sent.map(({ kind, endpoint }) => ({ kind, endpoint }))).toEqual([
      { kind: "prepare", endpoint: "completion" },
      { kind: "prepare", endpoint: "chat" },
      { kind: "prepare", endpoint: "completion" },
    ]);
    expect(sent[0]!.body).toBe(body);
    expect(new Set(sent.map(({ id }) => id)).size).toBe(3);
    const [a, b, c] = sent.map(({ id }) => id) as [number, number, number];
    // Answered out of order: each reply settles its own request.
    fromPrompt({ kind: "failed", id: c, failure: { message: "out of memory", stack: "RangeError: out of memory" } });
    fromPrompt({ kind: "refused", id: b, refusal: { status: 400, type: "invalid_request_error", code: "invalid_value", param: "messages", message: "bad messages" } });
    fromPrompt({ kind: "prepared", id: a, request: { ...request, promptIds: Int32Array.of(5, 6) } });
    const prepared = await settled(first);
    expect(prepared).toEqual({ ...request, promptIds: [5, 6] });
    expect(Array.isArray(prepared.promptIds)).toBe(true);
    const refused = await rejection(second);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refusalData(refused)).toMatchObject({ status: 400, param: "messages", message: "bad messages" });
    const failed = await rejection(third);
    expect(failed).toBeInstanceOf(Error);
    expect(failed).not.toBeInstanceOf(ApiError);
    expect((failed as Error).message).toBe("preparing the request failed: out of memory");
    // A second reply for a request already answered changes nothing.
    fromPrompt({ kind: "prepared", id: a, request: { ...request, promptIds: Int32Array.of(7) } });
    fromPrompt({ kind: "failed", id: c, failure: { message: "again" } });
  });

  it("generates in the model worker: accepted, text and the end from its updates; updates about requests no longer open are ignored", async () => {
    const { host, model, fromModel } = await loaded();
    const events: string[] = [];
    const stream = (id: string) => ({ ...open(), onAccepted: () => events.push(`${id} accepted`), onText: (text: string) => events.push(`${id}: ${text}`) });
    const done = host.generate("done", request, stream("done"));
    const failed = handled(host.generate("failed", request, stream("failed")));
    const unexplained = handled(host.generate("unexplained", request, stream("unexplained")));
    expect(model.received).toEqual([
      { kind: "generate", id: "done", request: { ...request, promptIds: Int32Array.of(1, 2) } },
      { kind: "generate", id: "failed", request: { ...request, promptIds: Int32Array.of(1, 2) } },
      { kind: "generate", id: "unexplained", request: { ...request, promptIds: Int32Array.of(1, 2) } },
    ]);
    fromModel({ kind: "update", accepted: ["done", "failed"], texts: [["done", "h"]], finished: [], health: health(2) });
    expect(host.health()).toEqual(health(2));
    fromModel({ kind: "update", accepted: ["unexplained"], texts: [["done", "i"]], finished: [{ id: "done", outcome }, { id: "failed", failure: { message: "NaN in the logits" } }, { id: "unexplained" }], health: health(0) });
    expect(await settled(done)).toEqual(outcome);
    expect(await rejection(failed)).toMatchObject({ message: "NaN in the logits" });
    const unexplainedError = await rejection(unexplained);
    expect(unexplainedError).not.toBeInstanceOf(ApiError);
    expect((unexplainedError as Error).message).toBe("the request failed");
    expect(events).toEqual(["done accepted", "failed accepted", "done: h", "unexplained accepted", "done: i"]);
    // A late update naming requests that have ended (or never were) is ignored.
    fromModel({ kind: "update", accepted: ["done", "nobody"], texts: [["done", "late"], ["nobody", "x"]], finished: [{ id: "done", outcome }, { id: "nobody" }], health: health(0) });
    expect(events).toHaveLength(5);
  });

  it("cancels one request when its signal aborts, once, before or after it was sent", async () => {
    const { host, model } = await loaded();
    const before = new AbortController();
    before.abort();
    void host.generate("before", request, { signal: before.signal });
    const after = new AbortController();
    void host.generate("after", request, { signal: after.signal });
    expect(kinds(model)).toEqual(["generate", "cancel", "generate"]);
    after.abort();
    after.abort();
    expect(model.received.slice(1)).toEqual([{ kind: "cancel", id: "before" }, expect.objectContaining({ id: "after" }), { kind: "cancel", id: "after" }]);
  });

  it("asks the model worker to cancel everything only once it is loaded and while it runs", async () => {
    const { host, model, fromModel, fromPrompt, failures } = start();
    host.cancelAll(); // still loading: nothing to cancel
    fromModel({ kind: "ready", info, health: health(0) });
    fromPrompt({ kind: "ready" });
    await settled(host.ready);
    host.cancelAll();
    expect(model.received).toEqual([{ kind: "cancel-all" }]);
    model.emit("exit", 9);
    expect(failures.map((error) => error.message)).toEqual(["the model worker exited (code 9)"]);
    host.cancelAll(); // the worker is gone
    expect(model.received).toEqual([{ kind: "cancel-all" }]);
  });
});

describe("a worker failing after load", () => {
  it("fails what is open with the worker's error, reports it once (the exit that follows is no second failure) and refuses requests with a 503", async () => {
    const { host, model, prompt, failures } = await loaded();
    const generating = handled(host.generate("g", request, open()));
    const preparing = handled(host.prepare("completion", new Uint8Array(2)));
    prompt.emit("error", new Error("out of memory"));
    prompt.emit("exit", 1);
    expect(failures.map((error) => error.message)).toEqual(["the prompt worker failed: out of memory"]);
    expect(host.failureReason()).toBe("the prompt worker failed: out of memory");
    expect(host.info()).toBeUndefined();
    expect(await rejection(generating)).toBe(failures[0]);
    expect(await rejection(preparing)).toBe(failures[0]);
    await settle();
    expect([model.terminated, prompt.terminated]).toEqual([1, 1]);
    expect(failures).toHaveLength(1);
    expect(refusalData(await rejection(host.generate("later", request, open())))).toEqual({
      status: 503,
      type: "server_error",
      code: "model_unavailable",
      param: null,
      message: "the model is not available: the prompt worker failed: out of memory",
    });
    await settled(host.close()); // no close message to a failed worker, no wait
    expect(kinds(model)).toEqual(["generate"]);
  });
});

describe("close", () => {
  it("asks the model worker to close, waits for 'closed', then stops both workers; a second close waits for the same", async () => {
    const { host, model, prompt, fromModel } = await loaded();
    let done = 0;
    const first = host.close().then(() => done++);
    const second = host.close().then(() => done++);
    await settle();
    expect(model.received).toEqual([{ kind: "close" }]);
    expect([model.terminated, prompt.terminated, done]).toEqual([0, 0, 0]);
    fromModel({ kind: "update", accepted: [], texts: [], finished: [], health: health(0) });
    fromModel({ kind: "closed" });
    await settled(Promise.all([first, second]));
    expect([model.terminated, prompt.terminated, done]).toEqual([1, 1, 2]);
    expect(vi.getTimerCount()).toBe(0); // no close timer left to hold the process
  });

  it("stops the workers after 10 s when the model worker does not answer, or after closeTimeoutMs", async () => {
    for (const [options, timeoutMs] of [[{}, 10_000], [{ closeTimeoutMs: 50 }, 50]] as const) {
      const { host, model, prompt } = await loaded(options);
      const closing = host.close();
      await vi.advanceTimersByTimeAsync(timeoutMs - 1);
      expect([model.terminated, prompt.terminated]).toEqual([0, 0]);
      await vi.advanceTimersByTimeAsync(1);
      await settled(closing);
      expect([model.terminated, prompt.terminated]).toEqual([1, 1]);
    }
  });

  it("while loading, stops both workers at once without asking the model worker, and fails the load", async () => {
    const { host, model, prompt, fromModel, failures } = start();
    fromModel({ kind: "ready", info, health: health(0) });
    await settled(host.close());
    expect([model.terminated, prompt.terminated]).toEqual([1, 1]);
    expect(model.received).toEqual([]);
    const error = await rejection(host.ready);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toBe("the model host was closed before the model loaded");
    expect(failures).toEqual([]);
  });

  it("does not take a worker stopping during or after the close for a failure", async () => {
    const { host, model, prompt, fromModel, failures } = await loaded();
    const closing = host.close();
    prompt.emit("exit", 0); // e.g. the process is going down
    fromModel({ kind: "closed" });
    await settled(closing);
    await settle(); // the exits that terminate() causes
    expect(failures).toEqual([]);
    expect(host.failureReason()).toBeUndefined();
    expect(model.terminated).toBe(1);
  });

  it("refuses requests once closing, and fails with a 503 what is still open when the workers are stopped", async () => {
    const { host, fromModel } = await loaded();
    const preparing = handled(host.prepare("completion", new Uint8Array(2)));
    const generating = handled(host.generate("g", request, open()));
    const closing = host.close();
    for (const refused of [handled(host.prepare("completion", new Uint8Array(2))), handled(host.generate("late", request, open()))]) {
      const error = await rejection(refused);
      expect(error).toBeInstanceOf(ApiError);
      expect(refusalData(error)).toEqual(closedRefusal);
    }
    fromModel({ kind: "closed" }); // without finishing "g" (its answer would have come first)
    await settled(closing);
    for (const error of [await rejection(preparing), await rejection(generating)]) {
      expect(error).toBeInstanceOf(ApiError);
      expect(refusalData(error)).toEqual(closedRefusal);
    }
  });

  it("ignores a 'closed' message it did not ask for", async () => {
    const { host, model, fromModel } = await loaded();
    fromModel({ kind: "closed" });
    expect(model.terminated).toBe(0);
    expect(host.info()).toEqual(info);
  });
});
