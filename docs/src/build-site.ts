// `pnpm docs`: builds the documentation site into docs/site/ — the API reference of every package (typedoc, with
// validation as errors), the recipe gallery generated from each recipe's own files, and the guides — then checks
// every internal link and anchor of the built HTML and type-checks every code example of the guides and doc comments
// against the packages. Exits non-zero, listing each problem on one line, when anything is missing or broken.
//
//   pnpm run docs [--out DIR] [--recipes DIR]...
//
// --out: where the site goes (default docs/site). --recipes: more folders of recipes to include beside recipes/
// (the tests use it for scaffolded copies). Generated sources go to docs/.generated/ (the guides link to the gallery
// there, and the extracted examples resolve the packages from docs/), so two builds must not run at once.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { buildApiReference } from "./api-reference.ts";
import { collectExamples, typeCheckExamples } from "./code-examples.ts";
import { checkLinks } from "./link-checker.ts";
import { defaultSiteDirectory, docsDirectory, generatedDirectory, guidesDirectory, repositoryRoot } from "./paths.ts";
import { readRecipes } from "./recipe-catalog.ts";
import { galleryPages } from "./recipe-gallery.ts";
import { workspacePackages } from "./workspace-packages.ts";

/** The guides in reading order; any other guide in docs/guides follows, by name. */
const GUIDE_ORDER = [
  "getting-started.md",
  "how-the-pieces-fit.md",
  "adding-a-model-architecture.md",
  "writing-a-kernel-op.md",
  "reading-the-benchmarks.md",
  "serving.md",
];

/** What a build is asked to do. */
export interface BuildOptions {
  /** Where the site is written. */
  out: string;
  /** Folders of recipes to include beside recipes/. */
  extraRecipeDirectories: string[];
}

/** What a build produced, and what is wrong. */
export interface BuildResult {
  problems: string[];
  packages: string[];
  recipes: string[];
  guides: string[];
  examples: number;
  links: number;
  pages: number;
}

function guideFiles(): string[] {
  const present = readdirSync(guidesDirectory).filter((file) => file.endsWith(".md"));
  const ordered = GUIDE_ORDER.filter((file) => present.includes(file));
  const others = present.filter((file) => !GUIDE_ORDER.includes(file)).sort();
  return [...ordered, ...others].map((file) => path.join(guidesDirectory, file));
}

/** docs/index.md as the site's home page, written into `work`: its relative links rebased from docs/ to there. */
export function homePage(markdown: string, work: string): string {
  return markdown.replace(/\]\(([^)\s#]+)(#[^)\s]*)?\)/g, (whole, target: string, anchor = "") => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return whole;
    return `](${path.relative(work, path.resolve(docsDirectory, target)).split(path.sep).join("/")}${anchor})`;
  });
}

function isFile(absolute: string): boolean {
  return existsSync(absolute) && statSync(absolute).isFile();
}

function step<T>(name: string, run: () => T): T {
  const started = performance.now();
  const result = run();
  const finish = () => process.stderr.write(`docs: ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  if (result instanceof Promise) return result.finally(finish) as T;
  finish();
  return result;
}

/** Builds the site; never throws for a content problem, it returns it. */
export async function buildSite(options: BuildOptions): Promise<BuildResult> {
  const problems: string[] = [];
  const { packages, problems: packageProblems } = workspacePackages(path.join(repositoryRoot, "packages"));
  problems.push(...packageProblems);

  const { recipes, problems: recipeProblems } = await step("read the recipes", () =>
    readRecipes([path.join(repositoryRoot, "recipes"), ...options.extraRecipeDirectories]),
  );
  problems.push(...recipeProblems);
  for (const recipe of recipes.filter((entry) => entry.readme === undefined)) {
    process.stderr.write(`docs: note: recipe ${recipe.metadata.name} has no README.md yet (its gallery page shows its metadata and results only)\n`);
  }

  rmSync(generatedDirectory, { recursive: true, force: true });
  const galleryDirectory = path.join(generatedDirectory, "gallery");
  mkdirSync(galleryDirectory, { recursive: true });
  const pages = galleryPages(recipes, galleryDirectory, isFile);
  for (const page of pages) writeFileSync(page.file, page.markdown);

  const guides = guideFiles();
  const home = path.join(generatedDirectory, "index.md");
  writeFileSync(home, homePage(readFileSync(path.join(docsDirectory, "index.md"), "utf8"), generatedDirectory));
  const api = await step("API reference, gallery and guides (typedoc)", () =>
    buildApiReference({
      packageNames: packages.map((item) => item.name),
      entryPoints: packages.map((item) => item.entryPoint),
      tsconfig: path.join(docsDirectory, "typedoc.tsconfig.json"),
      home,
      // The gallery index brings its recipe pages along as children (its frontmatter lists them).
      documents: [...guides, pages[0].file],
      out: options.out,
      render: true,
    }),
  );
  problems.push(...api.problems);

  const links = existsSync(path.join(options.out, "index.html"))
    ? step("link check", () => checkLinks(options.out))
    : { pages: 0, links: 0, problems: [], external: [] };
  problems.push(...links.problems);

  const examples = step("type-check the code examples", () =>
    typeCheckExamples(
      collectExamples(repositoryRoot, [path.join(docsDirectory, "index.md"), ...guides], packages.map((item) => path.join(item.directory, "src"))),
      path.join(generatedDirectory, "examples"),
      path.join(repositoryRoot, "tsconfig.base.json"),
    ),
  );
  problems.push(...examples.problems);

  return {
    problems,
    packages: packages.map((item) => item.name),
    recipes: recipes.map((recipe) => recipe.metadata.name),
    guides: guides.map((file) => path.basename(file)),
    examples: examples.examples,
    links: links.links,
    pages: links.pages,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" }, recipes: { type: "string", multiple: true } } });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const options: BuildOptions = {
    out: values.out ? path.resolve(cwd, values.out) : defaultSiteDirectory,
    extraRecipeDirectories: (values.recipes ?? []).map((directory) => path.resolve(cwd, directory)),
  };
  const started = performance.now();
  const result = await buildSite(options);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.problems.length > 0) {
    process.stderr.write(`\ndocs: ${result.problems.length} problem(s):\n${result.problems.map((problem) => `  ${problem}`).join("\n")}\n`);
    process.stderr.write(`docs: FAILED after ${seconds} s\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    `docs: ${result.packages.length} packages, ${result.recipes.length} recipes (${result.recipes.join(", ")}), ${result.guides.length} guides; ` +
      `${result.examples} code examples type-check; ${result.links} internal links in ${result.pages} pages resolve (${seconds} s)\n` +
      `docs: open ${path.join(path.relative(process.env.INIT_CWD ?? process.cwd(), options.out) || ".", "index.html")}\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join("docs", "src", "build-site.ts"))) {
  main().catch((error: Error) => {
    process.stderr.write(`docs: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
