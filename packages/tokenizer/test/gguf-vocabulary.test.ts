// Tests reading tokenizer.ggml.* metadata and what the GGUF tokenizers share, on hand-made vocabularies (no model
// files): every key's type check and its exact message, typed { type, value } entries, array forms, length checks;
// BOS/EOS/unknown/padding ids in and out of range, end-of-generation ids, BOS/EOS framing, special-token parsing,
// detokenization by token type and the dummy-prefix strip.

import { describe, expect, it } from "vitest";
import { GgufTokenType, readGgufVocabulary, SentencePieceTokenizer, tokenizerFromGgufMetadata, type GgufVocabulary } from "../src/index.ts";
import { metadataValue } from "../src/gguf-vocabulary.ts";

const base = { "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>"] };

describe("readGgufVocabulary", () => {
  it("reads every key, from a record or a Map, plain or typed", () => {
    const entries: Record<string, unknown> = {
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.tokens": ["a", "b", "c"],
      "tokenizer.ggml.scores": [0.5, -1, 2],
      "tokenizer.ggml.token_type": Int32Array.of(1, 3, 6),
      "tokenizer.ggml.merges": ["a b"],
      "tokenizer.ggml.pre": "qwen2",
      "tokenizer.ggml.bos_token_id": 0,
      "tokenizer.ggml.eos_token_id": 1n,
      "tokenizer.ggml.eot_token_id": { type: "uint32", value: 2 },
      "tokenizer.ggml.eom_token_id": 2,
      "tokenizer.ggml.unknown_token_id": 0,
      "tokenizer.ggml.padding_token_id": 1,
      "tokenizer.ggml.add_bos_token": true,
      "tokenizer.ggml.add_eos_token": 0,
      "tokenizer.ggml.add_space_prefix": 1n,
      "tokenizer.chat_template": { type: "string", value: "T" },
    };
    const expected: GgufVocabulary = {
      model: "gpt2",
      tokens: ["a", "b", "c"],
      scores: [0.5, -1, 2],
      tokenTypes: Int32Array.of(1, 3, 6),
      merges: ["a b"],
      preTokenizer: "qwen2",
      bosTokenId: 0,
      eosTokenId: 1,
      endOfTurnTokenId: 2,
      endOfMessageTokenId: 2,
      unknownTokenId: 0,
      paddingTokenId: 1,
      addBosToken: true,
      addEosToken: false,
      addSpacePrefix: true,
      chatTemplate: "T",
    };
    expect(readGgufVocabulary(entries)).toEqual(expected);
    expect(readGgufVocabulary(new Map(Object.entries(entries)))).toEqual(expected);
  });

  it("leaves out absent or null keys and gives every token the normal type when token_type is absent", () => {
    const vocabulary = readGgufVocabulary({ ...base, "tokenizer.ggml.bos_token_id": null, "tokenizer.ggml.pre": null });
    expect(vocabulary).toEqual({
      model: "llama",
      tokens: ["<unk>", "<s>", "</s>"],
      scores: undefined,
      tokenTypes: Int32Array.of(1, 1, 1),
      merges: undefined,
      preTokenizer: undefined,
      bosTokenId: undefined,
      eosTokenId: undefined,
      endOfTurnTokenId: undefined,
      endOfMessageTokenId: undefined,
      unknownTokenId: undefined,
      paddingTokenId: undefined,
      addBosToken: undefined,
      addEosToken: undefined,
      addSpacePrefix: undefined,
      chatTemplate: undefined,
    });
  });

  it("takes numeric arrays as typed arrays, 64-bit typed arrays as numbers and plain arrays item by item", () => {
    const scores = Float32Array.of(1, 2, 3);
    expect(readGgufVocabulary({ ...base, "tokenizer.ggml.scores": scores }).scores).toBe(scores);
    expect(readGgufVocabulary({ ...base, "tokenizer.ggml.scores": BigInt64Array.of(-1n, 0n, 5n) }).scores).toEqual([-1, 0, 5]);
    expect(readGgufVocabulary({ ...base, "tokenizer.ggml.token_type": BigUint64Array.of(2n, 3n, 3n) }).tokenTypes).toEqual([2, 3, 3]);
    expect(readGgufVocabulary({ ...base, "tokenizer.ggml.token_type": [2, 3n, "3"] }).tokenTypes).toEqual([2, 3, 3]);
    expect(readGgufVocabulary({ ...base, "tokenizer.ggml.token_type": { type: "array", value: [2, 3, 3] } }).tokenTypes).toEqual([2, 3, 3]);
  });

  it("refuses a missing tokenizer, wrong types and lengths with the key in the message", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, "GGUF metadata has no tokenizer.ggml.model: the file embeds no tokenizer"],
      [{ "tokenizer.ggml.model": "llama" }, "GGUF metadata has no tokenizer.ggml.tokens"],
      [{ ...base, "tokenizer.ggml.model": 3 }, "GGUF metadata tokenizer.ggml.model must be a string, got number"],
      [{ ...base, "tokenizer.ggml.tokens": ["a", 1] }, "GGUF metadata tokenizer.ggml.tokens must be an array of strings"],
      [{ ...base, "tokenizer.ggml.tokens": "abc" }, "GGUF metadata tokenizer.ggml.tokens must be an array of strings"],
      [{ ...base, "tokenizer.ggml.scores": [1, 2] }, "tokenizer.ggml.scores has 2 entries for 3 tokens"],
      [{ ...base, "tokenizer.ggml.scores": "1,2,3" }, "GGUF metadata tokenizer.ggml.scores must be a numeric array"],
      [{ ...base, "tokenizer.ggml.scores": new DataView(new ArrayBuffer(12)) }, "GGUF metadata tokenizer.ggml.scores must be a numeric array"],
      [{ ...base, "tokenizer.ggml.token_type": [1, 1, 1, 1] }, "tokenizer.ggml.token_type has 4 entries for 3 tokens"],
      [{ ...base, "tokenizer.ggml.bos_token_id": 1.5 }, "GGUF metadata tokenizer.ggml.bos_token_id must be an integer, got number"],
      [{ ...base, "tokenizer.ggml.eos_token_id": "2" }, "GGUF metadata tokenizer.ggml.eos_token_id must be an integer, got string"],
      [{ ...base, "tokenizer.ggml.add_bos_token": "yes" }, "GGUF metadata tokenizer.ggml.add_bos_token must be a boolean, got string"],
      [{ ...base, "tokenizer.ggml.pre": ["x"] }, "GGUF metadata tokenizer.ggml.pre must be a string, got object"],
      [{ ...base, "tokenizer.ggml.merges": [1] }, "GGUF metadata tokenizer.ggml.merges must be an array of strings"],
      [{ ...base, "tokenizer.ggml.bos_token_id": { type: 5, value: 1 } }, "GGUF metadata tokenizer.ggml.bos_token_id must be an integer, got object"],
      [{ ...base, "tokenizer.ggml.bos_token_id": { type: "uint32" } }, "GGUF metadata tokenizer.ggml.bos_token_id must be an integer, got object"],
    ];
    for (const [metadata, message] of cases) expect(() => readGgufVocabulary(metadata), message).toThrow(message);
    expect(() => readGgufVocabulary({ ...base, "tokenizer.ggml.add_bos_token": "yes" })).toThrow(TypeError);
    expect(() => readGgufVocabulary({ ...base, "tokenizer.ggml.scores": [1, 2, 3], "tokenizer.ggml.token_type": [1, 1, 1] })).not.toThrow();
  });

  it("unwraps only typed entries, not arrays or typed arrays", () => {
    expect(metadataValue({ key: { type: "uint8", value: 7 } }, "key")).toBe(7);
    expect(metadataValue(new Map([["key", { type: "bool", value: false }]]), "key")).toBe(false);
    const array = Object.assign([1, 2], { type: "x", value: 3 });
    expect(metadataValue({ key: array }, "key")).toBe(array);
    const typedArray = Object.assign(Int8Array.of(1), { type: "x", value: 3 });
    expect(metadataValue({ key: typedArray }, "key")).toBe(typedArray);
    expect(metadataValue({ key: null }, "key")).toBeNull();
    expect(metadataValue({}, "key")).toBeUndefined();
  });
});

