// ChatGLM3-6B chat on the CPU: `pnpm recipe chatglm3-6b [--model PATH|REPO[:FILE]] [--prompt TEXT] [--serve] ...`
// Everything model-specific is this metadata; the GLM architecture, its tokenizer, loading, generation and the chat
// that reuses the KV cache between turns live in the shared packages.

import { runTextGenerationCommand, type TextRecipe } from "@infer-recipes/cli";

export const recipe: TextRecipe = {
  name: "chatglm3-6b",
  description: "ChatGLM3-6B multi-turn chat on the CPU: the GLM architecture on the shared decoder, [gMASK]sop prompts, KV cache reuse across turns, Q8_0/Q4_0 weights.",
  // A public GGUF (llama.cpp's chatglm architecture, Q8_0) that a fresh machine can download without a token; THUDM's
  // own checkpoint (safetensors or PyTorch .bin, f16) is one flag away and quantizes on load with --quant.
  defaultModel: "mradermacher/chatglm3-6b-GGUF:chatglm3-6b.Q8_0.gguf",
  originalModel: "THUDM/chatglm3-6b",
  // THUDM's generation defaults for ChatGLM3 (temperature 0.8, top-p 0.8).
  defaultTemperature: 0.8,
  defaultTopP: 0.8,
  // A chat model: --prompt goes through the chat template ([gMASK]sop<|user|>\n ...<|assistant|>) unless --raw.
  chatByDefault: true,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runTextGenerationCommand(recipe, process.argv.slice(2));
}
