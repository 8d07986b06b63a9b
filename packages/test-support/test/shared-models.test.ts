import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { sharedModelsDirectoryFor } from "../src/index.ts";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("sharedModelsDirectoryFor", () => {
  it("is shared/models beside the repository by default (also when the variable is empty)", () => {
    const expected = path.resolve(repositoryRoot, "../shared/models");
    expect(sharedModelsDirectoryFor({})).toBe(expected);
    expect(sharedModelsDirectoryFor({ INFER_SHARED_MODELS: "" })).toBe(expected);
  });

  it("follows INFER_SHARED_MODELS, resolved against the working directory", () => {
    expect(sharedModelsDirectoryFor({ INFER_SHARED_MODELS: "/data/models" })).toBe("/data/models");
    expect(sharedModelsDirectoryFor({ INFER_SHARED_MODELS: "models" })).toBe(path.resolve("models"));
  });
});
