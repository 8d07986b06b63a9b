// The `pnpm convert` command line in process: its arguments (paths from INIT_CWD, --quant in both spellings, --name,
// --help, every refusal with its message), the progress lines for a terminal and for a log, and a whole run: the
// summary line, the exit status, an error as one line.

import path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { convertProgressReporter, convertUsage, parseConvertArguments, runConvertCommand, runConvertCommandLine, userBaseDirectory, type ConvertCommandIo } from "../src/convert-command.ts";
import { readGguf } from "../src/index.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "../src/tiny-models/tiny-llama.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("convert-command");

const messageOf = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
};

describe("parseConvertArguments", () => {
  it("resolves both paths from the base, q8_0 by default, no name unless given", () => {
    expect(parseConvertArguments(["model", "out/tiny.gguf"], "/work/here")).toStrictEqual({ modelDirectory: "/work/here/model", outputPath: "/work/here/out/tiny.gguf", quant: "q8_0" });
    expect(parseConvertArguments(["/abs/model", "x.gguf"], "/base")).toStrictEqual({ modelDirectory: "/abs/model", outputPath: "/base/x.gguf", quant: "q8_0" });
  });

  it("takes --quant as a separate value or after =, and --name; options may come anywhere", () => {
    expect(parseConvertArguments(["--quant", "q4_k_m", "m", "o.gguf", "--name", "Tiny"], "/b")).toEqual({ modelDirectory: "/b/m", outputPath: "/b/o.gguf", quant: "q4_k_m", name: "Tiny" });
    expect(parseConvertArguments(["m", "--quant=bf16", "o.gguf"], "/b")).toEqual({ modelDirectory: "/b/m", outputPath: "/b/o.gguf", quant: "bf16" });
    expect(parseConvertArguments(["m", "o.gguf", "--quant", "f32", "--quant=q4_0"], "/b")).toMatchObject({ quant: "q4_0" });
  });

  it("--help or -h wins wherever it is", () => {
    expect(parseConvertArguments(["--help"], "/b")).toBe("help");
    expect(parseConvertArguments(["m", "-h", "--bogus"], "/b")).toBe("help");
  });

  it("refuses a missing value, an unknown option, a wrong number of paths and an unknown scheme", () => {
    expect(messageOf(() => parseConvertArguments(["m", "o", "--quant"], "/b"))).toBe(`--quant needs a value\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m", "o", "--name"], "/b"))).toBe(`--name needs a value\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m", "o", "--fast"], "/b"))).toBe(`unknown option --fast\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m", "o", "-q"], "/b"))).toBe(`unknown option -q\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m"], "/b"))).toBe(`expected 2 paths, got 1\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m", "o", "p"], "/b"))).toBe(`expected 2 paths, got 3\n${convertUsage}`);
    expect(messageOf(() => parseConvertArguments(["m", "o", "--quant", "q3"], "/b"))).toBe('--quant must be one of f32, f16, bf16, q8_0, q4_0, q4_k_m, got "q3"');
    expect(messageOf(() => parseConvertArguments(["m", "o", "--quant="], "/b"))).toBe('--quant must be one of f32, f16, bf16, q8_0, q4_0, q4_k_m, got ""');
  });

  it("the usage names every scheme", () => {
    expect(convertUsage.split("\n")[0]).toBe("usage: convert-cli <hf-model-directory> <out.gguf> [--quant f32|f16|bf16|q8_0|q4_0|q4_k_m] [--name NAME]");
  });
});

describe("userBaseDirectory", () => {
  it("is INIT_CWD when it is absolute, else the working directory", () => {
    expect(userBaseDirectory({ INIT_CWD: "/home/me/models" }, "/repo")).toBe("/home/me/models");
    expect(userBaseDirectory({ INIT_CWD: "relative" }, "/repo")).toBe("/repo");
    expect(userBaseDirectory({ INIT_CWD: "" }, "/repo")).toBe("/repo");
    expect(userBaseDirectory({}, "/repo")).toBe("/repo");
  });
});

describe("convertProgressReporter", () => {
  const record = (isTTY: boolean) => {
    const written: string[] = [];
    return { stream: { isTTY, write: (text: string) => written.push(text) }, written };
  };

  it("a terminal: one rewritten line per new percent, a newline at 100 %", () => {
    const { stream, written } = record(true);
    const report = convertProgressReporter(stream);
    report(0, 3_000_000);
    report(10_000, 3_000_000); // still 0 %
    report(1_500_000, 3_000_000);
    report(3_000_000, 3_000_000);
    expect(written).toEqual([
      "\rwriting tensors   0% (0.0 / 3.0 MB)",
      "\rwriting tensors  50% (1.5 / 3.0 MB)",
      "\rwriting tensors 100% (3.0 / 3.0 MB)\n",
    ]);
  });

  it("a log: a line at every tenth percent only", () => {
    const { stream, written } = record(false);
    const report = convertProgressReporter(stream);
    for (const done of [0, 5, 10, 15, 99, 100]) report(done * 20_000, 2_000_000);
    expect(written).toEqual([
      "writing tensors   0% (0.0 / 2.0 MB)\n",
      "writing tensors  10% (0.2 / 2.0 MB)\n",
      "writing tensors 100% (2.0 / 2.0 MB)\n",
    ]);
  });

  it("nothing to write is 100 % at once", () => {
    const { stream, written } = record(false);
    convertProgressReporter(stream)(0, 0);
    expect(written).toEqual(["writing tensors 100% (0.0 / 0.0 MB)\n"]);
  });
});

