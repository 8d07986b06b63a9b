// Tests the tokenizer.model (SentencePiece ModelProto) parser and ChatGLM3's tokenizer built on it: a hand-encoded
// model (always runs) for every field read, defaults, negative ids and the errors on bad input; ChatGLM3's real
// tokenizer.model from ../shared/models (skipped with a message when absent) for its piece counts, special tokens at
// their ids, the chat prompt's token layout and round trips.

import { describe, expect, it } from "vitest";

import {
  chatGlm3ChatTemplate,
  chatGlm3SpecialTokens,
  chatGlm3Vocabulary,
  compileChatTemplate,
  loadChatGlm3Tokenizer,
  parseSentencePieceModel,
  readSentencePieceModel,
  SentencePieceModelError,
  SentencePieceTokenizer,
  sentencePieceVocabulary,
} from "../src/index.ts";
import { bytesField, pieceMessage, stringField, varintField } from "./protobuf-writer.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";

function modelBytes(options: { modelType?: number; padId?: number; addDummyPrefix?: boolean; pieces?: Array<[string, number, number?]> } = {}): Uint8Array {
  const pieces = options.pieces ?? [["<unk>", 0, 2], ["<s>", 0, 3], ["</s>", 0, 3], ["<0x41>", 0, 6], ["▁a", -1], ["b", -2]];
  const trainer = [...varintField(3, options.modelType ?? 2), ...varintField(35, 1), ...varintField(43, options.padId ?? -1)];
  const normalizer = [...stringField(1, "identity"), ...varintField(3, options.addDummyPrefix === false ? 0 : 1), ...varintField(4, 0)];
  return Uint8Array.from([...pieces.flatMap(([piece, score, type]) => pieceMessage(piece, score, type)), ...bytesField(2, trainer), ...bytesField(3, normalizer)]);
}

describe("SentencePiece ModelProto parser", () => {
  it("reads pieces, scores, types and the trainer/normalizer fields", () => {
    const model = parseSentencePieceModel(modelBytes(), "tiny.model");
    expect(model.pieces).toEqual([
      { piece: "<unk>", score: 0, type: 2 },
      { piece: "<s>", score: 0, type: 3 },
      { piece: "</s>", score: 0, type: 3 },
      { piece: "<0x41>", score: 0, type: 6 },
      { piece: "▁a", score: -1, type: 1 }, // type absent: normal
      { piece: "b", score: -2, type: 1 },
    ]);
    expect(model).toMatchObject({ modelType: "bpe", byteFallback: true, unknownId: 0, bosId: 1, eosId: 2, padId: -1, normalizerName: "identity", addDummyPrefix: true, removeExtraWhitespaces: false });
    expect(parseSentencePieceModel(modelBytes({ addDummyPrefix: false, padId: 3 }), "m").addDummyPrefix).toBe(false);
    expect(parseSentencePieceModel(modelBytes({ padId: 3 }), "m").padId).toBe(3);
  });

  it("gives a vocabulary the SentencePiece tokenizer encodes with", () => {
    const vocabulary = sentencePieceVocabulary(parseSentencePieceModel(modelBytes(), "m"), { addedTokens: [{ id: 8, text: "<tool>" }], vocabSize: 10 });
    expect(vocabulary.tokens).toEqual(["<unk>", "<s>", "</s>", "<0x41>", "▁a", "b", "[PAD6]", "[PAD7]", "<tool>", "[PAD9]"]);
    expect(Array.from(vocabulary.tokenTypes)).toEqual([2, 3, 3, 6, 1, 1, 5, 5, 3, 5]);
    const tokenizer = new SentencePieceTokenizer(vocabulary);
    // Text after a special token gets the dummy prefix again ("▁a").
    expect(tokenizer.encode("aA<tool>a", { addSpecialTokens: false })).toEqual([4, 3, 8, 4]);
    expect(tokenizer.decode([4, 3, 8, 4, 5])).toBe("aA<tool> ab");
  });

  it("refuses unigram models and bad or truncated files with a message naming the file", () => {
    expect(() => sentencePieceVocabulary(parseSentencePieceModel(modelBytes({ modelType: 1 }), "uni.model"))).toThrow(
      /uni\.model: a unigram SentencePiece model; only BPE models/,
    );
    const bytes = modelBytes();
    expect(() => parseSentencePieceModel(bytes.subarray(0, bytes.length - 3), "cut.model")).toThrow(SentencePieceModelError);
    expect(() => parseSentencePieceModel(bytes.subarray(0, bytes.length - 3), "cut.model")).toThrow(/cut\.model: .*runs past the end/);
    expect(() => parseSentencePieceModel(new TextEncoder().encode("{\"not\": \"protobuf\"}"), "tokenizer.json")).toThrow(/tokenizer\.json/);
    expect(() => parseSentencePieceModel(Uint8Array.from(varintField(7, 1)), "empty.model")).toThrow(/empty\.model: no pieces/);
    expect(() => readSentencePieceModel("/nonexistent/tokenizer.model")).toThrow(/\/nonexistent\/tokenizer\.model: file not found/);
  });
});

