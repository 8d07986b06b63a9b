// The small contracts of the harness, each problem and boundary on its own: every field resultsRecordProblems names,
// positiveIntegerOption at 1, summarize and timeMilliseconds (with a fixed clock), the step reporter's lines (with fake
// time), and availableMemoryBytes reading /proc/meminfo (with a fixed file).

import os from "node:os";

import { afterEach, describe, expect, it, vi } from "vitest";

vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs")>();
  return { ...original, readFileSync: vi.fn(original.readFileSync) };
});
import * as fs from "node:fs";

import { availableMemoryBytes, createStepReporter, describeMachine, lastLevelCacheBytes, positiveIntegerOption, resultsRecordProblems, summarize, median, timeMilliseconds } from "../src/index.ts";

const complete = {
  machine: { cpu: "test cpu", date: "2026-12-04T12:00:00.000Z" },
  command: "pnpm bench my-recipe",
  headline: [{ label: "decode", value: 12.5, unit: "tok/s" }],
  rows: [],
};
const figureProblem = (index: number) => `headline[${index}]: { label: string, value: finite number, unit: string }`;

describe("resultsRecordProblems, field by field", () => {
  const cases: Array<[string, unknown, string[]]> = [
    ["complete", complete, []],
    ["null", null, ["(top level): a JSON object"]],
    ["a string", "record", ["(top level): a JSON object"]],
    ["no machine", { ...complete, machine: undefined }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["a null machine", { ...complete, machine: null }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["a machine list", { ...complete, machine: [] }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["no cpu", { ...complete, machine: { date: complete.machine.date } }, ["machine.cpu: a string"]],
    ["no date", { ...complete, machine: { cpu: "x" } }, ["machine.date: an ISO 8601 date string"]],
    ["a numeric date", { ...complete, machine: { cpu: "x", date: 5 } }, ["machine.date: an ISO 8601 date string"]],
    ["a numeric command", { ...complete, command: 7 }, ["command: the command line that produced the file"]],
    ["a blank command", { ...complete, command: "   " }, ["command: the command line that produced the file"]],
    ["no headline", { ...complete, headline: undefined }, ["headline: a non-empty list of { label, value, unit }"]],
    ["an empty headline", { ...complete, headline: [] }, ["headline: a non-empty list of { label, value, unit }"]],
    ["a null figure", { ...complete, headline: [null] }, [figureProblem(0)]],
    ["a figure list", { ...complete, headline: [["decode", 1, "x"]] }, [figureProblem(0)]],
    ["a numeric label", { ...complete, headline: [{ label: 1, value: 1, unit: "x" }] }, [figureProblem(0)]],
    ["a text value", { ...complete, headline: [{ label: "a", value: "1", unit: "x" }] }, [figureProblem(0)]],
    ["an infinite value", { ...complete, headline: [{ label: "a", value: Infinity, unit: "x" }] }, [figureProblem(0)]],
    ["no unit", { ...complete, headline: [{ label: "a", value: 1 }] }, [figureProblem(0)]],
    ["an empty unit", { ...complete, headline: [{ label: "a", value: 1, unit: "" }] }, []],
    ["no rows", { ...complete, rows: undefined }, ["rows: a list of the measured configurations"]],
    ["rows as an object", { ...complete, rows: {} }, ["rows: a list of the measured configurations"]],
  ];
  for (const [name, record, problems] of cases) {
    it(`${name}: ${problems.length === 0 ? "no problem" : problems.join("; ")}`, () => {
      expect(resultsRecordProblems(record)).toEqual(problems);
    });
  }

  it("lists every problem, in field order, and each bad figure by its index", () => {
    const record = { machine: { cpu: 1, date: "never" }, command: "", headline: [complete.headline[0], { label: "x" }, null], rows: null };
    expect(resultsRecordProblems(record)).toEqual([
      "machine.cpu: a string",
      "machine.date: an ISO 8601 date string",
      "command: the command line that produced the file",
      figureProblem(1),
      figureProblem(2),
      "rows: a list of the measured configurations",
    ]);
  });
});

describe("positiveIntegerOption at its boundary", () => {
  it("accepts 1 and refuses 0", () => {
    expect(positiveIntegerOption("runs", "1", 5)).toBe(1);
    expect(() => positiveIntegerOption("runs", "0", 5)).toThrow('--runs must be a positive integer, got "0"');
    expect(positiveIntegerOption("runs", " 3 ", 5)).toBe(3);
  });
});

describe("summarize and timeMilliseconds", () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives the median, minimum, maximum and count of odd and even counts, whatever the order", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, count: 3 });
    expect(summarize([4, 10, 1, 2])).toEqual({ median: 3, min: 1, max: 10, count: 4 });
    expect(summarize([7])).toEqual({ median: 7, min: 7, max: 7, count: 1 });
    expect(median([9, 100, 2, 3, 1])).toBe(3);
    expect(() => summarize([])).toThrow(new RangeError("summarize: no values"));
  });

  it("converts the high-resolution clock's nanoseconds to milliseconds around one call", () => {
    const clock = vi.spyOn(process.hrtime, "bigint").mockReturnValueOnce(1_000_000n).mockReturnValueOnce(3_500_000n);
    let calls = 0;
    expect(timeMilliseconds(() => calls++)).toBe(2.5);
    expect(calls).toBe(1);
    expect(clock).toHaveBeenCalledTimes(2);
  });
});

