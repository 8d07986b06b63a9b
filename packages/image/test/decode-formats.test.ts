// decodeImage on files written here byte by byte (a minimal PNG writer, so the stored pixels are known exactly and no
// encoder of ours or sharp's decides them), with the values Pillow 9.4.0 gives for the same files through
// pil-reference.py's load_rgb (EXIF transpose, alpha composited onto white, RGB): grayscale, gray + alpha, palette with
// transparency, 16-bit RGB, an embedded ICC profile (ignored, as Pillow does), every EXIF orientation, 1-pixel-wide
// images, the pixel limit at its edge, headers of huge images, truncated and corrupt files, and readImageFile's errors.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";

import { decodeImage, defaultMaxImagePixels, ImageError, imageContentHash, maxImageFileBytes, readImageFile, readImageSize } from "../src/index.ts";

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "decode-formats-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = crcTable[(c ^ byte) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
/** A PNG of `rows` (each row's filter byte 0 included), colour type and bit depth as the PNG spec numbers them. */
function png(width: number, height: number, colorType: number, depth: number, rows: number[], extra: Buffer[] = []): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  header[9] = colorType;
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk("IHDR", header), ...extra, chunk("IDAT", zlib.deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0))]);
}
/** An 8-bit RGB PNG of the given bytes (width × height × 3). */
function rgbPng(width: number, height: number, pixels: number[]): Buffer {
  const rows: number[] = [];
  for (let y = 0; y < height; y++) rows.push(0, ...pixels.slice(y * width * 3, (y + 1) * width * 3));
  return png(width, height, 2, 8, rows);
}
/** The message of the error `promise` rejects with (checking it is an ImageError), or "" when it resolves. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    return (error as Error).message;
  }
}

describe("pixels as Pillow decodes them", () => {
  it("8-bit RGB: the stored bytes, in R, G, B order", async () => {
    const pixels = [10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 210, 220, 1, 2, 3, 250, 251, 252];
    const image = await decodeImage(rgbPng(3, 2, pixels));
    expect([image.width, image.height, image.storedWidth, image.storedHeight, image.format]).toEqual([3, 2, 3, 2, "png"]);
    expect([...image.pixels]).toEqual(pixels);
  });

  it("grayscale replicated into R, G, B", async () => {
    expect([...(await decodeImage(png(3, 1, 0, 8, [0, 0, 128, 255]))).pixels]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it("gray + alpha, RGBA and a palette with transparency: composited onto white (Pillow's values, within 1 level)", async () => {
    const cases: [Buffer, number[]][] = [
      [png(3, 1, 4, 8, [0, 100, 0, 50, 255, 200, 128]), [255, 255, 255, 50, 50, 50, 227, 227, 227]],
      [png(3, 1, 6, 8, [0, 0, 0, 0, 0, 0, 0, 0, 255, 200, 100, 50, 128]), [255, 255, 255, 0, 0, 0, 227, 177, 152]],
      [
        png(3, 1, 3, 8, [0, 0, 1, 2], [chunk("PLTE", Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255])), chunk("tRNS", Buffer.from([255, 0, 64]))]),
        [255, 0, 0, 255, 255, 255, 191, 191, 255],
      ],
    ];
    for (const [file, pillow] of cases) {
      const pixels = [...(await decodeImage(file)).pixels];
      expect(pixels.length).toBe(pillow.length);
      pixels.forEach((value, index) => expect(Math.abs(value - pillow[index]), `byte ${index}: ${value}, Pillow ${pillow[index]}`).toBeLessThanOrEqual(1));
    }
  });

  it("16-bit RGB: the high byte of each sample, as Pillow keeps it", async () => {
    const file = png(2, 1, 2, 16, [0, 0x12, 0x34, 0xab, 0xcd, 0xff, 0xff, 0x80, 0x00, 0x00, 0xff, 0x7f, 0xff]);
    expect([...(await decodeImage(file)).pixels]).toEqual([18, 171, 255, 128, 0, 127]);
  });

  it("an embedded ICC profile is ignored: the stored bytes, not colours converted through it", async () => {
    // Display P3's profile, as sharp ships it; converting through it would turn (200, 50, 50) into about (218, 24, 41).
    const withP3 = await sharp({ create: { width: 1, height: 1, channels: 3, background: "#808080" } }).withIccProfile("p3").png().toBuffer();
    const profile = (await sharp(withP3).metadata()).icc!;
    expect(profile.length).toBeGreaterThan(100);
    const iccp = chunk("iCCP", Buffer.concat([Buffer.from("p3\0\0", "latin1"), zlib.deflateSync(profile)]));
    const file = png(2, 1, 2, 8, [0, 200, 50, 50, 10, 220, 30], [iccp]);
    expect((await sharp(file).metadata()).icc?.length).toBe(profile.length);
    expect([...(await decodeImage(file)).pixels]).toEqual([200, 50, 50, 10, 220, 30]);
  });

  it("1-pixel images and 1-pixel-wide or -high images", async () => {
    expect([...(await decodeImage(rgbPng(1, 1, [7, 8, 9]))).pixels]).toEqual([7, 8, 9]);
    expect(await decodeImage(rgbPng(1, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]))).toMatchObject({ width: 1, height: 3 });
    expect(await decodeImage(rgbPng(3, 1, [1, 2, 3, 4, 5, 6, 7, 8, 9]))).toMatchObject({ width: 3, height: 1 });
    expect(await readImageSize(rgbPng(1, 2, [1, 2, 3, 4, 5, 6]))).toEqual({ width: 1, height: 2, format: "png" });
  });

  it("GIF (a palette image written by Pillow) and TIFF are read too", async () => {
    // Pillow 9.4.0: a 3 × 2 "P" image, palette red, blue, green, pixels 0 1 2 / 2 1 0, saved as GIF.
    const gif = await decodeImage(Buffer.from("R0lGODdhAwACAIEAAP8AAAAA/wrIHgAAACwAAAAAAwACAAAICQABBBAgIACAgAA7", "base64"));
    expect(gif.format).toBe("gif");
    expect([...gif.pixels]).toEqual([255, 0, 0, 0, 0, 255, 10, 200, 30, 10, 200, 30, 0, 0, 255, 255, 0, 0]);
    const raw = Buffer.from([1, 2, 3, 40, 50, 60, 200, 100, 0, 9, 8, 7]);
    const tiff = await decodeImage(await sharp(raw, { raw: { width: 2, height: 2, channels: 3 } }).tiff({ compression: "none" }).toBuffer());
    expect(tiff.format).toBe("tiff");
    expect([...tiff.pixels]).toEqual([...raw]);
  });
});

describe("EXIF orientation (Pillow's ImageOps.exif_transpose)", () => {
  // Stored 3 × 2, every pixel different; where stored pixel (x, y) lands for each orientation, checked against Pillow.
  const width = 3;
  const height = 2;
  const stored = (x: number, y: number) => [x * 100, y * 200, 30 + x * 10 + y];
  const displayed: Record<number, (x: number, y: number) => number[]> = {
    1: (x, y) => stored(x, y),
    2: (x, y) => stored(width - 1 - x, y),
    3: (x, y) => stored(width - 1 - x, height - 1 - y),
    4: (x, y) => stored(x, height - 1 - y),
    5: (x, y) => stored(y, x),
    6: (x, y) => stored(y, height - 1 - x),
    7: (x, y) => stored(width - 1 - y, height - 1 - x),
    8: (x, y) => stored(width - 1 - y, x),
  };
  const raw = Buffer.from(Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => stored(x, y)).flat()).flat());

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("orientation %i", async (orientation) => {
    const webp = await sharp(raw, { raw: { width, height, channels: 3 } }).webp({ lossless: true }).withMetadata({ orientation }).toBuffer();
    expect((await sharp(webp).metadata()).orientation).toBe(orientation);
    const turned = orientation >= 5;
    const [outWidth, outHeight] = turned ? [height, width] : [width, height];
    const image = await decodeImage(webp);
    expect([image.width, image.height, image.storedWidth, image.storedHeight]).toEqual([outWidth, outHeight, width, height]);
    expect(await readImageSize(webp)).toEqual({ width: outWidth, height: outHeight, format: "webp" });
    const expected = Array.from({ length: outHeight }, (_, y) => Array.from({ length: outWidth }, (_, x) => displayed[orientation](x, y)).flat()).flat();
    expect([...image.pixels]).toEqual(expected);
  });
});

describe("limits", () => {
  /** A PNG whose header says width × height (its pixel data cut short: only the header is read). */
  const header = (width: number, height: number) => png(width, height, 2, 8, [0, 0, 0, 0]);

  it("the pixel limit: equal is accepted, one more is refused, naming the image", async () => {
    const file = rgbPng(5, 2, Array.from({ length: 30 }, (_, index) => index));
    expect((await decodeImage(file, { maxPixels: 10 })).pixels.length).toBe(30);
    expect(await readImageSize(file, { maxPixels: 10 })).toEqual({ width: 5, height: 2, format: "png" });
    expect(await failure(decodeImage(file, { maxPixels: 9, source: "small.png" }))).toBe("small.png: is 5×2 = 0.0 megapixels, more than the limit of 0.0");
    expect(await failure(readImageSize(file, { maxPixels: 9 }))).toBe("image: is 5×2 = 0.0 megapixels, more than the limit of 0.0");
  });

  it("the default limit of 50 megapixels, read from the header alone", async () => {
    expect(defaultMaxImagePixels).toBe(50_000_000);
    expect(await readImageSize(header(10_000, 5_000))).toEqual({ width: 10_000, height: 5_000, format: "png" });
    expect(await failure(readImageSize(header(10_000, 5_001)))).toBe("image: is 10000×5001 = 50.0 megapixels, more than the limit of 50.0");
    expect(await failure(readImageSize(header(10_000, 5_001), { maxPixels: 60_000_000 }))).toBe("");
    // Beyond sharp's own limit (268 megapixels) the header is still read, and our message given.
    expect(await failure(readImageSize(header(20_000, 20_000)))).toBe("image: is 20000×20000 = 400.0 megapixels, more than the limit of 50.0");
    expect(await failure(decodeImage(header(20_000, 20_000)))).toBe("image: is 20000×20000 = 400.0 megapixels, more than the limit of 50.0");
    expect(await readImageSize(header(20_000, 20_000), { maxPixels: 400_000_000 })).toMatchObject({ width: 20_000, height: 20_000 });
  });
});

