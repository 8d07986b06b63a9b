// AccessPolicy on its own (access.test.ts checks it over HTTP): Host names parsed from their header forms, which hosts
// pass (IP literals, localhost names, listed names and domains, the bound name), origins compared normalized, the
// exact CORS and preflight headers, Bearer keys, and JSON content types — with the status, type, code and message of
// each refusal.

import type { IncomingMessage } from "node:http";

import { describe, expect, it } from "vitest";

import { AccessPolicy, hostName } from "../src/index.ts";
import { refusal } from "./api-refusal.ts";

const request = (headers: Record<string, string | undefined>) => ({ headers }) as unknown as IncomingMessage;

describe("hostName", () => {
  it.each([
    ["example.com", "example.com"],
    ["Example.COM:8000", "example.com"],
    ["  api.example.com:443 ", "api.example.com"],
    ["host:", "host"],
    ["[::1]:80", "::1"],
    ["[::1]", "::1"],
    ["[FE80::1", "fe80::1"],
    ["::1", "::1"],
    ["a:b:c", "a:b:c"],
    ["127.0.0.1:8000", "127.0.0.1"],
  ])("%j → %j", (header, name) => {
    expect(hostName(header)).toBe(name);
  });
});

describe("the Host check", () => {
  const hostRefusal = (policy: AccessPolicy, host: string) => refusal(() => policy.checkHost(request({ host })));

  it("passes IP literals and localhost names whatever the list, and a request without Host", () => {
    const policy = new AccessPolicy();
    for (const host of ["127.0.0.1", "10.1.2.3:80", "[::1]:8000", "::1", "localhost", "LOCALHOST:3000", "dev.localhost", "a.b.localhost:1"]) {
      expect(() => policy.checkHost(request({ host })), host).not.toThrow();
    }
    expect(() => policy.checkHost(request({}))).not.toThrow();
    for (const host of ["localhost.evil.example", "evillocalhost", "example.com", "1.2.3.4.example"]) expect(hostRefusal(policy, host).status, host).toBe(403);
  });

  it("passes listed names exactly, listed domains with their subdomains, '*' anything, and the bound name", () => {
    const policy = new AccessPolicy({ allowedHosts: [" API.Example.com ", ".internal.example"] }, "MyHost");
    for (const host of ["api.example.com", "API.EXAMPLE.COM:8443", "internal.example", "node7.internal.example", "a.b.internal.example:1", "myhost", "MYHOST:8000"]) {
      expect(() => policy.checkHost(request({ host })), host).not.toThrow();
    }
    for (const host of ["example.com", "www.api.example.com", "xinternal.example", "internal.example.evil", "myhost.example"]) expect(hostRefusal(policy, host).status, host).toBe(403);
    expect(() => new AccessPolicy({ allowedHosts: ["*"] }).checkHost(request({ host: "anything.example:1" }))).not.toThrow();
    // A server bound to an IP address accepts no extra name.
    expect(hostRefusal(new AccessPolicy({}, "0.0.0.0"), "evil.example").status).toBe(403);
  });

  it("refuses with 403 permission_error host_not_allowed, naming the header and the option to add", () => {
    const error = hostRefusal(new AccessPolicy({ allowedHosts: ["a.example"] }), "Evil.Example:8000");
    expect(error.toData()).toEqual({
      status: 403,
      type: "permission_error",
      code: "host_not_allowed",
      param: null,
      message:
        "Host 'Evil.Example:8000' is not allowed: this server answers to IP addresses, localhost and the names given with --allowed-hosts (a DNS-rebinding guard); start it with --allowed-hosts evil.example to accept this name",
    });
  });
});

