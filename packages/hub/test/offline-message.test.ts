// Tests for the message when the model is neither local nor cached and the hub is unreachable or off-limits: it
// must list every place searched (path, cache, URL with the network error) and how to get the weights.

import { createServer, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadFile, ModelNotFoundError, resolveModel } from "../src/index.ts";
import { closedPortEndpoint } from "./fake-hub.ts";
import { temporaryFolder } from "./model-fixtures.ts";

const repo = "meta-llama/Llama-3.2-3B-Instruct";

describe("the model-not-found message", () => {
  it("lists the path, the cache and the URL tried with its network error, then how to get the weights", async () => {
    const cache = await temporaryFolder();
    const endpoint = await closedPortEndpoint();
    const error = await resolveModel(repo, { environment: { HF_ENDPOINT: endpoint, HF_HUB_CACHE: cache }, progress: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    const notFound = error as ModelNotFoundError;
    expect(notFound.searched).toEqual([
      { place: `local path ${resolve(repo)}`, outcome: "does not exist" },
      { place: `Hugging Face cache ${join(cache, "models--meta-llama--Llama-3.2-3B-Instruct")} (from HF_HUB_CACHE)`, outcome: "not present" },
      { place: `hub ${endpoint}/api/models/${repo}`, outcome: expect.stringContaining("ECONNREFUSED") },
    ]);
    const message = notFound.message;
    expect(message).toContain(`${repo} is not available locally and the hub at ${endpoint} could not be reached.`);
    expect(message).toContain("It looked for config.json with model.safetensors");
    expect(message).toContain(`huggingface-cli download ${repo} --local-dir ./Llama-3.2-3B-Instruct`);
    expect(message).toContain("--model ./Llama-3.2-3B-Instruct");
    expect(message).toContain("HF_TOKEN");
    expect(message).toContain("HF_ENDPOINT");
    expect(message).not.toMatch(/\n\s+at /);
  });

  it("names the file pattern and the matching download command", async () => {
    const endpoint = await closedPortEndpoint();
    const environment = { HF_ENDPOINT: endpoint, HF_HOME: await temporaryFolder() };
    const error = await resolveModel("bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", { environment, progress: false }).catch((caught: unknown) => caught);
    const message = (error as Error).message;
    expect(message).toContain('It looked for a weight file matching "Q4_K_M"');
    expect(message).toContain('huggingface-cli download bartowski/Llama-3.2-3B-Instruct-GGUF --include "*Q4_K_M*" --local-dir ./Llama-3.2-3B-Instruct-GGUF');
    expect(message).toContain("(from HF_HOME)");

    const exact = await downloadFile("bartowski/Llama-3.2-3B-Instruct-GGUF", "x-Q8_0.gguf", { environment, progress: false }).catch((caught: unknown) => caught);
    expect(exact).toBeInstanceOf(ModelNotFoundError);
    expect((exact as Error).message).toContain("huggingface-cli download bartowski/Llama-3.2-3B-Instruct-GGUF x-Q8_0.gguf --local-dir ./Llama-3.2-3B-Instruct-GGUF");
    expect((exact as Error).message).toContain("--model ./Llama-3.2-3B-Instruct-GGUF/x-Q8_0.gguf");
  });

  it("does not contact the hub in offline mode and says so", async () => {
    const error = await resolveModel(repo, { environment: { HF_HUB_OFFLINE: "1", HF_HUB_CACHE: await temporaryFolder(), HF_ENDPOINT: "http://127.0.0.1:1" }, progress: false }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain("offline mode (HF_HUB_OFFLINE) forbids downloading it");
    expect((error as Error).message).toContain("hub http://127.0.0.1:1: not contacted (offline mode)");
  });

  it("explains an unreachable host name", async () => {
    const error = await resolveModel(repo, {
      environment: { HF_ENDPOINT: "http://hub.invalid", HF_HUB_CACHE: await temporaryFolder() },
      progress: false,
      stallTimeoutMs: 5000,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as ModelNotFoundError).searched[2].place).toBe(`hub http://hub.invalid/api/models/${repo}`);
    expect((error as ModelNotFoundError).searched[2].outcome).not.toBe("");
  });

  it("gives up on a hub that accepts the connection but never answers", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((listening) => silent.listen(0, "127.0.0.1", listening));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await resolveModel(repo, {
        environment: { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_CACHE: await temporaryFolder() },
        progress: false,
        stallTimeoutMs: 200,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ModelNotFoundError);
      expect((error as ModelNotFoundError).searched[2]).toEqual({
        place: `hub http://127.0.0.1:${port}/api/models/${repo}`,
        outcome: `no data for 0.2 s while waiting for a response from 127.0.0.1:${port}`,
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((closed) => silent.close(closed));
    }
  });
});
