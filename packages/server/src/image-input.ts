// Images in chat requests (OpenAI's content parts {"type": "image_url", "image_url": {"url": ...}}): what a request's
// images become on their way to a vision-language model, and the two hooks a served model provides to take them —
// one where prompts are prepared (turn messages with image parts into prompt ids: the model's image layout in the
// prompt), one where the model runs (turn the images into embeddings placed at their prompt positions). The server
// itself knows nothing of image formats or encoders: it reads the bytes of data: URLs (and local files when allowed)
// and hands them over.

import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import type { ChatMessage } from "@infer-recipes/tokenizer";

import { ApiError, invalidField } from "./api-error.ts";

/** One image of a request: its encoded bytes and where it was in the request (messages[i].content[j]). */
export interface ImageInputData {
  /** The encoded image (JPEG, PNG, ...). */
  bytes: Uint8Array;
  /** Where it was in the request: messages[i].content[j]. */
  source: string;
}

/** Rows replacing the token embeddings at positions start.. of the prompt (an image's embeddings). */
export interface EmbeddingSpanData {
  /** Prompt position of the first row. */
  start: number;
  /** [rows, hidden] f32: rows replace the embeddings of positions start .. start + rows − 1. */
  embeddings: Float32Array;
}

/** Positions [start, end) whose contents are `key` besides their token ids (for the prefix cache). */
export interface ContentKeyData {
  /** First position the key covers. */
  start: number;
  /** One past the last position it covers. */
  end: number;
  /** The image's content hash (SHA-256 of its bytes). */
  key: string;
}

/** Where prompts are prepared: a chat with image parts → prompt ids and the content keys of the image positions. */
export interface ImagePromptPreparer {
  /** Images may name local files (file:// URLs or paths); default false: only data: URLs. */
  allowLocalFiles?: boolean;
  /** Largest encoded image accepted, in bytes. */
  maxImageBytes: number;
  /** `messages` hold {type: "image"} parts where the request had image_url parts, in the order of `images`; the
   *  result is the prompt with each image's layout (its tiles' placeholder tokens) in place.
   *  Rejects with an ApiError (400 naming the image) for an image it cannot use. */
  promptIds(messages: readonly ChatMessage[], images: readonly ImageInputData[]): Promise<number[]>;
}

/** What a request's images put into its prompt: their embeddings, and the identity of the positions they fill. */
export interface EncodedImages {
  /** Each image's embeddings at the positions of its <image> tokens. */
  embeddingSpans: EmbeddingSpanData[];
  /** One key per image (its content hash) over the positions it fills: the prefix cache shares those KV blocks only
   *  between requests with the same image there. */
  contentKeys: ContentKeyData[];
}

/** Where the model runs: the images' embeddings, placed at their positions of the prompt. */
export interface ServedImageEncoder {
  /** Bytes of base64 image data a request may carry beyond its text (raises the body limit). */
  maxRequestImageBytes: number;
  /** Rejects with an ApiError for an image it cannot use; may take seconds (the vision encoder). When `signal`
   *  aborts it may stop early (resolving or rejecting): the request then ends cancelled. */
  encodeImages(promptIds: readonly number[], images: readonly ImageInputData[], signal: AbortSignal): Promise<EncodedImages>;
}

/** An image_url part as the request parser keeps it until the bytes are read. */
export interface ImageReference {
  /** The part's image_url.url: a data: URL, or (when allowed) a file:// URL or an absolute path. */
  url: string;
  /** messages[i].content[j] */
  source: string;
}

const dataUrl = /^data:([^,;]*)((?:;[^,;=]+=[^,;]*)*)(;base64)?,(.*)$/s;

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/** The octets of a percent-encoded data: URL payload (WHATWG percent-decode): each %XX is the byte XX, everything
 *  else its UTF-8 bytes, a % not followed by two hex digits itself. */
function percentDecode(payload: string): Uint8Array {
  const raw = Buffer.from(payload, "utf8");
  const bytes = new Uint8Array(raw.length);
  let length = 0;
  for (let index = 0; index < raw.length; index++) {
    if (raw[index] === 0x25 && index + 2 < raw.length && isHexDigit(raw[index + 1]) && isHexDigit(raw[index + 2])) {
      bytes[length++] = Number.parseInt(raw.toString("latin1", index + 1, index + 3), 16);
      index += 2;
    } else {
      bytes[length++] = raw[index];
    }
  }
  return bytes.subarray(0, length);
}

/** The bytes of an image_url: a data: URL; with allowLocalFiles also a file:// URL or an absolute path. */
export async function readImageReference(reference: ImageReference, preparer: Pick<ImagePromptPreparer, "allowLocalFiles" | "maxImageBytes">): Promise<ImageInputData> {
  const { url, source } = reference;
  const tooLarge = (bytes: number) =>
    invalidField(source, `${source}: the image is ${(bytes / 1024 ** 2).toFixed(1)} MiB, more than the limit of ${(preparer.maxImageBytes / 1024 ** 2).toFixed(0)} MiB`, "image_too_large");
  const match = dataUrl.exec(url);
  if (match) {
    const [, mediaType, , base64, payload] = match;
    if (mediaType && !mediaType.toLowerCase().startsWith("image/")) throw invalidField(source, `${source}: a data: URL of type "${mediaType}", expected image/* (JPEG, PNG, WebP, GIF, ...)`, "invalid_image");
    if (base64 && payload.length * 0.75 > preparer.maxImageBytes + 4) throw tooLarge(Math.floor(payload.length * 0.75));
    const bytes = base64 ? Buffer.from(payload, "base64") : percentDecode(payload);
    if (bytes.length === 0) throw invalidField(source, `${source}: the data: URL holds no bytes`, "invalid_image");
    if (bytes.length > preparer.maxImageBytes) throw tooLarge(bytes.length);
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), source };
  }
  const isFile = url.startsWith("file://") || url.startsWith("/");
  if (!isFile) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    throw invalidField(
      source,
      `${source}: ${scheme ? `"${scheme}:" URLs are not fetched` : "not a URL"}; send the image inline as a data: URL (data:image/jpeg;base64,...)` +
        (preparer.allowLocalFiles ? " or name a local file (file:///path)" : ""),
      "invalid_image_url",
    );
  }
  if (!preparer.allowLocalFiles) throw invalidField(source, `${source}: local files are not accepted by this server (it was started without --allow-local-images); send a data: URL`, "invalid_image_url");
  let path: string;
  try {
    path = url.startsWith("file://") ? fileURLToPath(url) : url;
  } catch {
    throw invalidField(source, `${source}: "${url}" is not a valid file URL`, "invalid_image_url");
  }
  try {
    const info = await stat(path);
    if (!info.isFile()) throw invalidField(source, `${source}: ${path} is not a regular file`, "invalid_image_url");
    if (info.size > preparer.maxImageBytes) throw tooLarge(info.size);
    return { bytes: new Uint8Array(await readFile(path)), source };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidField(source, `${source}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, "invalid_image_url");
  }
}