describe("CORS", () => {
  it("compares origins without case or trailing slashes", () => {
    const policy = new AccessPolicy({ corsOrigins: [" https://App.example.com/ "] });
    expect(policy.allowsOrigin("https://app.example.com")).toBe(true);
    expect(policy.allowsOrigin("HTTPS://APP.EXAMPLE.COM//")).toBe(true);
    expect(policy.allowsOrigin("http://app.example.com")).toBe(false);
    expect(policy.allowsOrigin("https://app.example.com:8443")).toBe(false);
    expect(new AccessPolicy().allowsOrigin("https://app.example.com")).toBe(false);
    expect(new AccessPolicy({ corsOrigins: ["*"] }).allowsOrigin("https://anything.example")).toBe(true);
  });

  it("answers no headers without an Origin, the origin itself (or '*') for an allowed one, 403 otherwise", () => {
    const listed = new AccessPolicy({ corsOrigins: ["https://app.example.com"] });
    expect(listed.corsHeaders(request({}))).toEqual({});
    expect(listed.corsHeaders(request({ origin: "https://app.example.com/" }))).toEqual({ "access-control-allow-origin": "https://app.example.com/", vary: "Origin" });
    expect(new AccessPolicy({ corsOrigins: ["https://x.example", "*"] }).corsHeaders(request({ origin: "https://y.example" }))).toEqual({ "access-control-allow-origin": "*", vary: "Origin" });
    const error = refusal(() => listed.corsHeaders(request({ origin: "https://evil.example" })));
    expect(error.toData()).toEqual({
      status: 403,
      type: "permission_error",
      code: "origin_not_allowed",
      param: null,
      message: "requests from the web origin 'https://evil.example' are not allowed; start the server with --cors-origin https://evil.example to allow them",
    });
  });

  it("answers preflights with the methods and headers the API uses", () => {
    expect(new AccessPolicy().preflightHeaders()).toEqual({ "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": "authorization, content-type", "access-control-max-age": "600" });
  });
});

describe("the API key", () => {
  it("is optional, must not be empty, and is then required", () => {
    expect(new AccessPolicy().requiresKey).toBe(false);
    expect(new AccessPolicy({ apiKey: "k" }).requiresKey).toBe(true);
    expect(() => new AccessPolicy({ apiKey: "" })).toThrow(new TypeError("AccessPolicy: apiKey must not be empty"));
    expect(() => new AccessPolicy().checkApiKey(request({}))).not.toThrow();
    expect(() => new AccessPolicy().checkApiKey(request({ authorization: "Bearer anything" }))).not.toThrow();
  });

  it("passes 'Bearer KEY' in any case and spacing, and refuses the rest with 401", () => {
    const policy = new AccessPolicy({ apiKey: "s3cret" });
    for (const authorization of ["Bearer s3cret", "bearer s3cret", "BEARER   s3cret", "  Bearer s3cret  "]) {
      expect(() => policy.checkApiKey(request({ authorization })), authorization).not.toThrow();
    }
    const missing = "this server needs an API key: send 'Authorization: Bearer <key>'";
    const cases: Array<[string | undefined, string]> = [
      [undefined, missing],
      ["", missing],
      ["Bearer", missing],
      ["Bearer ", missing],
      ["s3cret", missing],
      ["Basic s3cret", missing],
      ["xBearer s3cret", missing],
      ["Bearer s3cre", "the API key is not valid"],
      ["Bearer s3cret2", "the API key is not valid"],
      ["Bearer S3CRET", "the API key is not valid"],
    ];
    for (const [authorization, message] of cases) {
      const error = refusal(() => policy.checkApiKey(request({ authorization })));
      expect(error.toData(), String(authorization)).toEqual({ status: 401, type: "authentication_error", code: "invalid_api_key", param: null, message });
    }
  });
});

describe("JSON bodies", () => {
  it("pass with application/json in any case, with parameters", () => {
    for (const type of ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/json;charset=UTF-8"]) {
      expect(() => AccessPolicy.checkJsonBody(request({ "content-type": type })), type).not.toThrow();
    }
  });

  it("refuse anything else with 415, saying what was given", () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, " (none given)"],
      ["", " (none given)"],
      ["text/plain", " (got 'text/plain')"],
      ["Application/X-WWW-Form-Urlencoded; charset=utf-8", " (got 'application/x-www-form-urlencoded')"],
      ["application/jsonx", " (got 'application/jsonx')"],
    ];
    for (const [type, got] of cases) {
      const error = refusal(() => AccessPolicy.checkJsonBody(request({ "content-type": type })));
      expect(error.toData(), String(type)).toEqual({
        status: 415,
        type: "invalid_request_error",
        code: "unsupported_media_type",
        param: null,
        message: `the request body must be JSON: send 'content-type: application/json'${got}`,
      });
    }
  });
});
