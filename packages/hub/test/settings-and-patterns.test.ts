// The hub package's small rules, each with exact expectations: which setting wins (option, each environment variable,
// the default) and how values are cleaned (trimmed, trailing slashes, truthy words, timeouts in seconds), how `~` is
// expanded, the model-specifier syntax at its edges and how a specifier is written back, the cache layout's paths and
// ETag names, and how a file pattern is matched (exact path, file name, glob case-sensitively first, quantization tag
// between separators of a weight file's name).
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

import { baseName, directoryName, hasGlobCharacters, matchFiles } from "../src/file-pattern.ts";
import {
  blobNameFromEtag,
  blobPath,
  incompletePath,
  isCommitHash,
  linkSnapshotFile,
  readRef,
  refPath,
  repositoryCachePath,
  snapshotFilePath,
  snapshotPath,
  writeRef,
} from "../src/hub-cache-layout.ts";
import { expandHome } from "../src/hub-settings.ts";
import { isPathSpecifier } from "../src/model-specifier.ts";
import { InvalidModelSpecifierError, formatModelSpecifier, hubSettings, isRepositoryId, parseModelSpecifier } from "../src/index.ts";

describe("hubSettings: what wins", () => {
  it("the endpoint: the option, else HF_ENDPOINT (trimmed, not blank), else the default; trailing slashes removed", () => {
    expect(hubSettings({ endpoint: "http://a.test//", environment: { HF_ENDPOINT: "http://b.test" } }).endpoint).toBe("http://a.test");
    expect(hubSettings({ environment: { HF_ENDPOINT: "  http://b.test/ " } }).endpoint).toBe("http://b.test");
    expect(hubSettings({ environment: { HF_ENDPOINT: "   " } }).endpoint).toBe("https://huggingface.co");
  });

  it("the token: the option, else HF_TOKEN, else HUGGING_FACE_HUB_TOKEN; blank ones skipped, values trimmed", () => {
    const environment = { HF_TOKEN: " hf_env ", HUGGING_FACE_HUB_TOKEN: "hf_old" };
    expect(hubSettings({ token: "hf_option", environment }).token).toBe("hf_option");
    expect(hubSettings({ token: " ", environment }).token).toBe("hf_env");
    expect(hubSettings({ environment: { HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: " hf_old " } }).token).toBe("hf_old");
    expect(hubSettings({ environment: {} }).token).toBeUndefined();
  });

  it("the cache: the option, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub", () => {
    const all = { HF_HUB_CACHE: "/hub-cache", HUGGINGFACE_HUB_CACHE: "/old-cache", HF_HOME: "/hf-home", XDG_CACHE_HOME: "/xdg", HOME: "/home/u" };
    expect(hubSettings({ cacheDirectory: "~/mine", environment: all })).toMatchObject({ cacheDirectory: "/home/u/mine", cacheDirectorySource: "option" });
    expect(hubSettings({ environment: all })).toMatchObject({ cacheDirectory: "/hub-cache", cacheDirectorySource: "HF_HUB_CACHE" });
    expect(hubSettings({ environment: { ...all, HF_HUB_CACHE: " " } })).toMatchObject({ cacheDirectory: "/old-cache", cacheDirectorySource: "HF_HUB_CACHE" });
    expect(hubSettings({ environment: { HF_HOME: "~/hf", HOME: "/home/u" } })).toMatchObject({ cacheDirectory: "/home/u/hf/hub", cacheDirectorySource: "$HF_HOME/hub" });
    expect(hubSettings({ environment: { XDG_CACHE_HOME: " /xdg ", HOME: "/home/u" } })).toMatchObject({ cacheDirectory: "/xdg/huggingface/hub", cacheDirectorySource: "default" });
    expect(hubSettings({ environment: { HOME: "/home/v" } })).toMatchObject({ cacheDirectory: "/home/v/.cache/huggingface/hub", cacheDirectorySource: "default" });
    expect(hubSettings({ environment: {} }).cacheDirectory).toBe(join(homedir(), ".cache", "huggingface", "hub"));
  });

  it("offline: the option either way, else HF_HUB_OFFLINE read as a truthy word", () => {
    for (const value of ["1", "true", "YES", " on "]) expect(hubSettings({ environment: { HF_HUB_OFFLINE: value } }).offline, value).toBe(true);
    for (const value of ["0", "false", "no", "", "2"]) expect(hubSettings({ environment: { HF_HUB_OFFLINE: value } }).offline, value).toBe(false);
    expect(hubSettings({ offline: false, environment: { HF_HUB_OFFLINE: "1" } }).offline).toBe(false);
    expect(hubSettings({ offline: true, environment: {} }).offline).toBe(true);
  });

  it("the stall timeout: the option, else HF_HUB_DOWNLOAD_TIMEOUT seconds when a positive number, else 30 s", () => {
    expect(hubSettings({ stallTimeoutMs: 5, environment: { HF_HUB_DOWNLOAD_TIMEOUT: "12" } }).stallTimeoutMs).toBe(5);
    expect(hubSettings({ environment: { HF_HUB_DOWNLOAD_TIMEOUT: " 1.5 " } }).stallTimeoutMs).toBe(1500);
    for (const value of ["0", "-3", "abc", "", "Infinity"]) expect(hubSettings({ environment: { HF_HUB_DOWNLOAD_TIMEOUT: value } }).stallTimeoutMs, value).toBe(30_000);
  });

  it("expandHome: a leading ~ alone or before a separator is the home folder; anything else is made absolute", () => {
    const environment = { HOME: "/home/u" };
    expect(expandHome("~", environment)).toBe("/home/u");
    expect(expandHome("~/models", environment)).toBe("/home/u/models");
    expect(expandHome("~\\models", environment)).toBe(join("/home/u", "\\models"));
    expect(expandHome("~other/x", environment)).toBe(resolve("~other/x"));
    expect(expandHome("rel/path", environment)).toBe(resolve("rel/path"));
    expect(expandHome("~/x", { HOME: " " })).toBe(join(homedir(), "x"));
  });
});

