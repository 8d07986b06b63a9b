// readImageReference on its own (images.test.ts goes through HTTP): the bytes of data: URLs in both encodings, the
// media type, the size limit at its edge, and every refusal with its code and message naming the part; local files
// only when allowed, with what is wrong with them.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { ApiError, readImageReference } from "../src/index.ts";

const MiB = 1024 * 1024;
const source = "messages[2].content[1]";
const directory = mkdtempSync(path.join(tmpdir(), "server-image-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const read = (url: string, options: { allowLocalFiles?: boolean; maxImageBytes?: number } = {}) =>
  readImageReference({ url, source }, { maxImageBytes: options.maxImageBytes ?? MiB, allowLocalFiles: options.allowLocalFiles });

async function refusal(url: string, options: { allowLocalFiles?: boolean; maxImageBytes?: number } = {}): Promise<ApiError> {
  const error = await read(url, options).then(
    () => new Error(`accepted ${url.slice(0, 80)}`),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).status).toBe(400);
  expect((error as ApiError).param).toBe(source);
  return error as ApiError;
}

const base64 = (bytes: Uint8Array | number[], type = "image/png") => `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;

describe("data: URLs", () => {
  it("give their bytes, base64 or percent-encoded, for image types or none", async () => {
    expect(await read(base64([1, 2, 3, 250]))).toEqual({ bytes: new Uint8Array([1, 2, 3, 250]), source });
    expect((await read("data:image/svg+xml,%3Csvg%2F%3E")).bytes).toEqual(new Uint8Array(Buffer.from("<svg/>", "latin1")));
    // Percent escapes are bytes (not UTF-8 text); other characters stand for their UTF-8 bytes; a lone % for itself.
    expect((await read("data:,%FF%00%fe")).bytes).toEqual(new Uint8Array([0xff, 0, 0xfe]));
    expect((await read("data:image/png,%C3%A9\u00e9")).bytes).toEqual(new Uint8Array([0xc3, 0xa9, 0xc3, 0xa9]));
    expect((await read("data:image/png,%zz%4")).bytes).toEqual(new Uint8Array(Buffer.from("%zz%4", "latin1")));
    expect((await read("data:image/png,a%41%4g%")).bytes).toEqual(new Uint8Array(Buffer.from("aA%4g%", "latin1")));
    expect((await read(base64([7], "IMAGE/JPEG"))).bytes).toEqual(new Uint8Array([7]));
    expect((await read("data:;base64,AQID")).bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect((await read("data:image/png;name=x.png;base64,AQID")).bytes).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("may hold exactly the limit, not a byte more", async () => {
    const limit = 3 * 1000;
    expect((await read(base64(new Uint8Array(limit).fill(9)), { maxImageBytes: limit })).bytes.length).toBe(limit);
    const over = await refusal(base64(new Uint8Array(limit + 1)), { maxImageBytes: limit });
    expect(over.code).toBe("image_too_large");
    const large = await refusal(base64(new Uint8Array(Math.round(2.5 * MiB))));
    expect(large.toData()).toEqual({
      status: 400,
      param: source,
      type: "invalid_request_error",
      code: "image_too_large",
      message: `${source}: the image is 2.5 MiB, more than the limit of 1 MiB`,
    });
    // Percent-encoded data counts its decoded bytes.
    expect((await refusal(`data:image/png,${"%41".repeat(limit + 1)}`, { maxImageBytes: limit })).code).toBe("image_too_large");
    expect((await read(`data:image/png,${"%41".repeat(limit)}`, { maxImageBytes: limit })).bytes.length).toBe(limit);
  });

  it("refuse other media types and empty data", async () => {
    expect((await refusal("data:text/plain;base64,aGVsbG8=")).toData()).toMatchObject({
      code: "invalid_image",
      message: `${source}: a data: URL of type "text/plain", expected image/* (JPEG, PNG, WebP, GIF, ...)`,
    });
    expect((await refusal("data:application/octet-stream,abc")).message).toBe(`${source}: a data: URL of type "application/octet-stream", expected image/* (JPEG, PNG, WebP, GIF, ...)`);
    expect((await refusal("data:image/png;base64,")).toData()).toMatchObject({ code: "invalid_image", message: `${source}: the data: URL holds no bytes` });
    expect((await refusal("data:image/png,")).message).toBe(`${source}: the data: URL holds no bytes`);
  });
});

describe("other URLs", () => {
  it("are not fetched; the message says what to send instead", async () => {
    const inline = "send the image inline as a data: URL (data:image/jpeg;base64,...)";
    const cases: Array<[string, boolean, string]> = [
      ["https://example.com/cat.jpg", false, `${source}: "https:" URLs are not fetched; ${inline}`],
      ["ftp://example.com/cat.jpg", true, `${source}: "ftp:" URLs are not fetched; ${inline} or name a local file (file:///path)`],
      ["cat.jpg", false, `${source}: not a URL; ${inline}`],
      ["./cat.jpg", true, `${source}: not a URL; ${inline} or name a local file (file:///path)`],
    ];
    for (const [url, allowLocalFiles, message] of cases) {
      expect((await refusal(url, { allowLocalFiles })).toData(), url).toMatchObject({ code: "invalid_image_url", message });
    }
  });
});

describe("local files", () => {
  const file = path.join(directory, "cat.png");
  writeFileSync(file, new Uint8Array([4, 5, 6]));

  it("are refused unless allowed", async () => {
    for (const url of [pathToFileURL(file).href, file]) {
      expect((await refusal(url)).toData()).toMatchObject({
        code: "invalid_image_url",
        message: `${source}: local files are not accepted by this server (it was started without --allow-local-images); send a data: URL`,
      });
    }
  });

  it("are read by file:// URL or absolute path when allowed", async () => {
    expect(await read(pathToFileURL(file).href, { allowLocalFiles: true })).toEqual({ bytes: new Uint8Array([4, 5, 6]), source });
    expect(await read(file, { allowLocalFiles: true })).toEqual({ bytes: new Uint8Array([4, 5, 6]), source });
    expect((await read(file, { allowLocalFiles: true, maxImageBytes: 3 })).bytes.length).toBe(3);
  });

  it("say what is wrong with them: size, kind, existence, URL", async () => {
    const allowed = { allowLocalFiles: true };
    const big = path.join(directory, "big.png");
    writeFileSync(big, new Uint8Array(Math.round(1.5 * MiB)));
    expect((await refusal(big, allowed)).toData()).toMatchObject({ code: "image_too_large", message: `${source}: the image is 1.5 MiB, more than the limit of 1 MiB` });
    expect((await refusal(file, { allowLocalFiles: true, maxImageBytes: 2 })).code).toBe("image_too_large");
    expect((await refusal(directory, allowed)).toData()).toMatchObject({ code: "invalid_image_url", message: `${source}: ${directory} is not a regular file` });
    const missing = path.join(directory, "missing.png");
    expect((await refusal(pathToFileURL(missing).href, allowed)).toData()).toMatchObject({ code: "invalid_image_url", message: `${source}: cannot read ${missing} (ENOENT)` });
    expect((await refusal("file://remote-host/cat.png", allowed)).toData()).toMatchObject({
      code: "invalid_image_url",
      message: `${source}: "file://remote-host/cat.png" is not a valid file URL`,
    });
  });
});
