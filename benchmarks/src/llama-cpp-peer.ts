// llama.cpp as a peer, through the npm package node-llama-cpp: its prebuilt CPU binary (@node-llama-cpp/linux-x64,
// installed from the npm registry as an optional dependency) is loaded as is. It never compiles llama.cpp and never
// downloads anything: build "never", skipDownload, no GPU. When the binary is missing or does not load here, the
// reason is returned so benchmarks and tests can skip the peer with a message instead of failing.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { Llama, Token } from "node-llama-cpp";

export type LlamaCppLoad = { llama: Llama; description: string } | { llama: undefined; reason: string };

let pending: Promise<LlamaCppLoad> | undefined;

async function load(): Promise<LlamaCppLoad> {
  // Read by node-llama-cpp's config at import time: never fetch a llama.cpp release or prebuilt binary.
  process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true";
  try {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    const llama = await getLlama({
      gpu: false,
      build: "never",
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      // 0 = no cap, so a context's `threads` is the exact thread count rather than a hint.
      maxThreads: 0,
      logLevel: LlamaLogLevel.error,
    });
    const features = llama.systemInfo.replace(/\s*\|\s*/g, " ").replace(/\s+/g, " ").trim();
    return { llama, description: `node-llama-cpp ${packageVersion()} (${llama.buildType} binary, llama.cpp ${llama.llamaCppRelease.release}; ${features})` };
  } catch (error) {
    return { llama: undefined, reason: `node-llama-cpp did not load its prebuilt llama.cpp binary: ${(error as Error).message.split("\n")[0]}` };
  }
}

/** The installed node-llama-cpp version (its package.json is not exported, so it is read beside the entry point). */
function packageVersion(): string {
  try {
    const entry = fileURLToPath(import.meta.resolve("node-llama-cpp"));
    return (JSON.parse(readFileSync(entry.replace(/dist[\\/]index\.js$/, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "(unknown version)";
  }
}

/** node-llama-cpp's Llama instance (loaded once per process), or why it is not available on this machine. */
export function loadLlamaCpp(): Promise<LlamaCppLoad> {
  pending ??= load();
  return pending;
}

/** Token ids as node-llama-cpp's branded Token type (a plain number at run time). */
export function llamaTokens(ids: readonly number[]): Token[] {
  return ids as Token[];
}
