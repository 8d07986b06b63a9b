// readPyTorchCheckpointEntries' refusals name the file: a legacy (non-ZIP) checkpoint, and a data.pkl entry that
// turns out shorter than the directory said when it is read (the file shrank after it was measured).

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { readPyTorchCheckpointEntries } from "../src/index.ts";
import { writePyTorchCheckpoint } from "../src/tiny-models/pytorch-writer.ts";
import { readZipDirectory } from "../src/pytorch/zip-directory.ts";
import { withOpenFile } from "../src/binary-file.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("pytorch-checkpoint-messages");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("readPyTorchCheckpointEntries names the file", () => {
  it("of a legacy checkpoint", () => {
    const file = path.join(temporary(), "pytorch_model.bin");
    fs.writeFileSync(file, Buffer.from([0x80, 2, 0x8a, 0x0a]));
    expect(errorOf(() => readPyTorchCheckpointEntries(file)).message).toBe(
      `${file}: not a ZIP archive: PyTorch checkpoints in the legacy (pre-1.6, tar/raw pickle) format are not supported; re-save it with torch.save or convert it to safetensors`,
    );
  });

  it("whose data.pkl ends early when read", () => {
    const file = path.join(temporary(), "pytorch_model.bin");
    writePyTorchCheckpoint(file, new Map([["w", Tensor.fromFloat32([2], Float32Array.of(1, 2))]]));
    const pickle = withOpenFile(file, (descriptor) => readZipDirectory(descriptor, file)).find((entry) => entry.name.endsWith("data.pkl"))!;
    const realReadSync = fs.readSync;
    vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
      position === pickle.dataOffset ? 0 : realReadSync(descriptor, buffer, offset, length, position)) as typeof fs.readSync);
    expect(errorOf(() => readPyTorchCheckpointEntries(file)).message).toBe(
      `${file}: file is truncated: needed bytes [${pickle.dataOffset}, ${pickle.dataOffset + pickle.compressedSize}) but the file ends at byte ${pickle.dataOffset}`,
    );
  });
});
