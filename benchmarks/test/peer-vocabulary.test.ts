// The vocabulary embedded in the peer files: Llama 3's own tokenizer from ../shared/models when present (skipped with a
// message otherwise), else a synthetic one of the same size.
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { llama3TokenizerDirectory, peerVocabulary } from "../src/peer-vocabulary.ts";

const llama3Tokenizer = path.join(llama3TokenizerDirectory, "tokenizer.json");
const hasLlama3Tokenizer = fs.existsSync(llama3Tokenizer);
if (!hasLlama3Tokenizer) console.warn(`[peer-vocabulary] Llama 3 tokenizer case skipped: missing ${llama3Tokenizer}`);

describe("peerVocabulary", () => {
  it("falls back to a synthetic vocabulary of the model's size without tokenizer.json", () => {
    const vocabulary = peerVocabulary(128256, "/nonexistent/tokenizer/directory");
    expect(vocabulary.kind).toBe("synthetic");
    expect(vocabulary.description).toContain("/nonexistent/tokenizer/directory");
    expect((vocabulary.metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(128256);
  });

  it.skipIf(!hasLlama3Tokenizer)("embeds Llama 3's tokenizer when it is there", () => {
    const vocabulary = peerVocabulary(128256);
    expect(vocabulary.kind).toBe("llama3");
    expect(vocabulary.metadata.get("tokenizer.ggml.model")).toBe("gpt2");
    expect((vocabulary.metadata.get("tokenizer.ggml.tokens") as string[])[128000]).toBe("<|begin_of_text|>");
  });
});