/** A SentencePiece vocabulary with the given extra tokens after <unk> <s> </s> and two byte tokens. */
function vocabulary(extra: Array<[string, number]>, keys: Record<string, unknown> = {}): Record<string, unknown> {
  const tokens = ["<unk>", "<s>", "</s>", "<0x41>", "<0xC3>", ...extra.map(([token]) => token)];
  const types = [GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control, GgufTokenType.byte, GgufTokenType.byte, ...extra.map(([, type]) => type)];
  return { "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.token_type": types, ...keys };
}

describe("GGUF tokenizer ids and framing", () => {
  it("uses SentencePiece's default ids and flags when the metadata names none", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]]));
    expect(tokenizer).toMatchObject({ bosTokenId: 1, unknownTokenId: 0, paddingTokenId: undefined, addBosToken: true, addEosToken: false, addSpacePrefix: true, vocabSize: 6 });
    expect(tokenizer.eosTokenIds).toEqual([2]);
    expect(tokenizer.chatTemplate).toBeUndefined();
  });

  it("drops ids outside the vocabulary; the last id is kept", () => {
    const outside = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], {
      "tokenizer.ggml.bos_token_id": 6, "tokenizer.ggml.eos_token_id": -1, "tokenizer.ggml.unknown_token_id": 99,
      "tokenizer.ggml.padding_token_id": 6, "tokenizer.ggml.eot_token_id": 6, "tokenizer.ggml.eom_token_id": -3,
    }));
    expect(outside).toMatchObject({ bosTokenId: undefined, unknownTokenId: undefined, paddingTokenId: undefined });
    expect(outside.eosTokenIds).toEqual([]);
    expect(outside.encode("a")).toEqual([5]); // no BOS to add
    const last = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], {
      "tokenizer.ggml.bos_token_id": 5, "tokenizer.ggml.eos_token_id": 5, "tokenizer.ggml.unknown_token_id": 5, "tokenizer.ggml.padding_token_id": 5,
    }));
    expect(last).toMatchObject({ bosTokenId: 5, unknownTokenId: 5, paddingTokenId: 5 });
    expect(last.eosTokenIds).toEqual([5]);
    const zero = tokenizerFromGgufMetadata(vocabulary([], { "tokenizer.ggml.bos_token_id": 0, "tokenizer.ggml.padding_token_id": 0 }));
    expect(zero).toMatchObject({ bosTokenId: 0, paddingTokenId: 0 });
    // A negative BOS / EOS id is no token: nothing is framed, even with both flags on.
    const negative = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], {
      "tokenizer.ggml.bos_token_id": -1, "tokenizer.ggml.eos_token_id": -1, "tokenizer.ggml.unknown_token_id": -1, "tokenizer.ggml.padding_token_id": -1,
      "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": true,
    }));
    expect(negative).toMatchObject({ bosTokenId: undefined, unknownTokenId: undefined, paddingTokenId: undefined });
    expect(negative.encode("a")).toEqual([5]);
  });

  it("ends generation at EOS, EOT and EOM, then at known end-of-turn texts of special tokens only", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary(
      [["<|im_end|>", GgufTokenType.control], ["<|eot_id|>", GgufTokenType.normal], ["<|end|>", GgufTokenType.userDefined], ["<EOT>", GgufTokenType.unknown], ["x", 1]],
      { "tokenizer.ggml.eot_token_id": 9, "tokenizer.ggml.eom_token_id": 2 },
    ));
    expect(tokenizer.eosTokenIds).toEqual([2, 9, 5, 7, 8]);
  });

  it("frames with BOS and EOS only when adding special tokens", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], { "tokenizer.ggml.add_eos_token": true }));
    expect(tokenizer.encode("a")).toEqual([1, 5, 2]);
    expect(tokenizer.encode("a", { addSpecialTokens: false })).toEqual([5]);
    expect(tokenizer.encode("")).toEqual([1, 2]);
    const noEos = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], { "tokenizer.ggml.add_eos_token": true, "tokenizer.ggml.eos_token_id": 40 }));
    expect(noEos.encode("a")).toEqual([1, 5]);
  });

  it("parses control and unknown tokens in text only when asked; user-defined ones always; the dummy prefix follows each", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary([["▁a", 1], ["▁", 1], ["a", 1], ["<u>", GgufTokenType.userDefined], ["<n>", GgufTokenType.normal]]));
    expect(tokenizer.encode("a<s>a<u>a<unk>a", { addSpecialTokens: false })).toEqual([5, 1, 5, 8, 5, 0, 5]);
    const literal = tokenizer.encode("a<s>a<u>a", { addSpecialTokens: false, parseSpecialTokens: false });
    expect(literal).not.toContain(1);
    expect(literal.slice(-2)).toEqual([8, 5]);
    expect(tokenizer.encode("<n>", { addSpecialTokens: false })).not.toContain(9); // a normal token is not split out
  });

  it("detokenizes by token type and skips ids that are not in the vocabulary", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary([
      ["▁a", GgufTokenType.normal], ["<u>", GgufTokenType.userDefined], ["[PAD7]", GgufTokenType.unused], ["<none>", GgufTokenType.undefined], ["<0xZZ>", GgufTokenType.byte],
    ]));
    expect(tokenizer.decode([1, 5, 3, 4, 6, 7, 8, 9, 2, 0])).toBe("<s> aA\uFFFD<u><0xZZ></s><unk>");
    expect(tokenizer.decode([1, 5, 3, 6, 2, 0], { skipSpecialTokens: true })).toBe("aA<u>");
    expect(tokenizer.decode([-1, 1.5, 10, 5, Number.NaN])).toBe("a");
    expect(Array.from(tokenizer.decodeBytes([3, 4]))).toEqual([0x41, 0xc3]);
    expect(tokenizer.tokenType(6)).toBe(GgufTokenType.userDefined);
    expect(tokenizer.tokenType(99)).toBe(GgufTokenType.undefined);
    expect(tokenizer.idToToken(5)).toBe("▁a");
    expect(tokenizer.idToToken(99)).toBeUndefined();
    expect(tokenizer.tokenToId("<u>")).toBe(6);
    expect(tokenizer.tokenToId("nope")).toBeUndefined();
  });

  it("reads a normal token as text even when it is spelled like a byte token", () => {
    const tokenizer = tokenizerFromGgufMetadata(vocabulary([["<0x42>", GgufTokenType.normal], ["▁<0x43>", GgufTokenType.normal]]));
    expect(tokenizer.decode([3, 5])).toBe("A<0x42>");
    expect(tokenizer.decode([6])).toBe("<0x43>");
  });

  it("strips one leading space only with the dummy prefix", () => {
    const withPrefix = tokenizerFromGgufMetadata(vocabulary([["▁a", 1], ["▁▁", 1]]));
    expect(withPrefix.decode([6, 5])).toBe("  a");
    expect(withPrefix.decode([5, 5])).toBe("a a");
    const without = tokenizerFromGgufMetadata(vocabulary([["▁a", 1]], { "tokenizer.ggml.add_space_prefix": false }));
    expect(without.decode([5, 5])).toBe(" a a");
    // Without the prefix the first "a" has no token (nor a byte token): it becomes <unk>.
    expect(without.encode("a a", { addSpecialTokens: false })).toEqual([0, 5]);
    expect(withPrefix.encode("a a", { addSpecialTokens: false })).toEqual([5, 5]);
  });

  it("names the unsupported model", () => {
    expect(() => tokenizerFromGgufMetadata({ ...base, "tokenizer.ggml.model": "bert" })).toThrow(
      'unsupported GGUF tokenizer model "bert" (tokenizer.ggml.model); supported: "llama" (SentencePiece), "gpt2" (byte-level BPE)',
    );
    expect(tokenizerFromGgufMetadata(base)).toBeInstanceOf(SentencePieceTokenizer);
  });
});