describe("runConvertCommand", () => {
  const io = (cwd: string, env: Record<string, string> = {}) => {
    const out: string[] = [], errors: string[] = [], progress: string[] = [];
    let clock = 1000;
    const value: ConvertCommandIo = {
      log: (line) => out.push(line),
      error: (line) => errors.push(line),
      progress: { isTTY: false, write: (text) => progress.push(text) },
      env,
      cwd,
      now: () => (clock += 1250),
    };
    return { value, out, errors, progress };
  };

  it("converts, reporting progress and a summary of the types written, and exits 0", () => {
    const config = tinyLlamaConfig();
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 8));
    const run = io("/elsewhere", { INIT_CWD: path.dirname(directory) });
    expect(runConvertCommand([path.basename(directory), "cli.gguf", "--quant", "q4_0", "--name", "Tiny"], run.value)).toBe(0);
    const output = path.join(path.dirname(directory), "cli.gguf");
    expect(run.out).toHaveLength(1);
    expect(run.errors).toEqual([]);
    expect(run.progress.at(-1)).toMatch(/^writing tensors 100% \(/);
    const gguf = readGguf(output);
    expect(gguf.metadata.get("general.name")).toBe("Tiny");
    expect(gguf.tensorInfo("blk.0.attn_q.weight")!.dtype).toBe("q4_0");
    const counts = new Map<string, number>();
    for (const tensor of gguf.tensors) counts.set(String(tensor.dtype), (counts.get(String(tensor.dtype)) ?? 0) + 1);
    expect(run.out[0]).toBe(`wrote ${output}: 21 tensors (${[...counts].map(([dtype, count]) => `${count} ${dtype}`).join(", ")}) in 1.3 s`);
  });

  it("prints the usage for --help and exits 0", () => {
    const run = io("/b");
    expect(runConvertCommand(["--help"], run.value)).toBe(0);
    expect(run.out).toEqual([convertUsage]);
  });

  it("prints an error as one line and exits 1: a file error prefixed with error:, an argument error as is", () => {
    const run = io("/b");
    const missing = path.join(temporaryDirectory(), "absent");
    expect(runConvertCommand([missing, "o.gguf"], run.value)).toBe(1);
    expect(run.errors).toEqual([`error: ${missing}: file not found`]);
    expect(runConvertCommand(["m", "o", "--quant", "q3"], run.value)).toBe(1);
    expect(run.errors[1]).toBe('--quant must be one of f32, f16, bf16, q8_0, q4_0, q4_k_m, got "q3"');
    expect(run.out).toEqual([]);
  });
});

describe("convertProgressReporter's first line", () => {
  it("is written whatever percent the first report is at", () => {
    const written: string[] = [];
    convertProgressReporter({ isTTY: true, write: (text: string) => written.push(text) })(10_000, 1_000_000);
    expect(written).toEqual(["\rwriting tensors   1% (0.0 / 1.0 MB)"]);
  });
});

describe("runConvertCommandLine", () => {
  const argv = process.argv;
  afterEach(() => {
    process.argv = argv;
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });

  it("runs on the process's arguments and console and sets the exit status", () => {
    const logged: string[] = [], errors: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
    vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
    process.argv = ["node", "convert-cli.ts", "--help"];
    runConvertCommandLine();
    expect([logged, errors, process.exitCode]).toEqual([[convertUsage], [], 0]);
    process.argv = ["node", "convert-cli.ts", "only-one-path"];
    runConvertCommandLine();
    expect(errors).toEqual([`expected 2 paths, got 1\n${convertUsage}`]);
    expect(process.exitCode).toBe(1);
    const config = tinyLlamaConfig();
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 2));
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    process.argv = ["node", "convert-cli.ts", directory, path.join(directory, "out.gguf"), "--quant", "f32"];
    runConvertCommandLine();
    expect(process.exitCode).toBe(0);
    expect(logged.at(-1)).toMatch(/^wrote .*out\.gguf: 21 tensors \(21 f32\) in \d+\.\d s$/);
  });
});
