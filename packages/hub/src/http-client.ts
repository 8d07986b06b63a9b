// HTTP(S) requests on node:http/node:https with what downloads from a hub need: redirects followed by hand (the hub
// redirects file downloads to a CDN; Authorization is dropped when the origin changes), a stall timer that abandons
// a connection delivering no bytes, and AbortSignal support. Network failures become `HttpFailure`; an abort
// rejects with the signal's reason.

import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";

export type HttpFailureKind = "network" | "stalled";

/** A request that got no usable response: connection refused, DNS failure, reset, stall, too many redirects. */
export class HttpFailure extends Error {
  override name = "HttpFailure";
  constructor(
    readonly kind: HttpFailureKind,
    readonly url: string,
    description: string,
    options?: { cause?: unknown },
  ) {
    super(description, options);
  }
}

export interface HttpRequestOptions {
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Abandon the connection when no bytes (headers or body) arrive for this long. */
  stallTimeoutMs: number;
  /** `all` (default) follows every redirect; `same-origin` returns a redirect to another origin as the response. */
  followRedirects?: "all" | "same-origin";
  maxRedirects?: number;
}

/** A redirect response that was followed. */
export interface RedirectHop {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
}

export class HttpResponse {
  constructor(
    /** The URL that produced this response (after redirects). */
    readonly url: string,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    /** Redirects followed to get here, first request first. */
    readonly hops: readonly RedirectHop[],
    readonly body: IncomingMessage,
    private readonly stallTimer: StallTimer,
  ) {}

  /** The header's value from this response, else from the latest redirect that sent it. */
  header(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const headers of [this.headers, ...[...this.hops].reverse().map((hop) => hop.headers)]) {
      const value = headers[key];
      if (value !== undefined) return Array.isArray(value) ? value[0] : value;
    }
    return undefined;
  }

  /** Restarts the stall timer; call on every body chunk. */
  markProgress(): void {
    this.stallTimer.restart();
  }

  /** Stops the stall timer and throws the rest of the body away. */
  discard(): void {
    this.stallTimer.stop();
    this.body.destroy();
  }

  /** Reads the whole body as text (for small API responses). */
  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of this.body) {
        this.markProgress();
        chunks.push(chunk as Buffer);
      }
    } finally {
      this.stallTimer.stop();
    }
    return Buffer.concat(chunks).toString("utf8");
  }
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export async function sendRequest(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const hops: RedirectHop[] = [];
  const maxRedirects = options.maxRedirects ?? 10;
  let current = new URL(url);
  for (;;) {
    const { response, stallTimer } = await requestOnce(current, options.method ?? "GET", headers, options);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!redirectStatuses.has(status) || location === undefined) {
      return new HttpResponse(current.href, status, response.headers, hops, response, stallTimer);
    }
    const next = new URL(location, current);
    if (options.followRedirects === "same-origin" && next.origin !== current.origin) {
      return new HttpResponse(current.href, status, response.headers, hops, response, stallTimer);
    }
    stallTimer.stop();
    response.resume();
    hops.push({ url: current.href, status, headers: response.headers });
    if (hops.length > maxRedirects) throw new HttpFailure("network", url, `more than ${maxRedirects} redirects (last to ${next.href})`);
    if (next.origin !== current.origin) {
      for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
    }
    current = next;
  }
}

/** A network error as one readable line (Node reports some connection failures as an AggregateError with no message). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map((inner) => describeNetworkError(inner)))].join("; ");
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.message !== "") return error.message;
    return code ?? error.name;
  }
  return String(error);
}

interface OpenedResponse {
  response: IncomingMessage;
  stallTimer: StallTimer;
}

function requestOnce(url: URL, method: string, headers: Record<string, string>, options: HttpRequestOptions): Promise<OpenedResponse> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new HttpFailure("network", url.href, `unsupported protocol ${url.protocol}`));
  }
  return new Promise<OpenedResponse>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    let settled = false;
    const transport = url.protocol === "https:" ? https : http;
    const request = transport.request(url, { method, headers, agent: false });
    const fail = (error: unknown) => {
      if (response !== undefined) response.destroy(error as Error);
      else request.destroy(error as Error);
    };
    const stallTimer = new StallTimer(options.stallTimeoutMs, () => {
      const phase = response === undefined ? "waiting for a response" : "receiving data";
      fail(new HttpFailure("stalled", url.href, `no data for ${formatSeconds(options.stallTimeoutMs)} while ${phase} from ${url.host}`));
    });
    const onAbort = () => fail(abortReason(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanUp = () => {
      stallTimer.stop();
      signal?.removeEventListener("abort", onAbort);
    };
    request.on("response", (incoming) => {
      response = incoming;
      stallTimer.restart();
      incoming.on("close", cleanUp);
      settled = true;
      resolve({ response: incoming, stallTimer });
    });
    request.on("error", (error) => {
      cleanUp();
      if (settled) return;
      settled = true;
      if (signal?.aborted) reject(abortReason(signal));
      else if (error instanceof HttpFailure) reject(error);
      else reject(new HttpFailure("network", url.href, describeNetworkError(error), { cause: error }));
    });
    stallTimer.restart();
    request.end();
  });
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function formatSeconds(milliseconds: number): string {
  return `${Number((milliseconds / 1000).toFixed(1))} s`;
}

/** Calls `onStall` when `restart` has not been called for `timeoutMs`. */
class StallTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onStall: () => void,
  ) {}

  restart(): void {
    this.stop();
    this.timer = setTimeout(this.onStall, this.timeoutMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
