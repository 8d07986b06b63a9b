// Bad files: every loader fails with a ModelFileError whose message names the file, the tensor or field, and what
// was expected. Each test writes its own broken file.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { loadModelWeights, ModelFileError, openSafetensors, readGguf, readSafetensors, writeGguf } from "../src/index.ts";
import { randomTensor } from "../src/tiny-models/random-tensors.ts";
import { writeSafetensors, type SafetensorsEntry } from "../src/safetensors-writer.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeGgufModel, writeHfModel, writeLlama2cModel } from "../src/tiny-models/tiny-llama.ts";

const temporaryDirectory = useTemporaryDirectories("errors");

/** Expects `action` to throw a ModelFileError mentioning `file` and matching every pattern. */
function expectModelFileError(action: () => unknown, file: string, ...patterns: RegExp[]): ModelFileError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModelFileError);
  const error = caught as ModelFileError;
  expect(error.message.startsWith(file), error.message).toBe(true);
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  return error;
}

function writeSmallGguf(file: string): void {
  writeGguf(file, {
    metadata: { "general.architecture": "test", "general.name": "small" },
    tensors: [
      { name: "first.weight", tensor: randomTensor("f32", [4, 64], 1) }, // [4, 64]: 1024 bytes
      { name: "second.weight", tensor: randomTensor("f32", [256], 2) }, // [256]: 1024 bytes
    ],
  });
}

/** Position of tensor `name`'s ggml type field in a GGUF file written by writeGguf. */
function typeFieldPosition(bytes: Buffer, name: string, dimensionCount: number): number {
  const nameAt = bytes.indexOf(Buffer.from(name));
  return nameAt + name.length + 4 + 8 * dimensionCount;
}

