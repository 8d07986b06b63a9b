// PyTorch checkpoints assembled by hand (data.pkl opcodes, ZIP entries): tensors at storage offsets and size-1 axes
// load their exact bytes, and every checkpoint that cannot be read as stored tensors is refused with the file, the
// tensor and the reason — strided views, storages too short or missing or compressed, big-endian storages, archives
// without exactly one data.pkl, pickles that are not flat state dicts of tensors.

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

import { describe, expect, it } from "vitest";

import { ModelFileError, hasPyTorchWeights, openPyTorchCheckpoint, readPyTorchCheckpointEntries, writeStoredZip } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("pytorch-checkpoint");

/** Protocol-2 pickle pieces, as torch.save writes them. */
class Pickle {
  readonly bytes: number[] = [0x80, 2];
  push(...values: number[]): this {
    this.bytes.push(...values);
    return this;
  }
  global(module: string, name: string): this {
    return this.push(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  string(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.push(0x58, ...new Uint8Array(Uint32Array.of(encoded.length).buffer), ...encoded);
  }
  integer(value: number): this {
    return this.push(0x4a, ...new Uint8Array(Int32Array.of(value).buffer));
  }
  tuple(values: readonly number[]): this {
    this.push(0x28);
    for (const value of values) this.integer(value);
    return this.push(0x74);
  }
  /** _rebuild_tensor_v2(storage <key> of `elements` floats, offset, shape, strides, False, OrderedDict()). */
  tensor(key: string, elements: number, offset: number, shape: number[], strides: number[]): this {
    this.global("torch._utils", "_rebuild_tensor_v2").push(0x28);
    this.push(0x28).string("storage").global("torch", "FloatStorage").string(key).string("cpu").integer(elements).push(0x74, 0x51);
    this.integer(offset).tuple(shape).tuple(strides).push(0x89);
    return this.global("collections", "OrderedDict").push(0x29, 0x52, 0x74, 0x52);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.push(0x2e).bytes);
  }
}

interface TensorSpec {
  name: string;
  key: string;
  elements: number;
  offset: number;
  shape: number[];
  strides: number[];
}

function stateDict(tensors: TensorSpec[]): Uint8Array {
  const pickle = new Pickle().push(0x7d, 0x28);
  for (const spec of tensors) pickle.string(spec.name).tensor(spec.key, spec.elements, spec.offset, spec.shape, spec.strides);
  return pickle.push(0x75).finish();
}

const floats = (count: number) => new Uint8Array(Float32Array.from({ length: count }, (_, index) => index + 0.5).buffer);

/** Writes archive/data.pkl, archive/byteorder (unless null), and archive/data/<key> storages; returns the file. */
function writeCheckpoint(pickle: Uint8Array, storages: Array<[key: string, bytes: Uint8Array]>, options: { byteOrder?: string | null; extra?: Array<[string, Uint8Array]> } = {}): string {
  const file = path.join(temporary(), "pytorch_model.bin");
  const entries: Array<[string, Uint8Array]> = [["archive/data.pkl", pickle]];
  if (options.byteOrder !== null) entries.push(["archive/byteorder", new TextEncoder().encode(options.byteOrder ?? "little")]);
  for (const [key, bytes] of storages) entries.push([`archive/data/${key}`, bytes]);
  entries.push(...(options.extra ?? []));
  writeStoredZip(file, entries);
  return file;
}

/** Sets the compression method of entry `name` in the central directory. */
function setMethod(file: string, name: string, method: number): void {
  const bytes = fs.readFileSync(file);
  const central = bytes.lastIndexOf(Buffer.from(name)) - 46;
  expect(bytes.readUInt32LE(central)).toBe(0x02014b50);
  bytes.writeUInt16LE(method, central + 10);
  fs.writeFileSync(file, bytes);
}

function problemOf(file: string): string {
  try {
    readPyTorchCheckpointEntries(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message.slice(file.length + 2);
  }
  throw new Error("expected a ModelFileError");
}

const spec = (changes: Partial<TensorSpec> = {}): TensorSpec => ({ name: "w", key: "0", elements: 8, offset: 0, shape: [2, 3], strides: [3, 1], ...changes });

describe("tensors of a PyTorch checkpoint", () => {
  it("point at their elements inside a shared storage, size-1 axes with any stride", () => {
    const file = writeCheckpoint(
      stateDict([spec({ name: "first", shape: [2, 2], strides: [2, 1] }), spec({ name: "second", offset: 4, shape: [1, 4], strides: [99, 1] }), spec({ name: "third", key: "1", elements: 2, shape: [2], strides: [1] })]),
      [["0", floats(8)], ["1", floats(2)]],
      { byteOrder: "little\n" },
    );
    const entries = readPyTorchCheckpointEntries(file);
    expect(entries.map(({ name, storedDType, shape, byteLength }) => ({ name, storedDType, shape, byteLength }))).toEqual([
      { name: "first", storedDType: "F32", shape: [2, 2], byteLength: 16 },
      { name: "second", storedDType: "F32", shape: [1, 4], byteLength: 16 },
      { name: "third", storedDType: "F32", shape: [2], byteLength: 8 },
    ]);
    expect(entries[1].fileOffset - entries[0].fileOffset).toBe(16);
    const loaded = openPyTorchCheckpoint(file).loadTensors();
    expect(Array.from(loaded.get("first")!.data as Float32Array)).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(Array.from(loaded.get("second")!.data as Float32Array)).toEqual([4.5, 5.5, 6.5, 7.5]);
    expect(Array.from(loaded.get("third")!.data as Float32Array)).toEqual([0.5, 1.5]);
    // The elements may end exactly at the end of the storage, and the checkpoint may omit byteorder.
    expect(readPyTorchCheckpointEntries(writeCheckpoint(stateDict([spec({ offset: 2 })]), [["0", floats(8)]], { byteOrder: null }))).toHaveLength(1);
  });

  it("load from a deflated data.pkl", () => {
    const pickle = stateDict([spec()]);
    const file = writeCheckpoint(zlib.deflateRawSync(pickle), [["0", floats(8)]]);
    setMethod(file, "archive/data.pkl", 8);
    expect(readPyTorchCheckpointEntries(file).map((entry) => entry.name)).toEqual(["w"]);
  });

  it("are refused, naming the tensor, when they cannot be read as stored", () => {
    const cases: Array<[TensorSpec, Array<[string, Uint8Array]>, string]> = [
      [spec({ strides: [1, 2] }), [["0", floats(8)]], `tensor "w": is a strided view (shape [2, 3], strides [1, 2]); only contiguous tensors are supported`],
      [spec({ strides: [3, 2] }), [["0", floats(8)]], `tensor "w": is a strided view (shape [2, 3], strides [3, 2]); only contiguous tensors are supported`],
      [spec({ shape: [2, 3, 1], strides: [4, 1, 1] }), [["0", floats(8)]], `tensor "w": is a strided view (shape [2, 3, 1], strides [4, 1, 1]); only contiguous tensors are supported`],
      [spec({ offset: 3 }), [["0", floats(8)]], `tensor "w": elements [3, 9) lie past its storage of 8`],
      [spec(), [["7", floats(8)]], `tensor "w": its storage archive/data/0 is not in the archive`],
      [spec(), [["0", floats(8).subarray(0, 28)]], `tensor "w": its storage archive/data/0 holds 28 bytes, fewer than 8 × 4`],
    ];
    for (const [tensor, storages, problem] of cases) {
      expect(problemOf(writeCheckpoint(stateDict([tensor]), storages)), problem).toBe(problem);
    }
    const compressed = writeCheckpoint(stateDict([spec()]), [["0", floats(8)]]);
    setMethod(compressed, "archive/data/0", 8);
    expect(problemOf(compressed)).toBe(`tensor "w": its storage archive/data/0 is compressed; torch.save stores storages uncompressed`);
  });
});

describe("checkpoints that are not a flat state dict of tensors", () => {
  it("are refused with the reason", () => {
    const pickles: Array<[Uint8Array, string]> = [
      [new Pickle().push(0x5d).finish(), "data.pkl does not hold a state dict (a dict of tensor names to tensors)"],
      [new Pickle().push(0x7d, 0x28).integer(1).tensor("0", 8, 0, [2], [1]).push(0x75).finish(), "data.pkl: state dict key 1 is not a string"],
      [new Pickle().push(0x7d, 0x28).string("step").integer(5).push(0x75).finish(), `tensor "step": is not a tensor: expected a flat state dict of tensors (as Hugging Face pytorch_model.bin files hold)`],
      [new Pickle().push(0x7d, 0x28).string("none").push(0x4e, 0x75).finish(), `tensor "none": is not a tensor: expected a flat state dict of tensors (as Hugging Face pytorch_model.bin files hold)`],
      [new Pickle().push(0x7d, 0x28).string("nested").push(0x7d, 0x75).finish(), `tensor "nested": is not a tensor: expected a flat state dict of tensors (as Hugging Face pytorch_model.bin files hold)`],
    ];
    for (const [pickle, problem] of pickles) expect(problemOf(writeCheckpoint(pickle, [["0", floats(8)]])), problem).toBe(problem);
  });

  it("are refused when the archive is not one torch.save checkpoint", () => {
    expect(problemOf(writeCheckpoint(stateDict([spec()]), [["0", floats(8)]], { byteOrder: "big" }))).toBe("the checkpoint's storages are big-endian; only little-endian checkpoints are supported");
    const twoPickles = writeCheckpoint(stateDict([spec()]), [["0", floats(8)]], { extra: [["other/data.pkl", stateDict([])]] });
    expect(problemOf(twoPickles)).toBe("expected one <name>/data.pkl in the archive, found 2: not a torch.save checkpoint");
    const file = path.join(temporary(), "pytorch_model.bin");
    writeStoredZip(file, [["archive/version", new TextEncoder().encode("3\n")]]);
    expect(problemOf(file)).toBe("expected one <name>/data.pkl in the archive, found 0: not a torch.save checkpoint");
    const shrunk = writeCheckpoint(stateDict([spec()]), [["0", floats(8)]]);
    setMethod(shrunk, "archive/data.pkl", 12);
    expect(problemOf(shrunk)).toBe(`ZIP entry "archive/data.pkl" uses compression method 12 (expected 0 stored or 8 deflated)`);
  });
});

describe("hasPyTorchWeights", () => {
  it("looks for pytorch_model*.bin files or their index", () => {
    const cases: Array<[string[], boolean]> = [
      [["pytorch_model.bin"], true],
      [["pytorch_model-00001-of-00002.bin"], true],
      [["pytorch_model.bin.index.json"], true],
      [["model.bin", "pytorch_model.bin.bak", "xpytorch_model.bin", "config.json"], false],
    ];
    for (const [names, expected] of cases) {
      const directory = temporary();
      for (const name of names) fs.writeFileSync(path.join(directory, name), "");
      expect(hasPyTorchWeights(directory), names.join(", ")).toBe(expected);
    }
  });
});
