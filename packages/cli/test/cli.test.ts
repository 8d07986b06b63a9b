// The command-line pieces on their own: option parsing and its messages, which errors are shown without a stack,
// the llama2.c tokenizer reader against the real tok512.bin, and prompt construction through a chat template.
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { GenerationError } from "@infer-recipes/engine";
import { ModelNotFoundError } from "@infer-recipes/hub";
import { KernelError } from "@infer-recipes/kernel";
import { ServerListenError } from "@infer-recipes/server";
import { sharedModelsDirectory } from "@infer-recipes/test-support";
import { ModelFileError, randomLlamaTensors, tinyGgufTokenizerMetadata, tinyLlamaConfig, writeGgufModel } from "@infer-recipes/models";

import {
  UsageError,
  describeFailure,
  loadTextModel,
  parseGenerationArguments,
  promptIds,
  readLlama2cTokenizer,
  resolveModelArgument,
  resolveUserPath,
  userWorkingDirectory,
} from "../src/index.ts";

const sharedModels = sharedModelsDirectory;

describe("parseGenerationArguments", () => {
  it("reads every option with its type and default", () => {
    const args = parseGenerationArguments(["--model", "m.gguf", "--prompt", "", "--max-tokens", "7", "--top-p", "0.9", "--seed", "3", "--quant", "q4_0", "--json"], { temperature: 0.7 }, { INIT_CWD: "/work/here" });
    expect(args).toMatchObject({ model: "/work/here/m.gguf", prompt: "", maxTokens: 7, topP: 0.9, seed: 3, quant: "q4_0", json: true, temperature: 0.7, chat: false });
  });

  it("takes a recipe's default top-p and --raw, and refuses --chat with --raw", () => {
    expect(parseGenerationArguments(["--raw"], { temperature: 0.8, topP: 0.8 })).toMatchObject({ raw: true, chat: false, topP: 0.8 });
    expect(parseGenerationArguments(["--top-p", "0.5"], { temperature: 0.8, topP: 0.8 }).topP).toBe(0.5);
    expect(() => parseGenerationArguments(["--chat", "--raw"], { temperature: 0 })).toThrow(/--chat and --raw contradict each other/);
  });

  it("names the option and the expected value when one is wrong", () => {
    expect(() => parseGenerationArguments(["--max-tokens", "0"], { temperature: 0 })).toThrow(/--max-tokens must be an integer ≥ 1, got "0"/);
    expect(() => parseGenerationArguments(["--quant", "q3"], { temperature: 0 })).toThrow(/--quant must be one of f32, f16, bf16, q8_0, q4_0, got "q3"/);
    expect(() => parseGenerationArguments(["--frobnicate"], { temperature: 0 })).toThrow(UsageError);
    expect(() => parseGenerationArguments(["--threads", "257"], { temperature: 0 })).toThrow(new UsageError('--threads must be an integer in 1..256, got "257"'));
    expect(parseGenerationArguments(["--threads", "256"], { temperature: 0 }).threads).toBe(256);
  });

  it("reads --kv-cache-dtype and lists the element types for an unknown one", () => {
    expect(parseGenerationArguments(["--kv-cache-dtype", "q8_0"], { temperature: 0 }).kvCacheDType).toBe("q8_0");
    expect(parseGenerationArguments(["--kv-cache-dtype", "q4_0", "--serve"], { temperature: 0 }).kvCacheDType).toBe("q4_0");
    expect(parseGenerationArguments([], { temperature: 0 }).kvCacheDType).toBeUndefined();
    expect(() => parseGenerationArguments(["--kv-cache-dtype", "int8"], { temperature: 0 })).toThrow(
      new UsageError('--kv-cache-dtype must be one of f32, f16, bf16, q8_0, q4_0, got "int8"'),
    );
  });
});

