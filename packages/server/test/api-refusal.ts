// The ApiError a request check throws, for tests that check its status, type and message.

import { expect } from "vitest";

import { ApiError } from "../src/index.ts";

/** The ApiError `check` throws; fails the test when it throws something else or accepts. */
export function refusal(check: () => unknown): ApiError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("accepted");
}
