// The two hub endpoints against a local server that answers what each test scripts: the listing's fields and what is
// made of malformed ones, the file metadata's size, ETag and commit headers (linked ones first), and how an error
// status becomes a HubStatusError with the hub's explanation (header, JSON body, text body cut at 300 characters).
import { describe, expect, it } from "vitest";

import { HubStatusError, fetchFileMetadata, fetchRepositoryListing, hubHeaders, listingUrl, resolveUrl, userAgent } from "../src/hub-api.ts";
import { hubSettings } from "../src/hub-settings.ts";
import { scriptedServer, type Handler } from "./scripted-server.ts";

const hub = scriptedServer();
const requests = hub.requests;

const context = (token?: string) => ({ settings: hubSettings({ endpoint: hub.url, token, environment: {}, stallTimeoutMs: 5000 }) });

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Handler {
  return (_request, response) => {
    response.writeHead(status, { "Content-Type": "application/json", ...headers });
    response.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

describe("URLs and headers", () => {
  it("builds the listing and resolve URLs, encoding revisions and file path segments", () => {
    expect(listingUrl("http://h", "o/n", "main")).toBe("http://h/api/models/o/n");
    expect(listingUrl("http://h", "o/n", "refs/pr/1")).toBe("http://h/api/models/o/n/revision/refs%2Fpr%2F1");
    expect(resolveUrl("http://h", "o/n", "refs/pr/1", "sub dir/a#b.gguf")).toBe("http://h/o/n/resolve/refs%2Fpr%2F1/sub%20dir/a%23b.gguf");
  });

  it("sends the user agent, and the token only when there is one", () => {
    expect(hubHeaders(context().settings)).toEqual({ "User-Agent": userAgent });
    expect(hubHeaders(context("hf_t").settings)).toEqual({ "User-Agent": userAgent, Authorization: "Bearer hf_t" });
    expect(userAgent).toBe(`infer-recipes-hub/0.1.0; node/${process.versions.node}`);
  });

  it("a status error is retryable for 5xx, 429 and 408 only, and names its URL and the hub's message", () => {
    const retryable = (status: number) => new HubStatusError(status, "u", undefined, undefined).retryable;
    expect([500, 503, 429, 408].map(retryable)).toEqual([true, true, true, true]);
    expect([499, 404, 401, 407, 409, 428, 430].map(retryable)).toEqual([false, false, false, false, false, false, false]);
    expect(new HubStatusError(404, "http://x/y", "RepoNotFound", "no such repo").message).toBe("HTTP 404 from http://x/y: no such repo");
    expect(new HubStatusError(404, "http://x/y", undefined, undefined)).toMatchObject({ message: "HTTP 404 from http://x/y", name: "HubStatusError", errorCode: undefined });
  });
});

describe("fetchRepositoryListing", () => {
  it("reads the commit, the file names and the gated flag; asks for JSON with the hub headers", async () => {
    hub.handler = json({ sha: "c0ffee", siblings: [{ rfilename: "a.gguf" }, { rfilename: "sub/b.json" }], gated: "manual" });
    requests.length = 0;
    expect(await fetchRepositoryListing("o/n", "v1", context("hf_t"))).toEqual({ commit: "c0ffee", files: ["a.gguf", "sub/b.json"], gated: true });
    expect(requests[0]).toMatchObject({ method: "GET", url: "/api/models/o/n/revision/v1" });
    expect(requests[0].headers).toMatchObject({ accept: "application/json", authorization: "Bearer hf_t", "user-agent": userAgent });
  });

  it("tolerates missing and malformed fields: no commit, no files, not gated", async () => {
    const cases: Array<[unknown, { commit: string | undefined; files: string[]; gated: boolean }]> = [
      [{}, { commit: undefined, files: [], gated: false }],
      [{ sha: "", siblings: "x", gated: false }, { commit: undefined, files: [], gated: false }],
      [{ sha: 5, siblings: [null, { rfilename: 3 }, {}, { rfilename: "ok" }], gated: true }, { commit: undefined, files: ["ok"], gated: true }],
    ];
    for (const [body, expected] of cases) {
      hub.handler = json(body);
      expect(await fetchRepositoryListing("o/n", "main", context()), JSON.stringify(body)).toEqual(expected);
    }
  });

  it("refuses a listing that is not JSON, and turns an error status into a HubStatusError", async () => {
    hub.handler = json("<html>not a hub</html>");
    await expect(fetchRepositoryListing("o/n", "main", context())).rejects.toThrow(
      new HubStatusError(200, `${hub.url}/api/models/o/n`, undefined, "the listing is not JSON (is HF_ENDPOINT a Hugging Face-compatible hub?)"),
    );
    hub.handler = json({ error: "Repository not found" }, 404, { "X-Error-Code": "RepoNotFound" });
    const error = await fetchRepositoryListing("o/n", "main", context()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubStatusError);
    expect(error).toMatchObject({ status: 404, url: `${hub.url}/api/models/o/n`, errorCode: "RepoNotFound", serverMessage: "Repository not found" });
    // A 2xx other than 200 is not a listing either.
    hub.handler = json({ sha: "x" }, 204);
    await expect(fetchRepositoryListing("o/n", "main", context())).rejects.toMatchObject({ status: 204 });
  });

  it("takes the hub's explanation from X-Error-Message first, then a JSON error, then the text, cut at 300 characters", async () => {
    const explanation = async (status: number, body: string, headers: Record<string, string> = {}) => {
      hub.handler = (_request, response) => {
        response.writeHead(status, headers);
        response.end(body);
      };
      return ((await fetchRepositoryListing("o/n", "main", context()).catch((caught: unknown) => caught)) as HubStatusError).serverMessage;
    };
    expect(await explanation(401, '{"error":"from body"}', { "X-Error-Message": "from header" })).toBe("from header");
    expect(await explanation(401, '{"error":"from body"}')).toBe("from body");
    expect(await explanation(500, '  {"message":"no error field"}  ')).toBe('{"message":"no error field"}');
    expect(await explanation(500, "  plain text  ")).toBe("plain text");
    expect(await explanation(500, "   ")).toBeUndefined();
    expect(await explanation(500, "x".repeat(300))).toBe("x".repeat(300));
    expect(await explanation(500, "y".repeat(301))).toBe(`${"y".repeat(300)}…`);
  });
});

describe("fetchFileMetadata", () => {
  const metadata = (status: number, headers: Record<string, string>) => {
    hub.handler = (_request, response) => {
      response.writeHead(status, headers);
      response.end();
    };
    return fetchFileMetadata("o/n", "main", "sub/w.gguf", context());
  };

  it("sends HEAD without compression; reads the linked ETag and size first (LFS files), else ETag and Content-Length", async () => {
    requests.length = 0;
    expect(await metadata(200, { ETag: '"small"', "Content-Length": "12", "X-Repo-Commit": "c1" })).toEqual({ etag: '"small"', commit: "c1", size: 12 });
    expect(requests[0]).toMatchObject({ method: "HEAD", url: "/o/n/resolve/main/sub/w.gguf" });
    expect(requests[0].headers["accept-encoding"]).toBe("identity");
    expect(await metadata(200, { ETag: '"pointer"', "X-Linked-Etag": '"lfs"', "Content-Length": "12", "X-Linked-Size": "123456" })).toEqual({ etag: '"lfs"', commit: undefined, size: 123456 });
    // A redirect to another origin (the CDN) is returned as the answer: its Content-Length is not the file's.
    expect(await metadata(302, { Location: "http://cdn.invalid/x", "X-Linked-Etag": '"lfs"', "X-Linked-Size": "99", "Content-Length": "0" })).toEqual({ etag: '"lfs"', commit: undefined, size: 99 });
    expect(await metadata(302, { Location: "http://cdn.invalid/x", ETag: '"e"', "Content-Length": "0" })).toEqual({ etag: '"e"', commit: undefined, size: undefined });
  });

  it("leaves out a size that is not a non-negative safe integer", async () => {
    for (const size of ["-1", "1.5", "abc", "9007199254740993"]) {
      expect((await metadata(200, { ETag: '"e"', "X-Linked-Size": size })).size, size).toBeUndefined();
    }
    expect((await metadata(200, { ETag: '"e"', "X-Linked-Size": "0" })).size).toBe(0);
  });

  it("turns 4xx and 5xx into HubStatusError, with the error code and message headers", async () => {
    const error = await metadata(404, { "X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found" }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, errorCode: "EntryNotFound", serverMessage: "Entry not found", url: `${hub.url}/o/n/resolve/main/sub/w.gguf` });
    await expect(metadata(500, {})).rejects.toMatchObject({ status: 500 });
    expect((await metadata(399, { ETag: '"e"' })).etag).toBe('"e"');
  });
});
