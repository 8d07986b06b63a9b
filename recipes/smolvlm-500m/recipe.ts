// SmolVLM-500M-Instruct visual question answering on the CPU:
// `pnpm recipe smolvlm-500m --image photo.jpg --question "What is on the table?" [--json] [--max-tokens N] ...`
// Everything model-specific is this metadata; image processing, the vision encoder, the embedding cache, generation
// and chat live in the shared packages.

import { runVisionQuestionCommand, type VisionRecipe } from "@infer-recipes/cli";

export const recipe: VisionRecipe = {
  name: "smolvlm-500m",
  description: "SmolVLM-500M-Instruct: questions about images on the CPU (Idefics3 processor, SigLIP encoder on the native kernels, image-embedding cache).",
  // llama.cpp's split form from ggml-org (public, ungated): the Q8_0 language model and the F16 vision projector.
  defaultModel: "ggml-org/SmolVLM-500M-Instruct-GGUF:SmolVLM-500M-Instruct-Q8_0.gguf",
  defaultMmproj: "mmproj-SmolVLM-500M-Instruct-f16.gguf",
  originalModel: "HuggingFaceTB/SmolVLM-500M-Instruct",
  defaultTemperature: 0,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runVisionQuestionCommand(recipe, process.argv.slice(2));
}