describe("GGUF errors", () => {
  it("bad magic", () => {
    const file = path.join(temporaryDirectory(), "bad-magic.gguf");
    fs.writeFileSync(file, Buffer.from("GGML\x03\x00\x00\x00 and more bytes here"));
    expectModelFileError(() => readGguf(file), file, /bad magic: expected "GGUF"/, /got 47 47 4d 4c/);
    expectModelFileError(() => loadModelWeights(file), file, /bad magic/);
  });

  it("unsupported version", () => {
    const file = path.join(temporaryDirectory(), "v1.gguf");
    writeSmallGguf(file);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(1, 4);
    fs.writeFileSync(file, bytes);
    expectModelFileError(() => readGguf(file), file, /field "version": expected GGUF version 2 or 3, got 1/);
  });

  it("truncated inside the header", () => {
    const file = path.join(temporaryDirectory(), "short.gguf");
    writeSmallGguf(file);
    fs.truncateSync(file, 60);
    expectModelFileError(() => readGguf(file), file, /file is truncated: length of value of general\.architecture needs 8 bytes at byte 56 but the file ends at byte 60/);
  });

  it("tensor data past the end of the file", () => {
    const file = path.join(temporaryDirectory(), "cut.gguf");
    writeSmallGguf(file);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    expectModelFileError(() => readGguf(file), file, /tensor "second\.weight": data \[\d+, \d+\) \(F32 \[256\], 1024 bytes\) lies past the end of the file/);
  });

  it("unsupported ggml type: known to ggml but not to the kernel", () => {
    const file = path.join(temporaryDirectory(), "q5k.gguf");
    writeGguf(file, {
      metadata: { "general.architecture": "test" },
      tensors: [
        { name: "first.weight", tensor: randomTensor("f32", [4, 64], 1) },
        { name: "second.weight", tensor: randomTensor("f32", [44], 2) }, // 176 bytes: one Q5_K block of 256 values
      ],
    });
    const bytes = fs.readFileSync(file);
    const typeAt = typeFieldPosition(bytes, "second.weight", 1);
    bytes.writeBigUInt64LE(256n, typeAt - 8);
    bytes.writeUInt32LE(13, typeAt);
    fs.writeFileSync(file, bytes);
    const gguf = readGguf(file);
    expect(gguf.tensorInfo("second.weight")).toMatchObject({ ggmlTypeName: "Q5_K", dtype: undefined, byteLength: 176 });
    expectModelFileError(() => gguf.loadTensor("second.weight"), file, /tensor "second\.weight": ggml type Q5_K \(13\) is not supported \(supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16\)/);
    expect(gguf.loadTensor("first.weight").shape).toEqual([4, 64]);
  });

  it("unknown ggml type code", () => {
    const file = path.join(temporaryDirectory(), "type99.gguf");
    writeSmallGguf(file);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(99, typeFieldPosition(bytes, "first.weight", 2));
    fs.writeFileSync(file, bytes);
    expectModelFileError(() => readGguf(file), file, /tensor "first\.weight": has unknown type 99/);
  });

  it("a tensor relabelled with another type: its byte size no longer matches its data", () => {
    // A middle tensor: the next tensor's offset gives it away.
    const middle = path.join(temporaryDirectory(), "relabelled-middle.gguf");
    writeSmallGguf(middle);
    let bytes = fs.readFileSync(middle);
    bytes.writeUInt32LE(8, typeFieldPosition(bytes, "first.weight", 2)); // F32 [4, 64] (1024 bytes) claimed as Q8_0 (272 bytes)
    fs.writeFileSync(middle, bytes);
    expectModelFileError(
      () => readGguf(middle),
      middle,
      /tensor "first\.weight": Q8_0 \[4, 64\] is 272 bytes \(288 with padding to 32\), but its data runs 1024 bytes to the next tensor "second\.weight": its type or shape does not match its data/,
    );
    // The last tensor: the bytes left after it give it away.
    const last = path.join(temporaryDirectory(), "relabelled-last.gguf");
    writeSmallGguf(last);
    bytes = fs.readFileSync(last);
    bytes.writeUInt32LE(8, typeFieldPosition(bytes, "second.weight", 1));
    fs.writeFileSync(last, bytes);
    expectModelFileError(() => readGguf(last), last, /tensor "second\.weight": Q8_0 \[256\] is 272 bytes, but the file holds 1024 bytes from its start to the end of the file/);
    // A Llama model: loading refuses it, naming the tensor.
    const config = tinyLlamaConfig();
    const model = path.join(temporaryDirectory(), "relabelled-llama.gguf");
    writeGgufModel(model, config, randomLlamaTensors(config, 1));
    bytes = fs.readFileSync(model);
    bytes.writeUInt32LE(8, typeFieldPosition(bytes, "blk.0.attn_q.weight", 2));
    fs.writeFileSync(model, bytes);
    expectModelFileError(() => loadModelWeights(model), model, /tensor "blk\.0\.attn_q\.weight": Q8_0 \[32, 32\] is 1088 bytes/);
  });

  it("a quantized tensor with a non-finite block scale", () => {
    const file = path.join(temporaryDirectory(), "bad-scale.gguf");
    writeGguf(file, { metadata: { "general.architecture": "test" }, tensors: [{ name: "w", tensor: randomTensor("q8_0", [4, 64], 1) }] });
    const gguf = readGguf(file);
    expect(gguf.loadTensor("w").shape).toEqual([4, 64]);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt16LE(0x7c00, gguf.tensorInfo("w")!.fileOffset + 5 * 34); // block 5's scale: +infinity
    fs.writeFileSync(file, bytes);
    expectModelFileError(() => readGguf(file).loadTensor("w"), file, /tensor "w": block 5 of 8 has a non-finite scale \(f16 0x7c00\): the data is not Q8_0/);
    expectModelFileError(() => readGguf(file).loadTensors(), file, /block 5 of 8 has a non-finite scale/);
  });

  it("missing tensor and missing metadata key in a llama GGUF", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 1);
    tensors.delete("model.layers.1.mlp.up_proj.weight");
    const file = path.join(temporaryDirectory(), "missing.gguf");
    writeGgufModel(file, config, tensors);
    expectModelFileError(() => loadModelWeights(file), file, /tensor "blk\.1\.ffn_up\.weight": missing: a Llama model with 2 layers needs it, shape \[intermediateSize, hiddenSize\] = \[64, 32\]/);

    const noArchitecture = path.join(temporaryDirectory(), "not-llama.gguf");
    writeSmallGguf(noArchitecture);
    expectModelFileError(() => loadModelWeights(noArchitecture), noArchitecture, /field "general\.architecture": expected "llama" or "chatglm", got "test"/);
  });

  it("shape that contradicts the llama.* metadata", () => {
    const config = tinyLlamaConfig();
    const file = path.join(temporaryDirectory(), "wrong-shape.gguf");
    writeGgufModel(file, config, randomLlamaTensors(config, 2));
    // rewrite the file claiming a wider feed-forward layer
    const gguf = readGguf(file);
    const metadata = gguf.typedMetadata();
    metadata.set("llama.feed_forward_length", { type: "uint32", value: 128 });
    const rewritten = path.join(temporaryDirectory(), "rewritten.gguf");
    writeGguf(rewritten, { metadata, tensors: gguf.tensors.map((info) => ({ name: info.name, tensor: gguf.loadTensor(info.name) })) });
    expectModelFileError(
      () => loadModelWeights(rewritten),
      rewritten,
      /tensor "blk\.0\.ffn_gate\.weight": shape \[64, 32\] contradicts the config: expected \[intermediateSize, hiddenSize\] = \[128, 32\]/,
    );
  });
});

