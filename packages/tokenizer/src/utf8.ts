// UTF-8 helpers shared by the tokenizers: encoding text, joining byte pieces and lenient decoding.

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** UTF-8 decoding that replaces invalid sequences with U+FFFD, as the tokenizers' decoders do. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

export function concatenateBytes(pieces: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    result.set(piece, offset);
    offset += piece.length;
  }
  return result;
}

/** Parses a SentencePiece byte-fallback token such as "<0xE2>"; undefined for any other token. */
export function byteFallbackValue(token: string): number | undefined {
  const match = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
  return match ? Number.parseInt(match[1], 16) : undefined;
}

export function byteFallbackToken(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}
