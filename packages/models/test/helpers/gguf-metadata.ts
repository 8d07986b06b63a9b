// GGUF metadata as a reader sees it: written into a GGUF file without tensors and read back, so tests of metadata
// builders check the values a loader gets (plain numbers, strings, arrays), not the writer's typed inputs.

import path from "node:path";

import { readGguf, writeGguf, type GgufMetadataInput } from "../../src/index.ts";

/** Writes `metadata` to `<directory>/metadata.gguf` and returns the metadata readGguf gives back. */
export function metadataThroughGguf(directory: string, metadata: ReadonlyMap<string, GgufMetadataInput>): Map<string, unknown> {
  const file = path.join(directory, "metadata.gguf");
  writeGguf(file, { metadata, tensors: [] });
  return readGguf(file).metadata;
}
