// writeGguf at edges the other writer tests leave open: a single metadata value larger than twice the header buffer,
// general.alignment written as another integer type, an array-of-arrays element that is null or not an array, the
// whole message for an unknown value type.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { readGguf, writeGguf, type GgufMetadataInput } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-writer-edges");
const typeNames = "uint8, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64";

/** The problem (after "<file>: ") of writing metadata { k: value }; nothing is left in the directory. */
function refusal(metadata: Record<string, unknown>): string {
  const directory = temporary();
  const file = path.join(directory, "m.gguf");
  const error = errorOf(() => writeGguf(file, { metadata: metadata as Record<string, GgufMetadataInput>, tensors: [] }));
  expect(fs.readdirSync(directory)).toEqual([]);
  return error.message.slice(file.length + 2);
}

describe("writeGguf", () => {
  it("writes one metadata value larger than twice the header buffer", () => {
    const text = "x".repeat(300_000); // the header buffer starts at 64 KiB and doubles
    const file = path.join(temporary(), "big.gguf");
    writeGguf(file, { metadata: { first: "a", big: text }, tensors: [] });
    const metadata = readGguf(file).metadata;
    expect(metadata.get("first")).toBe("a");
    expect(metadata.get("big")).toBe(text);
  });

  it("refuses general.alignment written as another integer type, even a power of two", () => {
    expect(refusal({ "general.alignment": { type: "uint64", value: 32n } })).toBe('field "general.alignment": expected a uint32 power of two, got uint64 32');
    expect(refusal({ "general.alignment": { type: "uint16", value: 64 } })).toBe('field "general.alignment": expected a uint32 power of two, got uint16 64');
  });

  it("refuses an array-of-arrays element that is null, or not an array though it names an element type", () => {
    const message = 'field "k": elements of an array of arrays must be { type: "array", elementType, value }';
    expect(refusal({ k: { type: "array", elementType: "array", value: [null] } })).toBe(message);
    expect(refusal({ k: { type: "array", elementType: "array", value: [{ type: "uint8", elementType: "uint8", value: new Uint8Array(1) }] } })).toBe(message);
  });

  it("refuses an undefined metadata value by name", () => {
    expect(refusal({ k: undefined })).toBe('field "k": unsupported metadata value undefined');
  });

  it("names an unknown value type with the known ones", () => {
    expect(refusal({ k: { type: "complex", value: 1 } })).toBe(`field "k": unknown GGUF value type "complex" (expected one of ${typeNames})`);
  });
});
