// Text on which this project's ChatGLM3 tokenizer is compared with llama.cpp's tokenization of the same vocabulary:
// Chinese, English, code, emoji and other scripts, whitespace edge cases, text that spells special tokens, and mixes
// of them — written for this project. tokenizerCorpus() gives the hand-written strings plus deterministic pairings of
// them, well over 200 in all.

const chinese = [
  "你好", "你好，世界！", "今天天气怎么样？", "我爱北京天安门，天安门上太阳升。", "人工智能正在改变我们的生活方式。",
  "请用三句话介绍一下长城。", "这个问题的答案是：四十二。", "「引号」和“双引号”以及『书名号』。", "一二三四五六七八九十百千万亿",
  "机器学习、深度学习、强化学习", "他说：“明天见！”然后走了。", "清华大学和北京大学都在海淀区。", "数学公式：a² + b² = c²。",
  "２０２４年１２月３日，星期二。", "全角字符：ＡＢＣ，１２３，！？", "繁體中文也應該能夠正確地分詞。", "龘靐齉爩 是很少见的汉字。",
  "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", "价格：￥99.00（含税）", "第一章　总则（全角空格）", "这是一个很长的句子，" + "包含很多很多的字，".repeat(5),
  "中文标点：，。；：？！…—·「」", "我们在2023年发布了ChatGLM3-6B模型。", "请把下面的英文翻译成中文：Hello world", "换行\n之后\n继续",
];

const english = [
  "Hello", "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.", "I'm sure you'll be fine, won't you?",
  "It costs $3.50 — or €3.20.", "Numbers: 0 1 12 123 1234 12345 3.14159 -42 1e10", "UPPER lower MiXeD CaSe", "e-mail: someone@example.com",
  "https://huggingface.co/THUDM/chatglm3-6b", "multiple   spaces   between   words", "tabs\tand\tmore\ttabs", "trailing space ",
  " leading space", "  two leading spaces", "line one\nline two\n", "Windows line ending\r\n", "A sentence... with ellipsis!?",
  "don't can't shouldn't y'all", "(parentheses) [brackets] {braces} <angles>", "snake_case camelCase PascalCase kebab-case",
  "supercalifragilisticexpialidocious", "Mr. Smith went to Washington D.C. in 1999.", "#hashtag @mention 100% 50/50",
];

const code = [
  "def f(x):\n    return x ** 2", "for (let i = 0; i < 10; i++) {\n  console.log(i);\n}", "#include <stdio.h>\nint main(void) { return 0; }",
  "{\"name\": \"chatglm\", \"layers\": 28, \"bias\": true}", "SELECT * FROM users WHERE id = 42;", "$ pnpm recipe chatglm3-6b --prompt \"hi\"",
  "x = [i * i for i in range(10) if i % 2 == 0]", "const add = (a: number, b: number): number => a + b;", "if __name__ == \"__main__\":\n\tmain()",
  "<div class=\"box\">\n  <p>text</p>\n</div>", "a += 1; b -= 2; c *= 3; d /= 4; e %= 5;", "fn main() { println!(\"{}\", 1 + 1); }",
  "    indented with four spaces\n        and eight", "import numpy as np  # 导入 numpy", "// 注释：计算平方\nconst y = x * x;",
  "diff --git a/file b/file\n@@ -1,2 +1,2 @@\n-old\n+new", "0x1F 0b1010 0o17 1_000_000", "matrix[i][j] = matrix[j][i]",
];

const symbols = [
  "🦙", "🚀🚀🚀", "emoji 😀 in text", "family 👨‍👩‍👧‍👦 (a zero-width-joiner sequence)", "flags 🇨🇳 🇺🇸 🇫🇷", "skin tones 👍🏻 👍🏿",
  "日本語のテキストも少し。", "한국어 문장도 조금.", "Русский текст и ещё немного.", "النص العربي", "Ελληνικά κείμενα", "ñandú, café, naïve, Zürich",
  "math ∑∫√∞≈≠≤≥", "arrows ← ↑ → ↓ ⇒", "box ─│┌┐└┘", "rare CJK 𠀀𠀁𪚥", "combining e\u0301 vs \u00e9", "a\u200bzero\u200bwidth\u200bspace",
  "\u00a0no-break\u00a0spaces", "♠♥♦♣ ★☆ ✓✗",
];

const whitespace = ["", " ", "  ", "\n", "\n\n", "\t", " \n ", "a", " a", "a ", "\n a", "   \t  \n"];

/** Text spelling ChatGLM3's special tokens, as a rendered chat prompt contains them. */
const specials = [
  "[gMASK]sop<|user|>\n 你好<|assistant|>",
  "[gMASK]sop<|system|>\n You are ChatGLM3.<|user|>\n Hello<|assistant|>\n Hi! How can I help?<|user|>\n 写一首诗<|assistant|>",
  "<|observation|>\n {\"temperature\": 22}", "text before [MASK] and after", "sop eop are words too", "<|user|><|user|>",
];

const mixed = [
  "ChatGLM3 是一个 6B 参数的模型，supports multi-turn chat.", "用 Python 写一个 hello world：print(\"hello world\")",
  "The word 你好 means hello.", "温度 temperature=0.8, top_p=0.8", "错误 Error: file not found (文件不存在)", "Q4_0 量化后模型只有 3.6 GB。",
];

/** The hand-written strings (every category above). */
export const handWrittenTokenizerStrings: readonly string[] = [...chinese, ...english, ...code, ...symbols, ...whitespace, ...specials, ...mixed];

/** The comparison corpus: the hand-written strings, then pairings across categories (Chinese + English, code +
 *  Chinese, symbols + mixed) so that scripts meet at word boundaries. */
export function tokenizerCorpus(): string[] {
  const pairs: string[] = [];
  chinese.forEach((text, index) => pairs.push(`${text} ${english[index % english.length]}`, `${english[(index * 7) % english.length]}${text}`));
  code.forEach((text, index) => pairs.push(`${chinese[(index * 3) % chinese.length]}\n${text}`));
  symbols.forEach((text, index) => pairs.push(`${mixed[index % mixed.length]}${text}`, `${text}\n${chinese[(index * 5) % chinese.length]}`));
  return [...handWrittenTokenizerStrings, ...pairs];
}
