// Recognises end-of-generation tokens by their text, the way llama.cpp does, so that e.g. Llama 3's
// <|eot_id|> / <|eom_id|> / <|end_of_text|> and Qwen's <|im_end|> / <|endoftext|> all stop generation.

/** Token texts that end generation wherever a vocabulary has them as special tokens (llama.cpp's list). */
export const endOfGenerationTokenTexts: readonly string[] = [
  "<|eot_id|>",
  "<|eom_id|>",
  "<|end_of_text|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<EOT>",
  "_<EOT>",
  "<end_of_utterance>",
];

/**
 * The end-of-generation ids: the explicitly configured ones first (in order, without duplicates), then
 * every special token whose text is a known end-of-turn marker.
 */
export function collectEndOfGenerationIds(
  configuredIds: readonly (number | undefined)[],
  specialTokenId: (text: string) => number | undefined,
): number[] {
  const ids: number[] = [];
  const add = (id: number | undefined) => {
    if (id !== undefined && id >= 0 && !ids.includes(id)) ids.push(id);
  };
  configuredIds.forEach(add);
  for (const text of endOfGenerationTokenTexts) add(specialTokenId(text));
  return ids;
}
