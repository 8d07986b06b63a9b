// Tests the protobuf reader under tokenizer.model and the ModelProto parser on hand-encoded bytes (no model files):
// varints up to ten bytes and their int32 reading, every wire type, field offsets, and the exact error for each kind
// of malformed input (naming the source and the byte); the parser's defaults, its checks of pieces, model type and
// ids, sentencePieceVocabulary's options and refusals, and ChatGLM3's vocabulary read from a model folder.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import {
  chatGlm3ChatTemplate,
  chatGlm3Vocabulary,
  loadChatGlm3Tokenizer,
  parseSentencePieceModel,
  readChatGlm3Vocabulary,
  readSentencePieceModel,
  SentencePieceModelError,
  sentencePieceVocabulary,
  type SentencePieceModel,
} from "../src/index.ts";
import { fixed32Float, protobufFields, protobufString, ProtobufError } from "../src/protobuf-reader.ts";
import { bytesField, floatField, key, pieceMessage, stringField, varint, varintField } from "./protobuf-writer.ts";

const fields = (bytes: number[], source = "test.bin", baseOffset = 0) => [...protobufFields(Uint8Array.from(bytes), source, baseOffset)];
const failure = (bytes: number[], source = "test.bin", baseOffset = 0): string => {
  try {
    fields(bytes, source, baseOffset);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtobufError);
    expect((error as Error).name).toBe("ProtobufError");
    return (error as Error).message;
  }
  throw new Error("no error");
};
const suffix = "(not a valid protobuf message, or truncated)";

describe("protobuf reader", () => {
  it("reads varints of one to ten bytes, and their low 32 bits as a signed int32", () => {
    const values = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 5, 2 ** 35 + 7, 2 ** 49 + 3];
    for (const value of values) {
      const [field] = fields(varintField(1, value));
      expect(field).toEqual({ number: 1, wireType: 0, varint: value, int32: value | 0, offset: 0 });
    }
    const minusOne = varintField(43, -1);
    expect(minusOne).toHaveLength(2 + 10); // a two-byte key, then ten bytes of two's complement
    expect(fields(minusOne)[0]).toMatchObject({ number: 43, wireType: 0, int32: -1 });
    expect(fields(varintField(40, -2))[0].int32).toBe(-2);
  });

  it("reads every supported wire type with the key's offset", () => {
    const bytes = [
      ...varintField(3, 5),
      ...key(4, 1), 1, 2, 3, 4, 5, 6, 7, 8,
      ...bytesField(5, [9, 8, 7]),
      ...floatField(6, 1.5),
      ...bytesField(7, []),
    ];
    const read = fields(bytes, "test.bin", 100);
    expect(read.map(({ number, wireType, offset }) => [number, wireType, offset])).toEqual([
      [3, 0, 100], [4, 1, 102], [5, 2, 111], [6, 5, 116], [7, 2, 121],
    ]);
    expect(Array.from(read[1].bytes!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(read[2].bytes!)).toEqual([9, 8, 7]);
    expect(read.map((field) => field.payloadOffset)).toEqual([undefined, undefined, 113, undefined, 123]);
    expect(fixed32Float(read[3].bytes!)).toBe(1.5);
    expect(read[4].bytes).toHaveLength(0);
    expect(fields([])).toEqual([]);
  });

  it("reads a float from a field in the middle of a buffer", () => {
    const bytes = Uint8Array.from([0xff, ...new Uint8Array(Float32Array.of(-0.25).buffer)]);
    expect(fixed32Float(bytes.subarray(1))).toBe(-0.25);
  });

  it("names the source and the byte of each malformed input", () => {
    const cases: Array<[number[], string]> = [
      [[0x08], "a varint runs past the end at byte 1"],
      [[0x08, 0x80], "a varint runs past the end at byte 2"],
      [[0x08, ...Array(10).fill(0xff), 0x01], "a varint is longer than 10 bytes at byte 11"],
      [[0x12, 0x05, 1, 2], "a field of 5 bytes runs past the end (2 left) at byte 2"],
      [[0x0d, 1, 2, 3], "a field of 4 bytes runs past the end (3 left) at byte 1"],
      [[0x09, 1, 2, 3, 4, 5, 6, 7], "a field of 8 bytes runs past the end (7 left) at byte 1"],
      [[0x00, 0x01], "field number 0 at byte 1"],
      [[0x07], "field number 0 at byte 1"],
      [[...varintField(1, 1), 0x0b], "unsupported wire type 3 (field 1) at byte 3"],
      [[0x14], "unsupported wire type 4 (field 2) at byte 1"],
      [[...key(20, 6)], "unsupported wire type 6 (field 20) at byte 2"],
      [[0x0f], "unsupported wire type 7 (field 1) at byte 1"],
    ];
    for (const [bytes, problem] of cases) expect(failure(bytes)).toBe(`test.bin: ${problem} ${suffix}`);
    expect(failure([0x08], "inner", 40)).toBe(`inner: a varint runs past the end at byte 41 ${suffix}`);
  });

  it("accepts fields that end exactly at the end of the buffer", () => {
    expect(fields([0x12, 0x02, 1, 2])[0].bytes).toEqual(Uint8Array.of(1, 2));
    expect(fields([0x0d, 0, 0, 0x80, 0x3f]).map((field) => fixed32Float(field.bytes!))).toEqual([1]);
  });

  it("decodes strings and refuses invalid UTF-8 naming the field", () => {
    expect(protobufString(new TextEncoder().encode("▁hé"), "piece")).toBe("▁hé");
    expect(() => protobufString(Uint8Array.of(0xc3, 0x28), "m: piece 3")).toThrow(new ProtobufError("m: piece 3: not valid UTF-8"));
  });
});

