// Incremental detokenization for streaming: feed one token id at a time, get back only newly completed text.
// Never splits a multi-byte UTF-8 character (byte-fallback tokens like <0xE2> and partial byte-level tokens are
// held back until their character is complete) and keeps SentencePiece's leading-space rule consistent with decode().

import type { TextTokenizer } from "./text-tokenizer.ts";

/** Options of {@link createStreamDecoder}. */
export interface StreamDecoderOptions {
  /** Leave out control/special tokens (BOS, EOS, chat markers). Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Ids that come before the streamed ones (e.g. the prompt). Only the last few matter: they decide whether the
   * first streamed token's leading space is kept (" Once" after a prompt) or dropped ("Once" at the start of text).
   */
  contextIds?: readonly number[];
}

/** Turns a stream of token ids into text, one id at a time (it is the engine's IncrementalDecoder). */
export interface StreamDecoder {
  /** Adds one token id; returns the text it completed (possibly ""). */
  push(id: number): string;
  /** Ends the stream: returns whatever was held back (an incomplete character becomes U+FFFD) and resets. */
  flush(): string;
}

const contextWindow = 4;

/**
 * Byte-exact streaming for tokenizers with decodeBytes: each step decodes [previous token, new token] and
 * [previous token] and feeds the byte difference to a streaming UTF-8 decoder. "Previous token" reaches back past
 * tokens that spell no bytes of their own (a skipped special token): a decode starting with one of those would drop
 * the new token's leading space as if the text started there.
 */
class ByteStreamDecoder implements StreamDecoder {
  private window: number[];
  private utf8 = new TextDecoder("utf-8");

  constructor(
    private readonly tokenizer: TextTokenizer & Required<Pick<TextTokenizer, "decodeBytes">>,
    private readonly skipSpecialTokens: boolean,
    private readonly contextIds: readonly number[],
  ) {
    this.window = this.contextTail(contextIds);
  }

  push(id: number): string {
    const options = { skipSpecialTokens: this.skipSpecialTokens };
    const before = this.tokenizer.decodeBytes(this.window, options);
    this.window.push(id);
    const after = this.tokenizer.decodeBytes(this.window, options);
    this.window = this.contextTail(this.window);
    const added = after.subarray(Math.min(before.length, after.length));
    return this.utf8.decode(added, { stream: true });
  }

  flush(): string {
    const rest = this.utf8.decode();
    this.utf8 = new TextDecoder("utf-8");
    this.window = this.contextTail(this.contextIds);
    return rest;
  }

  /** The last of `ids` that spells bytes of its own and the ones after it (all of `ids` when none does: the text's start). */
  private contextTail(ids: readonly number[]): number[] {
    const options = { skipSpecialTokens: this.skipSpecialTokens };
    let start = ids.length;
    while (start > 0) {
      start--;
      if (this.tokenizer.decodeBytes([ids[start]], options).length > 0) break;
    }
    return ids.slice(start);
  }
}

/**
 * Text-level streaming for tokenizers without decodeBytes (the approach of Hugging Face's text-generation-inference):
 * text is released only when it grew and does not end in U+FFFD, i.e. no character is still incomplete.
 */
class TextStreamDecoder implements StreamDecoder {
  /** The tokens of the text released last (the first `readOffset`: the next step's prefix), then those held back. */
  private ids: number[];
  private readOffset: number;

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly skipSpecialTokens: boolean,
    private readonly contextIds: readonly number[],
  ) {
    this.ids = contextIds.slice(-contextWindow);
    this.readOffset = this.ids.length;
  }

  push(id: number): string {
    this.ids.push(id);
    const { prefixText, fullText } = this.texts();
    if (fullText.length <= prefixText.length || fullText.endsWith("\uFFFD")) return "";
    // The held-back tokens are released: they are the prefix of the next step.
    this.ids = this.ids.slice(this.readOffset);
    this.readOffset = this.ids.length;
    return fullText.slice(prefixText.length);
  }

  flush(): string {
    const { prefixText, fullText } = this.texts();
    this.ids = this.contextIds.slice(-contextWindow);
    this.readOffset = this.ids.length;
    return fullText.length > prefixText.length ? fullText.slice(prefixText.length) : "";
  }

  private texts(): { prefixText: string; fullText: string } {
    const options = { skipSpecialTokens: this.skipSpecialTokens };
    return {
      prefixText: this.tokenizer.decode(this.ids.slice(0, this.readOffset), options),
      fullText: this.tokenizer.decode(this.ids, options),
    };
  }
}

function hasDecodeBytes(tokenizer: TextTokenizer): tokenizer is TextTokenizer & Required<Pick<TextTokenizer, "decodeBytes">> {
  return typeof tokenizer.decodeBytes === "function";
}

/**
 * A decoder that returns, for each token id pushed, only the text it completes: never half a UTF-8 character, and
 * with SentencePiece's leading space kept or dropped exactly as `tokenizer.decode` of the whole sequence would.
 *
 * @example
 * ```ts
 * import { createStreamDecoder, type TextTokenizer } from "@infer-recipes/tokenizer";
 *
 * function stream(tokenizer: TextTokenizer, prompt: number[], generated: number[]): void {
 *   const decoder = createStreamDecoder(tokenizer, { contextIds: prompt, skipSpecialTokens: true });
 *   for (const id of generated) process.stdout.write(decoder.push(id));
 *   process.stdout.write(decoder.flush());
 * }
 * ```
 */
export function createStreamDecoder(tokenizer: TextTokenizer, options: StreamDecoderOptions = {}): StreamDecoder {
  const skipSpecialTokens = options.skipSpecialTokens ?? false;
  const contextIds = options.contextIds ?? [];
  return hasDecodeBytes(tokenizer)
    ? new ByteStreamDecoder(tokenizer, skipSpecialTokens, contextIds)
    : new TextStreamDecoder(tokenizer, skipSpecialTokens, contextIds);
}
