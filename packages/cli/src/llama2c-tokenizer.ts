// llama2.c's tokenizer.bin (Karpathy's format: u32 max token length, then per token f32 score, i32 length, bytes)
// read into the SentencePiece-style vocabulary the tokenizer package already implements for GGUF files.

import { readFileSync } from "node:fs";

import { tokenizerFromGgufMetadata, type TextTokenizer } from "@infer-recipes/tokenizer";

/**
 * Reads a llama2.c `tokenizer.bin` (as shipped beside llama2.c checkpoints) as a SentencePiece tokenizer of
 * `vocabSize` tokens, the model's vocabulary size (the file does not store it).
 */
export function readLlama2cTokenizer(path: string, vocabSize: number): TextTokenizer {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const tokens: string[] = [];
  const scores = new Float32Array(vocabSize);
  const types = new Int32Array(vocabSize);
  let offset = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (offset + 8 > bytes.length) throw new Error(`${path}: truncated llama2.c tokenizer: ${id} of ${vocabSize} tokens read`);
    scores[id] = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || offset + length > bytes.length) throw new Error(`${path}: token ${id} claims ${length} bytes past the end of the file`);
    let text = decoder.decode(bytes.subarray(offset, offset + length));
    offset += length;
    // llama2.c spells BOS/EOS with surrounding newlines and stores spaces as spaces; SentencePiece uses ▁.
    if (text === "\n<s>\n") text = "<s>";
    else if (text === "\n</s>\n") text = "</s>";
    else text = text.replace(/ /g, "\u2581");
    tokens.push(text);
    types[id] = id === 0 ? 2 : text === "<s>" || text === "</s>" ? 3 : /^<0x[0-9A-F]{2}>$/.test(text) ? 6 : 1;
  }
  return tokenizerFromGgufMetadata(
    new Map<string, unknown>([
      ["tokenizer.ggml.model", "llama"],
      ["tokenizer.ggml.tokens", tokens],
      ["tokenizer.ggml.scores", scores],
      ["tokenizer.ggml.token_type", types],
      ["tokenizer.ggml.bos_token_id", 1],
      ["tokenizer.ggml.eos_token_id", 2],
      ["tokenizer.ggml.unknown_token_id", 0],
      ["tokenizer.ggml.add_bos_token", true],
    ]),
  );
}
