// runCommand: output, exit status, signals and the timeout of a child process, while this thread stays free.

import { describe, expect, it } from "vitest";

import { runCommand } from "../src/child-process.ts";

const node = process.execPath;

describe("runCommand", () => {
  it("returns the exit status and both output streams", async () => {
    const run = await runCommand(node, ["-e", "process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"]);
    expect(run).toEqual({ status: 3, signal: null, stdout: "out", stderr: "err", timedOut: false });
  });

  it("passes the working directory and the environment", async () => {
    const run = await runCommand(node, ["-e", "console.log(process.cwd(), process.env.RUN_COMMAND_TEST)"], { cwd: "/", env: { RUN_COMMAND_TEST: "yes" } });
    expect(run.stdout.trim()).toBe("/ yes");
  });

  it("kills a command that outlives its timeout, and the event loop keeps running meanwhile", async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const run = await runCommand(node, ["-e", "setTimeout(() => {}, 60000)"], { timeoutMilliseconds: 300 });
    clearInterval(ticker);
    expect(run.timedOut).toBe(true);
    expect(run.signal).toBe("SIGKILL");
    expect(ticks).toBeGreaterThan(5);
  });

  it("rejects when the command does not exist", async () => {
    await expect(runCommand("/nonexistent/command", [])).rejects.toThrow(/ENOENT/);
  });
});