describe("what is not an image", () => {
  it("names the image (default \"image\"), says what was expected, keeps sharp's error as the cause", async () => {
    for (const decode of [decodeImage, readImageSize]) {
      let caught: unknown;
      await decode(Buffer.from("hello")).catch((error: unknown) => (caught = error));
      expect((caught as Error).message).toBe("image: is not an image sharp can read (expected JPEG, PNG, WebP, GIF, TIFF or AVIF): unsupported image format");
      expect((caught as ImageError).cause).toBeInstanceOf(Error);
      expect(await failure(decode(new Uint8Array(0)))).toBe("image: is empty (0 bytes); expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image");
    }
    expect(await failure(decodeImage(Buffer.from("hello"), { source: "upload.png" }))).toBe(
      "upload.png: is not an image sharp can read (expected JPEG, PNG, WebP, GIF, TIFF or AVIF): unsupported image format",
    );
  });

  it("a corrupt header: the first line of sharp's message", async () => {
    const file = rgbPng(2, 1, [1, 2, 3, 4, 5, 6]);
    file.writeUInt32BE(0, 16); // width 0
    expect(await failure(decodeImage(file, { source: "zero.png" }))).toBe(
      "zero.png: is not an image sharp can read (expected JPEG, PNG, WebP, GIF, TIFF or AVIF): corrupt header: pngload_buffer: invalid image width",
    );
  });

  it("a truncated file whose header reads: could not be decoded, naming the format", async () => {
    const file = rgbPng(3, 2, Array.from({ length: 18 }, (_, index) => index * 9));
    const cut = file.subarray(0, file.length - 20);
    expect(await readImageSize(cut)).toEqual({ width: 3, height: 2, format: "png" });
    let caught: unknown;
    await decodeImage(cut, { source: "cut.png" }).catch((error: unknown) => (caught = error));
    expect(caught).toBeInstanceOf(ImageError);
    expect((caught as Error).message).toBe("cut.png: could not be decoded (png): pngload_buffer: end of stream");
    expect((caught as ImageError).cause).toBeInstanceOf(Error);
  });

  it("the content hash is the SHA-256 of the encoded bytes, hex", async () => {
    expect(imageContentHash(Buffer.from("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const file = rgbPng(1, 1, [1, 2, 3]);
    expect((await decodeImage(file)).contentHash).toBe(imageContentHash(file));
  });
});

describe("readImageFile", () => {
  it("passes its options on, with the path as the source", async () => {
    const file = path.join(directory, "four.png");
    fs.writeFileSync(file, rgbPng(2, 2, Array.from({ length: 12 }, (_, index) => index)));
    expect(await readImageFile(file, { maxPixels: 4 })).toMatchObject({ width: 2, height: 2, format: "png" });
    expect(await failure(readImageFile(file, { maxPixels: 3 }))).toBe(`${file}: is 2×2 = 0.0 megapixels, more than the limit of 0.0`);
    expect(await failure(readImageFile(file, { maxPixels: 3, source: "upload 1" }))).toBe("upload 1: is 2×2 = 0.0 megapixels, more than the limit of 0.0");
  });

  it("a truncated file is named by its path", async () => {
    const file = path.join(directory, "cut.png");
    const whole = rgbPng(3, 2, Array.from({ length: 18 }, (_, index) => index * 9));
    fs.writeFileSync(file, whole.subarray(0, whole.length - 20));
    expect(await failure(readImageFile(file))).toBe(`${file}: could not be decoded (png): pngload_buffer: end of stream`);
  });

  it("a missing file, a folder, a path through a file: what went wrong, the cause kept", async () => {
    const missing = path.join(directory, "nope.jpg");
    let caught: unknown;
    await readImageFile(missing).catch((error: unknown) => (caught = error));
    expect((caught as Error).message).toBe(`${missing}: file not found`);
    expect(((caught as ImageError).cause as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect(await failure(readImageFile(directory))).toBe(`${directory}: is not a regular file; expected an image file (JPEG, PNG, WebP, GIF, TIFF or AVIF)`);
    const file = path.join(directory, "plain.txt");
    fs.writeFileSync(file, "x");
    const through = path.join(file, "inner.png");
    caught = undefined;
    await readImageFile(through).catch((error: unknown) => (caught = error));
    expect((caught as Error).message).toBe(`${through}: cannot be read (ENOTDIR)`);
    expect(((caught as ImageError).cause as NodeJS.ErrnoException).code).toBe("ENOTDIR");
  });

  it("files over 64 MiB are refused before reading; 64 MiB exactly is read", async () => {
    expect(maxImageFileBytes).toBe(64 * 1024 * 1024);
    const file = path.join(directory, "big.png");
    fs.writeFileSync(file, "");
    fs.truncateSync(file, maxImageFileBytes + 1);
    expect(await failure(readImageFile(file))).toBe(`${file}: is 64.0 MiB, more than the limit of 64 MiB for an image file`);
    fs.truncateSync(file, maxImageFileBytes + 200 * 1024);
    expect(await failure(readImageFile(file))).toBe(`${file}: is 64.2 MiB, more than the limit of 64 MiB for an image file`);
    fs.truncateSync(file, maxImageFileBytes);
    expect(await failure(readImageFile(file))).toMatch(/is not an image sharp can read/);
    fs.rmSync(file);
  });
});
