// Decoding an image file's bytes into RGB pixels with sharp (libvips): JPEG, PNG, WebP, GIF, TIFF, AVIF, as users hold
// them. The pixels are what the Idefics3 processor expects from transformers' load_image + convert_to_rgb: the EXIF
// orientation applied (ImageOps.exif_transpose), transparency composited onto white, grayscale replicated into R, G
// and B, 16-bit samples reduced to 8 bits. Like Pillow, an embedded ICC profile is ignored (sharp would otherwise
// convert the colours through it: rocket.jpg in ../shared/models/images then differs from Pillow by 7 levels). Decoding runs on libuv's thread pool (sharp is
// asynchronous), so it does not hold up the event loop.

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";

import sharp from "sharp";

import { ImageError } from "./image-error.ts";
import { rgbImage, type RgbImage } from "./rgb-image.ts";

/** Options of {@link decodeImage} and {@link readImageSize}. */
export interface DecodeImageOptions {
  /** Names the image in errors (a path, "image 2", a request field). Default "image". */
  source?: string;
  /** Refuse images with more pixels than this (width × height, before any resize). Default 50 megapixels. */
  maxPixels?: number;
}

/** Decoded RGB pixels (EXIF orientation applied) and what the encoded file was. */
export interface DecodedImage extends RgbImage {
  /** The encoded format sharp recognised ("jpeg", "png", "webp", ...). */
  readonly format: string;
  /** Width as stored, before the EXIF orientation was applied (it may swap width and height). */
  readonly storedWidth: number;
  /** Height as stored, before the EXIF orientation was applied. */
  readonly storedHeight: number;
  /** SHA-256 of the encoded bytes (hex): identifies the image for the embedding cache and the prefix cache. */
  readonly contentHash: string;
}

/** Default pixel limit: 50 megapixels (an 8K photo is 33). */
export const defaultMaxImagePixels = 50_000_000;
/** Files larger than this are refused before reading them (64 MiB). */
export const maxImageFileBytes = 64 * 1024 * 1024;

/** SHA-256 of the encoded bytes, hex. */
export function imageContentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** An image's size as decodeImage returns it (the EXIF orientation applied), read from its header. */
export interface ImageSize {
  /** Width in pixels, the EXIF orientation applied. */
  width: number;
  /** Height in pixels, the EXIF orientation applied. */
  height: number;
  /** The encoded format sharp recognised ("jpeg", "png", "webp", ...). */
  format: string;
}

interface CheckedMetadata extends ImageSize {
  storedWidth: number;
  storedHeight: number;
}

/** The header of an image: its format and sizes, refused when it is not an image or has too many pixels. */
async function readCheckedMetadata(bytes: Uint8Array, source: string, maxPixels: number): Promise<CheckedMetadata> {
  if (bytes.length === 0) throw new ImageError(source, "is empty (0 bytes); expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image");
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageError(source, `is not an image sharp can read (expected JPEG, PNG, WebP, GIF, TIFF or AVIF): ${describeSharpError(error)}`, { cause: error });
  }
  const storedWidth = metadata.width ?? 0;
  const storedHeight = metadata.height ?? 0;
  if (storedWidth < 1 || storedHeight < 1) throw new ImageError(source, `has no pixels (${storedWidth}×${storedHeight})`);
  if (storedWidth * storedHeight > maxPixels) {
    throw new ImageError(
      source,
      `is ${storedWidth}×${storedHeight} = ${(storedWidth * storedHeight / 1e6).toFixed(1)} megapixels, more than the limit of ${(maxPixels / 1e6).toFixed(1)}`,
    );
  }
  // EXIF orientations 5–8 turn the image by a quarter: width and height swap.
  const turned = (metadata.orientation ?? 1) >= 5;
  return {
    format: metadata.format ?? "unknown",
    storedWidth,
    storedHeight,
    width: turned ? storedHeight : storedWidth,
    height: turned ? storedWidth : storedHeight,
  };
}

/**
 * The size decodeImage would return, from the header alone (milliseconds for any image): what laying an image out
 * in a prompt needs before it is decoded. Throws ImageError as decodeImage does for bytes that are not an image.
 */
export async function readImageSize(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<ImageSize> {
  const { width, height, format } = await readCheckedMetadata(bytes, options.source ?? "image", options.maxPixels ?? defaultMaxImagePixels);
  return { width, height, format };
}

/** Raw output of 8-bit samples. */
// Stryker disable next-line ObjectLiteral: equivalent (libvips' sRGB is 8-bit: after toColourspace("srgb") a 16-bit image is already uchar)
const eightBitRaw = { depth: "uchar" } as const;

/** Decodes encoded image bytes into RGB pixels (see the file header). Throws ImageError when they are not a usable image. */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  const source = options.source ?? "image";
  const maxPixels = options.maxPixels ?? defaultMaxImagePixels;
  const metadata = await readCheckedMetadata(bytes, source, maxPixels);
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", pages: 1, ignoreIcc: true })
      .rotate() // applies the EXIF orientation and drops the tag
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace("srgb")
      .removeAlpha()
      .raw(eightBitRaw)
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ImageError(source, `could not be decoded (${metadata.format}): ${describeSharpError(error)}`, { cause: error });
  }
  const { data, info } = decoded;
  if (info.channels !== 3) throw new ImageError(source, `decoded to ${info.channels} channels, expected 3 (RGB)`);
  if (info.width !== metadata.width || info.height !== metadata.height) {
    throw new ImageError(source, `decoded to ${info.width}×${info.height}, but its header says ${metadata.width}×${metadata.height}`);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return {
    ...rgbImage(info.width, info.height, pixels, source),
    format: metadata.format,
    storedWidth: metadata.storedWidth,
    storedHeight: metadata.storedHeight,
    contentHash: imageContentHash(bytes),
  };
}

/** Reads and decodes an image file. `source` in errors defaults to the path. */
export async function readImageFile(path: string, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  const source = options.source ?? path;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ImageError(source, "is not a regular file; expected an image file (JPEG, PNG, WebP, GIF, TIFF or AVIF)");
    size = info.size;
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageError(source, code === "ENOENT" ? "file not found" : `cannot be read (${code ?? String(error)})`, { cause: error });
  }
  if (size > maxImageFileBytes) throw new ImageError(source, `is ${(size / 1024 ** 2).toFixed(1)} MiB, more than the limit of ${maxImageFileBytes / 1024 ** 2} MiB for an image file`);
  const bytes = await readFile(path);
  return decodeImage(bytes, { ...options, source });
}

function describeSharpError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].replace(/^Input buffer (contains|has) /, "").trim();
}
