// A weight file that ends early although its size said otherwise (it shrank after it was measured: a download
// being replaced, a file truncated by another process) is called truncated by every reader, naming the file and,
// for tensor data, the tensor, with the byte range it needed. fs.readSync is replaced to return no bytes from a
// given position on; the sizes the readers check first are the real ones.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { loadLlama2cModel, openSafetensors, randomLlamaTensors, readLlama2cHeader, readSafetensorsHeader, tinyLlamaConfig, writeLlama2cModel, writeSafetensors } from "../src/index.ts";
import { llama2cHeaderBytes } from "../src/llama2c.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("files-shrinking");
const realReadSync = fs.readSync;

/** From now on, reads at `from` or later return no bytes (end of file). */
function endFileAt(from: number): void {
  vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    position >= from ? 0 : realReadSync(descriptor, buffer, offset, length, position)) as typeof fs.readSync);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a safetensors file that ends early", () => {
  const file = path.join(temporary(), "model.safetensors");
  writeSafetensors(file, new Map([["a", Tensor.fromFloat32([2], Float32Array.of(1, 2))], ["b", Tensor.fromFloat32([3], Float32Array.of(3, 4, 5))]]));
  const { dataOffset } = readSafetensorsHeader(file);

  it("in the length prefix or the header", () => {
    endFileAt(0);
    expect(errorOf(() => readSafetensorsHeader(file)).message).toBe(`${file}: file is truncated: needed bytes [0, 8) but the file ends at byte 0`);
    vi.restoreAllMocks();
    endFileAt(8);
    expect(errorOf(() => readSafetensorsHeader(file)).message).toBe(`${file}: file is truncated: needed bytes [8, ${dataOffset}) but the file ends at byte 8`);
  });

  it("in a tensor's data, loaded alone or with the others", () => {
    const archive = openSafetensors(file);
    const b = archive.info("b");
    endFileAt(b.fileOffset);
    const message = `${file}: tensor "b": file is truncated: needed bytes [${b.fileOffset}, ${b.fileOffset + 12}) but the file ends at byte ${b.fileOffset}`;
    expect(errorOf(() => archive.loadTensor("b")).message).toBe(message);
    expect(errorOf(() => archive.loadTensors()).message).toBe(message);
    expect(Array.from(archive.loadTensor("a").data as Float32Array)).toEqual([1, 2]);
  });
});

describe("a llama2.c checkpoint that ends early", () => {
  const config = tinyLlamaConfig({ ropeLayout: "interleaved", contextLength: 16 });
  const file = path.join(temporary(), "model.bin");
  writeLlama2cModel(file, config, randomLlamaTensors(config, 2));

  it("in the header", () => {
    endFileAt(0);
    expect(errorOf(() => readLlama2cHeader(file)).message).toBe(`${file}: file is truncated: needed bytes [0, ${llama2cHeaderBytes}) but the file ends at byte 0`);
  });

  it("in the first tensor (the token embedding)", () => {
    endFileAt(llama2cHeaderBytes);
    const end = llama2cHeaderBytes + config.vocabSize * config.hiddenSize * 4;
    expect(errorOf(() => loadLlama2cModel(file)).message).toBe(
      `${file}: tensor "model.embed_tokens.weight": file is truncated: needed bytes [${llama2cHeaderBytes}, ${end}) but the file ends at byte ${llama2cHeaderBytes}`,
    );
    expect(fs.statSync(file).size).toBeGreaterThan(end);
  });
});
