// Runs a TypeScript entry point in a child Node process (with tsx's loader) the way a launcher should: asynchronously,
// passing SIGINT, SIGTERM and SIGHUP on to the child, and exiting with the child's status — its exit code, or
// 128 + the signal's number when a signal ended it (the shell's convention). A supervisor (systemd, Docker, a CI job)
// that signals the launcher's PID thus reaches the program, which stops cleanly instead of being orphaned.
// Plain JavaScript so it starts before any TypeScript tooling is involved.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { pathToFileURL } from "node:url";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The file URL of tsx's loader, resolved from the repository (node --import <it> runs .ts files). */
function tsxLoader() {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  } catch (error) {
    process.stderr.write(`could not find tsx (${error.message}); run pnpm install first\n`);
    process.exit(1);
  }
}

/** Runs `file` with `args` under Node with tsx; never returns (exits with the child's status). */
export function runTypeScript(file, args) {
  const child = spawn(process.execPath, ["--import", tsxLoader(), file, ...args], { stdio: "inherit", cwd: process.cwd() });
  const forward = (signal) => {
    // Ctrl-C in a terminal already reaches the child (same process group): passing it on would deliver it twice.
    if (signal === "SIGINT" && process.stdin.isTTY) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.on("error", (error) => {
    process.stderr.write(`could not start ${process.execPath} (${error.message})\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
  });
}
