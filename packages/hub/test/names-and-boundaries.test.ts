// Exact edges of the naming rules and messages: an ETag's weak prefix only at its start, "./" only at a pattern's
// start, a file name matched exactly before any tag (non-weight files, case), "**" across folders needing its slash,
// base and folder names of rooted paths, which specifiers are paths (a drive letter only at the start, a weight
// extension only at the end), the fields a parsed specifier has, the errors' names and causes, and which hub answers
// mean a missing repository or revision.
import { describe, expect, it } from "vitest";

import { DownloadError, InvalidModelSpecifierError, ModelNotFoundError, RepositoryNotFoundError } from "../src/errors.ts";
import { downloadElsewhereHints, explainHubFailure, type FailureContext } from "../src/failure-explanations.ts";
import { baseName, directoryName, matchFiles } from "../src/file-pattern.ts";
import { HubStatusError } from "../src/hub-api.ts";
import { blobNameFromEtag } from "../src/hub-cache-layout.ts";
import { hubSettings } from "../src/hub-settings.ts";
import { parseModelSpecifier } from "../src/model-specifier.ts";

describe("names", () => {
  it("an ETag loses a weak prefix only at its start", () => {
    expect(blobNameFromEtag('"abW/cd"')).toBe("abW/cd");
    expect(blobNameFromEtag('W/"abW/cd"')).toBe("abW/cd");
  });

  it("base and folder names, also of rooted paths", () => {
    expect([baseName("a.gguf"), baseName("/a.gguf"), baseName("x/y/a.gguf"), baseName("x/")]).toEqual(["a.gguf", "a.gguf", "a.gguf", ""]);
    expect([directoryName("a.gguf"), directoryName("/a.gguf"), directoryName("x/y/a.gguf"), directoryName("x/")]).toEqual(["", "", "x/y", "x"]);
  });
});

describe("matchFiles", () => {
  it('drops "./" only at the start of a pattern', () => {
    expect(matchFiles(["v1./model.gguf", "v1model.gguf"], "v1./model.gguf")).toEqual(["v1./model.gguf"]);
    expect(matchFiles(["sub/model.gguf"], "./sub/model.gguf")).toEqual(["sub/model.gguf"]);
  });

  it("a pattern without a slash matches file names exactly first: any file, in any folder, with its case", () => {
    // A tag would only look at weight files, and case-insensitively.
    expect(matchFiles(["a/tokenizer.json", "b/config.json"], "tokenizer.json")).toEqual(["a/tokenizer.json"]);
    expect(matchFiles(["a/model.gguf", "b/Model.gguf"], "Model.gguf")).toEqual(["b/Model.gguf"]);
    // No exact name: the tag rule, case-insensitive, weight files only.
    expect(matchFiles(["a/model-q8_0.gguf", "b/q8_0.txt"], "Q8_0")).toEqual(["a/model-q8_0.gguf"]);
  });

  it('"**" spans folders but keeps the slash that follows it', () => {
    expect(matchFiles(["sub/ax.gguf", "sub/a/x.gguf", "sub/a/b/x.gguf"], "sub/**/x.gguf")).toEqual(["sub/a/x.gguf", "sub/a/b/x.gguf"]);
  });
});

describe("parseModelSpecifier", () => {
  it("a drive letter counts only at the start, a weight extension only at the end", () => {
    expect(parseModelSpecifier("org/name:/sub/model.gguf", {})).toEqual({ repo: "org/name", file: "/sub/model.gguf" });
    expect(parseModelSpecifier("org/weights.bin-v2", {})).toEqual({ repo: "org/weights.bin-v2" });
    expect(parseModelSpecifier("c:/models/x.gguf", {})).toEqual({ path: "c:/models/x.gguf" });
  });

  it("a repository specifier has only the fields given", () => {
    expect(Object.keys(parseModelSpecifier("org/name", {}))).toEqual(["repo"]);
    expect(Object.keys(parseModelSpecifier("org/name@v1", {}))).toEqual(["repo", "revision"]);
    expect(Object.keys(parseModelSpecifier("org/name:Q4_K_M", {}))).toEqual(["repo", "file"]);
  });
});

describe("errors", () => {
  const details = { specifier: "org/name", summary: "Not here.", searched: [], hints: [] };

  it("name themselves, and have a cause only when given one", () => {
    const plain = new ModelNotFoundError(details);
    expect(plain.name).toBe("ModelNotFoundError");
    expect(plain.message).toBe("Not here.");
    expect("cause" in plain).toBe(false);
    const cause = new Error("underneath");
    expect(new ModelNotFoundError({ ...details, cause }).cause).toBe(cause);
    expect(new InvalidModelSpecifierError("bad").name).toBe("InvalidModelSpecifierError");
    expect("cause" in new DownloadError("failed", { url: "http://x" })).toBe(false);
  });
});

describe("explainHubFailure: a missing repository or revision", () => {
  const endpoint = "http://hub.test";
  const context: FailureContext = {
    specifier: "org/name",
    repo: "org/name",
    revision: "v9",
    file: undefined,
    settings: hubSettings({ endpoint, cacheDirectory: "/cache", environment: {} }),
    searched: [],
  };
  const listing = `${endpoint}/api/models/org/name/revision/v9`;

  it("401 with an error code about an entry, on the listing: the repository was not found", () => {
    const error = explainHubFailure(new HubStatusError(401, listing, "EntryNotFound", undefined), context) as RepositoryNotFoundError;
    expect(error).toBeInstanceOf(RepositoryNotFoundError);
    expect(error.message.split("\n")[0]).toBe(`Repository org/name was not found at ${endpoint} (HTTP 401).`);
  });

  it("RevisionNotFound with a status other than 404: the revision is missing", () => {
    const error = explainHubFailure(new HubStatusError(400, listing, "RevisionNotFound", undefined), context) as RepositoryNotFoundError;
    expect(error).toBeInstanceOf(RepositoryNotFoundError);
    expect(error.message.split("\n")[0]).toBe(`Repository org/name has no revision v9 at ${endpoint} (HTTP 400).`);
    // Any other code with such a status is not about the repository.
    expect((explainHubFailure(new HubStatusError(400, listing, "Other", undefined), context) as Error).constructor).toBe(ModelNotFoundError);
  });

  it("an exact file name needs its extension at the end", () => {
    const settings = context.settings;
    expect(downloadElsewhereHints({ repo: "org/name", file: "model.v2-Q4", settings })[0]).toContain('--include "*model.v2-Q4*"');
    expect(downloadElsewhereHints({ repo: "org/name", file: "model.Q4", settings })[0]).toContain("download org/name model.Q4 --local-dir");
  });
});
