// What each failure turns into, message by message: the hub's status codes and error codes (gated with and without a
// token, a missing file, a missing repository or revision, anything else), a network failure, a file selection that
// found no model, offline mode, and the download-elsewhere hints for an exact file, a glob and a tag. Every message
// lists the places searched and the ways to get the weights, and keeps the original error as its cause.
import { describe, expect, it } from "vitest";

import {
  DownloadError,
  GatedRepositoryError,
  HubError,
  ModelNotFoundError,
  RepositoryFileNotFoundError,
  RepositoryNotFoundError,
} from "../src/errors.ts";
import { downloadElsewhereHints, explainHubFailure, offlineFailure, wantedFiles, type FailureContext } from "../src/failure-explanations.ts";
import { HubStatusError } from "../src/hub-api.ts";
import { FileSelectionFailure } from "../src/hub-download.ts";
import { hubSettings } from "../src/hub-settings.ts";
import { HttpFailure } from "../src/http-client.ts";

const endpoint = "http://hub.test";
const repo = "org/Model-7B";

function context(overrides: Partial<FailureContext> = {}, token?: string): FailureContext {
  return {
    specifier: `${repo}:Q4_K_M`,
    repo,
    revision: "main",
    file: "Q4_K_M",
    settings: hubSettings({ endpoint, token, cacheDirectory: "/cache", environment: {} }),
    searched: [{ place: "Hugging Face cache /cache/models--org--Model-7B", outcome: "not present" }],
    ...overrides,
  };
}

const cacheSearched = { place: "Hugging Face cache /cache/models--org--Model-7B", outcome: "not present" };
const listing = `${endpoint}/api/models/${repo}`;
const fileUrl = `${endpoint}/${repo}/resolve/main/sub/model%20Q4.gguf`;

