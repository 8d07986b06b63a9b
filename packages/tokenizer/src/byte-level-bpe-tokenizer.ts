// Byte-level BPE over a GGUF vocabulary (tokenizer.ggml.model = "gpt2"), as llama.cpp's llm_tokenizer_bpe:
// split text with the pre-tokenizer regex, spell each word's UTF-8 bytes in the GPT-2 byte alphabet, then
// repeatedly merge the adjacent pair with the lowest merge rank (ties: leftmost).

import { GgufTokenizerBase } from "./gguf-tokenizer-base.ts";
import type { GgufVocabulary } from "./gguf-vocabulary.ts";
import { PriorityQueue } from "./priority-queue.ts";
import { preTokenize, preTokenizerPattern, type PreTokenizerPattern } from "./pre-tokenizer-patterns.ts";
import { byteLevelDecode, byteLevelEncode } from "./byte-level-alphabet.ts";
import { utf8Bytes } from "./utf8.ts";

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

const wordCacheLimit = 20_000;

/**
 * Byte-level BPE over a GGUF vocabulary (tokenizer.ggml.model = "gpt2": Llama 3, Qwen 2, GPT-2, GLM-4), as llama.cpp does
 * it: split text into words with the model's pre-tokenizer regex, spell each word's UTF-8 bytes as GPT-2's byte
 * alphabet, then apply the merges by rank.
 */
export class ByteLevelBpeTokenizer extends GgufTokenizerBase {
  /** The pre-tokenizer the vocabulary names (tokenizer.ggml.pre), resolved to its regex and defaults. */
  readonly preTokenizer: PreTokenizerPattern;
  private readonly mergeRanks = new Map<string, number>();
  private readonly wordCache = new Map<string, readonly number[]>();

  constructor(vocabulary: GgufVocabulary) {
    const preTokenizer = preTokenizerPattern(vocabulary.preTokenizer);
    super(preTokenizer.family === "glm4" ? glm4Vocabulary(vocabulary) : vocabulary, { addBosToken: preTokenizer.addBosToken, addEosToken: false, addSpacePrefix: false });
    this.preTokenizer = preTokenizer;
    if (vocabulary.merges === undefined) throw new Error("byte-level BPE vocabulary has no tokenizer.ggml.merges");
    vocabulary.merges.forEach((merge, rank) => {
      const separator = merge.indexOf(" ", 1);
      if (separator < 0) throw new Error(`malformed merge "${merge}" at rank ${rank}`);
      const key = `${merge.slice(0, separator)} ${merge.slice(separator + 1)}`;
      if (!this.mergeRanks.has(key)) this.mergeRanks.set(key, rank);
    });
  }

  protected encodeText(text: string, _followsSpecialToken: boolean, output: number[]): void {
    for (const word of preTokenize(text, this.preTokenizer)) {
      const spelled = byteLevelEncode(utf8Bytes(word));
      let ids = this.wordCache.get(spelled);
      if (ids === undefined) {
        ids = this.encodeWord(spelled);
        if (this.wordCache.size >= wordCacheLimit) this.wordCache.clear();
        this.wordCache.set(spelled, ids);
      }
      for (const id of ids) output.push(id);
    }
  }

  protected normalTokenBytes(token: string): Uint8Array {
    return byteLevelDecode(token, utf8Bytes);
  }

  private encodeWord(word: string): number[] {
    const whole = this.idsByToken.get(word);
    if (this.preTokenizer.ignoreMerges && whole !== undefined) return [whole];

    const symbols = Array.from(word);
    const previous = symbols.map((_, index) => index - 1);
    const next = symbols.map((_, index) => (index + 1 < symbols.length ? index + 1 : -1));
    const queue = new PriorityQueue<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const addBigram = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const rank = this.mergeRanks.get(`${symbols[left]} ${symbols[right]}`);
      if (rank === undefined) return;
      queue.push({ left, right, rank, text: symbols[left] + symbols[right] });
    };
    for (let index = 1; index < symbols.length; index++) addBigram(index - 1, index);

    for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
      const { left, right } = bigram;
      if (symbols[left] === "" || symbols[right] === "" || symbols[left] + symbols[right] !== bigram.text) continue;
      symbols[left] = bigram.text;
      symbols[right] = "";
      next[left] = next[right];
      if (next[right] >= 0) previous[next[right]] = left;
      addBigram(previous[left], left);
      addBigram(left, next[left]);
    }

    const ids: number[] = [];
    for (let index = 0; index !== -1 && symbols.length > 0; index = next[index]) {
      const id = this.idsByToken.get(symbols[index]);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // A piece with no token: fall back to its single characters (bytes), skipping any missing ones as llama.cpp does.
      for (const character of symbols[index]) {
        const characterId = this.idsByToken.get(character);
        if (characterId !== undefined) ids.push(characterId);
      }
    }
    return ids;
  }
}

/**
 * GLM-4's vocabulary as llama.cpp reads it: no BOS token (the chat template writes "[gMASK]<sop>"). A turn ends at
 * <|user|> and <|observation|> as well as at EOS (THUDM's generation_config.json lists all three) when the file names
 * no end-of-turn / end-of-message token of its own.
 */
function glm4Vocabulary(vocabulary: GgufVocabulary): GgufVocabulary {
  const idOf = (text: string) => {
    const id = vocabulary.tokens.indexOf(text);
    return id >= 0 ? id : undefined;
  };
  return {
    ...vocabulary,
    bosTokenId: undefined,
    addBosToken: false,
    endOfTurnTokenId: vocabulary.endOfTurnTokenId ?? idOf("<|user|>"),
    endOfMessageTokenId: vocabulary.endOfMessageTokenId ?? idOf("<|observation|>"),
  };
}