/** A ModelProto: pieces, then optional trainer_spec and normalizer_spec payloads. */
function model(pieces: number[][], trainer?: number[], normalizer?: number[]): Uint8Array {
  return Uint8Array.from([
    ...pieces.flat(),
    ...(trainer === undefined ? [] : bytesField(2, trainer)),
    ...(normalizer === undefined ? [] : bytesField(3, normalizer)),
  ]);
}
const threePieces = [pieceMessage("<unk>", 0, 2), pieceMessage("<s>", 0, 3), pieceMessage("</s>", 0, 3)];
const parseError = (bytes: Uint8Array, source = "m.model"): SentencePieceModelError => {
  try {
    parseSentencePieceModel(bytes, source);
  } catch (error) {
    expect(error).toBeInstanceOf(SentencePieceModelError);
    expect((error as Error).name).toBe("SentencePieceModelError");
    return error as SentencePieceModelError;
  }
  throw new Error("no error");
};

describe("SentencePiece ModelProto parser: defaults and refusals", () => {
  it("uses SentencePiece's defaults for what the file leaves out", () => {
    const parsed = parseSentencePieceModel(model(threePieces), "m.model");
    expect(parsed).toEqual({
      source: "m.model",
      pieces: [{ piece: "<unk>", score: 0, type: 2 }, { piece: "<s>", score: 0, type: 3 }, { piece: "</s>", score: 0, type: 3 }],
      modelType: "unigram",
      byteFallback: false,
      unknownId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      normalizerName: "",
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
    });
  });

  it("reads every trainer_spec and normalizer_spec field it knows", () => {
    const pieces = [...threePieces, pieceMessage("x", 0), pieceMessage("y", 0)];
    const trainer = [...varintField(3, 2), ...varintField(35, 1), ...varintField(40, 4), ...varintField(41, -1), ...varintField(42, 3), ...varintField(43, 0)];
    const normalizer = [...stringField(1, "nmt_nfkc"), ...varintField(3, 0), ...varintField(4, 1)];
    expect(parseSentencePieceModel(model(pieces, trainer, normalizer), "m")).toMatchObject({
      modelType: "bpe", byteFallback: true, unknownId: 4, bosId: -1, eosId: 3, padId: 0,
      normalizerName: "nmt_nfkc", addDummyPrefix: false, removeExtraWhitespaces: true,
    });
    const off = parseSentencePieceModel(model(threePieces, [...varintField(35, 0)], [...varintField(3, 1), ...varintField(4, 0)]), "m");
    expect(off).toMatchObject({ byteFallback: false, addDummyPrefix: true, removeExtraWhitespaces: false });
    // A later field of the same number but another wire type leaves a flag as the varint set it.
    const kept = parseSentencePieceModel(model(threePieces, undefined, [...varintField(3, 0), ...bytesField(3, [1]), ...varintField(4, 0), ...floatField(4, 1)]), "m");
    expect(kept).toMatchObject({ addDummyPrefix: false, removeExtraWhitespaces: false });
    const modelTypes = [1, 2, 3, 4].map((type) => parseSentencePieceModel(model(threePieces, varintField(3, type)), "m").modelType);
    expect(modelTypes).toEqual(["unigram", "bpe", "word", "char"]);
  });

  it("ignores fields of the wrong wire type", () => {
    // Each wrong-typed field comes after the right one, so reading it would overwrite what was read.
    const piece = bytesField(1, [...stringField(1, "p"), ...varintField(1, 7), ...varintField(2, 9), ...floatField(5, 9), ...stringField(3, "t")]);
    const trainer = [...bytesField(3, [2]), ...bytesField(35, [1]), ...floatField(40, 1), ...varintField(99, 5)];
    const normalizer = [...stringField(1, "nfkc"), ...varintField(1, 5), ...bytesField(3, [0]), ...floatField(4, 0), ...stringField(9, "x")];
    const bytes = Uint8Array.from([...varintField(1, 3), ...floatField(2, 1), ...pieceMessage("<unk>", 0, 2), ...piece, ...pieceMessage("</s>", 0, 3), ...bytesField(2, trainer), ...bytesField(3, normalizer), ...stringField(4, "other")]);
    expect(parseSentencePieceModel(bytes, "m")).toMatchObject({
      pieces: [{ piece: "<unk>", score: 0, type: 2 }, { piece: "p", score: 0, type: 1 }, { piece: "</s>", score: 0, type: 3 }],
      modelType: "unigram", byteFallback: false, unknownId: 0, normalizerName: "nfkc", addDummyPrefix: true, removeExtraWhitespaces: true,
    });
  });

  it("refuses pieces without text or of an unknown type, naming the piece", () => {
    expect(parseError(model([threePieces[0], bytesField(1, [...floatField(2, 1), ...varintField(3, 1)])])).message).toBe(
      "m.model: piece 1 has no text (field 1)",
    );
    expect(parseError(model([...threePieces, pieceMessage("x", 0, 7)])).message).toBe('m.model: piece 3 ("x") has unknown type 7');
    expect(parseError(model([pieceMessage("z", 0, 0)])).message).toBe('m.model: piece 0 ("z") has unknown type 0');
    const six = [1, 2, 3, 4, 5, 6].map((type) => parseSentencePieceModel(model([...threePieces, pieceMessage("x", 0, type)]), "m").pieces[3].type);
    expect(six).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses an unknown model type and ids past the pieces; the last piece's id is accepted", () => {
    expect(parseError(model(threePieces, varintField(3, 5))).message).toBe("m.model: unknown trainer_spec.model_type 5");
    for (const [field, name] of [[40, "unk_id"], [41, "bos_id"], [42, "eos_id"], [43, "pad_id"]] as const) {
      expect(parseError(model(threePieces, varintField(field, 3))).message).toBe(`m.model: trainer_spec.${name} = 3 is past the 3 pieces`);
      expect(() => parseSentencePieceModel(model(threePieces, varintField(field, 2)), "m")).not.toThrow();
    }
  });

  it("names the piece or section a protobuf error is in and its byte in the file, keeping the protobuf error as the cause", () => {
    const truncatedPiece = Uint8Array.from([...threePieces[0], ...key(1, 2), 3, ...key(1, 2), 9, 0x61]);
    const error = parseError(truncatedPiece);
    expect(error.message).toBe(`m.model: piece 1: a field of 9 bytes runs past the end (1 left) at byte 20 ${suffix}`);
    expect(error.cause).toBeInstanceOf(ProtobufError);
    expect(parseError(model([bytesField(1, [...key(1, 2), 2, 0xc3, 0x28])])).message).toBe("m.model: piece 0: not valid UTF-8");
    expect(parseError(model(threePieces, [0x18])).message).toBe(`m.model: trainer_spec: a varint runs past the end at byte 48 ${suffix}`);
    expect(parseError(model(threePieces, undefined, [...key(1, 2), 1, 0xff])).message).toBe("m.model: normalizer_spec.name: not valid UTF-8");
    expect(parseError(model(threePieces, undefined, [0x08])).message).toBe(`m.model: normalizer_spec: a varint runs past the end at byte 48 ${suffix}`);
    const own = parseError(model(threePieces, varintField(3, 9)));
    expect(own.cause).toBeUndefined();
  });

  it("names the file it cannot read", () => {
    const directory = mkdtempSync(join(tmpdir(), "spm-read-"));
    try {
      expect(() => readSentencePieceModel(directory)).toThrow(new SentencePieceModelError(`${directory}: cannot read (EISDIR)`));
      expect(() => readSentencePieceModel(directory)).toThrow(expect.objectContaining({ cause: expect.objectContaining({ code: "EISDIR" }) }));
      expect(() => readSentencePieceModel(join(directory, "none.model"))).toThrow(new SentencePieceModelError(`${join(directory, "none.model")}: file not found`));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("sentencePieceVocabulary", () => {
  const bpe = (overrides: Partial<SentencePieceModel> = {}): SentencePieceModel => ({
    ...parseSentencePieceModel(model([...threePieces, pieceMessage("▁a", -1.5), pieceMessage("b", -2)], varintField(3, 2)), "v.model"),
    ...overrides,
  });

  it("lays out pieces, then added tokens in id order over unused padding, then padding to vocabSize", () => {
    const vocabulary = sentencePieceVocabulary(bpe(), {
      addedTokens: [{ id: 8, text: "<b>", type: 4 }, { id: 5, text: "<a>" }, { id: 7, text: "<c>" }],
      vocabSize: 10,
      renamedTokens: new Map([[1, "<bos>"]]),
      chatTemplate: "T",
      preTokenizer: "chatglm-spm",
      addBosToken: true,
    });
    expect(vocabulary).toEqual({
      model: "llama",
      tokens: ["<unk>", "<bos>", "</s>", "▁a", "b", "<a>", "[PAD6]", "<c>", "<b>", "[PAD9]"],
      scores: Float32Array.of(0, 0, 0, -1.5, -2, 0, 0, 0, 0, 0),
      tokenTypes: Int32Array.of(2, 3, 3, 1, 1, 3, 5, 3, 4, 5),
      preTokenizer: "chatglm-spm",
      bosTokenId: 1,
      eosTokenId: 2,
      unknownTokenId: 0,
      paddingTokenId: undefined,
      addBosToken: true,
      addEosToken: false,
      addSpacePrefix: true,
      chatTemplate: "T",
    });
  });

  it("takes the ids of the model unless overridden, and none for a negative id", () => {
    expect(sentencePieceVocabulary(bpe({ bosId: -1, eosId: -1, unknownId: -1, padId: 4, addDummyPrefix: false }))).toMatchObject({
      bosTokenId: undefined, eosTokenId: undefined, unknownTokenId: undefined, paddingTokenId: 4, addSpacePrefix: false,
    });
    expect(sentencePieceVocabulary(bpe({ bosId: 0, eosId: 0, unknownId: 0, padId: 0 }))).toMatchObject({
      bosTokenId: 0, eosTokenId: 0, unknownTokenId: 0, paddingTokenId: 0,
    });
    expect(sentencePieceVocabulary(bpe(), { bosTokenId: 3, eosTokenId: 4 })).toMatchObject({ bosTokenId: 3, eosTokenId: 4 });
    const plain = sentencePieceVocabulary(bpe());
    expect(plain.tokens).toHaveLength(5);
    expect(plain.addBosToken).toBeUndefined();
    expect(plain.chatTemplate).toBeUndefined();
  });

  it("refuses an added token on a piece's id and a vocabSize below the tokens", () => {
    expect(() => sentencePieceVocabulary(bpe(), { addedTokens: [{ id: 4, text: "<x>" }] })).toThrow(
      new SentencePieceModelError('v.model: added token "<x>" has id 4, which a piece already has'),
    );
    expect(() => sentencePieceVocabulary(bpe(), { addedTokens: [{ id: 5, text: "<x>" }], vocabSize: 5 })).toThrow(
      new SentencePieceModelError("v.model: vocabSize 5 is smaller than the 6 tokens"),
    );
    expect(sentencePieceVocabulary(bpe(), { addedTokens: [{ id: 5, text: "<x>" }], vocabSize: 6 }).tokens).toHaveLength(6);
    for (const modelType of ["unigram", "word", "char"] as const) {
      expect(() => sentencePieceVocabulary(bpe({ modelType }))).toThrow(
        `v.model: a ${modelType} SentencePiece model; only BPE models (trainer_spec.model_type = BPE) are supported`,
      );
    }
  });
});

describe("ChatGLM3 vocabulary from a hand-made tokenizer.model", () => {
  const root = mkdtempSync(join(tmpdir(), "chatglm3-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const pieces = [...threePieces, pieceMessage("▁", -1), pieceMessage("a", -2), pieceMessage("▁a", -3)];
  const bytes = model(pieces, [...varintField(3, 2), ...varintField(35, 1)]);
  const folder = (config?: string): string => {
    const directory = mkdtempSync(join(root, "model-"));
    writeFileSync(join(directory, "tokenizer.model"), bytes);
    if (config !== undefined) writeFileSync(join(directory, "tokenizer_config.json"), config);
    return directory;
  };

  it("puts the special tokens after the pieces, renames ids 0–2 and ends turns at <|user|> and <|observation|>", () => {
    const vocabulary = chatGlm3Vocabulary(parseSentencePieceModel(bytes, "glm.model"), { vocabSize: 17 });
    expect(vocabulary.tokens).toEqual([
      "<unk>", "<bos>", "<eos>", "▁", "a", "▁a",
      "[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>",
      "[PAD15]", "[PAD16]",
    ]);
    expect(Array.from(vocabulary.tokenTypes).slice(6)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 3, 5, 5]);
    expect(vocabulary).toMatchObject({
      addBosToken: false, eosTokenId: 2, endOfTurnTokenId: 12, endOfMessageTokenId: 14,
      chatTemplate: chatGlm3ChatTemplate, preTokenizer: "chatglm-spm",
    });
    expect(chatGlm3Vocabulary(parseSentencePieceModel(bytes, "glm.model"), { chatTemplate: "own" }).chatTemplate).toBe("own");
  });

  it("reads a folder's own chat template, and ChatGLM3's when the folder has none or an unreadable one", () => {
    expect(readChatGlm3Vocabulary(folder(JSON.stringify({ chat_template: "folder template" }))).chatTemplate).toBe("folder template");
    expect(readChatGlm3Vocabulary(folder()).chatTemplate).toBe(chatGlm3ChatTemplate);
    expect(readChatGlm3Vocabulary(folder("{ not json")).chatTemplate).toBe(chatGlm3ChatTemplate);
    expect(readChatGlm3Vocabulary(folder(JSON.stringify({ chat_template: [{ name: "default", template: "x" }] }))).chatTemplate).toBe(chatGlm3ChatTemplate);
    const file = join(folder(JSON.stringify({ chat_template: "beside the file" })), "tokenizer.model");
    expect(readChatGlm3Vocabulary(file, { vocabSize: 20 })).toMatchObject({ chatTemplate: "beside the file" });
    expect(readChatGlm3Vocabulary(file, { vocabSize: 20 }).tokens).toHaveLength(20);
  });

  it("tokenizes a chat prompt with the special tokens whole and no BOS", () => {
    const tokenizer = loadChatGlm3Tokenizer(folder(), { vocabSize: 16 });
    expect(tokenizer.vocabSize).toBe(16);
    expect(tokenizer.addBosToken).toBe(false);
    expect(tokenizer.eosTokenIds).toEqual([2, 12, 14]);
    expect(tokenizer.encode("[gMASK]sop<|user|>a")).toEqual([7, 9, 12, 5]);
    expect(() => loadChatGlm3Tokenizer(join(root, "missing"))).toThrow(`${join(root, "missing", "tokenizer.model")}: file not found`);
  });
});

// Keeps the writer's varint honest: the reader and the writer agree on a value beyond 32 bits.
it("the test writer's varint round-trips through the reader", () => {
  expect(fields([...key(1, 0), ...varint(2 ** 40 + 1)])[0].varint).toBe(2 ** 40 + 1);
});
