// A draft model proposes token ids that the target verifies, so both must number the same tokens the same way. The
// check compares the models' vocabulary sizes and every token's spelling, and refuses a mismatch before anything is
// generated, naming both files and the first difference.

import type { TextModel } from "./load-text-model.ts";

/** A draft model whose vocabulary differs from the target's; the message names both files and the first difference. */
export class VocabularyMismatchError extends Error {
  /** "VocabularyMismatchError". */
  override name = "VocabularyMismatchError";
}

/** Throws a VocabularyMismatchError unless `draft` has exactly `target`'s vocabulary (size and token strings). */
export function checkSameVocabulary(target: TextModel, draft: TextModel): void {
  const targetFile = target.resolved.path;
  const draftFile = draft.resolved.path;
  const refuse = (difference: string) => {
    throw new VocabularyMismatchError(
      `the draft model ${draftFile} and the target model ${targetFile} do not share a vocabulary: ${difference}; speculative decoding needs a draft with the target's tokenizer (e.g. a smaller model of the same family)`,
    );
  };
  const targetSize = target.model.config.vocabSize;
  const draftSize = draft.model.config.vocabSize;
  if (targetSize !== draftSize) refuse(`the target has ${targetSize} tokens, the draft ${draftSize}`);
  if (target.tokenizer.vocabSize !== draft.tokenizer.vocabSize) {
    refuse(`the target's tokenizer has ${target.tokenizer.vocabSize} tokens, the draft's ${draft.tokenizer.vocabSize}`);
  }
  for (let id = 0; id < target.tokenizer.vocabSize; id++) {
    const targetToken = target.tokenizer.idToToken(id);
    const draftToken = draft.tokenizer.idToToken(id);
    if (targetToken !== draftToken) refuse(`token ${id} is ${JSON.stringify(targetToken)} in the target and ${JSON.stringify(draftToken)} in the draft`);
  }
}