describe("model specifiers at their edges", () => {
  it("paths: absolute, relative, home, backslashes, drive letters, and weight files without a colon", () => {
    for (const text of ["/m", "./m", "../m", "~", "a\\b", "C:/models/x", "d:\\x", "model.GGUF", "dir/model.safetensors", "llama.bin"]) {
      expect(parseModelSpecifier(text), text).toEqual({ path: text });
    }
    expect(parseModelSpecifier("  ./padded  ")).toEqual({ path: "./padded" });
  });

  it("repository ids: with a revision, a file, both; a weight file after a colon is a file, not a path", () => {
    expect(parseModelSpecifier("org/name:model.gguf")).toEqual({ repo: "org/name", file: "model.gguf" });
    expect(parseModelSpecifier("org/name@v1.0")).toEqual({ repo: "org/name", revision: "v1.0" });
    expect(parseModelSpecifier("o.r-g/n_a.me@abc:sub/f*.gguf")).toEqual({ repo: "o.r-g/n_a.me", revision: "abc", file: "sub/f*.gguf" });
    expect(isPathSpecifier({ path: "x" })).toBe(true);
    expect(isPathSpecifier({ repo: "a/b" })).toBe(false);
  });

  it("refuses empty text and text that is neither, saying what is accepted", () => {
    expect(() => parseModelSpecifier("   ")).toThrow(new InvalidModelSpecifierError("No model given: pass a path or a Hugging Face repository id such as org/name."));
    for (const text of ["name", "-org/name", "org/-name", "org/name@", "org/name:", "org name/x"]) {
      expect(() => parseModelSpecifier(text), text).toThrow(
        new InvalidModelSpecifierError(
          `"${text}" is neither an existing path nor a Hugging Face repository id. Pass a directory with config.json and *.safetensors, a .gguf file, a llama2.c .bin file, or a repository id such as org/name, org/name:file.gguf or org/name:Q4_K_M.`,
        ),
      );
    }
  });

  it("isRepositoryId: org/name of letters, digits, dots, underscores and dashes, each part starting with a letter or digit", () => {
    for (const id of ["a/b", "Org-1/Na_me.v2", "0/9"]) expect(isRepositoryId(id), id).toBe(true);
    for (const id of ["a", "a/b/c", "_a/b", "a/.b", "a/b:c", "a/b@main", " a/b", "a/b "]) expect(isRepositoryId(id), id).toBe(false);
  });

  it("formats specifiers back: a path with its file, a repository with a non-main revision and a file", () => {
    expect(formatModelSpecifier({ path: "/m" })).toBe("/m");
    expect(formatModelSpecifier({ path: "/m", file: "Q8_0" })).toBe("/m (file Q8_0)");
    expect(formatModelSpecifier({ repo: "o/n" })).toBe("o/n");
    expect(formatModelSpecifier({ repo: "o/n", revision: "main", file: "x.gguf" })).toBe("o/n:x.gguf");
    expect(formatModelSpecifier({ repo: "o/n", revision: "refs/pr/2" })).toBe("o/n@refs/pr/2");
  });
});

