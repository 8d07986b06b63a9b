// Little-endian 16-bit reads and writes inside a byte array (GGUF stores every f16 scale little-endian).

export function readUint16(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8);
}

export function writeUint16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}

/** Reads a byte as a signed int8. */
export function readInt8(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 24) >> 24;
}
