// A multi-turn conversation over one dense KV cache: each turn renders the whole conversation through the chat
// template (or, for a model without one, continues one plain text), and reuses the cached keys/values of the longest
// common token prefix with what the cache already holds — the earlier turns, the replies as generated — so a turn
// prefills only its new message (and the template's role headers around it). With reuse off every turn starts from
// an empty cache, which must give the same tokens (greedy) at a cost that grows with the conversation: what the
// recipe's tests and multi-turn benchmark compare.

import type { DenseKvCache } from "@infer-recipes/cache";
import { generate, type GenerateOptions, type GenerationControls, type GenerationResult } from "@infer-recipes/engine";
import { createStreamDecoder, type ChatMessage } from "@infer-recipes/tokenizer";

import type { TextModel } from "./load-text-model.ts";
import { promptIds } from "./text-generation-command.ts";

/** How a {@link ChatSession} starts. */
export interface ChatSessionOptions {
  /** The system message the conversation starts with. */
  system?: string;
  /** Keep the KV cache between turns (default true). */
  reuseCache?: boolean;
  /** How a turn generates (default the engine's generate; a speculative recipe passes its own). */
  generate?: (model: TextModel["model"], promptIds: readonly number[], options: GenerateOptions) => Promise<GenerationResult>;
}

/** One exchange of a {@link ChatSession}: the reply and what producing it cost. */
export interface ChatTurn {
  /** The reply as shown and kept in the history: the generated text without surrounding whitespace. */
  reply: string;
  /** The generation itself: token ids, finish reason, timings. */
  result: GenerationResult;
  /** Tokens of the rendered conversation this turn (the prompt). */
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the cache instead of being prefilled. */
  reusedTokens: number;
}

/** Length of the common prefix of two id lists. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

/**
 * A multi-turn conversation with a loaded text model over one KV cache that, by default, keeps the earlier turns
 * between calls of {@link ChatSession.send}, so each turn prefills only what is new.
 *
 * @example
 * ```ts
 * import { ChatSession, loadTextModel } from "@infer-recipes/cli";
 *
 * const chat = new ChatSession(await loadTextModel("path/to/model.gguf"), { system: "Answer briefly." });
 * const turn = await chat.send("What is a KV cache?", { maxTokens: 64 });
 * console.log(turn.reply, `${turn.reusedTokens}/${turn.promptTokens} prompt tokens from the cache`);
 * ```
 */
export class ChatSession {
  /** The conversation so far (system message first when there is one). */
  readonly messages: ChatMessage[] = [];
  private system: string | undefined;
  private plainText = "";
  private readonly cache: DenseKvCache;
  /** The token ids whose keys/values the cache holds, position by position. */
  private cachedIds: number[] = [];
  private readonly reuseCache: boolean;
  private readonly generate: NonNullable<ChatSessionOptions["generate"]>;

  constructor(
    /** The model, tokenizer and chat template the conversation runs on. */
    readonly textModel: TextModel,
    options: ChatSessionOptions = {},
  ) {
    this.reuseCache = options.reuseCache ?? true;
    this.generate = options.generate ?? generate;
    this.cache = textModel.model.createCache();
    this.setSystem(options.system);
  }

  /** Whether turns go through a chat template (else each message continues one plain text). */
  get templated(): boolean {
    return this.textModel.chatTemplate !== undefined;
  }

  /** Sets (or with undefined removes) the system message; the conversation is kept, only its start changes. */
  setSystem(text: string | undefined): void {
    if (this.system !== undefined) this.messages.shift();
    this.system = text === undefined || text.trim() === "" ? undefined : text;
    if (this.system !== undefined) this.messages.unshift({ role: "system", content: this.system });
  }

  /** Forgets the conversation (the system message stays) and empties the cache. */
  reset(): void {
    this.messages.splice(this.system === undefined ? 0 : 1);
    this.plainText = "";
    this.cache.clear();
    this.cachedIds = [];
  }

  /** Token ids of the conversation with `message` as the next user turn, ending where the reply starts. */
  private nextPrompt(message: string): number[] {
    if (this.templated) return promptIds(this.textModel, [...this.messages, { role: "user", content: message }]);
    return promptIds(this.textModel, this.plainText + (this.plainText ? "\n" : "") + message);
  }

  /**
   * One turn: generates the reply to `message` (streamed through controls.onText), then adds both to the history.
   * A reply cut short (cancelled, or at the token limit) is kept as far as it went. On an error the turn is undone.
   */
  async send(message: string, controls: Omit<GenerationControls, "decoder" | "stopTokenIds"> = {}): Promise<ChatTurn> {
    const ids = this.nextPrompt(message);
    const reused = this.reuseCache ? Math.min(commonPrefix(this.cachedIds, ids), this.cache.length, ids.length - 1) : 0;
    this.cache.truncate(reused);
    this.cachedIds.length = reused;
    const { model, tokenizer, stopTokenIds } = this.textModel;
    const room = model.config.contextLength - ids.length - 1;
    const result = await this.generate(model, ids, {
      ...controls,
      maxTokens: controls.maxTokens === undefined ? undefined : Math.min(controls.maxTokens, Math.max(1, room)),
      stopTokenIds,
      decoder: createStreamDecoder(tokenizer, { contextIds: ids, skipSpecialTokens: true }),
      onText: controls.onText === undefined ? undefined : leadingWhitespaceTrimmed(controls.onText),
      cache: this.cache,
    });
    this.cachedIds = [...ids, ...result.tokenIds].slice(0, this.cache.length);
    const reply = result.text.trim();
    if (this.templated) this.messages.push({ role: "user", content: message }, { role: "assistant", content: reply });
    else this.plainText += (this.plainText ? "\n" : "") + message + result.text;
    return { reply, result, promptTokens: ids.length, reusedTokens: reused };
  }
}

/** Passes text on once it has something besides leading whitespace (a reply's opening newline and space are not shown). */
function leadingWhitespaceTrimmed(onText: (text: string) => void): (text: string) => void {
  let started = false;
  return (text) => {
    if (!started) {
      text = text.replace(/^\s+/, "");
      if (text === "") return;
      started = true;
    }
    onText(text);
  };
}
