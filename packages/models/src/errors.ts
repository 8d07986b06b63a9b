// ModelFileError: the one error type every loader, parser and writer in this package throws for a bad or unexpected
// file. Its message names the file, then the tensor or field when there is one, then what was expected and found.

export interface ModelFileErrorSubject {
  /** Path of the file at fault (a weight file, config.json, an index file, or an output path). */
  file: string;
  /** Name of the tensor at fault, as the file spells it. */
  tensor?: string;
  /** Name of the header/config/metadata field at fault, as the file spells it. */
  field?: string;
}

export class ModelFileError extends Error {
  override name = "ModelFileError";
  readonly file: string;
  readonly tensor: string | undefined;
  readonly field: string | undefined;
  /** The message without the file/tensor/field prefix. */
  readonly problem: string;

  constructor(subject: ModelFileErrorSubject, problem: string, options?: { cause?: unknown }) {
    const parts = [subject.file];
    if (subject.tensor !== undefined) parts.push(`tensor "${subject.tensor}"`);
    if (subject.field !== undefined) parts.push(`field "${subject.field}"`);
    super(`${parts.join(": ")}: ${problem}`, options);
    this.file = subject.file;
    this.tensor = subject.tensor;
    this.field = subject.field;
    this.problem = problem;
  }
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
