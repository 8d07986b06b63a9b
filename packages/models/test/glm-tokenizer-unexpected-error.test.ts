// readGlmTokenizerGgufMetadata falls back to tokenizer.json only when tokenizer.model is not a SentencePiece model;
// any other failure of the SentencePiece reader (a bug, not a file problem) is passed on, not hidden by the fallback.
// The tokenizer package's reader is replaced here by one that fails with a TypeError: no file makes the real one do so.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it, vi } from "vitest";

vi.mock("@infer-recipes/tokenizer", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@infer-recipes/tokenizer")>()),
  readChatGlm3Vocabulary: () => {
    throw new TypeError("unexpected failure inside the reader");
  },
}));

import { readGlmTokenizerGgufMetadata } from "../src/glm-tokenizer-metadata.ts";
import { tinyGlm4Vocabulary, tinyGlmConfig, writeTinyGlm4HfTokenizer } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("glm-tokenizer-unexpected");

describe("readGlmTokenizerGgufMetadata and an unexpected reader failure", () => {
  it("passes the error on even when a tokenizer.json could be used instead", () => {
    const vocabulary = tinyGlm4Vocabulary(400);
    const config = { ...tinyGlmConfig(), vocabSize: 400 };
    for (const withJson of [false, true]) {
      const directory = temporary();
      fs.writeFileSync(path.join(directory, "tokenizer.model"), "anything");
      if (withJson) writeTinyGlm4HfTokenizer(directory, vocabulary);
      expect(() => readGlmTokenizerGgufMetadata(directory, config)).toThrow(new TypeError("unexpected failure inside the reader"));
    }
  });
});
