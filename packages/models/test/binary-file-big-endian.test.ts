// Weight files are little-endian and the readers view their bytes as typed arrays of the host's byte order, so a
// big-endian host is refused when a file is opened, naming the file, before anything is read. node:os is replaced
// here by one that reports a big-endian host (no test machine is one).

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it, vi } from "vitest";

vi.mock("node:os", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:os")>();
  const endianness = () => "BE" as const;
  return { ...actual, endianness, default: { ...actual, endianness } };
});

import { openForReading, withOpenFile } from "../src/binary-file.ts";
import { readSafetensorsHeader } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("binary-file-big-endian");

describe("on a big-endian host", () => {
  it("opening a weight file is refused with a message naming it; the body never runs", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    fs.writeFileSync(file, Buffer.alloc(16));
    const message = `${file}: weight files are little-endian and this loader needs a little-endian host`;
    expect(errorOf(() => openForReading(file)).message).toBe(message);
    let ran = false;
    expect(errorOf(() => withOpenFile(file, () => (ran = true))).message).toBe(message);
    expect(ran).toBe(false);
    expect(errorOf(() => readSafetensorsHeader(file)).message).toBe(message);
  });
});
