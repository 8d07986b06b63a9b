// The recipe metadata contract: complete metadata passes; each missing or malformed field is named, so the docs
// gallery can refuse a recipe with a message that says what to add.

import { describe, expect, it } from "vitest";

import { recipeMetadataProblems, type RecipeMetadata } from "../src/index.ts";

const complete: RecipeMetadata = {
  name: "my-model",
  title: "My model on the CPU",
  description: "Text generation with my model.",
  shows: ["Q8_0 weights"],
  defaultModel: "org/my-model-GGUF:my-model-Q8_0.gguf",
  examples: [{ command: "pnpm recipe my-model", what: "chat" }],
};

describe("recipeMetadataProblems", () => {
  it("accepts complete metadata, with or without the optional original model", () => {
    expect(recipeMetadataProblems(complete, "my-model")).toEqual([]);
    expect(recipeMetadataProblems({ ...complete, originalModel: "org/original" })).toEqual([]);
  });

  it("names every missing or malformed field", () => {
    const { title: _title, shows: _shows, ...partial } = complete;
    expect(recipeMetadataProblems(partial)).toEqual(["title: a non-empty string", "shows: a non-empty list of strings"]);
    expect(recipeMetadataProblems({ ...complete, examples: [{ command: "pnpm recipe my-model" }] })).toEqual(["examples[0].what: a non-empty string"]);
    expect(recipeMetadataProblems({ ...complete, examples: [] })).toEqual(["examples: a non-empty list of { command, what }"]);
    expect(recipeMetadataProblems({ ...complete, defaultModel: "  " })).toEqual(["defaultModel: a non-empty string"]);
    expect(recipeMetadataProblems({ ...complete, originalModel: "" })).toEqual(["originalModel: a non-empty string when present"]);
    expect(recipeMetadataProblems(undefined)).toEqual(["recipe: an object exported as `recipe` from recipe.ts"]);
  });

  it("requires the name to be the folder's name", () => {
    expect(recipeMetadataProblems(complete, "other-folder")).toEqual(['name: "other-folder" (the recipe\'s folder name), got "my-model"']);
  });
});
