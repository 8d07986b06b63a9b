// The recipe gallery's pages, as markdown documents for typedoc: an index with one row per recipe, and a page per
// recipe with what it shows, its default model, the commands, its headline figures with the date and machine they
// were measured on, its charts, and its README. Generated from RecipeEntry values, never written by hand.

import path from "node:path";

import { describeMachine, type HeadlineFigure, type MachineInfo } from "@infer-recipes/harness";

import type { RecipeEntry, RecipeResults } from "./recipe-catalog.ts";

/** A generated markdown file: where it goes and what it says. */
export interface GeneratedPage {
  /** Absolute path the page is written to. */
  file: string;
  markdown: string;
}

/** The file name of a recipe's page in the gallery folder. */
export function recipePageName(recipeName: string): string {
  return `${recipeName}.md`;
}

/** A figure as text: as many digits as the magnitude deserves, the unit after it ("86.8 tok/s", "705×", "8.5e-4"). */
export function formatFigure(figure: HeadlineFigure): string {
  const value = figure.value;
  const magnitude = Math.abs(value);
  let text: string;
  if (Number.isInteger(value) && magnitude < 1e6) text = String(value);
  else if (magnitude >= 100) text = value.toFixed(0);
  else if (magnitude >= 10) text = value.toFixed(1);
  else if (magnitude >= 0.1) text = value.toFixed(2);
  else if (magnitude >= 0.01) text = value.toFixed(3);
  else text = value.toExponential(1);
  if (!figure.unit) return text;
  return figure.unit === "×" || figure.unit === "%" ? `${text}${figure.unit}` : `${text} ${figure.unit}`;
}

function tableCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function measuredOn(record: { machine: MachineInfo; command: string }): string {
  return `Measured on ${record.machine.date.slice(0, 10)} on ${describeMachine(record.machine)}, with \`${record.command}\`.`;
}

function posix(relativePath: string): string {
  return relativePath.split(path.sep).join("/");
}

/** Rewrites a README's relative links so they resolve from `pageDirectory`; a link to a folder becomes plain text. */
function relinkReadme(readme: string, recipeDirectory: string, pageDirectory: string, isFile: (absolute: string) => boolean): string {
  const parts = readme.split(/(^```[\s\S]*?^```)/m);
  return parts
    .map((part) => {
      if (part.startsWith("```")) return part;
      return part.replace(/(!?)\[([^\]]*)\]\(([^)\s]+)\)/g, (whole, bang: string, text: string, target: string) => {
        if (/^([a-z]+:|#)/i.test(target)) return whole;
        const [file, anchor] = target.split("#");
        const absolute = path.resolve(recipeDirectory, file);
        if (!isFile(absolute)) return bang ? text : `${text} (\`${file}\`)`;
        return `${bang}[${text}](${posix(path.relative(pageDirectory, absolute))}${anchor ? `#${anchor}` : ""})`;
      });
    })
    .join("");
}

