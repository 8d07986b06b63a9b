// Llama 3.2 3B Instruct on the CPU: `pnpm recipe llama-3.2-3b [--model PATH|REPO[:FILE]] [--prompt TEXT] [--chat] ...`
// Everything model-specific is this metadata; loading, generation and chat live in the shared packages.

import { runTextGenerationCommand, type TextRecipe } from "@infer-recipes/cli";

export const recipe: TextRecipe = {
  name: "llama-3.2-3b",
  title: "Llama 3.2 3B Instruct on the CPU",
  description: "Llama 3.2 3B Instruct text generation and chat on the CPU (KV cache, flash attention, GQA, Q8_0/Q4_0/Q4_K weights, native kernels).",
  shows: [
    "a KV cache, so a decode step is one token through the network",
    "tiled flash attention with an online softmax, grouped-query attention without copying keys and values",
    "Q8_0, Q4_0 (and GGUF's Q4_K/Q6_K) weights computed on as stored, repacked at load for AVX-512 VNNI",
    "native AVX-512/AVX2 kernels with a thread pool, chunked prefill",
    "an OpenAI-compatible server with continuous batching over a paged, prefix-sharing KV cache (--serve)",
  ],
  // A public GGUF that a fresh machine can download without a token; the gated original is one flag away.
  defaultModel: "bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf",
  originalModel: "meta-llama/Llama-3.2-3B-Instruct",
  examples: [
    { command: "pnpm recipe llama-3.2-3b", what: "chat with the default model (downloaded on first use)" },
    { command: "pnpm recipe llama-3.2-3b --prompt \"Why is the sky blue?\" --chat --max-tokens 200", what: "one answer through the chat template" },
    { command: "pnpm recipe llama-3.2-3b --model ./Llama-3.2-3B-Instruct --quant q8_0 --prompt \"Once upon a time\"", what: "safetensors weights quantized to Q8_0 at load" },
    { command: "pnpm recipe llama-3.2-3b --serve --port 8000", what: "an OpenAI-compatible server on 127.0.0.1:8000" },
  ],
  defaultTemperature: 0.7,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runTextGenerationCommand(recipe, process.argv.slice(2));
}
