// The two worker roles (worker-roles.ts) in this thread, on a stand-in port: the messages they answer with — ready,
// load failures (the loader's one-line message or a stack), per-step updates carrying accepted requests, streamed text,
// outcomes, refusals and failures, cancellation of one or all requests, close; and the prompt role's prepared,
// refused and failed answers. (worker.test.ts runs them in real threads.)

import { EventEmitter } from "node:events";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { LocalModelHost, type PreparedRequest } from "../src/index.ts";
import type { FromModelWorker, FromPromptWorker, WorkerStart } from "../src/worker-protocol.ts";
import { runModelWorker, runPromptWorker } from "../src/worker-roles.ts";
import { directory, file, tokenizer } from "./helpers.ts";
import { loadServedModel, type TinyLoadOptions } from "./tiny-loader.ts";

const loaderModule = new URL("./tiny-loader.ts", import.meta.url).href;

/** A stand-in for a worker's parentPort: what the role posts is kept; `send` delivers a message to the role. */
class FakePort<Message extends { kind: string }> extends EventEmitter {
  readonly sent: Message[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  postMessage(message: Message): void {
    this.sent.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }
  close(): void {
    this.closed = true;
  }
  send(message: unknown): void {
    this.emit("message", message);
  }
  /** Waits until a posted message satisfies `test`; returns it. */
  async until<T extends Message>(test: (message: Message) => message is T): Promise<T>;
  async until(test: (message: Message) => boolean): Promise<Message>;
  async until(test: (message: Message) => boolean): Promise<Message> {
    for (;;) {
      const found = this.sent.find(test);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

type Update = Extract<FromModelWorker, { kind: "update" }>;

async function modelRole(loadOptions: Partial<TinyLoadOptions> = {}, loader = loaderModule): Promise<FakePort<FromModelWorker>> {
  const port = new FakePort<FromModelWorker>();
  await runModelWorker(port, { role: "model", loaderModule: loader, loadOptions: { file, ...loadOptions } } satisfies WorkerStart);
  return port;
}

const request = (parameters: Partial<PreparedRequest["parameters"]>, promptIds = tokenizer.encode("ab ba")) => ({
  kind: "completion" as const,
  parameters: { stop: [], stream: false, includeUsage: false, temperature: 0, ...parameters },
  promptIds: Int32Array.from(promptIds),
});

/** Everything the updates said about request `id` once it finished. */
async function finished(port: FakePort<FromModelWorker>, id: string): Promise<{ accepted: boolean; text: string; end: Update["finished"][number] }> {
  await port.until((message) => message.kind === "update" && message.finished.some((entry) => entry.id === id));
  const updates = port.sent.filter((message): message is Update => message.kind === "update");
  return {
    accepted: updates.some((update) => update.accepted.includes(id)),
    text: updates.flatMap((update) => update.texts.filter(([textId]) => textId === id).map(([, text]) => text)).join(""),
    end: updates.flatMap((update) => update.finished).find((entry) => entry.id === id)!,
  };
}

describe("the model role", () => {
  it("says it is ready with the model's info, summary and counters", async () => {
    const port = await modelRole({ blockCount: 33 });
    expect(port.sent).toHaveLength(1);
    const ready = port.sent[0] as Extract<FromModelWorker, { kind: "ready" }>;
    expect(ready.kind).toBe("ready");
    expect(ready.summary).toBe("tiny model in a worker");
    expect(ready.info).toEqual({ id: "tiny-llama", contextLength: 96, limits: { maxPromptTokens: 95, longestTokenCharacters: expect.any(Number) }, hasChatTemplate: true, imageBodyBytes: undefined });
    expect(ready.health).toMatchObject({ running: 0, waiting: 0, kvCache: { blockSize: 4, totalBlocks: 32, usedBlocks: 0 }, completed: 0 });
    port.send({ kind: "close" });
    await port.until((message) => message.kind === "closed");
  });

  it("runs a request: accepted, its text in the updates, then its outcome — the same as in this thread", async () => {
    const port = await modelRole();
    port.send({ kind: "generate", id: "g1", request: request({ maxTokens: 5 }) });
    const { accepted, text, end } = await finished(port, "g1");
    const local = new LocalModelHost(loadServedModel({ file }));
    const alone = await local.generate("x", { ...request({ maxTokens: 5 }), promptIds: tokenizer.encode("ab ba") }, { signal: new AbortController().signal });
    expect(accepted).toBe(true);
    expect(end.outcome).toMatchObject({ text: alone.text, completionTokens: 5, finishReason: "length", promptTokens: alone.promptTokens });
    // The text is streamed in the updates whether the client streams or not (the HTTP thread decides what to send).
    expect(text).toBe(alone.text);
    port.send({ kind: "generate", id: "g2", request: request({ maxTokens: 5, stream: true }) });
    const second = await finished(port, "g2");
    expect(second.text).toBe(alone.text);
    expect(second.end.outcome!.text).toBe(alone.text);
    const last = port.sent.at(-1) as Update;
    expect(last.health).toMatchObject({ running: 0, completed: 2 });
    port.send({ kind: "close" });
    await port.until((message) => message.kind === "closed");
    expect(port.closed).toBe(true);
  });

  it("answers refusals as ApiError data and other errors as failures", async () => {
    const port = await modelRole();
    port.send({ kind: "generate", id: "big", request: request({ maxTokens: 500 }) });
    const { accepted, end } = await finished(port, "big");
    expect(accepted).toBe(false);
    expect(end.outcome).toBeUndefined();
    expect(end.refusal).toMatchObject({ status: 400, param: "max_tokens", type: "invalid_request_error", code: "context_length_exceeded" });
    port.send({ kind: "generate", id: "broken", request: { kind: "completion", promptIds: Int32Array.of(1) } });
    const broken = await finished(port, "broken");
    expect(broken.end.refusal).toBeUndefined();
    expect(broken.end.failure?.message).toMatch(/Cannot (destructure|read properties)/);
    expect(broken.end.failure?.stack).toMatch(/generateOnScheduler/);
    port.send({ kind: "close" });
    await port.until((message) => message.kind === "closed");
  });

  it("cancels one request, or all of them", async () => {
    const port = await modelRole();
    port.send({ kind: "generate", id: "one", request: request({ maxTokens: 80 }) });
    port.send({ kind: "cancel", id: "one" });
    port.send({ kind: "cancel", id: "unknown" });
    expect((await finished(port, "one")).end.outcome).toMatchObject({ finishReason: "cancelled" });
    for (const id of ["a", "b"]) port.send({ kind: "generate", id, request: request({ maxTokens: 80 }) });
    port.send({ kind: "cancel-all" });
    for (const id of ["a", "b"]) expect((await finished(port, id)).end.outcome?.finishReason).toBe("cancelled");
    port.send({ kind: "close" });
    const closed = await port.until((message) => message.kind === "closed");
    expect(closed).toEqual({ kind: "closed" });
    expect((port.sent.filter((message) => message.kind === "update").at(-1) as Update).health).toMatchObject({ running: 0, waiting: 0, cancelled: 3 });
  });

  it("reports a failed load with the loader's one-line message and exit code, or the stack of a bug", async () => {
    const expected = await modelRole({ failLoading: "expected" });
    expect(expected.sent).toEqual([{ kind: "load-failed", failure: { message: `error: ${file}: bad magic: this is a test`, exitCode: 1 } }]);
    const bug = await modelRole({ failLoading: "bug" });
    const failure = (bug.sent[0] as Extract<FromModelWorker, { kind: "load-failed" }>).failure;
    expect(failure).toMatchObject({ message: "a bug while loading" });
    expect(failure.exitCode).toBeUndefined();
    expect(failure.stack).toMatch(/loadServedModel/);
    const notALoader = new URL("../src/api-error.ts", import.meta.url).href;
    const wrong = await modelRole({}, notALoader);
    expect(wrong.sent).toEqual([{ kind: "load-failed", failure: { message: `${notALoader} must export loadServedModel and loadPromptText (see serving-loader.ts)`, stack: expect.stringMatching(/TypeError/) } }]);
  });
});

describe("the prompt role", () => {
  async function promptRole(loadOptions: Partial<TinyLoadOptions> = {}): Promise<FakePort<FromPromptWorker>> {
    const port = new FakePort<FromPromptWorker>();
    await runPromptWorker(port, { role: "prompt", loaderModule, loadOptions: { file, ...loadOptions } });
    return port;
  }
  const body = (json: unknown) => new TextEncoder().encode(typeof json === "string" ? json : JSON.stringify(json));

  it("is ready once the tokenizer is loaded, and refuses to prepare until it has the model's info", async () => {
    const port = await promptRole();
    expect(port.sent).toEqual([{ kind: "ready" }]);
    port.send({ kind: "prepare", id: 7, endpoint: "completion", body: body({ prompt: "ab" }) });
    expect(await port.until((message) => message.kind === "refused")).toEqual({
      kind: "refused",
      id: 7,
      refusal: { status: 503, message: "the model is still loading", param: null, type: "server_error", code: "model_loading" },
    });
  });

  it("prepares requests, refuses bad ones with their field, and reports bugs as failures", async () => {
    const port = await promptRole();
    const info = new LocalModelHost(loadServedModel({ file })).info();
    port.send({ kind: "info", info });
    port.send({ kind: "prepare", id: 1, endpoint: "completion", body: body({ prompt: "ab ba", max_tokens: 3 }) });
    const prepared = await port.until((message) => message.kind === "prepared");
    expect(prepared).toMatchObject({ kind: "prepared", id: 1, request: { kind: "completion", parameters: { maxTokens: 3, stop: [], stream: false } } });
    expect(Array.from((prepared as Extract<FromPromptWorker, { kind: "prepared" }>).request.promptIds)).toEqual(tokenizer.encode("ab ba"));
    expect((prepared as Extract<FromPromptWorker, { kind: "prepared" }>).request.promptIds).toBeInstanceOf(Int32Array);

    port.send({ kind: "prepare", id: 2, endpoint: "chat", body: body({ messages: [{ role: "wizard", content: "x" }] }) });
    expect(await port.until((message) => message.kind === "refused" && message.id === 2)).toMatchObject({ refusal: { status: 400, param: "messages[0].role" } });
    port.send({ kind: "prepare", id: 3, endpoint: "completion", body: 5 });
    const failed = await port.until((message) => message.kind === "failed");
    expect(failed).toMatchObject({ kind: "failed", id: 3, failure: { message: expect.any(String), stack: expect.any(String) } });
  });

  it("reports a tokenizer that cannot be loaded", async () => {
    const missing = path.join(directory, "missing.gguf");
    const port = await promptRole({ file: missing });
    expect(port.sent).toHaveLength(1);
    expect(port.sent[0]).toMatchObject({ kind: "load-failed", failure: { message: expect.stringMatching(/missing\.gguf/), exitCode: 1 } });
  });
});
