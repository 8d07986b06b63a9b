// SentencePiece BPE over a GGUF vocabulary (tokenizer.ggml.model = "llama"), as llama.cpp's llm_tokenizer_spm:
// start from UTF-8 characters, repeatedly merge the adjacent pair whose concatenation is a token with the highest
// score (ties: leftmost), and spell pieces that never became tokens with byte-fallback tokens <0xXX>.

import { GgufTokenizerBase } from "./gguf-tokenizer-base.ts";
import type { GgufVocabulary } from "./gguf-vocabulary.ts";
import { PriorityQueue } from "./priority-queue.ts";
import { byteFallbackToken, utf8Bytes } from "./utf8.ts";

const spaceMarker = "\u2581"; // '▁'

interface Bigram {
  left: number;
  right: number;
  score: number;
  text: string;
}

/**
 * SentencePiece BPE over a GGUF vocabulary (tokenizer.ggml.model = "llama": Llama 2, TinyLlama, stories260K), as
 * llama.cpp's llm_tokenizer_spm: merge the adjacent pair with the highest score until none is a token, spell what is
 * left with byte-fallback tokens.
 */
export class SentencePieceTokenizer extends GgufTokenizerBase {
  private readonly scores: ArrayLike<number>;

  constructor(vocabulary: GgufVocabulary) {
    super(vocabulary, {
      bosTokenId: 1,
      eosTokenId: 2,
      unknownTokenId: 0,
      addBosToken: true,
      addEosToken: false,
      addSpacePrefix: true,
    });
    this.scores = vocabulary.scores ?? new Float32Array(vocabulary.tokens.length);
  }

  protected encodeText(text: string, followsSpecialToken: boolean, output: number[]): void {
    const prefixed = this.addSpacePrefix && followsSpecialToken ? ` ${text}` : text;
    const escaped = prefixed.replaceAll(" ", spaceMarker);
    const symbols = Array.from(escaped); // one symbol per character (code point)
    if (symbols.length === 0) return;
    const previous = symbols.map((_, index) => index - 1);
    const next = symbols.map((_, index) => (index + 1 < symbols.length ? index + 1 : -1));

    const queue = new PriorityQueue<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
    const tryAddBigram = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const merged = symbols[left] + symbols[right];
      const id = this.idsByToken.get(merged);
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id], text: merged });
    };
    for (let index = 1; index < symbols.length; index++) tryAddBigram(index - 1, index);

    for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
      const { left, right } = bigram;
      // Skip pairs made stale by an earlier merge of either side.
      if (symbols[left] === "" || symbols[right] === "" || symbols[left] + symbols[right] !== bigram.text) continue;
      symbols[left] = bigram.text;
      symbols[right] = "";
      next[left] = next[right];
      if (next[right] >= 0) previous[next[right]] = left;
      tryAddBigram(previous[left], left);
      tryAddBigram(left, next[left]);
    }

    let previousUnknown = false;
    for (let index = 0; index !== -1; index = next[index]) {
      const piece = symbols[index];
      const id = this.idsByToken.get(piece);
      if (id !== undefined) {
        output.push(id);
        previousUnknown = false;
        continue;
      }
      // A piece that never became a token is spelled in byte-fallback tokens; a vocabulary without them (some small
      // SentencePiece models) gives an unknown token instead, one for a run of such pieces, as SentencePiece does
      // (tokenizer.json's fuse_unk).
      const byteIds = Array.from(utf8Bytes(piece), (byte) => this.byteToken(byte));
      if (!byteIds.includes(-1)) {
        output.push(...byteIds);
        previousUnknown = false;
      } else if (!previousUnknown) {
        output.push(this.unknownToken(piece));
        previousUnknown = true;
      }
    }
  }

  protected normalTokenBytes(token: string): Uint8Array {
    return utf8Bytes(token.replaceAll(spaceMarker, " "));
  }

  /** The byte-fallback token of `byte`, or -1 when the vocabulary has none. */
  private byteToken(byte: number): number {
    return this.idsByToken.get(byteFallbackToken(byte)) ?? this.idsByToken.get(String.fromCharCode(byte)) ?? -1;
  }

  private unknownToken(piece: string): number {
    if (this.unknownTokenId === undefined) {
      throw new Error(`SentencePiece vocabulary has no token, no byte-fallback tokens and no unknown token for ${JSON.stringify(piece)}`);
    }
    return this.unknownTokenId;
  }
}
