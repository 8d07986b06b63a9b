// Code examples are extracted from guides and doc comments with their source lines, and a broken example fails the
// type check with the guide's own line number.

import path from "node:path";

import { rmSync } from "node:fs";

import { afterAll, describe, expect, it } from "vitest";

import { docCommentExamples, markdownExamples, typeCheckExamples } from "../src/code-examples.ts";
import { docsDirectory, repositoryRoot } from "../src/paths.ts";

afterAll(() => rmSync(path.join(docsDirectory, `.generated-test-${process.pid}`), { recursive: true, force: true }));

describe("code examples", () => {
  it("are found in markdown and in doc comments, with the line of their first code line", () => {
    const markdown = "# Guide\n\ntext\n```ts\nconst a = 1;\n```\n```sh\nnot typescript\n```\n";
    expect(markdownExamples(markdown, "guide.md")).toEqual([{ source: "guide.md", line: 5, code: "const a = 1;" }]);
    const source = "/**\n * Adds.\n * @example\n * ```ts\n * add(1, 2);\n * ```\n */\nexport function add(a: number, b: number) { return a + b; }\n";
    expect(docCommentExamples(source, "add.ts")).toEqual([{ source: "add.ts", line: 5, code: "add(1, 2);" }]);
  });

  it("type-check against the packages, and a wrong call is reported at the guide's line", () => {
    const check = typeCheckExamples(
      [
        { source: "docs/guides/good.md", line: 10, code: 'import { argmax } from "@infer-recipes/engine";\nargmax(Float32Array.of(1, 2));' },
        { source: "docs/guides/bad.md", line: 20, code: 'import { argmax } from "@infer-recipes/engine";\n\nargmax("not logits");' },
      ],
      // Beside docs/.generated (which a concurrent site build empties), inside docs/ so the packages resolve.
      path.join(docsDirectory, `.generated-test-${process.pid}`),
      path.join(repositoryRoot, "tsconfig.base.json"),
    );
    expect(check.examples).toBe(2);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatch(/^docs\/guides\/bad\.md:22: error TS2345/);
  });
});
