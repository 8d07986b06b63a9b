// Tests the SentencePiece merge loop on hand-made vocabularies (no model files): score order and leftmost ties,
// neighbour links after merges, byte fallback through <0xXX> or single-character tokens, unknown pieces (one <unk>
// per run) and the error when a vocabulary can spell a piece in no way.

import { describe, expect, it } from "vitest";
import { GgufTokenType, tokenizerFromGgufMetadata } from "../src/index.ts";

/** <unk> <s> </s>, then the scored pieces (normal tokens), then any extra tokens (normal, score 0). */
function spm(pieces: Array<[string, number]>, keys: Record<string, unknown> = {}) {
  const tokens = ["<unk>", "<s>", "</s>", ...pieces.map(([piece]) => piece)];
  return tokenizerFromGgufMetadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": [0, 0, 0, ...pieces.map(([, score]) => score)],
    "tokenizer.ggml.token_type": [GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control, ...pieces.map(() => GgufTokenType.normal)],
    "tokenizer.ggml.add_space_prefix": false,
    ...keys,
  });
}
const spell = (tokenizer: ReturnType<typeof spm>, text: string) =>
  tokenizer.encode(text, { addSpecialTokens: false }).map((id) => tokenizer.idToToken(id)).join("|");
const letters = (text: string): Array<[string, number]> => Array.from(text, (character) => [character, -10]);

describe("SentencePiece merges", () => {
  it("merges the highest score first", () => {
    expect(spell(spm([...letters("abc"), ["ab", -1], ["bc", -2]]), "abc")).toBe("ab|c");
    expect(spell(spm([...letters("abc"), ["ab", -2], ["bc", -1]]), "abc")).toBe("a|bc");
  });

  it("pairs a symbol only with neighbours that exist: nothing merges past either end of the text", () => {
    // A missing neighbour read as a symbol would spell "undefined": pieces with that text must never be formed.
    const edges = spm([...letters("ab"), ["ab", -1], ["bundefined", 5], ["undefineda", 5], ["undefinedab", 5], ["abundefined", 5]]);
    expect(spell(edges, "ab")).toBe("ab");
    expect(spell(edges, "b")).toBe("b");
  });

  it("breaks ties leftmost, and without scores every pair ties", () => {
    expect(spell(spm([...letters("a"), ["aa", -1]]), "aaa")).toBe("aa|a");
    const tokens = ["<unk>", "a", "b", "c", "ab", "bc"];
    const unscored = tokenizerFromGgufMetadata({
      "tokenizer.ggml.model": "llama",
      "tokenizer.ggml.tokens": tokens,
      "tokenizer.ggml.token_type": [2, 1, 1, 1, 1, 1],
      "tokenizer.ggml.add_space_prefix": false,
    });
    expect(unscored.encode("abc", { addSpecialTokens: false }).map((id) => tokens[id])).toEqual(["ab", "c"]);
  });

  it("breaks a tie leftmost even when the left pair appears after the right one", () => {
    // ab merges first; the new pair ab+c (score −2) ties with c+d (score −2), queued earlier: the left one wins.
    expect(spell(spm([...letters("abcd"), ["ab", -1], ["abc", -2], ["cd", -2]]), "abcd")).toBe("abc|d");
  });

  it("links each merged piece to its new neighbours on both sides", () => {
    // ab first, then de, then c+de, then ab+cde: needs the link from c back to the merged "ab".
    const tokenizer = spm([...letters("abcde"), ["ab", -1], ["de", -2], ["cde", -3], ["abcde", -4]]);
    expect(spell(tokenizer, "abcde")).toBe("abcde");
    // de, then c+de, then b+cde, then a+bcde: links to the left after each merge.
    expect(spell(spm([...letters("abcde"), ["de", -1], ["cde", -2], ["bcde", -3], ["abcde", -4]]), "abcde")).toBe("abcde");
    // ab, then ab+c, then abc+d: links to the right after each merge.
    expect(spell(spm([...letters("abcd"), ["ab", -1], ["abc", -2], ["abcd", -3]]), "abcd")).toBe("abcd");
    // A pair made stale by a better merge on its right is skipped: bc wins, the queued ab is dropped, a+bc follows.
    expect(spell(spm([...letters("abc"), ["ab", -2], ["bc", -1], ["abc", -5]]), "abc")).toBe("abc");
  });

  it("puts the dummy-prefix space before text at the start and after special tokens only", () => {
    const tokenizer = spm([["▁", -1], ...letters("ab"), ["▁a", -2]], { "tokenizer.ggml.add_space_prefix": true });
    expect(spell(tokenizer, "a")).toBe("▁a");
    expect(spell(tokenizer, "b a")).toBe("▁|b|▁a");
    expect(spell(tokenizer, "")).toBe("");
    expect(spell(tokenizer, "a</s>a")).toBe("▁a|</s>|▁a");
    expect(spell(spm(letters("a")), "")).toBe("");
  });
});

describe("SentencePiece pieces without a token", () => {
  it("spells them with <0xXX> tokens, or with single-character byte tokens when the vocabulary has those", () => {
    const bytes = spm([...letters("a"), ["<0xC3>", 0], ["<0xA9>", 0]]);
    expect(spell(bytes, "aé")).toBe("a|<0xC3>|<0xA9>");
    const characters = spm([...letters("a"), ["\u00C3", 0], ["\u00A9", 0]]);
    expect(spell(characters, "éa")).toBe("\u00C3|\u00A9|a");
    const mixed = spm([["<0xC3>", 0], ["\u00A9", 0]]);
    expect(spell(mixed, "é")).toBe("<0xC3>|\u00A9");
  });

  it("gives one <unk> for a run of pieces it cannot spell, and a new one after a known piece or bytes", () => {
    const tokenizer = spm([...letters("a"), ["<0xC3>", 0], ["<0xA9>", 0]]);
    expect(spell(tokenizer, "xyz")).toBe("<unk>");
    expect(spell(tokenizer, "xaxx")).toBe("<unk>|a|<unk>");
    expect(spell(tokenizer, "xéx")).toBe("<unk>|<0xC3>|<0xA9>|<unk>");
    expect(spell(tokenizer, "x\u00E8")).toBe("<unk>"); // è is C3 A8: <0xA8> is missing, so the whole piece is unknown
  });

  it("fails naming the piece when the vocabulary has no unknown token", () => {
    const tokenizer = spm(letters("a"), { "tokenizer.ggml.unknown_token_id": 99 });
    expect(tokenizer.unknownTokenId).toBeUndefined();
    expect(() => tokenizer.encode("ax", { addSpecialTokens: false })).toThrow(
      'SentencePiece vocabulary has no token, no byte-fallback tokens and no unknown token for "x"',
    );
  });
});