describe("the cache layout", () => {
  it("names folders and files as huggingface_hub does", () => {
    const repository = repositoryCachePath("/cache", "org/name");
    expect(repository).toBe("/cache/models--org--name");
    expect(blobPath(repository, "abc")).toBe("/cache/models--org--name/blobs/abc");
    expect(incompletePath("/b/abc")).toBe("/b/abc.incomplete");
    expect(snapshotPath(repository, "c0ffee")).toBe("/cache/models--org--name/snapshots/c0ffee");
    expect(snapshotFilePath(repository, "c0ffee", "sub/dir/f.gguf")).toBe("/cache/models--org--name/snapshots/c0ffee/sub/dir/f.gguf");
    expect(refPath(repository, "refs/pr/3")).toBe("/cache/models--org--name/refs/refs/pr/3");
  });

  it("tells a commit hash (40 lowercase hex digits) from other revisions", () => {
    expect(isCommitHash("0123456789abcdef0123456789abcdef01234567")).toBe(true);
    for (const revision of ["main", "0123456789abcdef0123456789abcdef0123456", "0123456789abcdef0123456789abcdef012345678", "0123456789ABCDEF0123456789abcdef01234567", "x0123456789abcdef0123456789abcdef01234567"]) {
      expect(isCommitHash(revision), revision).toBe(false);
    }
  });

  it("turns an ETag into a blob name: no weak prefix, no quotes, no surrounding space", () => {
    expect(blobNameFromEtag(' W/"abc123" ')).toBe("abc123");
    expect(blobNameFromEtag('"abc"')).toBe("abc");
    expect(blobNameFromEtag("abc")).toBe("abc");
    expect(blobNameFromEtag('"a"b"')).toBe('a"b');
  });

  it("writes and reads refs (none for a commit given as revision, none when missing or empty), and links snapshot files relatively", async () => {
    const folder = await mkdtemp(join(tmpdir(), "hub-layout-"));
    try {
      const repository = repositoryCachePath(folder, "o/n");
      expect(await readRef(repository, "main")).toBeUndefined();
      await writeRef(repository, "refs/pr/1", "c1");
      expect(await readRef(repository, "refs/pr/1")).toBe("c1");
      expect(await readFile(join(repository, "refs", "refs", "pr", "1"), "utf8")).toBe("c1");
      await writeRef(repository, "c2", "c2"); // a commit as its own revision: no ref file
      expect(await readRef(repository, "c2")).toBeUndefined();
      await writeFile(refPath(repository, "refs/pr/1"), "  \n");
      expect(await readRef(repository, "refs/pr/1")).toBeUndefined();
      await writeFile(refPath(repository, "refs/pr/1"), " c3\n");
      expect(await readRef(repository, "refs/pr/1")).toBe("c3");

      const blob = blobPath(repository, "etag1");
      await writeRef(repository, "main", "c4"); // makes the repository folder
      await mkdir(join(repository, "blobs"), { recursive: true });
      await writeFile(blob, "weights");
      const linked = await linkSnapshotFile(repository, "c4", "sub/model.gguf", blob);
      expect(linked).toBe(snapshotFilePath(repository, "c4", "sub/model.gguf"));
      expect(await readlink(linked)).toBe("../../../blobs/etag1");
      expect(await readFile(linked, "utf8")).toBe("weights");
      // Linking again replaces the link.
      await writeFile(blobPath(repository, "etag2"), "newer");
      await linkSnapshotFile(repository, "c4", "sub/model.gguf", blobPath(repository, "etag2"));
      expect(await readFile(linked, "utf8")).toBe("newer");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("matchFiles", () => {
  const files = ["a/model.gguf", "b/model.gguf", "x-Q4_K_M.gguf", "y.q4_k_m.GGUF", "z-Q4_K_M2.gguf", "Q4_K_M-first.bin", "notes-Q4_K_M.txt", "Q4_K_M/inner.gguf", "M.gguf", "sub/deep/w.safetensors"];

  it("an exact path first (backslashes and a leading ./ normalized), then every file of that name", () => {
    expect(matchFiles(files, "a/model.gguf")).toEqual(["a/model.gguf"]);
    expect(matchFiles(files, "a\\model.gguf")).toEqual(["a/model.gguf"]);
    expect(matchFiles(files, "./a/model.gguf")).toEqual(["a/model.gguf"]);
    expect(matchFiles(files, "model.gguf")).toEqual(["a/model.gguf", "b/model.gguf"]);
    // A path that is not in the listing is not matched by its file name.
    expect(matchFiles(files, "c/model.gguf")).toEqual([]);
  });

  it("globs: * within a folder, ** across folders, ? one character; by file name without a /, else the whole path", () => {
    expect(matchFiles(files, "*.safetensors")).toEqual(["sub/deep/w.safetensors"]);
    expect(matchFiles(files, "sub/*.safetensors")).toEqual([]);
    expect(matchFiles(files, "sub/**.safetensors")).toEqual(["sub/deep/w.safetensors"]);
    expect(matchFiles(files, "sub/*/w.safetensors")).toEqual(["sub/deep/w.safetensors"]);
    expect(matchFiles(files, "?.gguf")).toEqual(["M.gguf"]);
    expect(matchFiles(files, "?/model.gguf")).toEqual(["a/model.gguf", "b/model.gguf"]);
    expect(matchFiles(files, "a?model.gguf")).toEqual([]); // no / in the glob: compared to file names only
    // Regular-expression characters in a glob are literal.
    expect(matchFiles(["a+b.gguf", "aab.gguf", "a.b", "axb"], "a+b.*")).toEqual(["a+b.gguf"]);
    expect(matchFiles(["a.b", "axb"], "a.?")).toEqual(["a.b"]);
  });

  it("globs compare case-sensitively first, and case-insensitively only when nothing matched", () => {
    expect(matchFiles(files, "*.GGUF")).toEqual(["y.q4_k_m.GGUF"]);
    expect(matchFiles(files, "*.Gguf")).toEqual(["a/model.gguf", "b/model.gguf", "x-Q4_K_M.gguf", "y.q4_k_m.GGUF", "z-Q4_K_M2.gguf", "Q4_K_M/inner.gguf", "M.gguf"]);
    expect(matchFiles(files, "m.*")).toEqual(["M.gguf"]);
  });

  it("a tag: a weight file whose name holds it between separators (or at an end), any case", () => {
    expect(matchFiles(files, "Q4_K_M")).toEqual(["x-Q4_K_M.gguf", "y.q4_k_m.GGUF", "Q4_K_M-first.bin"]);
    expect(matchFiles(["a-Q8_0.gguf", "a-Q8x0.gguf"], "Q8.0")).toEqual([]); // "." in a tag is literal
    expect(matchFiles(["a-Q8.0.gguf", "a-Q8x0.gguf"], "Q8.0")).toEqual(["a-Q8.0.gguf"]);
  });

  it("helpers: file name, folder name, glob characters", () => {
    expect([baseName("a/b/c.gguf"), baseName("c.gguf"), baseName("a/")]).toEqual(["c.gguf", "c.gguf", ""]);
    expect([directoryName("a/b/c.gguf"), directoryName("c.gguf"), directoryName("/c")]).toEqual(["a/b", "", ""]);
    expect([hasGlobCharacters("a*"), hasGlobCharacters("a?"), hasGlobCharacters("a[b]")]).toEqual([true, true, false]);
  });
});
