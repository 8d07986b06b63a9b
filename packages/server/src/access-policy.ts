// Who may call the server, checked before a request's body is read, so a server that leaves localhost is not open to
// whoever reaches its port or to web pages in its users' browsers:
//   - API key: `Authorization: Bearer KEY` on every route but /health (which load balancers poll), compared in
//     constant time (SHA-256 of both sides, then timingSafeEqual), else 401;
//   - Host header (DNS rebinding: a page on evil.example whose name is re-pointed at this server sends
//     `Host: evil.example`): IP literals and localhost names always pass, other names only when listed (or when the
//     server was bound to that name), else 403;
//   - browsers: a request carrying an Origin that is not listed gets 403 (so a page cannot make the server work for
//     it), a listed one gets CORS headers, and preflight OPTIONS requests are answered for listed origins only;
//   - POST bodies must say `content-type: application/json` (415 otherwise): a cross-site form or a no-cors fetch
//     cannot send that without a preflight.

import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

import { ApiError } from "./api-error.ts";

/** Who may use the server: an API key, the Host names accepted, and the origins CORS answers. */
export interface AccessOptions {
  /** Required as `Authorization: Bearer KEY` on every route but /health. Undefined: no key. */
  apiKey?: string;
  /** Host names accepted in the Host header besides IP addresses and localhost; ".example.com" also accepts its
   *  subdomains, "*" any name (no DNS-rebinding protection). */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) allowed to call from a browser, answered with CORS headers; "*" allows any. */
  corsOrigins?: readonly string[];
}

const CORS_METHODS = "GET, POST, OPTIONS";
const CORS_HEADERS = "authorization, content-type";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The host name of a Host header value ("example.com:8000" → "example.com", "[::1]:80" → "::1"), lower case. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(1, value.indexOf("]") > 0 ? value.indexOf("]") : undefined);
  const colon = value.lastIndexOf(":");
  return colon >= 0 && value.indexOf(":") === colon ? value.slice(0, colon) : value;
}

/**
 * Checks each request against {@link AccessOptions}: the `Authorization: Bearer` key (compared in constant time) on
 * /v1 routes, the Host header (against DNS rebinding), and the Origin for CORS.
 */
export class AccessPolicy {
  private readonly keyDigest: Buffer | undefined;
  private readonly allowedHosts: readonly string[];
  private readonly corsOrigins: readonly string[];

  /** `boundHost`: the address the server listens on; when it is a name, that name is accepted in Host headers. */
  constructor(options: AccessOptions = {}, boundHost?: string) {
    if (options.apiKey !== undefined && options.apiKey.length === 0) throw new TypeError("AccessPolicy: apiKey must not be empty");
    this.keyDigest = options.apiKey === undefined ? undefined : digest(options.apiKey);
    const hosts = (options.allowedHosts ?? []).map((host) => host.trim().toLowerCase());
    if (boundHost !== undefined && isIP(boundHost) === 0) hosts.push(boundHost.toLowerCase());
    this.allowedHosts = hosts;
    this.corsOrigins = (options.corsOrigins ?? []).map((origin) => origin.trim().replace(/\/+$/, "").toLowerCase());
  }

  /** Whether /v1 routes need the API key. */
  get requiresKey(): boolean {
    return this.keyDigest !== undefined;
  }

  /** 403 unless the Host header names an IP address, localhost, or an allowed host. */
  checkHost(request: IncomingMessage): void {
    const header = request.headers.host;
    if (header === undefined) return; // HTTP/1.0 clients; browsers always send it
    const name = hostName(header);
    if (isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost")) return;
    for (const allowed of this.allowedHosts) {
      if (allowed === "*" || allowed === name || (allowed.startsWith(".") && (name.endsWith(allowed) || name === allowed.slice(1)))) return;
    }
    throw new ApiError(
      403,
      `Host '${header}' is not allowed: this server answers to IP addresses, localhost and the names given with --allowed-hosts (a DNS-rebinding guard); start it with --allowed-hosts ${name} to accept this name`,
      null,
      "permission_error",
      "host_not_allowed",
    );
  }

  /** Whether a browser page of `origin` may call (and see the answers). */
  allowsOrigin(origin: string): boolean {
    const normalized = origin.trim().replace(/\/+$/, "").toLowerCase();
    return this.corsOrigins.includes("*") || this.corsOrigins.includes(normalized);
  }

  /**
   * For a request with an Origin header: 403 unless the origin is allowed; otherwise the CORS headers to add to the
   * answer. No Origin (not a browser, or a same-origin navigation): no headers.
   */
  corsHeaders(request: IncomingMessage): Record<string, string> {
    const origin = request.headers.origin;
    if (origin === undefined) return {};
    if (!this.allowsOrigin(origin)) {
      throw new ApiError(403, `requests from the web origin '${origin}' are not allowed; start the server with --cors-origin ${origin} to allow them`, null, "permission_error", "origin_not_allowed");
    }
    return {
      "access-control-allow-origin": this.corsOrigins.includes("*") ? "*" : origin,
      vary: "Origin",
    };
  }

  /** The extra headers of a preflight (OPTIONS) answer for an allowed origin. */
  preflightHeaders(): Record<string, string> {
    return { "access-control-allow-methods": CORS_METHODS, "access-control-allow-headers": CORS_HEADERS, "access-control-max-age": "600" };
  }

  /** 401 unless the request carries `Authorization: Bearer KEY` with the configured key (none configured: passes). */
  checkApiKey(request: IncomingMessage): void {
    if (this.keyDigest === undefined) return;
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    const given = digest(match ? match[1] : "");
    if (match && timingSafeEqual(given, this.keyDigest)) return;
    throw new ApiError(
      401,
      match ? "the API key is not valid" : "this server needs an API key: send 'Authorization: Bearer <key>'",
      null,
      "authentication_error",
      "invalid_api_key",
    );
  }

  /** 415 unless a POST says its body is JSON. */
  static checkJsonBody(request: IncomingMessage): void {
    const type = (request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type === "application/json") return;
    throw new ApiError(
      415,
      `the request body must be JSON: send 'content-type: application/json'${type ? ` (got '${type}')` : " (none given)"}`,
      null,
      "invalid_request_error",
      "unsupported_media_type",
    );
  }
}
