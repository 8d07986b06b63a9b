// ChatGLM3-6B chat on the CPU: `pnpm recipe chatglm3-6b [--model PATH|REPO[:FILE]] [--prompt TEXT] [--serve] ...`
// Everything model-specific is this metadata; the GLM architecture, its tokenizer, loading, generation and the chat
// that reuses the KV cache between turns live in the shared packages.

import { runTextGenerationCommand, type TextRecipe } from "@infer-recipes/cli";

export const recipe: TextRecipe = {
  name: "chatglm3-6b",
  title: "ChatGLM3-6B multi-turn chat on the CPU",
  description: "ChatGLM3-6B multi-turn chat on the CPU: the GLM architecture on the shared decoder, [gMASK]sop prompts, KV cache reuse across turns, Q8_0/Q4_0 weights.",
  shows: [
    "a second architecture (GLM: q/k/v biases, RoPE on half of each head, fused matrices split at load) on the same decoder, cache, scheduler and server as Llama",
    "ChatGLM3's SentencePiece tokenizer.model parsed directly, special tokens at their ids, the [gMASK]sop chat format",
    "multi-turn chat that keeps the KV cache between turns: turn N prefills only its new message",
    "weights from THUDM's safetensors or PyTorch .bin (a restricted unpickler: tensors only) or GGUF, quantized on load to Q8_0/Q4_0",
    "an OpenAI-compatible server whose prefix cache serves the earlier turns of a conversation (--serve)",
  ],
  // A public GGUF (llama.cpp's chatglm architecture, Q8_0) that a fresh machine can download without a token; THUDM's
  // own checkpoint (safetensors or PyTorch .bin, f16) is one flag away and quantizes on load with --quant.
  defaultModel: "mradermacher/chatglm3-6b-GGUF:chatglm3-6b.Q8_0.gguf",
  originalModel: "THUDM/chatglm3-6b",
  examples: [
    { command: "pnpm recipe chatglm3-6b", what: "chat with the default model (downloaded on first use); /system, /reset, Ctrl-C stops a reply" },
    { command: "pnpm recipe chatglm3-6b --prompt \"用三句话介绍一下长城\" --max-tokens 200", what: "one answer through ChatGLM3's chat template" },
    { command: "pnpm recipe chatglm3-6b --model THUDM/chatglm3-6b --quant q8_0", what: "THUDM's f16 checkpoint, quantized to Q8_0 as it loads" },
    { command: "pnpm recipe chatglm3-6b --serve --port 8000", what: "an OpenAI-compatible server on 127.0.0.1:8000" },
  ],
  // THUDM's generation defaults for ChatGLM3 (temperature 0.8, top-p 0.8).
  defaultTemperature: 0.8,
  defaultTopP: 0.8,
  // A chat model: --prompt goes through the chat template ([gMASK]sop<|user|>\n ...<|assistant|>) unless --raw.
  chatByDefault: true,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runTextGenerationCommand(recipe, process.argv.slice(2));
}
