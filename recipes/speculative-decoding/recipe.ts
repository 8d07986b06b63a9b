// Speculative decoding on the CPU: `pnpm recipe speculative-decoding [--model TARGET] [--draft DRAFT | --lookup]
// [--draft-tokens K|auto] [--prompt TEXT] [--chat] ...`. Everything model-specific is this metadata; the drafters,
// the verify loop and the command line live in the shared packages (engine, cli).

import { runSpeculativeCommand, type SpeculativeRecipe } from "@infer-recipes/cli";

export const recipe: SpeculativeRecipe = {
  name: "speculative-decoding",
  title: "Speculative decoding: Llama 3.2 1B drafts, 3B verifies",
  description:
    "Speculative decoding: a draft model (Llama 3.2 1B for 3B) or prompt lookup proposes tokens, the target verifies them in one forward pass; lossless (greedy output identical, sampling distribution preserved).",
  shows: [
    "a draft model with its own KV cache, or prompt lookup (n-gram matches in the prompt and output), proposing k tokens",
    "one target forward over k + 1 positions verifying them, and an O(1) rollback of both KV caches (dense and paged)",
    "lossless acceptance: greedy output identical to the target's, rejection sampling that keeps its distribution",
    "an adaptive draft length from the measured acceptance and costs, down to plain decoding when drafting does not pay",
  ],
  // Public GGUFs of the same family the llama-3.2-3b recipe uses, fetched without a token.
  defaultModel: "bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf",
  defaultDraft: "bartowski/Llama-3.2-1B-Instruct-GGUF:Llama-3.2-1B-Instruct-Q4_K_M.gguf",
  originalModel: "meta-llama/Llama-3.2-3B-Instruct",
  examples: [
    { command: "pnpm recipe speculative-decoding --prompt \"Why is the sky blue?\" --chat --max-tokens 200", what: "3B with the 1B as draft (both downloaded on first use), greedy" },
    { command: "pnpm recipe speculative-decoding --lookup --prompt \"Summarize: ...\" --chat", what: "prompt lookup instead of a draft model" },
    { command: "pnpm recipe speculative-decoding --draft-tokens 4 --temperature 0.7 --seed 1 --prompt \"Once upon a time\" --json", what: "sampling at 4 drafts per step, with the acceptance statistics as JSON" },
  ],
  // Greedy by default: the output is then exactly the target's own greedy output. --temperature samples (still lossless).
  defaultTemperature: 0,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runSpeculativeCommand(recipe, process.argv.slice(2));
}