const chatGlm3Present = sharedModelsPresent("ChatGLM3 tokenizer.model", "chatglm3-tokenizer/tokenizer.model");

describe.skipIf(!chatGlm3Present)("ChatGLM3's tokenizer.model", () => {
  const file = sharedModelPath("chatglm3-tokenizer/tokenizer.model");

  it("is a BPE model of 64789 pieces with byte fallback and the identity normalizer", () => {
    const model = readSentencePieceModel(file);
    expect(model.pieces.length).toBe(64789);
    expect(model.modelType).toBe("bpe");
    expect(model.byteFallback).toBe(true);
    expect(model.normalizerName).toBe("identity");
    expect(model.addDummyPrefix).toBe(true);
    const types = new Map<number, number>();
    for (const piece of model.pieces) types.set(piece.type, (types.get(piece.type) ?? 0) + 1);
    expect(Object.fromEntries(types)).toEqual({ 1: 64530, 2: 1, 3: 2, 6: 256 });
  });

  it("puts the special tokens at ChatGLM3's ids and pads to the embedding's 65024 rows", () => {
    const vocabulary = chatGlm3Vocabulary(readSentencePieceModel(file), { vocabSize: 65024 });
    expect(vocabulary.tokens.length).toBe(65024);
    const ids = Object.fromEntries(chatGlm3SpecialTokens.map((token) => [token, vocabulary.tokens.indexOf(token)]));
    expect(ids).toEqual({
      "[MASK]": 64789, "[gMASK]": 64790, "[sMASK]": 64791, sop: 64792, eop: 64793,
      "<|system|>": 64794, "<|user|>": 64795, "<|assistant|>": 64796, "<|observation|>": 64797,
    });
    expect(vocabulary.tokens.slice(0, 4)).toEqual(["<unk>", "<bos>", "<eos>", "<0x00>"]);
    expect(vocabulary.tokens[64798]).toBe("[PAD64798]");
    expect(vocabulary.tokenTypes[64798]).toBe(5);
  });

  it("tokenizes the chat prompt as THUDM's build_chat_input does and stops at <|user|>, <|observation|> and EOS", () => {
    const tokenizer = loadChatGlm3Tokenizer(file, { vocabSize: 65024 });
    expect(tokenizer.vocabSize).toBe(65024);
    expect(tokenizer.addBosToken).toBe(false);
    expect(tokenizer.eosTokenIds).toEqual([2, 64795, 64797]);
    const prompt = compileChatTemplate(tokenizer.chatTemplate ?? chatGlm3ChatTemplate).render([{ role: "user", content: "你好" }], { addGenerationPrompt: true });
    expect(prompt).toBe("[gMASK]sop<|user|>\n 你好<|assistant|>");
    const ids = tokenizer.encode(prompt);
    // [gMASK] sop <|user|>, then encode("\n") = ▁ <0x0A> and encode("你好") with its own ▁ prefix, then <|assistant|>.
    expect(ids.slice(0, 5)).toEqual([64790, 64792, 64795, 30910, 13]);
    expect(ids.at(-1)).toBe(64796);
    expect(tokenizer.encode("你好", { addSpecialTokens: false })).toEqual(ids.slice(5, -1));
  });

  it("round-trips mixed Chinese, English, code and emoji text", () => {
    const tokenizer = loadChatGlm3Tokenizer(file);
    for (const text of ["Hello, world!", "你好，世界。今天天气怎么样？", "def f(x):\n    return x ** 2  # 平方", "emoji 🦙🚀 and ñandú", "  leading and trailing  ", "a\u0000b\tc"]) {
      expect(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false }))).toBe(text);
    }
  });
});
