// A minimal reader of the protocol-buffers wire format (what SentencePiece's tokenizer.model is written in): fields
// as (number, wire type, value), varints, 32/64-bit fixed values and length-delimited bytes. It knows no schema; the
// caller interprets each field. Every read is bounds-checked and fails with an Error naming the source and offset.

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

export interface ProtobufField {
  /** The field number from the schema (e.g. 1 for ModelProto.pieces). */
  number: number;
  wireType: number;
  /** varint: the value as an unsigned number (values beyond 2^53 lose precision, which no field read here reaches). */
  varint?: number;
  /** varint: the value read as a signed 32-bit integer (int32 fields store −1 as ten bytes of two's complement). */
  int32?: number;
  /** fixed32: the 4 bytes; fixed64: the 8 bytes; length-delimited: the payload. */
  bytes?: Uint8Array;
  /** Offset of the field's key in the buffer, for error messages. */
  offset: number;
  /** length-delimited: offset of the payload (after the key and the length), the base offset of a nested message. */
  payloadOffset?: number;
}

export class ProtobufError extends Error {
  override name = "ProtobufError";
}

/** Iterates the fields of one message (a whole buffer or a length-delimited payload). */
export function* protobufFields(buffer: Uint8Array, source: string, baseOffset = 0): Generator<ProtobufField> {
  let position = 0;
  const fail = (problem: string): never => {
    throw new ProtobufError(`${source}: ${problem} at byte ${baseOffset + position} (not a valid protobuf message, or truncated)`);
  };
  let low32 = 0; // the low 32 bits of the last varint read
  const readVarint = (): number => {
    let result = 0;
    let multiplier = 1;
    low32 = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (position >= buffer.length) fail("a varint runs past the end");
      const byte = buffer[position++];
      result += (byte & 0x7f) * multiplier;
      if (shift < 32) low32 = (low32 | ((byte & 0x7f) << shift)) >>> 0;
      if ((byte & 0x80) === 0) return result;
      multiplier *= 128;
    }
    return fail("a varint is longer than 10 bytes");
  };
  const take = (length: number): Uint8Array => {
    if (length > buffer.length - position) fail(`a field of ${length} bytes runs past the end (${buffer.length - position} left)`);
    const bytes = buffer.subarray(position, position + length);
    position += length;
    return bytes;
  };
  while (position < buffer.length) {
    const offset = baseOffset + position;
    const key = readVarint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) fail("field number 0");
    switch (wireType) {
      case WireType.varint:
        yield { number, wireType, varint: readVarint(), int32: low32 | 0, offset };
        break;
      case WireType.fixed64:
        yield { number, wireType, bytes: take(8), offset };
        break;
      case WireType.lengthDelimited: {
        const length = readVarint();
        const payloadOffset = baseOffset + position;
        yield { number, wireType, bytes: take(length), offset, payloadOffset };
        break;
      }
      case WireType.fixed32:
        yield { number, wireType, bytes: take(4), offset };
        break;
      default:
        fail(`unsupported wire type ${wireType} (field ${number})`);
    }
  }
}

/** The float stored in a fixed32 field. */
export function fixed32Float(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The UTF-8 string of a length-delimited field; invalid UTF-8 is an error naming `what`. */
export function protobufString(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufError(`${what}: not valid UTF-8`);
  }
}
