// Speculative decoding on the CPU: `pnpm recipe speculative-decoding [--model TARGET] [--draft DRAFT | --lookup]
// [--draft-tokens K|auto] [--prompt TEXT] [--chat] ...`. Everything model-specific is this metadata; the drafters,
// the verify loop and the command line live in the shared packages (engine, cli).

import { runSpeculativeCommand, type SpeculativeRecipe } from "@infer-recipes/cli";

export const recipe: SpeculativeRecipe = {
  name: "speculative-decoding",
  description:
    "Speculative decoding: a draft model (Llama 3.2 1B for 3B) or prompt lookup proposes tokens, the target verifies them in one forward pass; lossless (greedy output identical, sampling distribution preserved).",
  // Public GGUFs of the same family the llama-3.2-3b recipe uses, fetched without a token.
  defaultModel: "bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf",
  defaultDraft: "bartowski/Llama-3.2-1B-Instruct-GGUF:Llama-3.2-1B-Instruct-Q4_K_M.gguf",
  originalModel: "meta-llama/Llama-3.2-3B-Instruct",
  // Greedy by default: the output is then exactly the target's own greedy output. --temperature samples (still lossless).
  defaultTemperature: 0,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runSpeculativeCommand(recipe, process.argv.slice(2));
}
