// TEST FIXTURE READER ONLY: parses the metadata key/value section of a GGUF file (no tensors) so the tokenizer tests
// can take an embedded vocabulary without depending on the models package's GGUF reader. String arrays come back
// as string[], numeric arrays as typed arrays, 64-bit integers as bigint.

import { readFileSync } from "node:fs";

const valueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

class MetadataCursor {
  private offset = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder("utf-8");

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  uint32(): number {
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }

  count(): number {
    return Number(this.uint64());
  }

  string(): string {
    const length = this.count();
    const text = this.decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }

  scalar(type: number): unknown {
    const view = this.view;
    const at = this.offset;
    const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    if (type === valueType.string) return this.string();
    const size = sizes[type];
    if (size === undefined) throw new Error(`GGUF fixture reader: unknown value type ${type}`);
    this.offset += size;
    switch (type) {
      case valueType.uint8: return view.getUint8(at);
      case valueType.int8: return view.getInt8(at);
      case valueType.uint16: return view.getUint16(at, true);
      case valueType.int16: return view.getInt16(at, true);
      case valueType.uint32: return view.getUint32(at, true);
      case valueType.int32: return view.getInt32(at, true);
      case valueType.float32: return view.getFloat32(at, true);
      case valueType.bool: return view.getUint8(at) !== 0;
      case valueType.uint64: return view.getBigUint64(at, true);
      case valueType.int64: return view.getBigInt64(at, true);
      default: return view.getFloat64(at, true);
    }
  }

  value(type: number): unknown {
    if (type !== valueType.array) return this.scalar(type);
    const itemType = this.uint32();
    const length = this.count();
    const typed: Record<number, (length: number) => { [index: number]: number | bigint }> = {
      0: (n) => new Uint8Array(n), 1: (n) => new Int8Array(n), 2: (n) => new Uint16Array(n), 3: (n) => new Int16Array(n),
      4: (n) => new Uint32Array(n), 5: (n) => new Int32Array(n), 6: (n) => new Float32Array(n),
      10: (n) => new BigUint64Array(n), 11: (n) => new BigInt64Array(n), 12: (n) => new Float64Array(n),
    };
    const make = typed[itemType];
    if (make !== undefined) {
      const array = make(length);
      for (let index = 0; index < length; index++) array[index] = this.scalar(itemType) as number & bigint;
      return array;
    }
    const items: unknown[] = [];
    for (let index = 0; index < length; index++) items.push(this.value(itemType));
    return items;
  }
}

/** The metadata of a GGUF file (v2 or v3) as a Map, for tests. */
export function readGgufMetadataForTests(path: string): Map<string, unknown> {
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 4).toString("latin1") !== "GGUF") throw new Error(`${path} is not a GGUF file`);
  const cursor = new MetadataCursor(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  cursor.uint32(); // magic
  const version = cursor.uint32();
  if (version < 2) throw new Error(`GGUF fixture reader: version ${version} is not supported`);
  cursor.count(); // tensor count
  const entries = cursor.count();
  const metadata = new Map<string, unknown>();
  for (let index = 0; index < entries; index++) {
    const key = cursor.string();
    metadata.set(key, cursor.value(cursor.uint32()));
  }
  return metadata;
}
