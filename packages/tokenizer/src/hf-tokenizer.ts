// Hugging Face tokenizer.json (+ tokenizer_config.json, generation_config.json) behind the TextTokenizer
// interface, through the @huggingface/tokenizers package.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import type { DecodeOptions, EncodeOptions, TextTokenizer } from "./text-tokenizer.ts";
import { collectEndOfGenerationIds } from "./end-of-generation.ts";
import { hfTokenByteDecoder, type HfTokenByteDecoder } from "./hf-token-bytes.ts";

/** An entry of tokenizer.json's "added_tokens". */
export interface AddedTokenJson {
  /** The token's id. */
  id: number;
  /** Its text. */
  content: string;
  /** Whether it is a special token (skipped by decode with skipSpecialTokens). */
  special?: boolean;
}

/** The parts of a Hugging Face tokenizer.json this package reads (the rest goes to @huggingface/tokenizers as is). */
export interface HfTokenizerJson {
  /** Tokens added on top of the model's vocabulary (special tokens, chat markers). */
  added_tokens?: AddedTokenJson[];
  /** The decoder section (ByteLevel, Metaspace, ...). */
  decoder?: unknown;
  /** The model section. */
  model?: {
    /** Token text → id. */
    vocab?: Record<string, number> | unknown;
  };
  [key: string]: unknown;
}

/** tokenizer_config.json as read (bos_token, eos_token, chat_template, ...). */
export type HfTokenizerConfig = Record<string, unknown>;

/** The files an {@link HfTokenizer} is built from, already parsed. */
export interface HfTokenizerSources {
  /** tokenizer.json. */
  tokenizerJson: HfTokenizerJson;
  /** tokenizer_config.json: the BOS and EOS tokens and whether to add them. */
  tokenizerConfig?: HfTokenizerConfig;
  /** generation_config.json: its eos_token_id (a number or a list) adds end-of-generation tokens. */
  generationConfig?: Record<string, unknown>;
}

/** A token given in tokenizer_config.json, either as a string or as an AddedToken object. */
function configTokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

function integerList(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (Array.isArray(value)) return value.filter((item): item is number => typeof item === "number");
  return [];
}

function indexOfSequence(haystack: readonly number[], needle: readonly number[]): number {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((id, offset) => haystack[start + offset] === id)) return start;
  }
  return -1;
}

/**
 * A Hugging Face tokenizer.json (+ tokenizer_config.json, generation_config.json) as a {@link TextTokenizer}, through
 * @huggingface/tokenizers. Load one from a model folder with `loadHfTokenizer`.
 */
export class HfTokenizer implements TextTokenizer {
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  readonly vocabSize: number;
  /** tokenizer_config.json as read (chat_template, model_max_length, …). */
  readonly config: HfTokenizerConfig;
  /** Present when the tokenizer.json decoder layout is one hf-token-bytes.ts understands (ByteLevel, SentencePiece). */
  readonly decodeBytes?: (ids: readonly number[], options?: DecodeOptions) => Uint8Array;

  private readonly tokenizer: Tokenizer;
  private readonly tokenizerJson: HfTokenizerJson;
  private plainTokenizer?: Tokenizer;
  private readonly addedTokens = new Map<string, AddedTokenJson>();
  private readonly specialTokenTexts = new Set<string>();
  /** Ids the tokenizer puts around the text when special tokens are added (from its post-processor and config). */
  private readonly specialPrefix: number[] = [];
  private readonly specialSuffix: number[] = [];
  private readonly specialFramingKnown: boolean;

  constructor(sources: HfTokenizerSources) {
    this.tokenizerJson = sources.tokenizerJson;
    this.config = sources.tokenizerConfig ?? {};
    this.tokenizer = new Tokenizer(this.tokenizerJson, this.config);

    for (const token of this.tokenizerJson.added_tokens ?? []) {
      this.addedTokens.set(token.content, token);
      if (token.special) this.specialTokenTexts.add(token.content);
    }
    const additionalSpecialTokens = this.config.additional_special_tokens;
    for (const text of Array.isArray(additionalSpecialTokens) ? additionalSpecialTokens : []) {
      const content = configTokenText(text);
      if (content !== undefined) this.specialTokenTexts.add(content);
    }
    const tokenBytes = hfTokenByteDecoder(this.tokenizerJson.decoder);
    if (tokenBytes !== undefined) this.decodeBytes = (ids, options) => this.tokensToBytes(tokenBytes, ids, options);

    let largestId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) largestId = Math.max(largestId, id);
    this.vocabSize = largestId + 1;

