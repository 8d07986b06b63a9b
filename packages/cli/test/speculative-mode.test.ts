// The speculative options and the vocabulary check, without loading models: defaults, each error named by its option,
// and a draft refused for its vocabulary size or for one token's spelling, with both files in the message.
import { describe, expect, it } from "vitest";

import { UsageError, VocabularyMismatchError, checkSameVocabulary, parseGenerationArguments, parseSpeculativeSettings, speculativeMode, type TextModel } from "../src/index.ts";

const DRAFT = "org/draft-GGUF:draft.gguf";

describe("parseSpeculativeSettings", () => {
  const parse = (argv: string[]) => parseSpeculativeSettings(parseGenerationArguments(argv, { temperature: 0 }, process.env, speculativeMode(DRAFT).options).extra, DRAFT);

  it("defaults to the recipe's draft model and auto draft length", () => {
    expect(parse([])).toEqual({ draft: DRAFT, lookup: false, lookupNgram: 3, draftTokens: "auto" });
    expect(parse(["--draft", "./d.gguf", "--draft-tokens", "5"])).toEqual({ draft: "./d.gguf", lookup: false, lookupNgram: 3, draftTokens: 5 });
    expect(parse(["--lookup", "--lookup-ngram", "4"])).toEqual({ draft: undefined, lookup: true, lookupNgram: 4, draftTokens: "auto" });
  });

  it("names the option at fault", () => {
    expect(() => parse(["--draft-tokens", "17"])).toThrow(/--draft-tokens must be an integer in 1..16 or auto, got "17"/);
    expect(() => parse(["--draft-tokens", ""])).toThrow(UsageError);
    expect(() => parse(["--lookup-ngram", "2"])).toThrow(/--lookup-ngram only applies with --lookup/);
    expect(() => parse(["--lookup", "--lookup-ngram", "0"])).toThrow(/--lookup-ngram must be an integer in 1..64, got "0"/);
    expect(() => parse(["--lookup", "--draft", "x.gguf"])).toThrow(/--lookup drafts without a model/);
    expect(() => parse(["--draft", " "])).toThrow(/--draft must not be empty/);
  });
});

describe("checkSameVocabulary", () => {
  const model = (path: string, tokens: string[], vocabSize = tokens.length) =>
    ({
      resolved: { path },
      model: { config: { vocabSize } },
      tokenizer: { vocabSize: tokens.length, idToToken: (id: number) => tokens[id] },
    }) as unknown as TextModel;
  const tokens = ["<unk>", "<s>", "</s>", "a", "b"];

  it("accepts the same vocabulary and refuses another size or spelling, naming both files", () => {
    expect(() => checkSameVocabulary(model("/t.gguf", tokens), model("/d.gguf", [...tokens]))).not.toThrow();
    expect(() => checkSameVocabulary(model("/t.gguf", tokens), model("/d.gguf", tokens, 6))).toThrow(VocabularyMismatchError);
    expect(() => checkSameVocabulary(model("/t.gguf", tokens), model("/d.gguf", tokens, 6))).toThrow(/the draft model \/d\.gguf and the target model \/t\.gguf do not share a vocabulary: the target has 5 tokens, the draft 6/);
    expect(() => checkSameVocabulary(model("/t.gguf", tokens), model("/d.gguf", ["<unk>", "<s>", "</s>", "a", "c"]))).toThrow(/token 4 is "b" in the target and "c" in the draft/);
  });
});
