// A recipe lacking what the gallery needs is refused with its name and the missing field; a complete one, with or
// without results, is read with its latest results of each kind.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { machineInfo } from "@infer-recipes/harness";

import { readRecipe } from "../src/recipe-catalog.ts";
import { formatFigure, plainText, recipePage } from "../src/recipe-gallery.ts";

const root = mkdtempSync(path.join(tmpdir(), "docs-recipes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const metadata = {
  name: "toy",
  title: "A toy recipe",
  description: "Shows the gallery contract.",
  shows: ["nothing fast"],
  defaultModel: "org/toy-GGUF:toy.gguf",
  examples: [{ command: "pnpm recipe toy", what: "run it" }],
};

function recipe(name: string, fields: Record<string, unknown>, files: Record<string, string> = {}): string {
  const directory = path.join(root, name);
  mkdirSync(path.join(directory, "results"), { recursive: true });
  writeFileSync(path.join(directory, "recipe.ts"), `export const recipe = ${JSON.stringify({ ...fields, name })};\n`);
  writeFileSync(path.join(directory, "README.md"), "# Toy\n\nWhat it shows.\n");
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(directory, file), text);
  return directory;
}

function results(date: string, headlineValue: number): string {
  return JSON.stringify({ machine: { ...machineInfo(), date }, command: "pnpm bench toy", headline: [{ label: "decode", value: headlineValue, unit: "tok/s" }], rows: [] });
}

describe("readRecipe", () => {
  it("names the recipe and each missing metadata field", async () => {
    const { title: _title, shows: _shows, ...partial } = metadata;
    const read = await readRecipe(recipe("no-title", partial));
    expect(read.entry).toBeUndefined();
    expect(read.problems).toEqual([
      "recipe no-title: recipe.ts metadata is missing or has a wrong field title: a non-empty string (see RecipeMetadata in @infer-recipes/cli)",
      "recipe no-title: recipe.ts metadata is missing or has a wrong field shows: a non-empty list of strings (see RecipeMetadata in @infer-recipes/cli)",
    ]);
  });

  it("names a results file that lacks its headline", async () => {
    const read = await readRecipe(recipe("no-headline", metadata, { "results/bench.json": JSON.stringify({ machine: machineInfo(), command: "x", rows: [] }) }));
    expect(read.problems).toEqual([
      "recipe no-headline: results/bench.json: missing or wrong field headline: a non-empty list of { label, value, unit } (see ResultsRecord in @infer-recipes/harness)",
    ]);
  });

  it("reads a complete recipe: no results yet, or the latest results of each kind with their charts", async () => {
    const fresh = await readRecipe(recipe("fresh", metadata));
    expect(fresh.problems).toEqual([]);
    expect(fresh.entry?.benchmark).toBeUndefined();
    const page = recipePage(fresh.entry!, root, () => true);
    expect(page).toContain("# A toy recipe");
    expect(page).toContain("pnpm recipe toy");

    const measured = await readRecipe(
      recipe("measured", metadata, {
        "results/bench.json": results("2026-01-02T00:00:00.000Z", 12.5),
        "results/bench-quick.json": results("2026-01-01T00:00:00.000Z", 3),
        "results/bench.svg": "<svg/>",
        "results/bench-quick.svg": "<svg/>",
      }),
    );
    expect(measured.problems).toEqual([]);
    expect(path.basename(measured.entry!.benchmark!.file)).toBe("bench.json");
    expect(measured.entry!.benchmark!.charts.map((chart) => path.basename(chart))).toEqual(["bench.svg"]);
    expect(recipePage(measured.entry!, root, () => true)).toMatch(/decode: \*\*12\.5 tok\/s\*\*[\s\S]*Measured on 2026-01-02/);
  });

  it("gives a recipe without a README its page, saying it has none", async () => {
    const directory = recipe("no-readme", metadata);
    rmSync(path.join(directory, "README.md"));
    const read = await readRecipe(directory);
    expect(read.problems).toEqual([]);
    expect(read.entry?.readme).toBeUndefined();
    const page = recipePage(read.entry!, root, () => true);
    expect(page).toContain("(no README yet)");
    expect(page).not.toContain("## The recipe's README");
  });

  it("shows metadata text as written, angle brackets included", () => {
    expect(plainText("embeddings at the <image> positions & more")).toBe("embeddings at the &lt;image&gt; positions &amp; more");
  });

  it("formats figures with the digits their size deserves", () => {
    expect(formatFigure({ label: "", value: 704.52, unit: "×" })).toBe("705×");
    expect(formatFigure({ label: "", value: 86.79, unit: "tok/s" })).toBe("86.8 tok/s");
    expect(formatFigure({ label: "", value: 0.00085, unit: "" })).toBe("8.5e-4");
    expect(formatFigure({ label: "", value: 13, unit: "of 13" })).toBe("13 of 13");
  });
});