    const idOfConfigToken = (key: string) => {
      const text = configTokenText(this.config[key]);
      return text === undefined ? undefined : this.tokenizer.token_to_id(text);
    };
    this.bosTokenId = idOfConfigToken("bos_token");
    this.eosTokenIds = collectEndOfGenerationIds(
      [idOfConfigToken("eos_token"), ...integerList(sources.generationConfig?.eos_token_id)],
      (text) => (this.specialTokenTexts.has(text) ? this.tokenizer.token_to_id(text) : undefined),
    );

    // Find what encoding with special tokens puts before and after the text, by encoding a probe both ways.
    const probe = "a";
    const bare = this.tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const framed = this.tokenizer.encode(probe, { add_special_tokens: true }).ids;
    const at = indexOfSequence(framed, bare);
    this.specialFramingKnown = at >= 0;
    if (this.specialFramingKnown) {
      this.specialPrefix = framed.slice(0, at);
      this.specialSuffix = framed.slice(at + bare.length);
    }
    // tokenizer_config's add_bos_token / add_eos_token override the post-processor, as in transformers.
    if (this.bosTokenId !== undefined && typeof this.config.add_bos_token === "boolean") {
      const hasBos = this.specialPrefix[0] === this.bosTokenId;
      if (this.config.add_bos_token && !hasBos) this.specialPrefix.unshift(this.bosTokenId);
      if (!this.config.add_bos_token && hasBos) this.specialPrefix.shift();
    }
    const eosTokenId = idOfConfigToken("eos_token");
    if (eosTokenId !== undefined && typeof this.config.add_eos_token === "boolean") {
      const hasEos = this.specialSuffix.at(-1) === eosTokenId;
      if (this.config.add_eos_token && !hasEos) this.specialSuffix.push(eosTokenId);
      if (!this.config.add_eos_token && hasEos) this.specialSuffix.pop();
    }
  }

  /** Whether encode() with special tokens starts with the BOS token (undefined when the framing is not known). */
  get addBosToken(): boolean | undefined {
    if (!this.specialFramingKnown) return undefined;
    return this.bosTokenId !== undefined && this.specialPrefix[0] === this.bosTokenId;
  }

  /** The underlying @huggingface/tokenizers instance. */
  get hfTokenizer(): Tokenizer {
    return this.tokenizer;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const parseSpecialTokens = options.parseSpecialTokens ?? true;
    const tokenizer = parseSpecialTokens ? this.tokenizer : this.tokenizerWithoutSpecialTokens();
    if (addSpecialTokens && !this.specialFramingKnown && parseSpecialTokens) {
      return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
    }
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    return addSpecialTokens ? [...this.specialPrefix, ...ids, ...this.specialSuffix] : ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const known = ids.filter((id) => this.tokenizer.id_to_token(id) !== undefined);
    if (known.length === 0) return "";
    return this.tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      // Exact text: no "clean up" of spaces before punctuation, whatever tokenizer_config says.
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  private tokensToBytes(tokenBytes: HfTokenByteDecoder, ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const skipSpecialTokens = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (const id of ids) {
      const token = this.tokenizer.id_to_token(id);
      if (token === undefined) continue;
      if (skipSpecialTokens && this.specialTokenTexts.has(token)) continue;
      tokens.push(token);
    }
    return tokenBytes(tokens, (token) => this.addedTokens.has(token));
  }

  /** A second tokenizer that does not know the special added tokens, so their text is tokenized as ordinary text. */
  private tokenizerWithoutSpecialTokens(): Tokenizer {
    this.plainTokenizer ??= new Tokenizer(
      { ...this.tokenizerJson, added_tokens: (this.tokenizerJson.added_tokens ?? []).filter((token) => !token.special) },
      { ...this.config, additional_special_tokens: [] },
    );
    return this.plainTokenizer;
  }
}

/** An {@link HfTokenizer} from already-parsed tokenizer.json (and optional tokenizer_config / generation_config). */
export function hfTokenizerFromJson(
  tokenizerJson: HfTokenizerJson,
  tokenizerConfig?: HfTokenizerConfig,
  generationConfig?: Record<string, unknown>,
): HfTokenizer {
  return new HfTokenizer({ tokenizerJson, tokenizerConfig, generationConfig });
}

async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Loads tokenizer.json from a model directory, with tokenizer_config.json and generation_config.json when present. */
export async function loadHfTokenizer(directory: string): Promise<HfTokenizer> {
  const tokenizerJson = await readJsonIfPresent(join(directory, "tokenizer.json"));
  if (tokenizerJson === undefined) {
    throw new Error(`no tokenizer.json in ${directory} (expected a Hugging Face tokenizer directory)`);
  }
  const [tokenizerConfig, generationConfig] = await Promise.all([
    readJsonIfPresent(join(directory, "tokenizer_config.json")),
    readJsonIfPresent(join(directory, "generation_config.json")),
  ]);
  return new HfTokenizer({ tokenizerJson: tokenizerJson as HfTokenizerJson, tokenizerConfig, generationConfig });
}
