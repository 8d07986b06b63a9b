// Turns Hugging Face tokens back into raw bytes for the decoder layouts LLM tokenizers use (ByteLevel, and the
// SentencePiece-style Replace('▁'→' ') + ByteFallback + Fuse + Strip sequence or Metaspace), so streaming can hold
// back incomplete UTF-8 exactly. Other decoder layouts are not supported (undefined).

import { byteLevelDecode } from "./byte-level-alphabet.ts";
import { byteFallbackValue, concatenateBytes, utf8Bytes } from "./utf8.ts";

/** Bytes of already-filtered tokens; `isAddedToken` tells added tokens, which are kept verbatim by byte-level decoding. */
export type HfTokenByteDecoder = (tokens: readonly string[], isAddedToken: (token: string) => boolean) => Uint8Array;

interface DecoderConfig {
  type?: string;
  decoders?: DecoderConfig[];
  pattern?: { String?: string };
  content?: string;
  replacement?: string;
  start?: number;
  stop?: number;
}

interface SentencePieceLayout {
  marker: string;
  byteFallback: boolean;
  /** Metaspace: a leading space of the first token is dropped. */
  stripFirstTokenSpace: boolean;
  /** Strip decoder after Fuse: up to this many leading spaces of the whole text are dropped. */
  stripLeadingSpaces: number;
}

function sentencePieceLayout(config: DecoderConfig): SentencePieceLayout | undefined {
  if (config.type === "Metaspace") {
    return { marker: config.replacement ?? "\u2581", byteFallback: false, stripFirstTokenSpace: true, stripLeadingSpaces: 0 };
  }
  if (config.type !== "Sequence" || !Array.isArray(config.decoders)) return undefined;
  const layout: SentencePieceLayout = { marker: "", byteFallback: false, stripFirstTokenSpace: false, stripLeadingSpaces: 0 };
  let fused = false;
  for (const decoder of config.decoders) {
    if (decoder.type === "Replace" && decoder.content === " " && typeof decoder.pattern?.String === "string" && layout.marker === "") {
      layout.marker = decoder.pattern.String;
    } else if (decoder.type === "ByteFallback") {
      layout.byteFallback = true;
    } else if (decoder.type === "Fuse") {
      fused = true;
    } else if (decoder.type === "Strip" && decoder.content === " " && fused && (decoder.stop ?? 0) === 0) {
      layout.stripLeadingSpaces = decoder.start ?? 0;
    } else {
      return undefined;
    }
  }
  return layout.marker === "" ? undefined : layout;
}

export function hfTokenByteDecoder(decoderConfig: unknown): HfTokenByteDecoder | undefined {
  if (decoderConfig === null || typeof decoderConfig !== "object") return undefined;
  const config = decoderConfig as DecoderConfig;
  if (config.type === "ByteLevel") {
    return (tokens, isAddedToken) =>
      concatenateBytes(tokens.map((token) => (isAddedToken(token) ? utf8Bytes(token) : byteLevelDecode(token, utf8Bytes))));
  }
  const layout = sentencePieceLayout(config);
  if (layout === undefined) return undefined;
  return (tokens) => {
    const pieces = tokens.map((token) => {
      const byte = layout.byteFallback ? byteFallbackValue(token) : undefined;
      return byte !== undefined ? Uint8Array.of(byte) : utf8Bytes(token.replaceAll(layout.marker, " "));
    });
    if (layout.stripFirstTokenSpace && pieces.length > 0 && pieces[0][0] === 0x20) pieces[0] = pieces[0].subarray(1);
    let bytes = concatenateBytes(pieces);
    let stripped = 0;
    while (stripped < layout.stripLeadingSpaces && bytes[stripped] === 0x20) stripped++;
    if (stripped > 0) bytes = bytes.subarray(stripped);
    return bytes;
  };
}
