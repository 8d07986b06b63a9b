// An estimate of how wide a line of text is drawn in a sans-serif font, so an SVG chart can size its margins without a
// browser to measure them. The per-character widths are those of DejaVu Sans (the widest of the usual sans-serif
// fallbacks: Linux's default), so text drawn in Arial or Helvetica is narrower than estimated and never clipped.

// Advance widths in em for DejaVu Sans, grouped by width.
const NARROW = new Set("il.,:;'|!ıj ");
const SEMI_NARROW = new Set("frt()[]{}/\\-\"`I");
const WIDE = new Set("mwMW%@");
const UPPER_WIDTH = 0.72;
const DIGIT_WIDTH = 0.64;
const LOWER_WIDTH = 0.62;

function characterWidth(character: string): number {
  if (NARROW.has(character)) return 0.32;
  if (SEMI_NARROW.has(character)) return 0.42;
  if (WIDE.has(character)) return 0.98;
  if (character >= "0" && character <= "9") return DIGIT_WIDTH;
  if (character >= "A" && character <= "Z") return UPPER_WIDTH;
  if (character >= "a" && character <= "z") return LOWER_WIDTH;
  // Symbols such as ×, ÷, –, → and anything outside ASCII: about an uppercase letter.
  return UPPER_WIDTH;
}

/**
 * The width in pixels that `text` takes at `fontSize` pixels in a sans-serif font: an upper estimate (DejaVu Sans
 * widths, 8% more for bold), good for reserving room for labels.
 *
 * @example
 * ```ts
 * import { estimateTextWidth } from "@infer-recipes/harness";
 *
 * const labelRoom = Math.max(...["baseline", "+ KV cache"].map((label) => estimateTextWidth(label, 11))) + 12;
 * ```
 */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  let width = 0;
  for (const character of text) width += characterWidth(character);
  return Math.ceil(width * fontSize * (bold ? 1.08 : 1));
}
