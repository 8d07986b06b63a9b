// ModelFileError: the one error type every loader, parser and writer in this package throws for a bad or unexpected
// file. Its message names the file, then the tensor or field when there is one, then what was expected and found.

/** What a {@link ModelFileError} is about: the file, and the tensor or field within it. */
export interface ModelFileErrorSubject {
  /** Path of the file at fault (a weight file, config.json, an index file, or an output path). */
  file: string;
  /** Name of the tensor at fault, as the file spells it. */
  tensor?: string;
  /** Name of the header/config/metadata field at fault, as the file spells it. */
  field?: string;
}

/** A weight, config or metadata file that is missing, malformed or unexpected; the message names the file first. */
export class ModelFileError extends Error {
  /** Always `"ModelFileError"`. */
  override name = "ModelFileError";
  /** Path of the file at fault. */
  readonly file: string;
  /** The tensor at fault, as the file spells it, if any. */
  readonly tensor: string | undefined;
  /** The header, config or metadata field at fault, if any. */
  readonly field: string | undefined;
  /** The message without the file/tensor/field prefix. */
  readonly problem: string;

  constructor(
    subject: ModelFileErrorSubject,
    problem: string,
    options?: {
      /** The underlying error, kept as `cause`. */
      cause?: unknown;
    },
  ) {
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
