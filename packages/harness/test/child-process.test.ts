// runCommand: output, exit status, signals and the timeout of a child process, while this thread stays free;
// startServerProcess: the URL a server announces, its stop, and a server that dies before it is ready.

import { describe, expect, it } from "vitest";

import { runCommand, startServerProcess } from "../src/child-process.ts";

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

describe("startServerProcess", () => {
  const server = "process.stderr.write('loading\\n'); setTimeout(() => process.stderr.write('serving on http://127.0.0.1:1234\\n'), 50); process.on('SIGINT', () => process.exit(7)); setInterval(() => {}, 1000);";

  it("resolves the URL its standard error announces, and stops it with SIGINT", async () => {
    const started = startServerProcess(node, ["-e", server], { readyPattern: /serving on (http:\/\/\S+)/ });
    expect(await started.url).toBe("http://127.0.0.1:1234");
    expect(started.stderr()).toMatch(/^loading\n/);
    expect(await started.stop()).toBe(7);
  });

  it("rejects with its standard error when it exits before it is ready", async () => {
    const started = startServerProcess(node, ["-e", "process.stderr.write('port in use'); process.exit(1)"], { readyPattern: /serving on (\S+)/ });
    await expect(started.url).rejects.toThrow(/exited with 1:\nport in use/);
  });
});

describe("child processes without standard input", () => {
  // A command that reads its standard input to the end: it finishes only because the harness gives it none.
  const readsInput = "let text = ''; process.stdin.on('data', (chunk) => (text += chunk)); process.stdin.on('end', () => { process.stderr.write(`input ${text.length} serving on http://127.0.0.1:9\\n`); setInterval(() => {}, 1000); });";

  it("runCommand gives the command an empty standard input", async () => {
    const run = await runCommand(node, ["-e", "let n = 0; process.stdin.on('data', (c) => (n += c.length)); process.stdin.on('end', () => console.log(`read ${n}`));"], { timeoutMilliseconds: 20_000 });
    expect(run).toMatchObject({ status: 0, stdout: "read 0\n", timedOut: false });
  });

  it("startServerProcess gives the server an empty standard input, and reads the URL from its first capture", async () => {
    const started = startServerProcess(node, ["-e", readsInput], { readyPattern: /input (\d+) serving on (\S+)/, readyTimeoutMilliseconds: 20_000 });
    expect(await started.url).toBe("0");
    expect(await started.stop("SIGTERM")).toBe(null);
  });

  it("passes the environment to a server", async () => {
    const script = "process.stderr.write(`serving on ${process.env.SERVER_TEST_URL}\\n`); setInterval(() => {}, 1000);";
    const started = startServerProcess(node, ["-e", script], { readyPattern: /serving on (\S+)/, env: { SERVER_TEST_URL: "http://env.test" }, cwd: "/" });
    expect(await started.url).toBe("http://env.test");
    await started.stop();
  });

  it("rejects the URL naming the pattern and the seconds waited when the server never announces it", async () => {
    const started = startServerProcess(node, ["-e", "process.stderr.write('still loading'); setInterval(() => {}, 1000);"], { readyPattern: /serving on (\S+)/, readyTimeoutMilliseconds: 250 });
    // What it wrote so far follows the colon (on a busy machine it may not have started writing yet).
    await expect(started.url).rejects.toThrow(/^no line matching \/serving on \(\\S\+\)\/ within 0\.25 s:\n(still loading)?$/);
    await started.stop();
  });

  it("rejects the URL when the server cannot be started", async () => {
    const started = startServerProcess("/nonexistent/server", [], { readyPattern: /serving on (\S+)/, readyTimeoutMilliseconds: 20_000 });
    await expect(started.url).rejects.toThrow(/ENOENT/);
  });
});