describe("paths relative to where the user ran the command (INIT_CWD)", () => {
  it("resolves path options against INIT_CWD, else the working directory", () => {
    expect(userWorkingDirectory({ INIT_CWD: "/home/me/models" })).toBe("/home/me/models");
    expect(userWorkingDirectory({})).toBe(process.cwd());
    expect(resolveUserPath("../x.gguf", { INIT_CWD: "/home/me/models" })).toBe("/home/me/x.gguf");
    expect(resolveUserPath("/abs/x.gguf", { INIT_CWD: "/home/me" })).toBe("/abs/x.gguf");
    expect(resolveUserPath("~/x.gguf", { INIT_CWD: "/elsewhere", HOME: "/home/me" })).toBe("/home/me/x.gguf");
    expect(resolveUserPath("out", {})).toBe(path.join(process.cwd(), "out"));
  });

  it("makes --model paths absolute and leaves hub repository ids alone", () => {
    const environment = { INIT_CWD: "/home/me/recipes" };
    const parse = (model: string) => parseGenerationArguments(["--model", model], { temperature: 0 }, environment).model;
    expect(parse("../x.gguf")).toBe("/home/me/x.gguf");
    expect(parse("./Llama-3.2-3B-Instruct")).toBe("/home/me/recipes/Llama-3.2-3B-Instruct");
    expect(parse("stories260K.bin")).toBe("/home/me/recipes/stories260K.bin");
    expect(parse("meta-llama/Llama-3.2-3B-Instruct")).toBe("meta-llama/Llama-3.2-3B-Instruct");
    expect(parse("bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M")).toBe("bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M");
    // A folder that exists under INIT_CWD wins over the repository reading of the same text.
    const directory = mkdtempSync(path.join(tmpdir(), "cli-paths-"));
    mkdirSync(path.join(directory, "org", "name"), { recursive: true });
    expect(resolveModelArgument("org/name", { INIT_CWD: directory })).toBe(path.join(directory, "org", "name"));
  });
});

describe("parseGenerationArguments: --serve", () => {
  it("reads the server options with their defaults", () => {
    expect(parseGenerationArguments(["--serve"], { temperature: 0.7 })).toMatchObject({ serve: true, port: 8000, host: "127.0.0.1", maxBatch: 16, maxBatchTokens: 256, queueLimit: 64, cacheTokens: undefined });
    const args = parseGenerationArguments(["--serve", "--port", "0", "--host", "0.0.0.0", "--max-batch", "4", "--queue-limit", "2", "--cache-tokens", "512"], { temperature: 0 });
    expect(args).toMatchObject({ port: 0, host: "0.0.0.0", maxBatch: 4, queueLimit: 2, cacheTokens: 512 });
  });

  it("reads the access options: API key (option or INFER_API_KEY), allowed hosts, CORS origins, shutdown grace", () => {
    const args = parseGenerationArguments(
      ["--serve", "--api-key", "k1", "--allowed-hosts", "api.example.com, .internal.example", "--allowed-hosts", "b.example", "--cors-origin", "https://App.example.com/", "--shutdown-grace", "2.5"],
      { temperature: 0 },
    );
    expect(args).toMatchObject({ apiKey: "k1", allowedHosts: ["api.example.com", ".internal.example", "b.example"], corsOrigins: ["https://app.example.com"], shutdownGraceSeconds: 2.5 });
    expect(parseGenerationArguments(["--serve"], { temperature: 0 }, { INFER_API_KEY: "from-env" })).toMatchObject({ apiKey: "from-env", shutdownGraceSeconds: 10, allowedHosts: [], corsOrigins: [] });
    expect(parseGenerationArguments(["--serve", "--api-key", "option"], { temperature: 0 }, { INFER_API_KEY: "from-env" }).apiKey).toBe("option");
    expect(() => parseGenerationArguments(["--serve", "--api-key", ""], { temperature: 0 })).toThrow(/--api-key must not be empty/);
    expect(() => parseGenerationArguments(["--serve", "--cors-origin", "https://a.com/path"], { temperature: 0 })).toThrow(/--cors-origin must be an origin such as https:\/\/app\.example\.com/);
    expect(() => parseGenerationArguments(["--serve", "--allowed-hosts", "http://x.com"], { temperature: 0 })).toThrow(/--allowed-hosts takes host names/);
    expect(() => parseGenerationArguments(["--api-key", "k"], { temperature: 0 })).toThrow(/--api-key only applies with --serve/);
  });

  it("names a wrong server option, and refuses server options without --serve", () => {
    expect(() => parseGenerationArguments(["--serve", "--port", "70000"], { temperature: 0 })).toThrow(/--port must be an integer in 0..65535, got "70000"/);
    expect(() => parseGenerationArguments(["--serve", "--max-batch", "0"], { temperature: 0 })).toThrow(/--max-batch must be an integer ≥ 1, got "0"/);
    expect(() => parseGenerationArguments(["--port", "8000"], { temperature: 0 })).toThrow(/--port only applies with --serve/);
  });
});