/** The README below the generated summary: its title dropped (the page has one), its headings one level deeper. */
function readmeBody(readme: string): string {
  const parts = readme.split(/(^```[\s\S]*?^```)/m);
  let titleDropped = false;
  return parts
    .map((part) => {
      if (part.startsWith("```")) return part;
      return part
        .split("\n")
        .filter((line) => {
          if (!titleDropped && /^# /.test(line)) {
            titleDropped = true;
            return false;
          }
          return true;
        })
        .map((line) => (/^#{1,5} /.test(line) ? `#${line}` : line))
        .join("\n");
    })
    .join("")
    .trim();
}

function resultsSection(heading: string, results: RecipeResults | undefined, command: string, pageDirectory: string): string[] {
  if (!results) return [`### ${heading}`, "", `No results yet: run \`${command}\` to measure them.`, ""];
  const lines = [`### ${heading}`, ""];
  for (const figure of results.record.headline) lines.push(`- ${figure.label}: **${formatFigure(figure)}**`);
  lines.push("", measuredOn(results.record), `Every row: [${path.basename(results.file)}](${posix(path.relative(pageDirectory, results.file))}).`, "");
  const checks = results.record.checks;
  if (checks && checks.length > 0) {
    const passed = checks.filter((check) => (check.kind === "max" ? check.value <= check.limit : check.value >= check.limit)).length;
    lines.push(`Tolerance gates: ${passed} of ${checks.length} passed.`, "");
  }
  for (const chart of results.charts) {
    const target = posix(path.relative(pageDirectory, chart));
    lines.push(`![${heading} chart: ${path.basename(chart)}](${target})`, "");
  }
  return lines;
}

/** Metadata text as markdown that shows it as written: "<image>" would otherwise be taken for an HTML tag. */
export function plainText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The markdown of one recipe's page. `isFile` tells which README link targets exist as files. */
export function recipePage(recipe: RecipeEntry, pageDirectory: string, isFile: (absolute: string) => boolean): string {
  const { metadata } = recipe;
  const name = metadata.name;
  const lines = [
    "---",
    `title: ${JSON.stringify(name)}`,
    "---",
    "",
    `# ${plainText(metadata.title)}`,
    "",
    plainText(metadata.description),
    "",
    `**Default model:** \`${metadata.defaultModel}\`${metadata.originalModel ? ` (derived from \`${metadata.originalModel}\`, one \`--model\` away)` : ""}.`,
    recipe.readme === undefined
      ? `**Folder:** \`recipes/${name}/\` (no README yet).`
      : `**Folder:** \`recipes/${name}/\` ([README](${posix(path.relative(pageDirectory, path.join(recipe.directory, "README.md")))})).`,
    "",
    "## What it shows",
    "",
    ...metadata.shows.map((item) => `- ${plainText(item)}`),
    "",
    "## Commands",
    "",
    "```sh",
    "pnpm install",
    `pnpm recipe ${name} --help`,
  ];
  for (const example of metadata.examples) lines.push(`# ${example.what}`, example.command);
  if (recipe.hasBenchmark) lines.push("# the benchmark: baseline against each optimization, in one run", `pnpm bench ${name}`);
  if (recipe.hasAccuracyCheck) lines.push("# the accuracy check: exits non-zero when a metric leaves its tolerance", `pnpm accuracy ${name}`);
  lines.push("# start your own recipe from this one", `pnpm new-recipe my-recipe --from ${name}`, "```", "");
  lines.push("## Headline figures", "");
  if (recipe.hasBenchmark || recipe.benchmark) lines.push(...resultsSection("Benchmark", recipe.benchmark, `pnpm bench ${name}`, pageDirectory));
  if (recipe.hasAccuracyCheck || recipe.accuracy) lines.push(...resultsSection("Accuracy", recipe.accuracy, `pnpm accuracy ${name}`, pageDirectory));
  if (recipe.readme !== undefined) lines.push("## The recipe's README", "", relinkReadme(readmeBody(recipe.readme), recipe.directory, pageDirectory, isFile), "");
  return lines.join("\n");
}

/** The first headline figure of the latest benchmark, with its date, for the index table. */
function indexHeadline(recipe: RecipeEntry): string {
  const results = recipe.benchmark ?? recipe.accuracy;
  if (!results) return "not measured yet";
  const figure = results.record.headline[0];
  return `${figure.label}: **${formatFigure(figure)}** (${results.record.machine.date.slice(0, 10)})`;
}

/** The gallery's index page, listing every recipe with links to their pages (its children in the navigation). */
export function galleryIndexPage(recipes: readonly RecipeEntry[]): string {
  const lines = [
    "---",
    "title: Recipe gallery",
    "group: Recipes",
    "children:",
    ...recipes.map((recipe) => `  - ./${recipePageName(recipe.metadata.name)}`),
    "---",
    "",
    "# Recipe gallery",
    "",
    "Each recipe is a self-contained folder under `recipes/`: metadata and a command line in `recipe.ts`, a benchmark",
    "(`bench.ts`, the baseline against each optimization in one run), an accuracy check (`accuracy.ts`, the optimized",
    "paths against a reference, failing outside its tolerances), a README, and tests. This page is generated by",
    "`pnpm run docs` from those files, so a recipe added later appears here without editing the docs.",
    "",
    "| recipe | what it does | default model | headline figure |",
    "|---|---|---|---|",
    ...recipes.map(
      (recipe) =>
        `| [${recipe.metadata.name}](./${recipePageName(recipe.metadata.name)}) | ${tableCell(plainText(recipe.metadata.description))} | \`${tableCell(recipe.metadata.defaultModel)}\` | ${tableCell(indexHeadline(recipe))} |`,
    ),
    "",
    "Start your own with `pnpm new-recipe my-recipe --from <recipe>`: the copy keeps the metadata contract",
    "({@link @infer-recipes/cli!RecipeMetadata | RecipeMetadata}) and appears here after the next `pnpm run docs`.",
    "",
  ];
  return lines.join("\n");
}

/** All gallery pages for `recipes`, to be written under `directory`. */
export function galleryPages(recipes: readonly RecipeEntry[], directory: string, isFile: (absolute: string) => boolean): GeneratedPage[] {
  return [
    { file: path.join(directory, "index.md"), markdown: galleryIndexPage(recipes) },
    ...recipes.map((recipe) => ({ file: path.join(directory, recipePageName(recipe.metadata.name)), markdown: recipePage(recipe, directory, isFile) })),
  ];
}
