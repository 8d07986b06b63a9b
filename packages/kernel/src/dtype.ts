// Element types the kernel computes on, and the byte layout of each.
//
// Block formats follow GGUF/ggml exactly so a tensor read from a GGUF file is computed on as stored:
//   q8_0: 32 values per block  = f16 scale d, then 32 × int8                         (34 bytes)
//   q4_0: 32 values per block  = f16 scale d, then 16 bytes of nibbles                (18 bytes)
//         byte j holds value j (low nibble) and value j + 16 (high nibble); value = d × (nibble − 8)
//   q4_k: 256 values per block = f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins, 128 bytes of nibbles (144)
//   q6_k: 256 values per block = 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 × int8 scales, f16 d (210)
//
// Interleaved dtypes hold the same blocks with 16 consecutive rows interleaved block by block (formats/interleaved.ts):
// the layout the AVX-512 matmul kernels read fastest. They are never stored in files; `Kernel.packWeight` makes them
// from q8_0 / q4_0 / q4_k / q6_k / f32 / f16 / bf16 matrices at load time, and only matmul, embedding and dequantize
// read them.
//   q8_0x16: q8_0 blocks, 16 rows interleaved                                         (16 rows × 34 bytes per block)
//   q4_0x16: q4_0 blocks, 16 rows interleaved                                         (16 rows × 18 bytes per block)
//   q4_kx16: q4_k blocks, 16 rows interleaved                                         (16 rows × 144 bytes per block)
//   q6_kx16: q6_k blocks, 16 rows interleaved                                         (16 rows × 210 bytes per block)
//   f32x16, f16x16: each column's 16 values of a 16-row group together                 (same bytes as the rows)
//   bf16x16: each column pair's 2 × 16 values of a 16-row group together (vdpbf16ps)   (same bytes as the rows)

/** dtypes tensors are stored in, in files and in memory. */
export type StorageDType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k" | "q6_k";
/** Matmul-only layouts made by Kernel.packWeight (16 rows interleaved, see the table above). */
export type InterleavedDType = "q8_0x16" | "q4_0x16" | "q4_kx16" | "q6_kx16" | "f32x16" | "f16x16" | "bf16x16";
/** Every element type a tensor can have: the storage dtypes and the matmul-only interleaved layouts. */
export type DType = StorageDType | InterleavedDType;

/** The block geometry of a dtype. */
export interface DTypeInfo {
  /** Number of values one block holds (1 for plain floats). */
  readonly blockSize: number;
  /** Bytes one block occupies. */
  readonly blockBytes: number;
  /** Numeric code shared with the native addon (see native/dtype.h). */
  readonly code: number;
}

/** Block size, block bytes and native code of every dtype (q8_0: 32 values in 34 bytes; f32: 1 value in 4 bytes). */
export const dtypeInfo: Readonly<Record<DType, DTypeInfo>> = {
  f32: { blockSize: 1, blockBytes: 4, code: 0 },
  f16: { blockSize: 1, blockBytes: 2, code: 1 },
  bf16: { blockSize: 1, blockBytes: 2, code: 2 },
  q8_0: { blockSize: 32, blockBytes: 34, code: 3 },
  q4_0: { blockSize: 32, blockBytes: 18, code: 4 },
  q4_k: { blockSize: 256, blockBytes: 144, code: 5 },
  q6_k: { blockSize: 256, blockBytes: 210, code: 6 },
  q8_0x16: { blockSize: 32, blockBytes: 34, code: 7 },
  q4_0x16: { blockSize: 32, blockBytes: 18, code: 8 },
  q4_kx16: { blockSize: 256, blockBytes: 144, code: 9 },
  q6_kx16: { blockSize: 256, blockBytes: 210, code: 10 },
  f32x16: { blockSize: 1, blockBytes: 4, code: 11 },
  f16x16: { blockSize: 1, blockBytes: 2, code: 12 },
  bf16x16: { blockSize: 1, blockBytes: 2, code: 13 },
};

/** Rows interleaved together in the interleaved dtypes. */
export const interleavedRows = 16;

/** The block dtypes that have an interleaved layout. */
export type InterleavableDType = "q8_0" | "q4_0" | "q4_k" | "q6_k" | "f32" | "f16" | "bf16";

const interleavedOf: Readonly<Record<InterleavedDType, InterleavableDType>> = {
  q8_0x16: "q8_0", q4_0x16: "q4_0", q4_kx16: "q4_k", q6_kx16: "q6_k", f32x16: "f32", f16x16: "f16", bf16x16: "bf16",
};
const interleavedFor: Readonly<Record<InterleavableDType, InterleavedDType>> = {
  q8_0: "q8_0x16", q4_0: "q4_0x16", q4_k: "q4_kx16", q6_k: "q6_kx16", f32: "f32x16", f16: "f16x16", bf16: "bf16x16",
};

/** Whether `dtype` is one of the matmul-only interleaved layouts (q8_0x16 … bf16x16). */
export function isInterleaved(dtype: DType): dtype is InterleavedDType {
  return dtype in interleavedOf;
}

/** The dtype whose blocks `dtype` holds: q8_0 for q8_0x16, q4_k for q4_kx16 …, the dtype itself otherwise. */
export function plainDType(dtype: DType): StorageDType {
  return isInterleaved(dtype) ? interleavedOf[dtype] : dtype;
}

/** The interleaved dtype for q8_0 / q4_0 / q4_k / q6_k / f32 / f16 / bf16, or undefined for dtypes that have none. */
export function interleavedDType(dtype: DType): InterleavedDType | undefined {
  return dtype in interleavedFor ? interleavedFor[dtype as InterleavableDType] : undefined;
}

/** Every storage dtype (the interleaved matmul layouts are not among them: files and `quantize` never hold those). */
export const allDTypes = (Object.keys(dtypeInfo) as DType[]).filter((dtype): dtype is StorageDType => !isInterleaved(dtype));

/** Whether `dtype` stores blocks of integers with scales (q8_0, q4_0, q4_k, q6_k and the interleaved layouts). */
export function isQuantized(dtype: DType): boolean {
  return dtypeInfo[dtype].blockSize > 1;
}

/**
 * Element types a key/value cache stores keys and values in, and that attention reads directly: f32, the two 16-bit
 * floats, and the 8-bit and 4-bit block formats (blocks of 32 values with an f16 scale: along a position's row for
 * values, along 32 positions of one channel for keys; see channel-keys.ts).
 */
export type CacheDType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0";

/** Every cache element type, widest first. */
export const cacheDTypes: readonly CacheDType[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];

/** Whether `value` names a cache element type (for checking user input). */
export function isCacheDType(value: unknown): value is CacheDType {
  return typeof value === "string" && (cacheDTypes as readonly string[]).includes(value);
}

/** Bytes a row of `columns` values takes; throws when the row is not a whole number of blocks. */
export function rowBytes(dtype: DType, columns: number): number {
  const { blockSize, blockBytes } = dtypeInfo[dtype];
  if (columns % blockSize !== 0) {
    throw new RangeError(`a ${dtype} row must hold a multiple of ${blockSize} values, got ${columns}`);
  }
  return (columns / blockSize) * blockBytes;
}