describe("createStepReporter", () => {
  afterEach(() => vi.useRealTimers());

  it("numbers each step out of the total with the elapsed seconds", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const lines: string[] = [];
    const stream = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream;
    const progress = createStepReporter(3, stream);
    vi.advanceTimersByTime(1500);
    progress("baseline");
    vi.advanceTimersByTime(12_340);
    progress("+ KV cache");
    expect(lines).toEqual(["[1/3 1.5s] baseline\n", "[2/3 13.8s] + KV cache\n"]);
  });
});

describe("availableMemoryBytes", () => {
  afterEach(() => vi.restoreAllMocks());
  const meminfo = vi.mocked(fs.readFileSync);

  it("reads MemAvailable from /proc/meminfo, in bytes", () => {
    meminfo.mockReturnValueOnce("MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8123456 kB\nBuffers:          100 kB\n");
    expect(availableMemoryBytes()).toBe(8_123_456 * 1024);
    expect(meminfo).toHaveBeenLastCalledWith("/proc/meminfo", "utf8");
  });

  it("falls back to the free memory without a MemAvailable line or without the file", () => {
    const free = vi.spyOn(os, "freemem").mockReturnValue(4096);
    meminfo.mockReturnValueOnce("MemTotal:       16000000 kB\nMemFree:         1000000 kB\n");
    expect(availableMemoryBytes()).toBe(4096);
    meminfo.mockReturnValueOnce("XMemAvailable: 5 kB\nMemAvailable: 5 kBytes\n");
    expect(availableMemoryBytes()).toBe(4096);
    meminfo.mockImplementationOnce(() => {
      throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    });
    expect(availableMemoryBytes()).toBe(4096);
    expect(free).toHaveBeenCalledTimes(3);
  });

  it("reads a value of many digits after any whitespace", () => {
    meminfo.mockReturnValueOnce("MemAvailable:\t123 kB\n");
    expect(availableMemoryBytes()).toBe(123 * 1024);
  });
});

