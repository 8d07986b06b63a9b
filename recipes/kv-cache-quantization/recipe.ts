// KV-cache quantization on the CPU: `pnpm recipe kv-cache-quantization [--kv-cache-dtype f32|f16|bf16|q8_0|q4_0] ...`
// Llama 3.2 1B Instruct generating with its keys and values stored in the chosen element type. Everything here is
// metadata: the cache types live in @infer-recipes/cache, the attention kernels that read them in
// @infer-recipes/kernel, and --kv-cache-dtype works the same on every recipe and on --serve.

import { runTextGenerationCommand, type TextRecipe } from "@infer-recipes/cli";

export const recipe: TextRecipe = {
  name: "kv-cache-quantization",
  title: "KV-cache quantization: f16, bf16, int8 and int4 keys and values",
  description:
    "Llama 3.2 1B Instruct with its KV cache stored as f16, bf16, q8_0 (int8) or q4_0 (int4) blocks, quantized once when a " +
    "position is written and decoded inside the flash-attention loop: 3.8x (q8_0) to 7.1x (q4_0) less cache memory than f32.",
  shows: [
    "cache element types f32/f16/bf16/q8_0/q4_0 in the dense and the paged (serving) cache, chosen with --kv-cache-dtype",
    "quantization once per written position; attention dequantizes inside its tile loop, never a full f32 copy",
    "AVX-512 VNNI integer scores on q8_0/q4_0 keys, with long contexts split over threads by position range",
    "memory accounting per element type: bytes per token and the longest context that fits a budget",
    "quality against the f32 cache on real tiny models (KL, perplexity, greedy agreement) and long-context decode speed",
  ],
  // A public GGUF that a fresh machine downloads without a token; the gated original is one flag away.
  defaultModel: "bartowski/Llama-3.2-1B-Instruct-GGUF:Llama-3.2-1B-Instruct-Q4_K_M.gguf",
  originalModel: "meta-llama/Llama-3.2-1B-Instruct",
  examples: [
    { command: "pnpm recipe kv-cache-quantization --prompt \"Tell me a long story\" --chat --max-tokens 400", what: "generate with the default q8_0 cache" },
    { command: "pnpm recipe kv-cache-quantization --kv-cache-dtype q4_0 --prompt \"Once upon a time\"", what: "the int4 cache: 7.1x smaller than f32" },
    { command: "pnpm recipe llama-3.2-3b --kv-cache-dtype f16", what: "the same option on any other recipe" },
    { command: "pnpm recipe kv-cache-quantization --serve --kv-cache-dtype q8_0 --cache-tokens 65536", what: "serve with 64k positions of int8 cache (1.1 GiB for the 1B shape, 4 GiB in f32)" },
  ],
  defaultTemperature: 0.7,
  chatByDefault: false,
  // Chosen from the measurements in README.md ("Which default"): q8_0 passes the int8 gates on TinyStories-656K (heads
  // of 16; Llama 3.2's are 64) at 0.27x the f32 cache's bytes.
  defaultKvCacheDType: "q8_0",
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runTextGenerationCommand(recipe, process.argv.slice(2));
}
