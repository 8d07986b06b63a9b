// llama.cpp's side of the quality comparison, through node-llama-cpp: the same GGUF file, one context of the window's
// size, a window's logits from controlledEvaluate (each scored position asks for the raw logits of the whole
// vocabulary, no sampling options applied), greedy decoding with temperature 0. Both start every window and prompt
// from an empty sequence.

import type { LlamaContextSequence, ControlledEvaluateInputItem, Token } from "node-llama-cpp";

import { llamaTokens, loadLlamaCpp } from "./llama-cpp-peer.ts";
import type { QualityEngine } from "./quality-comparison.ts";

export interface LlamaCppQualityOptions {
  modelPath: string;
  /** Tokens of context (≥ the window and ≥ prompt + greedy tokens). */
  contextSize: number;
  vocabSize: number;
  threads: number;
}

/** The rows of logits node-llama-cpp returned as Maps (token → logit), as a dense [rows, vocab] array. */
export function denseLogits(rows: ReadonlyArray<ReadonlyMap<number, number> | undefined>, vocabSize: number): Float32Array {
  const dense = new Float32Array(rows.length * vocabSize);
  rows.forEach((row, index) => {
    if (row === undefined || row.size !== vocabSize) throw new Error(`llama.cpp returned ${row?.size ?? "no"} logits for row ${index}, expected the whole vocabulary (${vocabSize})`);
    for (const [token, logit] of row) dense[index * vocabSize + token] = logit;
  });
  return dense;
}

export async function createLlamaCppQualityEngine(options: LlamaCppQualityOptions): Promise<QualityEngine> {
  const loaded = await loadLlamaCpp();
  if (loaded.llama === undefined) throw new Error(loaded.reason);
  const model = await loaded.llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: options.contextSize, batchSize: options.contextSize, threads: options.threads, sequences: 1 });
  const sequence: LlamaContextSequence = context.getSequence();

  return {
    description: `llama.cpp via ${loaded.description}: ${options.threads} threads, context ${options.contextSize}, flash attention ${String(context.flashAttention)}`,
    async windowLogits(tokens, firstScoredRow) {
      await sequence.clearHistory();
      const ids = llamaTokens(Array.from(tokens));
      const items: ControlledEvaluateInputItem[] = ids.map((token, index) =>
        index >= firstScoredRow && index < ids.length - 1 ? [token, { generateNext: { logits: true } }] : token,
      );
      const outputs = await sequence.controlledEvaluate(items);
      const rows: Array<Map<Token, number> | undefined> = [];
      for (let index = firstScoredRow; index < ids.length - 1; index++) rows.push(outputs[index]?.next.logits);
      return denseLogits(rows, options.vocabSize);
    },
    async greedy(prompt, count) {
      await sequence.clearHistory();
      const generated: number[] = [];
      for await (const token of sequence.evaluate(llamaTokens(prompt), { temperature: 0, yieldEogToken: true })) {
        generated.push(token);
        if (generated.length === count) break;
      }
      if (generated.length !== count) throw new Error(`llama.cpp stopped after ${generated.length} of ${count} greedy tokens`);
      return generated;
    },
    async tokenize(text, specialTokens = false) {
      return model.tokenize(text, specialTokens).map(Number);
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}
