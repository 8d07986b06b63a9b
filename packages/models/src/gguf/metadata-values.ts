// GGUF metadata value types and how their values look in JavaScript, shared by the reader and the writer.
//
//   scalars: uint8..int32, float32, float64 → number; uint64/int64 → number when it is a safe integer, else bigint;
//            bool → boolean; string → string
//   arrays:  of numbers → the typed array of the element type (Uint8Array, Int8Array, Uint16Array, Int16Array,
//            Uint32Array, Int32Array, Float32Array, Float64Array, BigUint64Array, BigInt64Array);
//            of strings → string[]; of bools → boolean[]; of arrays → unknown[] of the inner values

/** The value types of GGUF metadata (gguf_type). */
export type GgufValueTypeName =
  | "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "bool" | "string" | "array" | "uint64" | "int64" | "float64";

/** Codes as stored in the file (gguf_type). */
export const ggufValueTypeCodes: Readonly<Record<GgufValueTypeName, number>> = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
};

export const ggufValueTypeNames: readonly GgufValueTypeName[] = (Object.keys(ggufValueTypeCodes) as GgufValueTypeName[]).sort(
  (a, b) => ggufValueTypeCodes[a] - ggufValueTypeCodes[b],
);

export type GgufNumericTypeName = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "uint64" | "int64" | "float64";

/** Bytes one value of a fixed-size type takes. */
export const ggufValueBytes: Readonly<Record<GgufNumericTypeName | "bool", number>> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1, uint64: 8, int64: 8, float64: 8,
};

/** The typed arrays numeric GGUF arrays are read into. */
export type GgufTypedArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigUint64Array | BigInt64Array;

type TypedArrayConstructor = { new (buffer: ArrayBuffer): GgufTypedArray; new (length: number): GgufTypedArray; BYTES_PER_ELEMENT: number };

/** The typed-array class numeric arrays of each element type are returned as. */
export const ggufArrayClasses: Readonly<Record<GgufNumericTypeName, TypedArrayConstructor>> = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array,
  float32: Float32Array, uint64: BigUint64Array, int64: BigInt64Array, float64: Float64Array,
};

export function isNumericType(type: GgufValueTypeName): type is GgufNumericTypeName {
  return type !== "bool" && type !== "string" && type !== "array";
}

/**
 * A metadata value with its GGUF type spelled out. Arrays give their element type; the value of an array of arrays
 * is a list of GgufTypedValue (each with type "array").
 */
export interface GgufTypedValue {
  /** The value's GGUF type. */
  type: GgufValueTypeName;
  /** For an array: its elements' type. */
  elementType?: GgufValueTypeName;
  /** The value (a number, bigint, string, boolean, typed array, string[], boolean[] or GgufTypedValue[]). */
  value: unknown;
}

/** Strips the types: the plain JavaScript value the reader's `metadata` map holds. */
export function plainValue(typed: GgufTypedValue): unknown {
  if (typed.type === "array" && typed.elementType === "array") return (typed.value as GgufTypedValue[]).map(plainValue);
  return typed.value;
}
