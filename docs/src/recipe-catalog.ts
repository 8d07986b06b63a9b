// What the recipe gallery knows about each recipe, read from the recipe's own files: the `recipe` metadata exported by
// recipe.ts (checked against the RecipeMetadata contract of @infer-recipes/cli), README.md (optional: a recipe in
// progress gets its page without it), and the latest
// results/bench*.json and results/accuracy*.json (checked against ResultsRecord of @infer-recipes/harness) with their
// charts. Every missing piece is reported with the recipe's name and the field, so `pnpm docs` can refuse it.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { recipeMetadataProblems, type RecipeMetadata } from "@infer-recipes/cli";
import { resultsRecordProblems, type ResultsRecord } from "@infer-recipes/harness";

/** The latest results file of one kind, with the charts written beside it. */
export interface RecipeResults {
  /** Absolute path of the JSON file. */
  file: string;
  record: ResultsRecord;
  /** Absolute paths of its charts: `<name>.svg` and `<name>-*.svg` beside `<name>.json`. */
  charts: string[];
}

/** Everything the gallery shows about one recipe. */
export interface RecipeEntry {
  /** Absolute path of the recipe folder. */
  directory: string;
  metadata: RecipeMetadata;
  /** README.md as written; undefined while the recipe has none (its page says so, and the build prints a note). */
  readme: string | undefined;
  /** Whether the recipe has bench.ts / accuracy.ts (so `pnpm bench|accuracy <name>` exist). */
  hasBenchmark: boolean;
  hasAccuracyCheck: boolean;
  /** The latest benchmark results (results/bench*.json), if the benchmark has been run. */
  benchmark?: RecipeResults;
  /** The latest accuracy results (results/accuracy*.json), if the check has been run. */
  accuracy?: RecipeResults;
}

/** Which kind of results a file under results/ holds, from its name; undefined for other files. */
function resultsKind(fileName: string): "benchmark" | "accuracy" | undefined {
  if (!fileName.endsWith(".json")) return undefined;
  if (fileName.startsWith("bench")) return "benchmark";
  if (fileName.startsWith("accuracy")) return "accuracy";
  return undefined;
}

function chartsBeside(resultsDirectory: string, jsonName: string, files: readonly string[]): string[] {
  const base = jsonName.slice(0, -".json".length);
  const otherBases = new Set(files.filter((file) => file.endsWith(".json") && file !== jsonName).map((file) => file.slice(0, -".json".length)));
  return files
    .filter((file) => file.endsWith(".svg"))
    .filter((file) => {
      const chartBase = file.slice(0, -".svg".length);
      return chartBase === base || (chartBase.startsWith(`${base}-`) && !otherBases.has(chartBase));
    })
    .sort()
    .map((file) => path.join(resultsDirectory, file));
}

/** The newest (by `machine.date`) valid results file of each kind, and the problems of any invalid one. */
function latestResults(recipeName: string, directory: string): { benchmark?: RecipeResults; accuracy?: RecipeResults; problems: string[] } {
  const resultsDirectory = path.join(directory, "results");
  const found: { benchmark?: RecipeResults; accuracy?: RecipeResults; problems: string[] } = { problems: [] };
  if (!existsSync(resultsDirectory)) return found;
  const files = readdirSync(resultsDirectory).sort();
  for (const file of files) {
    const kind = resultsKind(file);
    if (!kind) continue;
    const where = `recipe ${recipeName}: results/${file}`;
    let record: unknown;
    try {
      record = JSON.parse(readFileSync(path.join(resultsDirectory, file), "utf8"));
    } catch (error) {
      found.problems.push(`${where}: not valid JSON (${(error as Error).message})`);
      continue;
    }
    const problems = resultsRecordProblems(record);
    if (problems.length > 0) {
      found.problems.push(...problems.map((problem) => `${where}: missing or wrong field ${problem} (see ResultsRecord in @infer-recipes/harness)`));
      continue;
    }
    const results: RecipeResults = { file: path.join(resultsDirectory, file), record: record as ResultsRecord, charts: chartsBeside(resultsDirectory, file, files) };
    const current = found[kind];
    if (!current || Date.parse(results.record.machine.date) > Date.parse(current.record.machine.date)) found[kind] = results;
  }
  return found;
}

/** Reads one recipe folder: its entry, or the problems that keep it out of the gallery. */
export async function readRecipe(directory: string): Promise<{ entry?: RecipeEntry; problems: string[] }> {
  const folderName = path.basename(directory);
  const problems: string[] = [];
  let metadata: unknown;
  try {
    const module = (await import(pathToFileURL(path.join(directory, "recipe.ts")).href)) as { recipe?: unknown };
    metadata = module.recipe;
  } catch (error) {
    return { problems: [`recipe ${folderName}: recipe.ts could not be imported (${(error as Error).message.split("\n")[0]})`] };
  }
  if (metadata === undefined) return { problems: [`recipe ${folderName}: recipe.ts must export its metadata as \`export const recipe: RecipeMetadata = {...}\``] };
  problems.push(...recipeMetadataProblems(metadata, folderName).map((problem) => `recipe ${folderName}: recipe.ts metadata is missing or has a wrong field ${problem} (see RecipeMetadata in @infer-recipes/cli)`));
  const readmePath = path.join(directory, "README.md");
  const results = latestResults(folderName, directory);
  problems.push(...results.problems);
  if (problems.length > 0) return { problems };
  return {
    problems,
    entry: {
      directory,
      metadata: metadata as RecipeMetadata,
      readme: existsSync(readmePath) ? readFileSync(readmePath, "utf8") : undefined,
      hasBenchmark: existsSync(path.join(directory, "bench.ts")),
      hasAccuracyCheck: existsSync(path.join(directory, "accuracy.ts")),
      benchmark: results.benchmark,
      accuracy: results.accuracy,
    },
  };
}

/** Every folder with a recipe.ts under `recipesDirectory`, sorted by name. */
export function recipeDirectories(recipesDirectory: string): string[] {
  if (!existsSync(recipesDirectory)) return [];
  return readdirSync(recipesDirectory, { withFileTypes: true })
    .filter((item) => item.isDirectory() && existsSync(path.join(recipesDirectory, item.name, "recipe.ts")))
    .map((item) => path.join(recipesDirectory, item.name))
    .sort();
}

/** Reads every recipe under each of `recipesDirectories`. */
export async function readRecipes(recipesDirectories: readonly string[]): Promise<{ recipes: RecipeEntry[]; problems: string[] }> {
  const recipes: RecipeEntry[] = [];
  const problems: string[] = [];
  for (const directory of recipesDirectories.flatMap(recipeDirectories)) {
    const read = await readRecipe(directory);
    problems.push(...read.problems);
    if (read.entry) recipes.push(read.entry);
  }
  return { recipes, problems };
}
