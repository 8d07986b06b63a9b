// Test helper: reads llama.cpp's reference tokenizations (models/ggml-vocab-*.gguf.inp / .out): inputs separated by
// "\n__ggml_vocab_test__\n" (also after the last one), expected ids one line of space-separated numbers per input.

import { readFileSync } from "node:fs";
import { sharedModelPath } from "./shared-models.ts";

export interface TokenizerTestVector {
  text: string;
  ids: number[];
}

const separator = "\n__ggml_vocab_test__\n";

export function testVectorFiles(vocabularyName: string): string[] {
  return [`tokenizer-test-vectors/ggml-vocab-${vocabularyName}.gguf.inp`, `tokenizer-test-vectors/ggml-vocab-${vocabularyName}.gguf.out`];
}

export function readTestVectors(vocabularyName: string): TokenizerTestVector[] {
  const [inputPath, outputPath] = testVectorFiles(vocabularyName).map((path) => sharedModelPath(path));
  let inputs = readFileSync(inputPath, "utf8");
  if (inputs.endsWith(separator)) inputs = inputs.slice(0, -separator.length);
  const texts = inputs.split(separator);
  const lines = readFileSync(outputPath, "utf8").replace(/\n$/, "").split("\n");
  if (texts.length !== lines.length) {
    throw new Error(`${vocabularyName}: ${texts.length} inputs but ${lines.length} expected outputs`);
  }
  return texts.map((text, index) => ({
    text,
    ids: lines[index].trim() === "" ? [] : lines[index].trim().split(/\s+/).map(Number),
  }));
}

/** Encodes every vector and returns how many matched, with the mismatches for the failure message. */
export function checkTestVectors(
  vectors: readonly TokenizerTestVector[],
  encode: (text: string) => number[],
): { matched: number; total: number; mismatches: string[] } {
  const mismatches: string[] = [];
  for (const vector of vectors) {
    const ids = encode(vector.text);
    if (ids.join(" ") !== vector.ids.join(" ")) {
      mismatches.push(`${JSON.stringify(vector.text)}: got [${ids.join(" ")}], expected [${vector.ids.join(" ")}]`);
    }
  }
  return { matched: vectors.length - mismatches.length, total: vectors.length, mismatches };
}
