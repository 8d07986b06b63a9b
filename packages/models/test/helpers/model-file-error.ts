// The ModelFileError a loader throws, for tests that check its message (file, tensor or field, and what was expected).

import { expect } from "vitest";

import { ModelFileError } from "../../src/index.ts";

/** The ModelFileError `action` throws; fails the test when it throws something else or nothing. */
export function errorOf(action: () => unknown): ModelFileError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return error as ModelFileError;
  }
  throw new Error("expected a ModelFileError");
}