describe.skipIf(process.platform === "win32")("files that are not regular files", () => {
  it("refuses a FIFO named like a model instead of blocking on it", () => {
    const fifo = path.join(temporaryDirectory(), "model.gguf");
    execFileSync("mkfifo", [fifo]);
    expectModelFileError(() => loadModelWeights(fifo), fifo, /is a FIFO \(named pipe\), not a regular file/);
    expectModelFileError(() => readGguf(fifo), fifo, /is a FIFO \(named pipe\), not a regular file/);
  });
});

describe("safetensors errors", () => {
  it("bad header length (not a safetensors file) and files shorter than the length prefix", () => {
    const directory = temporaryDirectory();
    const file = path.join(directory, "model.safetensors");
    fs.writeFileSync(file, Buffer.from("GGUF\x03\x00\x00\x00\x00\x00\x00\x00"));
    expectModelFileError(() => readSafetensors(file), file, /not a safetensors file: the first 8 bytes give a header length of \d+ bytes/);
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    expectModelFileError(() => readSafetensors(file), file, /file is truncated: 3 bytes/);
  });

  it("truncated header", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(file, new Map([["w", randomTensor("f32", [4, 4], 1)]]));
    fs.truncateSync(file, 20);
    expectModelFileError(() => readSafetensors(file), file, /file is truncated: the header needs \d+ bytes after byte 8 but the file has 20 bytes/);
  });

  it("invalid header JSON", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    const json = Buffer.from('{"w": {"dtype": "F32", "shape": [2], ');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([length, json]));
    expectModelFileError(() => readSafetensors(file), file, /invalid header JSON/);
    const notAnObject = Buffer.from("[1, 2, 3]");
    length.writeBigUInt64LE(BigInt(notAnObject.length));
    fs.writeFileSync(file, Buffer.concat([length, notAnObject]));
    expectModelFileError(() => readSafetensors(file), file, /invalid header JSON: expected an object/);
  });

  it("invalid tensor entry", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(file, new Map([["w", { dtype: "F32", shape: [2, 2], bytes: new Uint8Array(12) }]]));
    expectModelFileError(() => readSafetensors(file), file, /tensor "w": data_offsets \[0, 12\) hold 12 bytes but F32 \[2, 2\] needs 16/);
  });

  it("a shape whose byte count is beyond 2^53, reported exactly and in bytes", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(file, new Map([["w", { dtype: "F32", shape: [1_000_000_000, 1_000_000_000, 1_000_000_000], bytes: new Uint8Array(8) }]]));
    expectModelFileError(() => readSafetensors(file), file, /tensor "w": data_offsets \[0, 8\) hold 8 bytes but F32 \[1000000000, 1000000000, 1000000000\] needs 4000000000000000000000000000 bytes$/);
  });

  it("tensor data past the end of the file", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(
      file,
      new Map<string, SafetensorsEntry>([
        ["ok", randomTensor("f32", [4], 1)],
        ["beyond", { dtype: "F32", shape: [256], bytes: new Uint8Array(0), dataOffsets: [16, 16 + 1024] }],
      ]),
    );
    expectModelFileError(() => readSafetensors(file), file, /tensor "beyond": data \[16, 1040\) lies past the end of the file: the data section holds 16 bytes/);
  });

  it("unsupported dtype", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(
      file,
      new Map<string, SafetensorsEntry>([
        ["float", randomTensor("f32", [2], 1)],
        ["position_ids", { dtype: "I64", shape: [3], bytes: new Uint8Array(24) }],
      ]),
    );
    const archive = openSafetensors(file);
    expect(archive.loadTensor("float").shape).toEqual([2]);
    expectModelFileError(() => archive.loadTensor("position_ids"), file, /tensor "position_ids": dtype I64 is not supported \(supported: F32, F16, BF16\)/);
    expectModelFileError(() => readSafetensors(file), file, /position_ids/);
  });

  it("missing tensor: listed in the index but absent from the shard; missing shard file", () => {
    const directory = temporaryDirectory();
    writeSafetensors(path.join(directory, "model-1.safetensors"), new Map([["a", new Tensor("f32", [1], new Float32Array([1]))]]));
    const index = path.join(directory, "model.safetensors.index.json");
    fs.writeFileSync(index, JSON.stringify({ weight_map: { a: "model-1.safetensors", b: "model-1.safetensors" } }));
    expectModelFileError(() => openSafetensors(directory), path.join(directory, "model-1.safetensors"), /tensor "b": missing: model\.safetensors\.index\.json says this shard holds it/);
    fs.writeFileSync(index, JSON.stringify({ weight_map: { a: "model-1.safetensors", c: "model-2.safetensors" } }));
    expectModelFileError(() => openSafetensors(directory), index, /field "weight_map": lists shard model-2\.safetensors .* does not exist/);
    fs.writeFileSync(index, "{}");
    expectModelFileError(() => openSafetensors(directory), index, /field "weight_map": expected an object/);
  });

  it("missing tensor of a Hugging Face model", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 3);
    tensors.delete("model.norm.weight");
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors);
    expectModelFileError(() => loadModelWeights(directory), directory, /tensor "model\.norm\.weight": missing: a Llama model with 2 layers needs it, shape \[hiddenSize\] = \[32\]/);
  });

  it("shape that contradicts config.json", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 4);
    tensors.set("model.layers.1.self_attn.k_proj.weight", randomTensor("f32", [32, 32], 9));
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors);
    expectModelFileError(
      () => loadModelWeights(directory),
      directory,
      /tensor "model\.layers\.1\.self_attn\.k_proj\.weight": shape \[32, 32\] contradicts the config: expected \[keyValueHeadCount · headDim, hiddenSize\] = \[16, 32\]/,
      /keyValueHeadCount=2, headDim=8/,
    );
  });

  it("invalid config.json next to valid weights", () => {
    const config = tinyLlamaConfig();
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 5));
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify({ hidden_size: 32 }));
    expectModelFileError(() => loadModelWeights(directory), path.join(directory, "config.json"), /field "num_attention_heads": is required but missing/);
  });
});

