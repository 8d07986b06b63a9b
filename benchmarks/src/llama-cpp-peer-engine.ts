// llama.cpp's side of the peer comparison, through node-llama-cpp: the same GGUF file (read into the process's memory
// as this project's loader does, or memory-mapped when asked; CPU only), one context with the requested thread count
// and batch size, flash attention as llama.cpp chooses ("auto"). A run prefills the prompt (one controlledEvaluate
// whose last token samples greedily), then decodes greedily with sequence.evaluate, which evaluates each new token and
// samples the next one — one forward pass per decoded token, like ours. EOG tokens are yielded, not stopped at, so
// every run decodes the same number of tokens.

import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";

import { llamaTokens, loadLlamaCpp } from "./llama-cpp-peer.ts";
import type { LoadRequest, PeerEngine } from "./peer-protocol.ts";

export async function createLlamaCppPeerEngine(request: LoadRequest): Promise<PeerEngine> {
  const loaded = await loadLlamaCpp();
  if (loaded.llama === undefined) throw new Error(loaded.reason);
  const { llama } = loaded;
  const model: LlamaModel = await llama.loadModel({ modelPath: request.modelPath, gpuLayers: 0, useMmap: request.memoryMap });
  let threads = request.threads;
  let context: LlamaContext | undefined;
  let sequence: LlamaContextSequence | undefined;

  const createContext = async (): Promise<void> => {
    await context?.dispose();
    context = await model.createContext({ contextSize: request.contextSize, batchSize: request.batchSize, threads, sequences: 1 });
    sequence = context.getSequence();
  };
  await createContext();

  return {
    get description() {
      const loading = request.memoryMap ? "file memory-mapped" : "file read into memory (no mmap)";
      return `llama.cpp via ${loaded.description}: ${threads} threads, batch ${request.batchSize}, ${loading}, flash attention ${String(context?.flashAttention)}, greedy decoding`;
    },
    async setThreads(count) {
      threads = count;
      await createContext();
    },
    async run(prompt, decodeTokens) {
      const current = sequence!;
      await current.clearHistory();
      const prefillStart = performance.now();
      const tokens = llamaTokens(prompt);
      const last = tokens.length - 1;
      const outputs = await current.controlledEvaluate([
        ...tokens.slice(0, last),
        [tokens[last], { generateNext: { token: true, options: { temperature: 0 } } }],
      ]);
      const first = outputs[last]?.next.token;
      if (first === undefined || first === null) throw new Error("llama.cpp returned no token after the prompt");
      const decodeStart = performance.now();
      const generated = [first as number];
      const tokenArrivalMs: number[] = [];
      if (decodeTokens > 0) {
        for await (const token of current.evaluate([first], { temperature: 0, yieldEogToken: true })) {
          tokenArrivalMs.push(performance.now() - decodeStart);
          generated.push(token as number);
          if (tokenArrivalMs.length === decodeTokens) break;
        }
      }
      const decodeEnd = performance.now();
      if (tokenArrivalMs.length !== decodeTokens) throw new Error(`llama.cpp stopped after ${tokenArrivalMs.length} of ${decodeTokens} decoded tokens`);
      return {
        prefillTokens: prompt.length,
        prefillMs: decodeStart - prefillStart,
        decodeTokens,
        decodeMs: decodeEnd - decodeStart,
        tokenArrivalMs,
        generated,
      };
    },
    async close() {
      await context?.dispose();
      await model.dispose();
    },
  };
}