describe("explainHubFailure", () => {
  it("401/403 or GatedRepo: a gated repository, with the license and token hints (no token given)", () => {
    for (const [status, code] of [[401, undefined], [403, undefined], [404, "GatedRepo"], [403, "SomethingElse"]] as const) {
      const cause = new HubStatusError(status, listing, code, "Access restricted");
      const error = explainHubFailure(cause, context()) as GatedRepositoryError;
      expect(error, `${status} ${code}`).toBeInstanceOf(GatedRepositoryError);
      expect(error).toMatchObject({ name: "GatedRepositoryError", repo, status, specifier: `${repo}:Q4_K_M`, cause });
      expect(error.searched).toEqual([cacheSearched, { place: `hub ${listing}`, outcome: `HTTP ${status}: Access restricted` }]);
      expect(error.hints.slice(0, 2)).toEqual([
        `accept the license at ${endpoint}/${repo} while logged in (gated repositories such as meta-llama/* need this once per account)`,
        `create a read token at ${endpoint}/settings/tokens and set it: export HF_TOKEN=hf_...`,
      ]);
      expect(error.hints).toHaveLength(6);
      expect(error.message.split("\n")[0]).toBe(`${repo} is a gated or private repository: the hub refused access (HTTP ${status}) because no token was given.`);
    }
  });

  it("a gated repository with a token: the token was refused", () => {
    const error = explainHubFailure(new HubStatusError(403, listing, "GatedRepo", undefined), context({}, "hf_x")) as GatedRepositoryError;
    expect(error.message.split("\n")[0]).toBe(`${repo} is a gated or private repository: the hub refused the token in HF_TOKEN (HTTP 403).`);
    expect(error.hints[1]).toBe("check that HF_TOKEN belongs to the account that accepted the license and has read access");
    expect(error.searched.at(-1)).toEqual({ place: `hub ${listing}`, outcome: "HTTP 403" });
  });

  it("a file URL answering 404 or EntryNotFound: the repository has no such file (decoded), at the revision", () => {
    for (const [status, code] of [[404, undefined], [403, "EntryNotFound"]] as const) {
      const cause = new HubStatusError(status, fileUrl, code, undefined);
      const error = explainHubFailure(cause, context({ revision: "v2" })) as RepositoryFileNotFoundError;
      expect(error, `${status} ${code}`).toBeInstanceOf(RepositoryFileNotFoundError);
      expect(error).toMatchObject({ name: "RepositoryFileNotFoundError", repo, file: "sub/model Q4.gguf", candidates: [], cause });
      expect(error.message.split("\n")[0]).toBe(`${repo} has no file sub/model Q4.gguf at revision v2 (HTTP ${status}).`);
      expect(error.hints).toEqual([`see the repository's files at ${endpoint}/${repo}/tree/v2`]);
    }
  });

  it("404, RepoNotFound or RevisionNotFound on the listing: the repository or its revision was not found", () => {
    const cases = [
      [404, undefined, "was not found"],
      [400, "RepoNotFound", "was not found"],
      [404, "RevisionNotFound", "has no revision v9"],
      [403, "RepoNotFound", "was not found"],
    ] as const;
    for (const [status, code, what] of cases) {
      const cause = new HubStatusError(status, listing, code, undefined);
      const error = explainHubFailure(cause, context({ revision: "v9" })) as RepositoryNotFoundError;
      expect(error, `${status} ${code}`).toBeInstanceOf(RepositoryNotFoundError);
      expect(error).toMatchObject({ name: "RepositoryNotFoundError", repo, revision: "v9", cause });
      expect(error.message.split("\n")[0]).toBe(`Repository ${repo} ${what} at ${endpoint} (HTTP ${status}).`);
      expect(error.hints).toEqual([`check the spelling (organization/name, case-sensitive) at ${endpoint}/${repo}`, "if the repository is private, set HF_TOKEN to a token with access to it"]);
    }
    const withToken = explainHubFailure(new HubStatusError(404, listing, undefined, undefined), context({}, "hf_x")) as RepositoryNotFoundError;
    expect(withToken.hints[1]).toBe("check that HF_TOKEN has access to it");
    // A 401 on a file URL with EntryNotFound is about the file, not access.
    expect(explainHubFailure(new HubStatusError(401, fileUrl, "EntryNotFound", undefined), context())).toBeInstanceOf(RepositoryFileNotFoundError);
  });

  it("any other status: not cached and the hub's answer, with the download-elsewhere hints", () => {
    const cause = new HubStatusError(500, fileUrl, undefined, "boom");
    const error = explainHubFailure(cause, context()) as ModelNotFoundError;
    expect(error.constructor).toBe(ModelNotFoundError);
    expect(error.message.split("\n")[0]).toBe(`${repo}:Q4_K_M is not in the local cache and the hub answered HTTP 500.`);
    expect(error.searched.at(-1)).toEqual({ place: `hub ${fileUrl}`, outcome: "HTTP 500: boom" });
    expect(error.hints).toEqual(downloadElsewhereHints(context()));
    expect(error.cause).toBe(cause);
  });

  it("a network failure: the hub could not be reached, and which files were wanted", () => {
    const cause = new HttpFailure("network", listing, "connect ECONNREFUSED 127.0.0.1:9");
    const error = explainHubFailure(cause, context({ file: undefined, specifier: repo })) as ModelNotFoundError;
    expect(error.message.split("\n")[0]).toBe(`${repo} is not available locally and the hub at ${endpoint} could not be reached. ${wantedFiles(undefined)}`);
    expect(error.searched).toEqual([cacheSearched, { place: `hub ${listing}`, outcome: "connect ECONNREFUSED 127.0.0.1:9" }]);
    expect(error.cause).toBe(cause);
  });

  it("a file selection that found no model: the problem, the candidates, and how to name a file", () => {
    const cause = new FileSelectionFailure('"Q3" matches no file', ["a-Q4_K_M.gguf", "a-Q8_0.gguf"]);
    const error = explainHubFailure(cause, context({ revision: "refs/pr/1", file: "Q3" })) as RepositoryFileNotFoundError;
    expect(error).toMatchObject({ repo, file: "Q3", candidates: ["a-Q4_K_M.gguf", "a-Q8_0.gguf"], cause });
    expect(error.message.split("\n")[0]).toBe(`${repo} (revision refs/pr/1) "Q3" matches no file. Candidates: a-Q4_K_M.gguf, a-Q8_0.gguf.`);
    expect(error.searched.at(-1)).toEqual({ place: `hub ${endpoint}/api/models/${repo}/revision/refs%2Fpr%2F1`, outcome: '"Q3" matches no file' });
    expect(error.hints).toEqual([`name a file after the repository id: ${repo}:<file name, glob or quantization tag such as Q4_K_M>`, `see the repository's files at ${endpoint}/${repo}/tree/refs/pr/1`]);
    const none = explainHubFailure(new FileSelectionFailure("has no model", []), context()) as RepositoryFileNotFoundError;
    expect(none.message.split("\n")[0]).toBe(`${repo} (revision main) has no model.`);
  });

  it("returns any other error unchanged", () => {
    const other = new TypeError("bug");
    expect(explainHubFailure(other, context())).toBe(other);
    expect(explainHubFailure("text", context())).toBe("text");
  });
});

