// What the GGUF-embedded tokenizers share: token lookups by id and text, special-token splitting,
// BOS/EOS framing, end-of-generation ids and llama.cpp-style detokenization by token type.

import type { DecodeOptions, EncodeOptions, TextTokenizer } from "./text-tokenizer.ts";
import { GgufTokenType, type GgufVocabulary } from "./gguf-vocabulary.ts";
import { SpecialTokenSplitter } from "./special-token-splitter.ts";
import { collectEndOfGenerationIds } from "./end-of-generation.ts";
import { byteFallbackValue, concatenateBytes, utf8Bytes, utf8Text } from "./utf8.ts";

export interface GgufTokenizerDefaults {
  bosTokenId?: number;
  eosTokenId?: number;
  unknownTokenId?: number;
  addBosToken: boolean;
  addEosToken: boolean;
  addSpacePrefix: boolean;
}

/** What the GGUF-embedded tokenizers share: lookups, special-token splitting, BOS/EOS framing, detokenization. */
export abstract class GgufTokenizerBase implements TextTokenizer {
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  /** The token for text the vocabulary cannot spell, if any. */
  readonly unknownTokenId?: number;
  /** The padding token, if any. */
  readonly paddingTokenId?: number;
  readonly vocabSize: number;
  /** Whether encode() puts BOS first (tokenizer.ggml.add_bos_token, or the algorithm's default). */
  readonly addBosToken: boolean;
  /** Whether encode() puts EOS last. */
  readonly addEosToken: boolean;
  /** SentencePiece's dummy prefix: a space is put before text that starts the input or follows a special token. */
  readonly addSpacePrefix: boolean;
  /** The chat template's Jinja source embedded in the file (tokenizer.chat_template), if any. */
  readonly chatTemplate?: string;

  protected readonly tokens: readonly string[];
  protected readonly tokenTypes: ArrayLike<number>;
  protected readonly idsByToken = new Map<string, number>();
  private readonly eosTokenId?: number;
  private readonly specialTokenSplitter: SpecialTokenSplitter;

  protected constructor(vocabulary: GgufVocabulary, defaults: GgufTokenizerDefaults) {
    this.tokens = vocabulary.tokens;
    this.tokenTypes = vocabulary.tokenTypes;
    this.vocabSize = vocabulary.tokens.length;
    vocabulary.tokens.forEach((token, id) => this.idsByToken.set(token, id));

    const validId = (id: number | undefined) => (id !== undefined && id >= 0 && id < this.vocabSize ? id : undefined);
    this.bosTokenId = validId(vocabulary.bosTokenId ?? defaults.bosTokenId);
    this.eosTokenId = validId(vocabulary.eosTokenId ?? defaults.eosTokenId);
    this.unknownTokenId = validId(vocabulary.unknownTokenId ?? defaults.unknownTokenId);
    this.paddingTokenId = validId(vocabulary.paddingTokenId);
    this.addBosToken = vocabulary.addBosToken ?? defaults.addBosToken;
    this.addEosToken = vocabulary.addEosToken ?? defaults.addEosToken;
    this.addSpacePrefix = vocabulary.addSpacePrefix ?? defaults.addSpacePrefix;
    this.chatTemplate = vocabulary.chatTemplate;

    const specialTokens = [];
    for (let id = 0; id < this.vocabSize; id++) {
      if (this.isSplitOutToken(id)) specialTokens.push({ id, text: this.tokens[id] });
    }
    this.specialTokenSplitter = new SpecialTokenSplitter(specialTokens);
    this.eosTokenIds = collectEndOfGenerationIds(
      [this.eosTokenId, validId(vocabulary.endOfTurnTokenId), validId(vocabulary.endOfMessageTokenId)],
      (text) => {
        const id = this.idsByToken.get(text);
        return id !== undefined && this.isSplitOutToken(id) ? id : undefined;
      },
    );
  }

  tokenToId(token: string): number | undefined {
    return this.idsByToken.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** llama.cpp's type of token `id` (see {@link GgufTokenType}): normal, control, byte, ... */
  tokenType(id: number): number {
    return this.tokenTypes[id] ?? GgufTokenType.undefined;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const parseSpecialTokens = options.parseSpecialTokens ?? true;
    const output: number[] = [];
    if (addSpecialTokens && this.addBosToken && this.bosTokenId !== undefined) output.push(this.bosTokenId);
    const fragments = this.specialTokenSplitter.split(
      text,
      (token) => parseSpecialTokens || this.tokenType(token.id) === GgufTokenType.userDefined,
    );
    let followsSpecialToken = true;
    for (const fragment of fragments) {
      if (fragment.kind === "text") {
        this.encodeText(fragment.text, followsSpecialToken, output);
        followsSpecialToken = false;
      } else {
        output.push(fragment.id);
        followsSpecialToken = true;
      }
    }
    if (addSpecialTokens && this.addEosToken && this.eosTokenId !== undefined) output.push(this.eosTokenId);
    return output;
  }

  decodeBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const skipSpecialTokens = options.skipSpecialTokens ?? false;
    const pieces: Uint8Array[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) continue;
      const token = this.tokens[id];
      switch (this.tokenType(id)) {
        case GgufTokenType.normal:
          pieces.push(this.normalTokenBytes(token));
          break;
        case GgufTokenType.byte: {
          const byte = byteFallbackValue(token);
          pieces.push(byte === undefined ? this.normalTokenBytes(token) : Uint8Array.of(byte));
          break;
        }
        case GgufTokenType.control:
        case GgufTokenType.unknown:
          if (!skipSpecialTokens) pieces.push(utf8Bytes(token));
          break;
        case GgufTokenType.userDefined:
          pieces.push(utf8Bytes(token));
          break;
        default:
          break; // unused and undefined tokens print nothing, as in llama.cpp
      }
    }
    const bytes = concatenateBytes(pieces);
    // The dummy prefix added when encoding is removed again, like the Hugging Face Strip decoder does.
    return this.addSpacePrefix && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return utf8Text(this.decodeBytes(ids, options));
  }

  /** Control, user-defined and unknown tokens are matched in the text as whole tokens (llama.cpp's cache_special_tokens). */
  private isSplitOutToken(id: number): boolean {
    const type = this.tokenType(id);
    return type === GgufTokenType.control || type === GgufTokenType.userDefined || type === GgufTokenType.unknown;
  }

  /** Tokenizes one fragment of raw text (no special tokens in it) and appends the ids. */
  protected abstract encodeText(text: string, followsSpecialToken: boolean, output: number[]): void;

  /** The bytes a normal token stands for. */
  protected abstract normalTokenBytes(token: string): Uint8Array;
}
