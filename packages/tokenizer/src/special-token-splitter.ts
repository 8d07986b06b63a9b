// Splits text into raw-text fragments and special-token fragments before BPE, following llama.cpp's
// tokenizer_st_partition: special tokens are tried longest first, each splitting every remaining raw fragment.

export type TextFragment = { kind: "text"; text: string } | { kind: "token"; id: number };

export interface SpecialToken {
  id: number;
  text: string;
}

export class SpecialTokenSplitter {
  private readonly tokens: SpecialToken[];

  /** `tokens` in any order; they are tried longest text first (stable for equal lengths). */
  constructor(tokens: readonly SpecialToken[]) {
    this.tokens = tokens.filter((token) => token.text.length > 0).sort((a, b) => b.text.length - a.text.length);
  }

  split(text: string, isEnabled: (token: SpecialToken) => boolean = () => true): TextFragment[] {
    let fragments: TextFragment[] = text.length > 0 ? [{ kind: "text", text }] : [];
    for (const token of this.tokens) {
      if (!text.includes(token.text) || !isEnabled(token)) continue;
      const next: TextFragment[] = [];
      for (const fragment of fragments) {
        if (fragment.kind !== "text" || !fragment.text.includes(token.text)) {
          next.push(fragment);
          continue;
        }
        let start = 0;
        for (;;) {
          const found = fragment.text.indexOf(token.text, start);
          if (found < 0) break;
          if (found > start) next.push({ kind: "text", text: fragment.text.slice(start, found) });
          next.push({ kind: "token", id: token.id });
          start = found + token.text.length;
        }
        if (start < fragment.text.length) next.push({ kind: "text", text: fragment.text.slice(start) });
      }
      fragments = next;
    }
    return fragments;
  }
}
