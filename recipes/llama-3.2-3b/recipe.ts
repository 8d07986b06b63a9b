// Llama 3.2 3B Instruct on the CPU: `pnpm recipe llama-3.2-3b [--model PATH|REPO[:FILE]] [--prompt TEXT] [--chat] ...`
// Everything model-specific is this metadata; loading, generation and chat live in the shared packages.

import { runTextGenerationCommand, type TextRecipe } from "@infer-recipes/cli";

export const recipe: TextRecipe = {
  name: "llama-3.2-3b",
  description: "Llama 3.2 3B Instruct text generation and chat on the CPU (KV cache, flash attention, GQA, Q8_0/Q4_0/Q4_K weights, native kernels).",
  // A public GGUF that a fresh machine can download without a token; the gated original is one flag away.
  defaultModel: "bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf",
  originalModel: "meta-llama/Llama-3.2-3B-Instruct",
  defaultTemperature: 0.7,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runTextGenerationCommand(recipe, process.argv.slice(2));
}