describe("lastLevelCacheBytes, from a fixed sysfs tree", () => {
  const readFile = vi.mocked(fs.readFileSync);
  const cache = (index: number, file: "level" | "size") => `/sys/devices/system/cpu/cpu0/cache/index${index}/${file}`;
  /** Serves these sysfs files (and no other file: ENOENT); `[level, size]` per cache index. */
  const sysfs = (indexes: Record<number, [string | undefined, string | undefined]>) => {
    const files = new Map<string, string>();
    for (const [index, [level, size]] of Object.entries(indexes)) {
      if (level !== undefined) files.set(cache(Number(index), "level"), level);
      if (size !== undefined) files.set(cache(Number(index), "size"), size);
    }
    readFile.mockImplementation(((path: string) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    }) as typeof fs.readFileSync);
  };
  const real = readFile.getMockImplementation();
  afterEach(() => readFile.mockImplementation(real!));

  it("takes the highest cache index sysfs lists, its size in bytes by unit (none, K, M, G)", () => {
    const cases: Array<[Record<number, [string | undefined, string | undefined]>, number | null]> = [
      [{ 0: ["1", "48K"], 1: ["1", "32K"], 2: ["2", "2048K"], 3: ["3", "32768K\n"] }, 32 * 1024 ** 2],
      [{ 0: ["1", "48K"], 4: ["4", "1G"] }, 1024 ** 3],
      [{ 2: ["2", "32M"] }, 32 * 1024 ** 2],
      [{ 1: ["2", "512"] }, 512],
      [{ 0: ["1", "48K"] }, 48 * 1024], // index 0 alone still counts
      [{ 3: ["3", "12K "] }, 12 * 1024], // read trimmed
      [{}, null],
    ];
    for (const [tree, expected] of cases) {
      sysfs(tree);
      expect(lastLevelCacheBytes(), JSON.stringify(tree)).toBe(expected);
    }
  });

  it("passes over an index without a level, without a size, or with a size it cannot read", () => {
    const cases: Array<[Record<number, [string | undefined, string | undefined]>, number | null]> = [
      [{ 3: [undefined, "32M"], 2: ["2", "2M"] }, 2 * 1024 ** 2],
      [{ 3: ["3", undefined], 2: ["2", "2M"] }, 2 * 1024 ** 2],
      [{ 3: ["", "32M"], 2: ["2", "2M"] }, 2 * 1024 ** 2], // an empty level file
      [{ 3: ["3", ""], 2: ["2", "2M"] }, 2 * 1024 ** 2],
      [{ 3: ["3", "x32M"], 2: ["2", "2M"] }, 2 * 1024 ** 2], // digits must come first
      [{ 3: ["3", "M"], 1: ["1", "7K"] }, 7 * 1024],
      [{ 3: ["3", "unknown"] }, null],
    ];
    for (const [tree, expected] of cases) {
      sysfs(tree);
      expect(lastLevelCacheBytes(), JSON.stringify(tree)).toBe(expected);
    }
  });

  it("reads every digit of a size and its unit right after them", () => {
    sysfs({ 3: ["3", "98304K"] });
    expect(lastLevelCacheBytes()).toBe(98_304 * 1024);
    sysfs({ 3: ["3", "16 M"] }); // a unit after a space is not read as one: bytes
    expect(lastLevelCacheBytes()).toBe(16);
    sysfs({ 3: ["3", "16X"] });
    expect(lastLevelCacheBytes()).toBe(16);
  });
});

describe("describeMachine, the cache part", () => {
  const info = { cpu: "Test CPU", logicalCpus: 8, memoryGiB: 31, l3Bytes: null as number | null, node: "v22.0.0", date: "2026-12-04T00:00:00.000Z" };

  it("rounds the cache to whole MiB and leaves it out when unknown or zero", () => {
    expect(describeMachine({ ...info, l3Bytes: 1.5 * 1024 ** 2 })).toBe("Test CPU, 8 logical CPUs, 31 GiB RAM, 2 MiB last-level cache; Node v22.0.0");
    expect(describeMachine({ ...info, l3Bytes: 1.4 * 1024 ** 2 })).toBe("Test CPU, 8 logical CPUs, 31 GiB RAM, 1 MiB last-level cache; Node v22.0.0");
    expect(describeMachine({ ...info, l3Bytes: 0 })).toBe("Test CPU, 8 logical CPUs, 31 GiB RAM; Node v22.0.0");
    expect(describeMachine(info)).toBe("Test CPU, 8 logical CPUs, 31 GiB RAM; Node v22.0.0");
  });
});