describe("llama2.c errors", () => {
  const config = tinyLlamaConfig({ ropeLayout: "interleaved" });

  it("truncated file", () => {
    const file = path.join(temporaryDirectory(), "model.bin");
    writeLlama2cModel(file, config, randomLlamaTensors(config, 1));
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 4);
    expectModelFileError(() => loadModelWeights(file), file, new RegExp(`file is truncated: the header \\(dim=32, .*\\) needs ${size} bytes, the file has ${size - 4}`));
    fs.truncateSync(file, 10);
    expectModelFileError(() => loadModelWeights(file), file, /file is truncated: 10 bytes, the llama2\.c header alone is 28/);
  });

  it("bad magic / header that is not a legacy checkpoint", () => {
    const file = path.join(temporaryDirectory(), "model.bin");
    const versioned = Buffer.alloc(256);
    versioned.writeUInt32LE(0x616b3432, 0);
    versioned.writeInt32LE(1, 4);
    fs.writeFileSync(file, versioned);
    expectModelFileError(() => loadModelWeights(file), file, /bad magic "ak42": this is a llama2\.c version 1\/2 export/);
    fs.writeFileSync(file, Buffer.from("this is plain text, not a model checkpoint at all"));
    expectModelFileError(() => loadModelWeights(file), file, /field "dim": header value \d+ is not a plausible size/);
  });

  it("header whose sizes contradict each other", () => {
    const file = path.join(temporaryDirectory(), "model.bin");
    fs.writeFileSync(file, Buffer.from(new Int32Array([32, 64, 2, 5, 5, 64, 16]).buffer));
    expectModelFileError(() => loadModelWeights(file), file, /field "n_heads": dim \(32\) must be a multiple of n_heads \(5\)/);
  });
});
