// Decoding through sharp: EXIF orientation applied, alpha composited onto white, grayscale and 16-bit PNGs turned into
// 8-bit RGB, and bad input refused with a message that names the image.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";

import { decodeImage, ImageError, imageContentHash, readImageFile, readImageSize } from "../src/index.ts";

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "decode-image-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A 4×2 RGB image: left half red, right half blue. */
function redBlue(): Buffer {
  const pixels = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) pixels.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  return pixels;
}

function pixelAt(image: { width: number; pixels: Uint8Array }, x: number, y: number): number[] {
  const at = (y * image.width + x) * 3;
  return [...image.pixels.subarray(at, at + 3)];
}

describe("decodeImage", () => {
  it("reads a PNG as RGB bytes and hashes the encoded bytes", async () => {
    const png = await sharp(redBlue(), { raw: { width: 4, height: 2, channels: 3 } }).png().toBuffer();
    const image = await decodeImage(png);
    expect(image).toMatchObject({ width: 4, height: 2, format: "png", contentHash: imageContentHash(png) });
    expect(pixelAt(image, 0, 0)).toEqual([255, 0, 0]);
    expect(pixelAt(image, 3, 1)).toEqual([0, 0, 255]);
  });

  it("applies the EXIF orientation (6: rotate 90° clockwise)", async () => {
    const jpeg = await sharp(redBlue(), { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const image = await decodeImage(jpeg);
    expect([image.width, image.height, image.storedWidth, image.storedHeight]).toEqual([2, 4, 4, 2]);
    // Rotated clockwise, the red left half is on top.
    expect(pixelAt(image, 0, 0)[0]).toBeGreaterThan(200);
    expect(pixelAt(image, 0, 3)[2]).toBeGreaterThan(200);
    // The header alone gives the same size, for laying the image out in a prompt before it is decoded.
    expect(await readImageSize(jpeg)).toEqual({ width: 2, height: 4, format: "jpeg" });
  });

  it("composites transparency onto white and keeps opaque pixels", async () => {
    const rgba = Buffer.from([0, 0, 0, 0, 0, 0, 0, 255, 200, 100, 50, 128]);
    const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
    const image = await decodeImage(png);
    expect(pixelAt(image, 0, 0)).toEqual([255, 255, 255]);
    expect(pixelAt(image, 1, 0)).toEqual([0, 0, 0]);
    const half = pixelAt(image, 2, 0);
    expect(half[0]).toBeGreaterThan(220);
    expect(half[2]).toBeGreaterThan(145);
    expect(half[2]).toBeLessThan(160);
  });

  it("replicates grayscale into R, G and B, 8-bit and 16-bit", async () => {
    const gray = await sharp(Buffer.from([0, 128, 255]), { raw: { width: 3, height: 1, channels: 1 } }).png().toBuffer();
    expect([...(await decodeImage(gray)).pixels]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    const sixteen = await sharp(Buffer.from([0, 128, 255]), { raw: { width: 3, height: 1, channels: 1 } }).toColourspace("grey16").png().toBuffer();
    expect((await sharp(sixteen).metadata()).depth).toBe("ushort");
    expect([...(await decodeImage(sixteen)).pixels]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it("refuses what is not an image, naming it", async () => {
    await expect(decodeImage(Buffer.from("hello"), { source: "upload.png" })).rejects.toThrow(/^upload.png: is not an image sharp can read/);
    await expect(decodeImage(new Uint8Array(0), { source: "x" })).rejects.toThrow(/x: is empty/);
    const png = await sharp(redBlue(), { raw: { width: 4, height: 2, channels: 3 } }).png().toBuffer();
    await expect(decodeImage(png.subarray(0, 40), { source: "cut.png" })).rejects.toThrow(ImageError);
    await expect(readImageSize(Buffer.from("hello"), { source: "upload.png" })).rejects.toThrow(/^upload.png: is not an image sharp can read/);
  });

  it("refuses an image over the pixel limit before decoding it", async () => {
    const big = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#808080" } }).png().toBuffer();
    await expect(decodeImage(big, { source: "big.png", maxPixels: 50_000 })).rejects.toThrow(/big.png: is 300×200 = 0.1 megapixels, more than the limit of 0.1/);
  });
});

describe("readImageFile", () => {
  it("reads a file, and names a missing file or a directory", async () => {
    const file = path.join(directory, "image.webp");
    fs.writeFileSync(file, await sharp(redBlue(), { raw: { width: 4, height: 2, channels: 3 } }).webp({ lossless: true }).toBuffer());
    expect(await readImageFile(file)).toMatchObject({ width: 4, height: 2, format: "webp" });
    await expect(readImageFile(path.join(directory, "nope.jpg"))).rejects.toThrow(/nope.jpg: file not found/);
    await expect(readImageFile(directory)).rejects.toThrow(/is not a regular file/);
  });
});
