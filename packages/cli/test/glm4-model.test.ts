// GLM-4 through the command line's loader, on a tiny random GLM model with a GLM-4-style byte-level vocabulary:
// a THUDM folder (config.json, safetensors, tokenizer.json, and a tiktoken tokenizer.model that is not SentencePiece),
// the same folder converted to GGUF (pre "chatglm-bpe"), and a GGUF without a chat template. The prompt is GLM-4's
// "[gMASK]<sop><|user|>\n...<|assistant|>" without a BOS, a turn ends at <|endoftext|> / <|user|> / <|observation|>,
// and the folder and the converted file give the same prompt and the same greedy reply.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  convertHfModelToGguf,
  randomGlmTensors,
  tinyGlm4GgufTokenizerMetadata,
  tinyGlm4Vocabulary,
  tinyGlmConfig,
  writeGlmGgufModel,
  writeGlmHfModel,
  writeTinyGlm4HfTokenizer,
  writeTinyGlm4TiktokenModel,
} from "@infer-recipes/models";

import { ChatSession, loadTextModel, promptIds } from "../src/index.ts";

const directory = mkdtempSync(path.join(tmpdir(), "glm4-model-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const vocabulary = tinyGlm4Vocabulary(448);
const special = (text: string) => vocabulary.special.get(text)!;
const config = tinyGlmConfig({
  hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 8, intermediateSize: 96, vocabSize: 448, contextLength: 256,
  eosTokenIds: [special("<|endoftext|>"), special("<|user|>"), special("<|observation|>")],
});
const tensors = randomGlmTensors(config, 11);
const folder = path.join(directory, "glm-4-tiny");
mkdirSync(folder);
writeGlmHfModel(folder, config, tensors);
writeTinyGlm4HfTokenizer(folder, vocabulary);
writeTinyGlm4TiktokenModel(folder, vocabulary);
const converted = path.join(directory, "glm-4-tiny-converted.gguf");
convertHfModelToGguf(folder, converted, { quant: "f32" });
const withoutTemplate = path.join(directory, "glm-4-tiny-no-template.gguf");
writeGlmGgufModel(withoutTemplate, config, tensors, tinyGlm4GgufTokenizerMetadata(vocabulary, null));

const question = [{ role: "user" as const, content: "Hello, 你好 world" }];
const greedy = { temperature: 0, maxTokens: 8 };

describe("GLM-4 (byte-level vocabulary) through the loader", () => {
  it("reads the folder's tokenizer.json (its tokenizer.model is tiktoken, not SentencePiece) and renders GLM-4's prompt", async () => {
    const textModel = await loadTextModel(folder, { backend: "reference", progress: false });
    const { tokenizer } = textModel;
    const ids = promptIds(textModel, question);
    expect(ids).toEqual(tokenizer.encode("[gMASK]<sop><|user|>\nHello, 你好 world<|assistant|>", { addSpecialTokens: false }));
    expect(ids.slice(0, 3)).toEqual([special("[gMASK]"), special("<sop>"), special("<|user|>")]); // no BOS before [gMASK]
    expect(ids.at(-1)).toBe(special("<|assistant|>"));
    // Merged words are single tokens: " world" and "你好" each come out whole.
    expect(ids).toContain(tokenizer.tokenToId("Ġworld"));
    expect(textModel.stopTokenIds).toEqual(expect.arrayContaining(["<|endoftext|>", "<|user|>", "<|observation|>"].map(special)));
  });

  it("gives the same prompt and greedy reply from the folder and from its GGUF conversion (pre chatglm-bpe)", async () => {
    const fromFolder = await loadTextModel(folder, { backend: "reference", progress: false });
    const fromGguf = await loadTextModel(converted, { backend: "reference", progress: false });
    expect(fromGguf.loaded.metadata.get("tokenizer.ggml.pre")).toBe("chatglm-bpe");
    expect(fromGguf.tokenizer.bosTokenId).toBeUndefined();
    expect(promptIds(fromGguf, question)).toEqual(promptIds(fromFolder, question));
    expect(fromGguf.stopTokenIds).toEqual(expect.arrayContaining(["<|endoftext|>", "<|user|>", "<|observation|>"].map(special)));
    const replies = [];
    for (const textModel of [fromFolder, fromGguf]) replies.push((await new ChatSession(textModel).send(question[0].content, greedy)).result.tokenIds);
    expect(replies[0].length).toBeGreaterThan(0);
    expect(replies[1]).toEqual(replies[0]);
  });

  it("chats in GLM-4's format when a GGUF file carries no chat template", async () => {
    const textModel = await loadTextModel(withoutTemplate, { backend: "reference", progress: false });
    const ids = promptIds(textModel, question);
    expect(ids).toEqual(textModel.tokenizer.encode("[gMASK]<sop><|user|>\nHello, 你好 world<|assistant|>\n", { addSpecialTokens: false }));
  });
});
