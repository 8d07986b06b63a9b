// SmolVLM-500M-Instruct visual question answering on the CPU:
// `pnpm recipe smolvlm-500m --image photo.jpg --question "What is on the table?" [--json] [--max-tokens N] ...`
// Everything model-specific is this metadata; image processing, the vision encoder, the embedding cache, generation
// and chat live in the shared packages.

import { runVisionQuestionCommand, type VisionRecipe } from "@infer-recipes/cli";

/** The recipe's metadata (the docs gallery reads it) and its defaults; see RecipeMetadata in @infer-recipes/cli. */
export const recipe: VisionRecipe = {
  name: "smolvlm-500m",
  title: "SmolVLM 500M Instruct: questions about images on the CPU",
  description: "SmolVLM-500M-Instruct: questions about images on the CPU (Idefics3 processor, SigLIP encoder on the native kernels, image-embedding cache).",
  shows: [
    "image decoding (JPEG, PNG, WebP; EXIF orientation, alpha, grayscale) and the Idefics3 processor, pixel-exact with Pillow",
    "a SigLIP vision encoder on the native kernels: one GEMM over every patch of a batch of tiles, attention within each tile",
    "the pixel-shuffle connector, and image embeddings placed at the <image> positions of the Llama language model's prompt",
    "an image-embedding cache by content hash: a second question about the same image skips the encoder",
    "images in the OpenAI chat API (image_url data: URLs, --serve), the prefix cache keyed by image content",
    "llama.cpp's GGUF + mmproj pair and the Hugging Face folder; f32/f16/bf16/q8_0 vision weights",
  ],
  // llama.cpp's split form from ggml-org (public, ungated): the Q8_0 language model and the F16 vision projector.
  defaultModel: "ggml-org/SmolVLM-500M-Instruct-GGUF:SmolVLM-500M-Instruct-Q8_0.gguf",
  defaultMmproj: "mmproj-SmolVLM-500M-Instruct-f16.gguf",
  originalModel: "HuggingFaceTB/SmolVLM-500M-Instruct",
  examples: [
    { command: "pnpm recipe smolvlm-500m --image photo.jpg --question \"What is on the table?\"", what: "one answer about a photo (the default GGUF pair is downloaded on first use)" },
    { command: "pnpm recipe smolvlm-500m --image photo.jpg", what: "a chat about the photo; /image PATH adds another" },
    { command: "pnpm recipe smolvlm-500m --model HuggingFaceTB/SmolVLM-256M-Instruct --image a.jpg --image b.png --question \"What differs?\"", what: "the 256M model from its Hugging Face safetensors, two images" },
    { command: "pnpm recipe smolvlm-500m --serve --port 8000", what: "an OpenAI-compatible server taking image_url parts (data: URLs)" },
  ],
  defaultTemperature: 0,
};

if (process.argv[1]?.endsWith("recipe.ts")) {
  process.exitCode = await runVisionQuestionCommand(recipe, process.argv.slice(2));
}
