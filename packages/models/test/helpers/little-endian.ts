// Little-endian byte builders for tests that write binary formats by hand from their specifications (GGUF headers,
// ZIP records): each returns a Buffer holding one field.

/** An unsigned 16-bit field. */
export function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value);
  return bytes;
}

/** An unsigned 32-bit field. */
export function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** An unsigned 64-bit field. */
export function u64(value: bigint | number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return bytes;
}

/** A GGUF string: its UTF-8 byte length as u64, then the bytes. */
export function ggufString(value: string): Buffer {
  return Buffer.concat([u64(Buffer.byteLength(value)), Buffer.from(value)]);
}
