// Runs a command to its end without blocking the event loop, for tests and benchmarks that drive a recipe the way
// a user does. A synchronous spawn would freeze the calling thread for the whole run: vitest's worker then misses its
// runner's RPC deadline ("Timeout calling onTaskUpdate") on a loaded machine, and a benchmark's progress stops.
// startServerProcess starts a long-running one (a recipe's --serve) and waits, also without blocking, until it says
// where it serves.

import { spawn } from "node:child_process";

/** What a finished command left behind. */
export interface CommandResult {
  /** Exit status, or null when a signal ended it (then `signal` says which). */
  status: number | null;
  /** The signal that ended the command, or null when it exited by itself. */
  signal: NodeJS.Signals | null;
  /** Everything it wrote to standard output, decoded as UTF-8. */
  stdout: string;
  /** Everything it wrote to standard error, decoded as UTF-8. */
  stderr: string;
  /** True when `timeoutMilliseconds` passed and the command was killed. */
  timedOut: boolean;
}

/** Where and how long a command runs. */
export interface CommandOptions {
  /** The working directory (default: this process's). */
  cwd?: string;
  /** The environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Killed with SIGKILL after this long (default: no limit). */
  timeoutMilliseconds?: number;
}

/**
 * Runs `command` with `args` and resolves once it exits and its output is read. Rejects only when the command cannot
 * be started (not found, not executable); a non-zero exit is a result, not an error.
 *
 * @example
 * ```ts
 * import { runCommand } from "@infer-recipes/harness";
 *
 * const run = await runCommand("node", ["--version"]);
 * console.log(run.status, run.stdout.trim()); // 0 v20.…
 * ```
 */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer =
      options.timeoutMilliseconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMilliseconds);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

/** A server started by {@link startServerProcess}. */
export interface ServerProcess {
  /** The first capture of `readyPattern` in its standard error (its URL); rejects when it exits or times out first. */
  url: Promise<string>;
  /** Sends `signal` (default SIGINT) and resolves with the exit status. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Its standard error so far. */
  stderr(): string;
}

/** How {@link startServerProcess} runs a server and knows it is ready. */
export interface ServerProcessOptions extends Omit<CommandOptions, "timeoutMilliseconds"> {
  /** Matched against its standard error; the first capture group is the URL. */
  readyPattern: RegExp;
  /** How long to wait for `readyPattern` before `url` rejects (default 120 s). */
  readyTimeoutMilliseconds?: number;
}

/**
 * Starts `command` as a server and resolves its URL once its standard error matches `readyPattern`.
 *
 * @example
 * ```ts
 * import { startServerProcess } from "@infer-recipes/harness";
 *
 * const server = startServerProcess("pnpm", ["recipe", "llama-3.2-3b", "--serve", "--port", "0"], { readyPattern: /serving ".*" on (http:\/\/\S+)/ });
 * const health = await fetch(`${await server.url}/health`);
 * await server.stop();
 * ```
 */
export function startServerProcess(command: string, args: readonly string[], options: ServerProcessOptions): ServerProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on("close", (status) => resolve(status)));
  const timeout = options.readyTimeoutMilliseconds ?? 120_000;
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${options.readyPattern} within ${timeout / 1000} s:\n${stderr}`)), timeout);
    child.stderr.on("data", () => {
      const match = options.readyPattern.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${status}:\n${stderr}`));
    });
  });
  url.catch(() => {}); // a caller that never awaits the URL (it stopped the server first) is not an unhandled rejection
  return {
    url,
    stop: (signal = "SIGINT") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    stderr: () => stderr,
  };
}
