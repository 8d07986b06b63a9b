// The pre-tokenizer regular expressions of byte-level BPE vocabularies, by GGUF tokenizer.ggml.pre name
// (the same expressions llama.cpp uses), written for JavaScript's Unicode regex mode.

// Unicode White_Space, which is what llama.cpp's and Oniguruma's \s mean (JavaScript's \s differs: it
// includes U+FEFF and leaves out U+0085).
const whitespace = "\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
const space = `[${whitespace}]`;
const notSpace = `[^${whitespace}]`;

const contractionsAnyCase = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/** Llama 3: digits in groups of up to three. */
const llama3Pattern =
  `${contractionsAnyCase}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${whitespace}\\p{L}\\p{N}]+[\\r\\n]*` +
  `|${space}*[\\r\\n]+|${space}+(?!${notSpace})|${space}+`;

/** Qwen2 / Qwen2.5 / Qwen3: like Llama 3 but every digit on its own. */
const qwen2Pattern =
  `${contractionsAnyCase}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${whitespace}\\p{L}\\p{N}]+[\\r\\n]*` +
  `|${space}*[\\r\\n]+|${space}+(?!${notSpace})|${space}+`;

/** GPT-2, llama.cpp's "default". */
const gpt2Pattern =
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${whitespace}\\p{L}\\p{N}]+|${space}+(?!${notSpace})|${space}+`;

/** How a byte-level BPE tokenizer splits text into words before merging. */
export interface PreTokenizerPattern {
  /** The family the name resolved to. */
  family: "llama3" | "qwen2" | "gpt2" | "smollm" | "glm4";
  /** The word-splitting regex (global, Unicode). */
  pattern: RegExp;
  /** Every digit is split off on its own before the pattern runs on the rest (llama.cpp's first "\\p{N}" regex of
   *  SmolLM / SmolVLM; Hugging Face's Digits(individual_digits) pre-tokenizer before ByteLevel). */
  digitsFirst: boolean;
  /** llama.cpp's ignore_merges: a word that is already a token is taken whole. */
  ignoreMerges: boolean;
  /** The add_bos_token default when the metadata does not say. */
  addBosToken: boolean;
}

const families: Record<PreTokenizerPattern["family"], { source: string; ignoreMerges: boolean; addBosToken: boolean; digitsFirst?: boolean }> = {
  llama3: { source: llama3Pattern, ignoreMerges: true, addBosToken: true },
  qwen2: { source: qwen2Pattern, ignoreMerges: false, addBosToken: false },
  gpt2: { source: gpt2Pattern, ignoreMerges: false, addBosToken: false },
  smollm: { source: gpt2Pattern, ignoreMerges: false, addBosToken: false, digitsFirst: true },
  // GLM-4 (llama.cpp's LLAMA_VOCAB_PRE_TYPE_CHATGLM4): Llama 3's expression, but merges always apply and no BOS
  // (the tokenizer drops its BOS id, see byte-level-bpe-tokenizer.ts).
  glm4: { source: llama3Pattern, ignoreMerges: false, addBosToken: false },
};

const familyByName: Record<string, PreTokenizerPattern["family"]> = {
  "llama-bpe": "llama3",
  llama3: "llama3",
  "llama-v3": "llama3",
  falcon3: "llama3",
  qwen2: "qwen2",
  "deepseek-r1-qwen": "qwen2",
  default: "gpt2",
  "gpt-2": "gpt2",
  gpt2: "gpt2",
  smollm: "smollm",
  "chatglm-bpe": "glm4",
  glm4: "glm4",
};

/** The tokenizer.ggml.pre names this package knows (others are refused with this list). */
export const supportedPreTokenizerNames: readonly string[] = Object.keys(familyByName);

export function preTokenizerPattern(name: string | undefined): PreTokenizerPattern {
  const family = familyByName[name ?? "default"];
  if (family === undefined) {
    throw new Error(
      `unsupported byte-level BPE pre-tokenizer "${name}" (tokenizer.ggml.pre); supported: ${supportedPreTokenizerNames.join(", ")}`,
    );
  }
  const { source, ignoreMerges, addBosToken, digitsFirst = false } = families[family];
  return { family, pattern: new RegExp(source, "gu"), ignoreMerges, addBosToken, digitsFirst };
}

/** Splits text into pre-tokenizer words; anything the pattern does not match is kept as its own word. */
export function splitWords(text: string, pattern: RegExp): string[] {
  const words: string[] = [];
  let end = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > end) words.push(text.slice(end, start));
    if (match[0].length > 0) words.push(match[0]);
    end = start + match[0].length;
  }
  if (end < text.length) words.push(text.slice(end));
  return words;
}

const digit = /\p{N}/gu;

/** The pre-tokenizer's words of `text`: with digitsFirst each digit is a word and the pattern splits the text between. */
export function preTokenize(text: string, preTokenizer: Pick<PreTokenizerPattern, "pattern" | "digitsFirst">): string[] {
  if (!preTokenizer.digitsFirst) return splitWords(text, preTokenizer.pattern);
  const words: string[] = [];
  let end = 0;
  for (const match of text.matchAll(digit)) {
    const start = match.index ?? 0;
    if (start > end) words.push(...splitWords(text.slice(end, start), preTokenizer.pattern));
    words.push(match[0]);
    end = start + match[0].length;
  }
  if (end < text.length) words.push(...splitWords(text.slice(end), preTokenizer.pattern));
  return words;
}
