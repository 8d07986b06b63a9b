// The ggml tensor types a GGUF file can declare: code, name and block geometry of each (so sizes and bounds can be
// checked even for types the kernel cannot compute on), and the mapping to and from kernel dtypes.

import type { DType, StorageDType } from "@infer-recipes/kernel";

/** One ggml tensor type a GGUF file can declare. */
export interface GgmlType {
  /** The numeric code stored in the GGUF tensor info. */
  code: number;
  /** ggml's name, e.g. "Q4_K". */
  name: string;
  /** Values per block (1 for plain types). */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
  /** The kernel dtype with the identical byte layout, when the kernel supports the type. */
  dtype?: DType;
}

const types: GgmlType[] = [
  { code: 0, name: "F32", blockSize: 1, blockBytes: 4, dtype: "f32" },
  { code: 1, name: "F16", blockSize: 1, blockBytes: 2, dtype: "f16" },
  { code: 2, name: "Q4_0", blockSize: 32, blockBytes: 18, dtype: "q4_0" },
  { code: 3, name: "Q4_1", blockSize: 32, blockBytes: 20 },
  { code: 6, name: "Q5_0", blockSize: 32, blockBytes: 22 },
  { code: 7, name: "Q5_1", blockSize: 32, blockBytes: 24 },
  { code: 8, name: "Q8_0", blockSize: 32, blockBytes: 34, dtype: "q8_0" },
  { code: 9, name: "Q8_1", blockSize: 32, blockBytes: 36 },
  { code: 10, name: "Q2_K", blockSize: 256, blockBytes: 84 },
  { code: 11, name: "Q3_K", blockSize: 256, blockBytes: 110 },
  { code: 12, name: "Q4_K", blockSize: 256, blockBytes: 144, dtype: "q4_k" },
  { code: 13, name: "Q5_K", blockSize: 256, blockBytes: 176 },
  { code: 14, name: "Q6_K", blockSize: 256, blockBytes: 210, dtype: "q6_k" },
  { code: 15, name: "Q8_K", blockSize: 256, blockBytes: 292 },
  { code: 16, name: "IQ2_XXS", blockSize: 256, blockBytes: 66 },
  { code: 17, name: "IQ2_XS", blockSize: 256, blockBytes: 74 },
  { code: 18, name: "IQ3_XXS", blockSize: 256, blockBytes: 98 },
  { code: 19, name: "IQ1_S", blockSize: 256, blockBytes: 50 },
  { code: 20, name: "IQ4_NL", blockSize: 32, blockBytes: 18 },
  { code: 21, name: "IQ3_S", blockSize: 256, blockBytes: 110 },
  { code: 22, name: "IQ2_S", blockSize: 256, blockBytes: 82 },
  { code: 23, name: "IQ4_XS", blockSize: 256, blockBytes: 136 },
  { code: 24, name: "I8", blockSize: 1, blockBytes: 1 },
  { code: 25, name: "I16", blockSize: 1, blockBytes: 2 },
  { code: 26, name: "I32", blockSize: 1, blockBytes: 4 },
  { code: 27, name: "I64", blockSize: 1, blockBytes: 8 },
  { code: 28, name: "F64", blockSize: 1, blockBytes: 8 },
  { code: 29, name: "IQ1_M", blockSize: 256, blockBytes: 56 },
  { code: 30, name: "BF16", blockSize: 1, blockBytes: 2, dtype: "bf16" },
  { code: 34, name: "TQ1_0", blockSize: 256, blockBytes: 54 },
  { code: 35, name: "TQ2_0", blockSize: 256, blockBytes: 66 },
  { code: 39, name: "MXFP4", blockSize: 32, blockBytes: 17 },
];

/** Every known ggml tensor type by its code (including types the kernel cannot compute on, for size checks). */
export const ggmlTypes: ReadonlyMap<number, GgmlType> = new Map(types.map((type) => [type.code, type]));

/** The ggml type code of each kernel dtype (for writing). */
export const ggmlTypeOfDType: Readonly<Record<StorageDType, number>> = {
  f32: 0,
  f16: 1,
  bf16: 30,
  q8_0: 8,
  q4_0: 2,
  q4_k: 12,
  q6_k: 14,
};

/** "Q4_K (12)", or "unknown type 99". */
export function ggmlTypeText(code: number): string {
  const type = ggmlTypes.get(code);
  return type === undefined ? `unknown type ${code}` : `${type.name} (${code})`;
}

/** Names of the types the kernel computes on, for error messages. */
export const supportedGgmlTypeNames = types.filter((type) => type.dtype !== undefined).map((type) => type.name);
