// The metadata contract of a recipe: what every `recipes/<name>/recipe.ts` exports as `recipe`, read by the recipe's
// own command line (--help) and by the docs' recipe gallery (`pnpm docs`), which refuses a recipe that lacks a field.
// One definition, so a recipe added later appears in the docs without editing them.

/** A command line shown in a recipe's gallery page, with what it does. */
export interface RecipeExample {
  /** The command as a user types it from the repository root, e.g. `pnpm recipe llama-3.2-3b --prompt "Hi"`. */
  command: string;
  /** What running it does, in a short phrase ("chat with the default model"). */
  what: string;
}

/**
 * What a recipe says about itself. `recipe.ts` exports an object of this type (or of a type that extends it, such as
 * {@link TextRecipe}) named `recipe`; the docs gallery validates it with {@link recipeMetadataProblems}.
 *
 * @example
 * ```ts
 * import type { RecipeMetadata } from "@infer-recipes/cli";
 *
 * export const recipe: RecipeMetadata = {
 *   name: "my-model",
 *   title: "My model on the CPU",
 *   description: "Text generation with my model, Q8_0 weights on the native kernels.",
 *   shows: ["Q8_0 weights computed on as stored"],
 *   defaultModel: "my-org/my-model-GGUF:my-model-Q8_0.gguf",
 *   examples: [{ command: "pnpm recipe my-model --prompt \"Hello\"", what: "generate from a prompt" }],
 * };
 * ```
 */
export interface RecipeMetadata {
  /** The recipe's name as in `pnpm recipe <name>`; equal to its folder name under `recipes/`. */
  name: string;
  /** A title for people: the model and the setting, e.g. "Llama 3.2 3B Instruct on the CPU". */
  title: string;
  /** One or two sentences: what the recipe does and what it demonstrates. Printed by `--help`. */
  description: string;
  /** The optimizations or capabilities the recipe demonstrates, one short phrase each (at least one). */
  shows: readonly string[];
  /** The model used when `--model` is absent: a public hub repository id (optionally `repo:file`) or a path. */
  defaultModel: string;
  /** The original (often gated) model the default is derived from, mentioned in `--help` and the gallery. */
  originalModel?: string;
  /** Command lines worth showing, beyond the `pnpm recipe|bench|accuracy <name>` every recipe has (at least one). */
  examples: readonly RecipeExample[];
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim().length > 0;
}

/**
 * The fields of a recipe's metadata that are missing or of the wrong type, each as `"field: what is expected"`.
 * An empty list means the metadata is complete. `folderName`, when given, must equal `name`.
 *
 * @example
 * ```ts
 * import { recipeMetadataProblems } from "@infer-recipes/cli";
 *
 * recipeMetadataProblems({ name: "x", title: "X" });
 * // → ["description: a non-empty string", "shows: a non-empty list of strings", ...]
 * ```
 */
export function recipeMetadataProblems(value: unknown, folderName?: string): string[] {
  if (typeof value !== "object" || value === null) return ["recipe: an object exported as `recipe` from recipe.ts"];
  const metadata = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ["name", "title", "description", "defaultModel"] as const) {
    if (!isNonEmptyString(metadata[field])) problems.push(`${field}: a non-empty string`);
  }
  if (folderName !== undefined && isNonEmptyString(metadata.name) && metadata.name !== folderName) {
    problems.push(`name: "${folderName}" (the recipe's folder name), got "${metadata.name}"`);
  }
  if (metadata.originalModel !== undefined && !isNonEmptyString(metadata.originalModel)) problems.push("originalModel: a non-empty string when present");
  const shows = metadata.shows;
  if (!Array.isArray(shows) || shows.length === 0 || !shows.every(isNonEmptyString)) problems.push("shows: a non-empty list of strings");
  const examples = metadata.examples;
  if (!Array.isArray(examples) || examples.length === 0) problems.push("examples: a non-empty list of { command, what }");
  else {
    examples.forEach((example: unknown, index) => {
      const entry = (typeof example === "object" && example !== null ? example : {}) as Record<string, unknown>;
      if (!isNonEmptyString(entry.command)) problems.push(`examples[${index}].command: a non-empty string`);
      if (!isNonEmptyString(entry.what)) problems.push(`examples[${index}].what: a non-empty string`);
    });
  }
  return problems;
}
