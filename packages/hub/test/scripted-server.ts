// A local HTTP server on 127.0.0.1 whose answers each test scripts, for the tests of the hub endpoints and the
// downloads: `handler` answers every request (replace it per test), `requests` logs what arrived, oldest first.
// Started before the file's tests and closed after them.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>`, once the file's tests run. */
  readonly url: string;
  /** Answers every request; by default an empty 200. */
  handler: Handler;
  /** Every request received: method, path and headers. */
  readonly requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  /** The requests as `METHOD path` lines. */
  lines(): string[];
}

/** A scripted server for the calling test file (registers its beforeAll and afterAll). */
export function scriptedServer(): ScriptedServer {
  const state: ScriptedServer = {
    url: "",
    handler: (_request, response) => response.end(),
    requests: [],
    lines: () => state.requests.map((request) => `${request.method} ${request.url}`),
  };
  const server = createServer((request, response) => {
    state.requests.push({ method: request.method!, url: request.url!, headers: request.headers });
    state.handler(request, response);
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    (state as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
