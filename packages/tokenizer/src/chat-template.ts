// Renders Hugging Face chat templates (Jinja) through @huggingface/jinja, with the variables and helpers the
// published templates expect: messages, add_generation_prompt, bos_token, eos_token, strftime_now, raise_exception.

import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { strftime } from "./strftime.ts";
import type { TextTokenizer } from "./text-tokenizer.ts";

/** One turn of a conversation, as chat templates read it. */
export interface ChatMessage {
  /** "system", "user", "assistant", "tool", ... */
  role: string;
  /** The text (or whatever structure the template expects, e.g. content parts). */
  content?: unknown;
  [field: string]: unknown;
}

/** The variables a chat template is rendered with, besides the messages. */
export interface ChatTemplateOptions {
  /** End the prompt with the header that opens the assistant's turn. Default false. */
  addGenerationPrompt?: boolean;
  /** bos_token as the vocabulary spells it, e.g. "<|begin_of_text|>". */
  bosToken?: string;
  /** eos_token as the vocabulary spells it. */
  eosToken?: string;
  /** The clock behind strftime_now (Llama 3.x puts "Today Date" in the system turn); default the current time. */
  now?: Date | (() => Date);
  /** Any further template variables, passed under their own names (e.g. tools, date_string, enable_thinking). */
  [variable: string]: unknown;
}

/**
 * A compiled chat template. Get one from a model's files with `loadChatTemplate`, `chatTemplateFromGgufMetadata` or
 * `chatTemplateFromTokenizerConfig`, or compile Jinja source with {@link compileChatTemplate}.
 *
 * @example
 * ```ts
 * import { compileChatTemplate } from "@infer-recipes/tokenizer";
 *
 * const template = compileChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
 * const prompt = template.render([{ role: "user", content: "Hello" }], { addGenerationPrompt: true });
 * // "<user>Hello\n<assistant>"
 * ```
 */
export interface ChatTemplate {
  /** The Jinja source. */
  readonly source: string;
  /** The prompt text for `messages`; throws when the template raises (e.g. roles that do not alternate). */
  render(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
}

/** Python's range(), which templates use in loops. */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const result: number[] = [];
  for (let value = start; step > 0 ? value < stop : value > stop; value += step) result.push(value);
  return result;
}

/**
 * Runs a parsed template. The globals are declared here rather than by Template.render, because that declares its
 * own strftime_now (current time, process-locale month names) and refuses a second declaration of the name.
 */
function run(template: Template, variables: Record<string, unknown>): string {
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range,
    raise_exception: (message: string) => {
      throw new Error(`chat template: ${message}`);
    },
    ...variables,
  };
  const environment = new Environment();
  for (const [name, value] of Object.entries(globals)) environment.set(name, value);
  const result = new Interpreter(environment).run(template.parsed);
  return String(result.value);
}

/** Parses a template once for repeated rendering. */
export function compileChatTemplate(source: string): ChatTemplate {
  const template = new Template(source);
  return {
    source,
    render(messages, options = {}) {
      const { addGenerationPrompt, bosToken, eosToken, now, ...extra } = options;
      const clock = typeof now === "function" ? now : () => now ?? new Date();
      return run(template, {
        bos_token: bosToken ?? "",
        eos_token: eosToken ?? "",
        strftime_now: (format: string) => strftime(clock(), format),
        ...extra,
        messages,
        add_generation_prompt: addGenerationPrompt ?? false,
      });
    },
  };
}

/** Compiles `template` and renders `messages` with it, in one call. */
export function renderChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  return compileChatTemplate(template).render(messages, options);
}

/** bos_token / eos_token for a template, spelled as the tokenizer's vocabulary spells them. */
export function chatTemplateSpecialTokens(tokenizer: TextTokenizer): {
  /** The BOS token's text, if the tokenizer has one. */
  bosToken?: string;
  /** The first end-of-generation token's text, if any. */
  eosToken?: string;
} {
  return {
    bosToken: tokenizer.bosTokenId === undefined ? undefined : tokenizer.idToToken(tokenizer.bosTokenId),
    eosToken: tokenizer.eosTokenIds.length === 0 ? undefined : tokenizer.idToToken(tokenizer.eosTokenIds[0]),
  };
}
