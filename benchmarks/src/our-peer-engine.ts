// This project's side of the peer comparison: the GGUF file loaded by this project's loader, the Llama forward pass
// on the native kernels with a dense KV cache, and a greedy loop (argmax on the kernel), timed the same way as the
// llama.cpp side: the prompt prefilled as one chunk, then one forward pass and one argmax per decoded token. Each run
// also reports what the native thread pool did over its prefill and over its decode (stalls, jobs the caller ran alone
// while backing off, its wait for helpers), so a slow run in the report can be told apart from a slow kernel.

import { NativeBackend, createKernel, nativeAvailability, type PoolStatistics } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights } from "@infer-recipes/models";

import type { LoadRequest, PeerEngine, PoolCounters } from "./peer-protocol.ts";

/** The pool's counters between two readings of NativeBackend.poolStatistics() (the later one minus the earlier). */
export function poolCountersBetween(before: PoolStatistics, after: PoolStatistics): PoolCounters {
  return {
    jobs: after.jobs - before.jobs,
    sharedJobs: after.sharedJobs - before.sharedJobs,
    soloJobs: after.soloJobs - before.soloJobs,
    callerOnlyJobs: after.callerOnlyJobs - before.callerOnlyJobs,
    stalls: after.stalls - before.stalls,
    waitMs: (after.waitMicroseconds - before.waitMicroseconds) / 1000,
  };
}

export function createOurPeerEngine(request: LoadRequest): PeerEngine {
  const availability = nativeAvailability();
  if (!availability.available) throw new Error(`the native kernels are unavailable: ${availability.reason}`);
  const kernel = createKernel({ backend: "native", threads: request.threads });
  const model = LlamaModel.fromLoadedWeights(loadModelWeights(request.modelPath, { packFor: kernel }), kernel);
  const cache = model.createCache(request.contextSize);
  const greedy = (tokens: Int32Array): number => kernel.argmax(model.forward(tokens, cache));
  const poolStatistics = () => (kernel.backend instanceof NativeBackend ? kernel.backend.poolStatistics() : undefined);

  return {
    get description() {
      const isa = kernel.backend instanceof NativeBackend ? ` (${kernel.backend.isa})` : "";
      return `this project: native backend${isa}, ${kernel.threads} threads, file read into memory, dense f32 KV cache, greedy decoding`;
    },
    async setThreads(threads) {
      kernel.setThreads(threads);
    },
    async run(prompt, decodeTokens) {
      if (prompt.length > request.batchSize) throw new Error(`the prompt (${prompt.length} tokens) is longer than one batch (${request.batchSize})`);
      cache.clear();
      const poolBefore = poolStatistics();
      const prefillStart = performance.now();
      let token = greedy(Int32Array.from(prompt));
      const decodeStart = performance.now();
      const poolAfterPrefill = poolStatistics();
      const generated = [token];
      const tokenArrivalMs: number[] = [];
      for (let step = 0; step < decodeTokens; step++) {
        token = greedy(Int32Array.of(token));
        tokenArrivalMs.push(performance.now() - decodeStart);
        generated.push(token);
      }
      const decodeEnd = performance.now();
      const poolAfterDecode = poolStatistics();
      return {
        prefillTokens: prompt.length,
        prefillMs: decodeStart - prefillStart,
        decodeTokens,
        decodeMs: decodeEnd - decodeStart,
        tokenArrivalMs,
        generated,
        ...(poolBefore && poolAfterPrefill && poolAfterDecode
          ? { pool: { prefill: poolCountersBetween(poolBefore, poolAfterPrefill), decode: poolCountersBetween(poolAfterPrefill, poolAfterDecode) } }
          : {}),
      };
    },
    async close() {},
  };
}
