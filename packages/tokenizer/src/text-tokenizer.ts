// The tokenizer interface the generation engine works against, shared by the Hugging Face
// tokenizer.json wrapper and the GGUF-embedded vocabularies.

/** Options of {@link TextTokenizer.encode}. */
export interface EncodeOptions {
  /** Add the model's own special tokens (BOS and/or EOS as configured). Default true. */
  addSpecialTokens?: boolean;
  /**
   * Recognise special/control tokens written in the text (e.g. "<|eot_id|>") as single tokens.
   * Default true, as Hugging Face and llama.cpp do for rendered chat prompts. User-defined added tokens
   * are always recognised.
   */
  parseSpecialTokens?: boolean;
}

/** Options of {@link TextTokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out control/special tokens such as BOS and EOS. Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * Text to token ids and back: what the engine, the command line and the server work against. Implemented by
 * {@link HfTokenizer} (tokenizer.json) and the GGUF-embedded {@link SentencePieceTokenizer} and
 * {@link ByteLevelBpeTokenizer}.
 */
export interface TextTokenizer {
  /** Text to token ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Token ids to text. Ids that have no token are ignored. Invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /**
   * Token ids to the raw bytes `decode` would turn into text (so `decode(ids)` equals the UTF-8 decoding
   * of `decodeBytes(ids)`). Lets streaming hold back incomplete UTF-8 sequences exactly.
   */
  decodeBytes?(ids: readonly number[], options?: DecodeOptions): Uint8Array;
  /** Beginning-of-sequence token, if the model has one. */
  readonly bosTokenId?: number;
  /** Whether encoding with special tokens puts the BOS token first. False for models that have a BOS token but
   *  never start a prompt with it (ChatGLM starts with [gMASK]sop), so prompt builders must not add it either. */
  readonly addBosToken?: boolean;
  /** Tokens that end generation: the configured EOS first, then other end-of-turn tokens. */
  readonly eosTokenIds: readonly number[];
  /** One more than the largest token id. */
  readonly vocabSize: number;
  /** The id of a token given in the vocabulary's own spelling (e.g. "▁Hello", "Ġworld", "<|eot_id|>"). */
  tokenToId(token: string): number | undefined;
  /** The vocabulary's spelling of a token id. */
  idToToken(id: number): string | undefined;
}
