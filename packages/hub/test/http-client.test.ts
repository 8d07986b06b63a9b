// The HTTP client's rules against two local servers (two origins): which statuses are followed as redirects, the hops
// recorded and headers read from the latest one that sent them, Authorization kept on the same origin and dropped on
// another, a cross-origin redirect returned as the answer in same-origin mode, the redirect limit's message, an
// unsupported protocol, a refused connection, a stall while waiting (its message names the time and the host), an
// aborted request, and network errors described in one line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { HttpFailure, abortReason, describeNetworkError, sendRequest } from "../src/http-client.ts";
import { closedPortEndpoint } from "./fake-hub.ts";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Origin {
  server: Server;
  url: string;
  handler: Handler;
  seen: Array<{ url: string; authorization: string | undefined; method: string }>;
}

async function origin(): Promise<Origin> {
  const state = { handler: ((_request, response) => response.end("ok")) as Handler, seen: [] as Origin["seen"] };
  const server = createServer((request, response) => {
    state.seen.push({ url: request.url!, authorization: request.headers.authorization, method: request.method! });
    state.handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const result = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: state.seen } as Origin;
  Object.defineProperty(result, "handler", { get: () => state.handler, set: (value: Handler) => (state.handler = value) });
  return result;
}

let hub: Origin;
let cdn: Origin;
beforeAll(async () => {
  hub = await origin();
  cdn = await origin();
});
afterAll(async () => {
  for (const { server } of [hub, cdn]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const redirect = (status: number, location: string, headers: Record<string, string> = {}): Handler => (_request, response) => {
  response.writeHead(status, { Location: location, ...headers });
  response.end();
};

describe("sendRequest: redirects", () => {
  it("follows 301, 302, 303, 307 and 308 on the same origin, keeping the token, recording each hop", async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      hub.seen.length = 0;
      hub.handler = (request, response) => {
        if (request.url === "/start") redirect(status, "/end", { "X-Repo-Commit": "c1", ETag: '"hop"' })(request, response);
        else {
          response.writeHead(200, { ETag: '"final"' });
          response.end("body");
        }
      };
      const response = await sendRequest(`${hub.url}/start`, { headers: { Authorization: "Bearer t" }, stallTimeoutMs: 5000 });
      expect(response.status, String(status)).toBe(200);
      expect(response.url).toBe(`${hub.url}/end`);
      expect(response.hops.map((hop) => [hop.url, hop.status])).toEqual([[`${hub.url}/start`, status]]);
      // The response's own header wins; one only a hop sent comes from the hop.
      expect(response.header("ETag")).toBe('"final"');
      expect(response.header("x-repo-commit")).toBe("c1");
      expect(response.header("x-missing")).toBeUndefined();
      expect(await response.text()).toBe("body");
      expect(hub.seen.map((request) => request.authorization)).toEqual(["Bearer t", "Bearer t"]);
    }
  });

  it("does not follow other 3xx statuses or a redirect without a Location", async () => {
    hub.handler = (_request, response) => {
      response.writeHead(304, { Location: "/elsewhere" });
      response.end();
    };
    expect((await sendRequest(`${hub.url}/x`, { stallTimeoutMs: 5000 })).status).toBe(304);
    hub.handler = (_request, response) => {
      response.writeHead(302);
      response.end();
    };
    const response = await sendRequest(`${hub.url}/x`, { stallTimeoutMs: 5000 });
    expect([response.status, response.hops.length]).toEqual([302, 0]);
    response.discard();
  });

  it("drops Authorization when the redirect leaves the origin, and in same-origin mode returns that redirect instead", async () => {
    hub.handler = redirect(302, `${cdn.url}/blob?sig=1`, { "X-Linked-Size": "42" });
    cdn.seen.length = 0;
    cdn.handler = (_request, response) => response.end("from cdn");
    const followed = await sendRequest(`${hub.url}/resolve`, { headers: { authorization: "Bearer t", Accept: "x" }, stallTimeoutMs: 5000 });
    expect(await followed.text()).toBe("from cdn");
    expect(followed.url).toBe(`${cdn.url}/blob?sig=1`);
    expect(followed.header("x-linked-size")).toBe("42");
    expect(cdn.seen).toEqual([{ url: "/blob?sig=1", authorization: undefined, method: "GET" }]);

    cdn.seen.length = 0;
    const held = await sendRequest(`${hub.url}/resolve`, { method: "HEAD", stallTimeoutMs: 5000, followRedirects: "same-origin" });
    expect([held.status, held.url, held.hops.length]).toEqual([302, `${hub.url}/resolve`, 0]);
    expect(cdn.seen).toEqual([]);
    held.discard();
  });

  it("gives up after maxRedirects, naming the limit and the last target", async () => {
    hub.handler = (request, response) => redirect(302, `/r${Number(request.url!.slice(2)) + 1}`)(request, response);
    await expect(sendRequest(`${hub.url}/r0`, { stallTimeoutMs: 5000, maxRedirects: 2 })).rejects.toThrow(
      new HttpFailure("network", `${hub.url}/r0`, `more than 2 redirects (last to ${hub.url}/r3)`),
    );
    hub.seen.length = 0;
    const error = await sendRequest(`${hub.url}/r0`, { stallTimeoutMs: 5000 }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(`more than 10 redirects (last to ${hub.url}/r11)`);
    expect(hub.seen).toHaveLength(11);
  });
});

describe("sendRequest: failures", () => {
  it("refuses a protocol other than http and https", async () => {
    await expect(sendRequest("ftp://example.test/x", { stallTimeoutMs: 5000 })).rejects.toThrow(new HttpFailure("network", "ftp://example.test/x", "unsupported protocol ftp:"));
  });

  it("a refused connection is a network failure naming the error, with the cause kept", async () => {
    const url = `${await closedPortEndpoint()}/x`;
    const error = (await sendRequest(url, { stallTimeoutMs: 5000 }).catch((caught: unknown) => caught)) as HttpFailure;
    expect(error).toBeInstanceOf(HttpFailure);
    expect(error).toMatchObject({ kind: "network", url: new URL(url).href });
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.cause).toBeDefined();
  });

  it("a server that never answers stalls, with the time and the host in the message", async () => {
    hub.handler = () => {}; // never responds
    const error = (await sendRequest(`${hub.url}/silent`, { stallTimeoutMs: 200 }).catch((caught: unknown) => caught)) as HttpFailure;
    expect(error).toMatchObject({ name: "HttpFailure", kind: "stalled", url: `${hub.url}/silent` });
    expect(error.message).toBe(`no data for 0.2 s while waiting for a response from ${new URL(hub.url).host}`);
  });

  it("an aborted signal rejects with its reason, before or during the request", async () => {
    const reason = new Error("stop");
    await expect(sendRequest(`${hub.url}/x`, { stallTimeoutMs: 5000, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    hub.handler = () => {};
    const controller = new AbortController();
    const pending = sendRequest(`${hub.url}/slow`, { stallTimeoutMs: 5000, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    const plain = abortReason(new AbortController().signal) as DOMException;
    expect([plain.name, plain.message]).toEqual(["AbortError", "This operation was aborted"]);
  });
});

describe("describeNetworkError", () => {
  it("uses the message, else the code, else the name; joins the distinct inner errors of an AggregateError", () => {
    expect(describeNetworkError(new Error("connect ECONNREFUSED 127.0.0.1:9"))).toBe("connect ECONNREFUSED 127.0.0.1:9");
    expect(describeNetworkError(Object.assign(new Error(""), { code: "ECONNRESET" }))).toBe("ECONNRESET");
    expect(describeNetworkError(new TypeError(""))).toBe("TypeError");
    expect(describeNetworkError(new AggregateError([new Error("a"), Object.assign(new Error(""), { code: "B" }), new Error("a")], ""))).toBe("a; B");
    expect(describeNetworkError(new AggregateError([], "empty"))).toBe("empty");
    expect(describeNetworkError("text")).toBe("text");
    expect(describeNetworkError(7)).toBe("7");
  });
});
