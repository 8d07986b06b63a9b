// Reader for PyTorch checkpoints as Hugging Face repositories hold them (pytorch_model.bin, or shards listed in
// pytorch_model.bin.index.json): the ZIP archive torch.save writes, whose <name>/data.pkl pickles the state dict and
// whose <name>/data/<key> entries hold each storage's raw little-endian bytes. data.pkl goes through the restricted
// unpickler (tensors only); each tensor becomes a TensorArchiveEntry pointing at its bytes inside the stored (not
// compressed) storage entry, so tensors load exactly like safetensors ones: straight from disk, on demand.

import fs from "node:fs";
import zlib from "node:zlib";

import { readExactly, withOpenFile } from "../binary-file.ts";
import { ModelFileError, shapeText } from "../errors.ts";
import { openArchive, TensorArchive, type ArchiveLayout, type TensorArchiveEntry } from "../tensor-archive.ts";
import { restrictedUnpickle, type TensorReference } from "./restricted-unpickler.ts";
import { readZipDirectory, startsWithZipSignature, type ZipEntry } from "./zip-directory.ts";

/** The index of a sharded PyTorch checkpoint: its weight_map maps each tensor name to its pytorch_model-*.bin shard. */
export const pytorchIndexFileName = "pytorch_model.bin.index.json";

/** The tensors of one or more PyTorch checkpoint files. */
export class PyTorchArchive extends TensorArchive {}

function readEntry(descriptor: number, file: string, entry: ZipEntry): Uint8Array {
  const stored = Buffer.alloc(entry.compressedSize);
  readExactly(descriptor, stored, entry.dataOffset, { file });
  if (entry.method === 0) return stored;
  if (entry.method === 8) return zlib.inflateRawSync(stored);
  throw new ModelFileError({ file }, `ZIP entry "${entry.name}" uses compression method ${entry.method} (expected 0 stored or 8 deflated)`);
}

function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (shape[axis] !== 1 && strides[axis] !== expected) return false;
    expected *= shape[axis];
  }
  return true;
}

/** The tensors of one checkpoint file, without reading their data. */
export function readPyTorchCheckpointEntries(file: string): TensorArchiveEntry[] {
  return withOpenFile(file, (descriptor) => {
    if (!startsWithZipSignature(descriptor)) {
      throw new ModelFileError({ file }, "not a ZIP archive: PyTorch checkpoints in the legacy (pre-1.6, tar/raw pickle) format are not supported; re-save it with torch.save or convert it to safetensors");
    }
    const entries = readZipDirectory(descriptor, file);
    const pickles = entries.filter((entry) => entry.name.endsWith("data.pkl"));
    if (pickles.length !== 1) throw new ModelFileError({ file }, `expected one <name>/data.pkl in the archive, found ${pickles.length}: not a torch.save checkpoint`);
    const prefix = pickles[0].name.slice(0, -"data.pkl".length);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const byteOrder = byName.get(`${prefix}byteorder`);
    if (byteOrder !== undefined) {
      const order = new TextDecoder().decode(readEntry(descriptor, file, byteOrder)).trim();
      if (order !== "little") throw new ModelFileError({ file }, `the checkpoint's storages are ${order}-endian; only little-endian checkpoints are supported`);
    }
    const stateDict = restrictedUnpickle(readEntry(descriptor, file, pickles[0]), file);
    if (!(stateDict instanceof Map)) throw new ModelFileError({ file }, "data.pkl does not hold a state dict (a dict of tensor names to tensors)");
    const tensors: TensorArchiveEntry[] = [];
    for (const [name, value] of stateDict) {
      if (typeof name !== "string") throw new ModelFileError({ file }, `data.pkl: state dict key ${String(name)} is not a string`);
      const tensor = value as TensorReference;
      if (typeof tensor !== "object" || tensor === null || tensor.kind !== "tensor") {
        throw new ModelFileError({ file, tensor: name }, "is not a tensor: expected a flat state dict of tensors (as Hugging Face pytorch_model.bin files hold)");
      }
      const { storage, shape, strides, storageOffset } = tensor;
      if (!isContiguous(shape, strides)) throw new ModelFileError({ file, tensor: name }, `is a strided view (shape ${shapeText(shape)}, strides ${shapeText(strides)}); only contiguous tensors are supported`);
      const elements = shape.reduce((product, size) => product * size, 1);
      if (storageOffset + elements > storage.elementCount) {
        throw new ModelFileError({ file, tensor: name }, `elements [${storageOffset}, ${storageOffset + elements}) lie past its storage of ${storage.elementCount}`);
      }
      const data = byName.get(`${prefix}data/${storage.key}`);
      if (data === undefined) throw new ModelFileError({ file, tensor: name }, `its storage ${prefix}data/${storage.key} is not in the archive`);
      if (data.method !== 0) throw new ModelFileError({ file, tensor: name }, `its storage ${data.name} is compressed; torch.save stores storages uncompressed`);
      if (data.size < storage.elementCount * storage.elementBytes) {
        throw new ModelFileError({ file, tensor: name }, `its storage ${data.name} holds ${data.size} bytes, fewer than ${storage.elementCount} × ${storage.elementBytes}`);
      }
      tensors.push({
        name,
        storedDType: storage.dtype,
        shape,
        file,
        fileOffset: data.dataOffset + storageOffset * storage.elementBytes,
        byteLength: elements * storage.elementBytes,
      });
    }
    return tensors;
  });
}

const pytorchLayout: ArchiveLayout<PyTorchArchive> = {
  indexFileName: pytorchIndexFileName,
  filePattern: "pytorch_model*.bin",
  isWeightFile: (name) => /^pytorch_model.*\.bin$/.test(name),
  readEntries: (file) => ({ tensors: readPyTorchCheckpointEntries(file), metadata: {} }),
  create: (location, files, metadata, tensors) => new PyTorchArchive(location, files, metadata, tensors),
};

/**
 * Opens PyTorch checkpoint weights without reading tensor data: a .bin file, a pytorch_model.bin.index.json, or a
 * directory holding either.
 */
export function openPyTorchCheckpoint(location: string): PyTorchArchive {
  return openArchive(location, pytorchLayout);
}

/** True when `directory` holds PyTorch checkpoint weights (an index or pytorch_model*.bin files). */
export function hasPyTorchWeights(directory: string): boolean {
  return fs.readdirSync(directory).some((name) => name === pytorchIndexFileName || pytorchLayout.isWeightFile(name));
}