describe("offline mode and the hints", () => {
  it("offlineFailure: not contacted, and how to allow downloading", () => {
    const error = offlineFailure(context());
    expect(error.message.split("\n")[0]).toBe(`${repo}:Q4_K_M is not available locally, and offline mode (HF_HUB_OFFLINE) forbids downloading it. ${wantedFiles("Q4_K_M")}`);
    expect(error.searched).toEqual([cacheSearched, { place: `hub ${endpoint}`, outcome: "not contacted (offline mode)" }]);
    expect(error.hints[0]).toBe("unset HF_HUB_OFFLINE to download it");
    expect(error.hints.slice(1)).toEqual(downloadElsewhereHints(context()));
  });

  it("the download command for the whole repository, an exact file, a glob and a tag", () => {
    const settings = hubSettings({ endpoint, cacheDirectory: "/cache", environment: {} });
    const first = (file: string | undefined) => downloadElsewhereHints({ repo, file, settings })[0];
    const tail = "(`hf download` in newer huggingface_hub), copy the folder here and pass it with --model";
    expect(first(undefined)).toBe(`on a machine with internet access run \`huggingface-cli download ${repo} --local-dir ./Model-7B\` ${tail} ./Model-7B`);
    expect(first("sub/x.gguf")).toBe(`on a machine with internet access run \`huggingface-cli download ${repo} sub/x.gguf --local-dir ./Model-7B\` ${tail} ./Model-7B/sub/x.gguf`);
    expect(first("*Q8_0.gguf")).toBe(`on a machine with internet access run \`huggingface-cli download ${repo} --include "*Q8_0.gguf" --local-dir ./Model-7B\` ${tail} ./Model-7B`);
    expect(first("Q4_K_M")).toBe(`on a machine with internet access run \`huggingface-cli download ${repo} --include "*Q4_K_M*" --local-dir ./Model-7B\` ${tail} ./Model-7B`);
    expect(downloadElsewhereHints({ repo, file: undefined, settings }).slice(1)).toEqual([
      `or copy a Hugging Face cache that holds ${repo} to /cache (or point HF_HUB_CACHE at it)`,
      `if the repository is gated (as meta-llama/* are), also set HF_TOKEN and accept the license at ${endpoint}/${repo}`,
      "where the hub is blocked or slow, set HF_ENDPOINT to a mirror (for example HF_ENDPOINT=https://hf-mirror.com)",
    ]);
  });

  it("wantedFiles says what was looked for", () => {
    expect(wantedFiles(undefined)).toBe("It looked for config.json with model.safetensors (or model.safetensors.index.json and its shards), or a single .gguf or llama2.c .bin file.");
    expect(wantedFiles("x*")).toBe('It looked for a weight file matching "x*" (an exact name, a glob, or a quantization tag such as Q4_K_M).');
  });
});

describe("the error classes", () => {
  it("format the not-found message: summary, places searched, hints; each section only when it has lines", () => {
    const full = new ModelNotFoundError({ specifier: "s", summary: "Not here.", searched: [{ place: "p1", outcome: "o1" }, { place: "p2", outcome: "o2" }], hints: ["h1", "h2"] });
    expect(full.message).toBe("Not here.\nLooked in:\n  - p1: o1\n  - p2: o2\nTo get the weights:\n  - h1\n  - h2");
    expect(full.cause).toBeUndefined();
    expect(full).toBeInstanceOf(HubError);
    expect(new ModelNotFoundError({ specifier: "s", summary: "Only this.", searched: [], hints: [] }).message).toBe("Only this.");
    expect(new ModelNotFoundError({ specifier: "s", summary: "S.", searched: [], hints: ["h"] }).message).toBe("S.\nTo get the weights:\n  - h");
    expect(new ModelNotFoundError({ specifier: "s", summary: "S.", searched: [{ place: "p", outcome: "o" }], hints: [] }).message).toBe("S.\nLooked in:\n  - p: o");
  });

  it("DownloadError keeps the URL, the partial file and the cause", () => {
    const cause = new Error("reset");
    const error = new DownloadError("cut off", { url: "http://x/f", partialFile: "/b.incomplete", cause });
    expect(error).toMatchObject({ name: "DownloadError", message: "cut off", url: "http://x/f", partialFile: "/b.incomplete", cause });
    const bare = new DownloadError("m", { url: "u" });
    expect(bare.partialFile).toBeUndefined();
    expect("cause" in bare).toBe(false);
    expect(new HubError("x").name).toBe("HubError");
  });
});
