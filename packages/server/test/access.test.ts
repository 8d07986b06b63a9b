// Who may call the server (access-policy.ts), over real HTTP: the API key on every route but /health, JSON-only POST
// bodies, the Host check against DNS rebinding, CORS for listed origins only (preflight included), and /v1/models
// naming the model rather than its file.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { InferenceServer } from "../src/index.ts";
import { send, startServer } from "./helpers.ts";

describe("an API key", () => {
  let server: InferenceServer;
  beforeAll(async () => {
    ({ server } = await startServer({}, 0, 64, { access: { apiKey: "s3cret-key" } }));
  });
  afterAll(() => server.close());

  it("is required as a Bearer token on every /v1 route (401 otherwise); /health stays open", async () => {
    const request = { prompt: "ab", max_tokens: 2, temperature: 0 };
    for (const [method, route, body] of [["GET", "/v1/models", undefined], ["POST", "/v1/completions", request], ["POST", "/v1/chat/completions", { messages: [] }], ["GET", "/v1/unknown", undefined]] as const) {
      const missing = await send(server, method, route, body);
      expect(missing.status, `${method} ${route}`).toBe(401);
      expect(missing.headers["www-authenticate"]).toBe("Bearer");
      expect(missing.json.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
      expect(missing.json.error.message).toMatch(/needs an API key: send 'Authorization: Bearer <key>'/);
      for (const wrong of ["Bearer s3cret-kex", "Bearer s3cret-key-and-more", "Basic s3cret-key", "s3cret-key"]) {
        expect((await send(server, method, route, body, { authorization: wrong })).status, wrong).toBe(401);
      }
    }
    expect((await send(server, "GET", "/health")).status).toBe(200);
    expect((await send(server, "GET", "/v1/models", undefined, { authorization: "Bearer s3cret-key" })).status).toBe(200);
    const completion = await send(server, "POST", "/v1/completions", request, { authorization: "bearer s3cret-key" });
    expect(completion.status).toBe(200);
    expect(completion.json.usage.completion_tokens).toBeGreaterThan(0);
  });
});

describe("browser and network guards", () => {
  let server: InferenceServer;
  beforeAll(async () => {
    ({ server } = await startServer({}, 0, 64, { access: { allowedHosts: ["api.example.com", ".internal.example"], corsOrigins: ["https://app.example.com"] } }));
  });
  afterAll(() => server.close());
  const request = { prompt: "ab", max_tokens: 2, temperature: 0 };

  it("requires content-type: application/json on POST (415 otherwise)", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const refused = await send(server, "POST", "/v1/completions", JSON.stringify(request), { "content-type": type });
      expect(refused.status, type).toBe(415);
      expect(refused.json.error).toMatchObject({ code: "unsupported_media_type" });
      expect(refused.json.error.message).toContain(`got '${type.split(";")[0]}'`);
    }
    expect((await send(server, "POST", "/v1/completions", request, { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });

  it("answers only Host headers that are IP addresses, localhost or listed (DNS rebinding)", async () => {
    const refused = await send(server, "GET", "/v1/models", undefined, { host: "evil.example:8000" });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ type: "permission_error", code: "host_not_allowed" });
    expect(refused.json.error.message).toMatch(/Host 'evil\.example:8000' is not allowed.*--allowed-hosts evil\.example/);
    expect((await send(server, "POST", "/v1/completions", request, { host: "evil.example" })).status).toBe(403);
    for (const host of ["127.0.0.1:1234", "[::1]:80", "localhost:8000", "dev.localhost", "api.example.com", "API.example.com:443", "node7.internal.example", "10.1.2.3"]) {
      expect((await send(server, "GET", "/v1/models", undefined, { host })).status, host).toBe(200);
    }
    expect((await send(server, "GET", "/health", undefined, { host: "evil.example" })).status).toBe(200);
  });

  it("answers CORS for listed origins only, preflight included", async () => {
    const preflight = await send(server, "OPTIONS", "/v1/chat/completions", undefined, {
      origin: "https://app.example.com",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      "access-control-allow-origin": "https://app.example.com",
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "authorization, content-type",
      vary: "Origin",
    });
    const allowed = await send(server, "POST", "/v1/completions", request, { origin: "https://app.example.com" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example.com");

    const foreign = await send(server, "OPTIONS", "/v1/completions", undefined, { origin: "https://evil.example", "access-control-request-method": "POST" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();
    const foreignPost = await send(server, "POST", "/v1/completions", request, { origin: "https://evil.example" });
    expect(foreignPost.status).toBe(403);
    expect(foreignPost.json.error).toMatchObject({ code: "origin_not_allowed" });
    expect(foreignPost.json.error.message).toMatch(/--cors-origin https:\/\/evil\.example/);
    // Without an Origin (curl, SDKs) nothing changes.
    const plain = await send(server, "POST", "/v1/completions", request);
    expect(plain.status).toBe(200);
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("reports the model's name in /v1/models", async () => {
    const models = await send(server, "GET", "/v1/models");
    expect(models.json.data.map((card: { id: string }) => card.id)).toEqual(["tiny-llama"]);
  });
});
