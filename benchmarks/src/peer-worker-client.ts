// The benchmark's handle on an engine worker: starts peer-worker.ts in a child process (same Node flags, so the
// TypeScript loader comes along), sends one request at a time and waits for its reply; errors in the worker and an
// early exit become rejected promises that name the engine.

import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { EngineName, WorkerReply, WorkerRequest } from "./peer-protocol.ts";

const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "peer-worker.ts");

export class PeerWorker {
  private waiting: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | undefined;
  private exited: string | undefined;

  private constructor(readonly engine: EngineName, private readonly child: ChildProcess) {
    child.on("message", (reply: WorkerReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (!waiting) return;
      if (reply.kind === "error") waiting.reject(new Error(`${engine} worker: ${reply.message}`));
      else waiting.resolve(reply);
    });
    child.on("exit", (code, signal) => {
      this.exited = `exited (${signal ?? `code ${code}`})`;
      this.waiting?.reject(new Error(`${engine} worker ${this.exited} before answering`));
      this.waiting = undefined;
    });
  }

  /** Starts a worker; `environment` adds to this process's environment (e.g. INFER_NATIVE_ISA). */
  static start(engine: EngineName, environment: NodeJS.ProcessEnv = {}): PeerWorker {
    const child = fork(workerPath, [engine], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...environment } });
    return new PeerWorker(engine, child);
  }

  /** Sends `request` and resolves with the worker's reply of the expected kind. */
  request<Kind extends WorkerReply["kind"]>(request: WorkerRequest, expected: Kind): Promise<Extract<WorkerReply, { kind: Kind }>> {
    if (this.exited) return Promise.reject(new Error(`${this.engine} worker ${this.exited}`));
    if (this.waiting) return Promise.reject(new Error(`${this.engine} worker: one request at a time`));
    return new Promise((resolve, reject) => {
      this.waiting = {
        resolve: (reply) => (reply.kind === expected ? resolve(reply as Extract<WorkerReply, { kind: Kind }>) : reject(new Error(`${this.engine} worker answered ${reply.kind}, expected ${expected}`))),
        reject,
      };
      this.child.send(request);
    });
  }

  /** Asks the worker to release its model and exit; kills it if it has not exited after `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ kind: "exit" } satisfies WorkerRequest);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