describe("describeFailure", () => {
  it("turns expected errors into a message and an exit code, and leaves bugs alone", () => {
    expect(describeFailure(new UsageError("bad"))).toEqual({ message: "error: bad", exitCode: 2 });
    expect(describeFailure(new GenerationError("too long"))?.exitCode).toBe(1);
    expect(describeFailure(new ModelFileError({ file: "x.gguf" }, "bad magic"))?.message).toMatch(/x\.gguf: bad magic/);
    expect(describeFailure(new ModelNotFoundError({ specifier: "a/b", summary: "not here", searched: [], hints: [] }))?.exitCode).toBe(1);
    expect(describeFailure(new TypeError("a bug"))).toBeUndefined();
    const inUse = new ServerListenError("EADDRINUSE", "127.0.0.1", 8000, "the port is already in use");
    expect(describeFailure(inUse)).toEqual({ message: "error: --port 8000: cannot listen on 127.0.0.1:8000: the port is already in use", exitCode: 2 });
    expect(describeFailure(new ServerListenError("ENOTFOUND", "999.1.1.1", 8000, "not resolvable"))?.message).toMatch(/^error: --host 999\.1\.1\.1: /);
    expect(describeFailure(new KernelError('INFER_THREADS must be an integer in 1..256, got "99999"'))?.message).toBe('error: INFER_THREADS must be an integer in 1..256, got "99999"');
  });
});

const tok512 = path.join(sharedModels, "stories260K-llama2c/tok512.bin");
describe.skipIf(!existsSync(tok512))("readLlama2cTokenizer", () => {
  it("reads tok512.bin into a SentencePiece tokenizer that round-trips text", () => {
    const tokenizer = readLlama2cTokenizer(tok512, 512);
    const ids = tokenizer.encode("Once upon a time");
    expect(ids[0]).toBe(1);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("Once upon a time");
    expect(tokenizer.eosTokenIds).toContain(2);
  });
});
if (!existsSync(tok512)) console.warn(`skipping the llama2.c tokenizer test: missing ${tok512}`);

describe("promptIds", () => {
  it("renders the chat template, starts with BOS once, and encodes plain prompts with BOS", async () => {
    const directory = mkdtempSync(path.join(tmpdir(), "cli-test-"));
    const config = tinyLlamaConfig({ vocabSize: 352 });
    const file = path.join(directory, "tiny.gguf");
    writeGgufModel(file, config, randomLlamaTensors(config, 1), tinyGgufTokenizerMetadata(352));
    const textModel = await loadTextModel(file, { progress: false, backend: "reference" });
    const chat = promptIds(textModel, [{ role: "user", content: "hi" }]);
    expect(chat[0]).toBe(1);
    expect(chat[1]).not.toBe(1);
    expect(textModel.tokenizer.decode(chat)).toMatch(/\[INST\] hi \[\/INST\]/);
    expect(promptIds(textModel, "")).toEqual([1]);
    expect(promptIds(textModel, "ab")[0]).toBe(1);
  });
});

describe("loadTextModel: the KV cache element type", () => {
  const directory = mkdtempSync(path.join(tmpdir(), "cli-cache-"));
  const write = (name: string, overrides: Parameters<typeof tinyLlamaConfig>[0]) => {
    const config = tinyLlamaConfig({ vocabSize: 352, ...overrides });
    const file = path.join(directory, name);
    writeGgufModel(file, config, randomLlamaTensors(config, 1), tinyGgufTokenizerMetadata(352));
    return file;
  };

  it("gives the model its cache type, and refuses one its head size cannot take before generating", async () => {
    const tiny = write("tiny.gguf", { hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16 }); // a q4_0 block spans two heads
    const textModel = await loadTextModel(tiny, { progress: false, backend: "reference", kvCacheDType: "q4_0" });
    expect(textModel.model.cacheDType).toBe("q4_0");
    expect(textModel.model.createCache().dtype).toBe("q4_0");
    const odd = write("small-row.gguf", {}); // 2 kv heads of 8: a position's row of 16 values is not a whole block
    await expect(loadTextModel(odd, { progress: false, backend: "reference", kvCacheDType: "q8_0" })).rejects.toThrow(
      new UsageError(
        "--kv-cache-dtype q8_0: a q8_0 KV cache stores blocks of 32 values along each position's kvHeads × headDim row, so the head size must be a multiple of 32, " +
          "or divide 32 with kvHeads × headDim a multiple of 32; this model has 2 kv heads of 8. Element types that serve it: f32, f16, bf16",
      ),
    );
    expect((await loadTextModel(odd, { progress: false, backend: "reference", kvCacheDType: "bf16" })).model.cacheDType).toBe("bf16");
  });
});
