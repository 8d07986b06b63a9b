// The small self-contained modules every loader builds on: typed config fields (config-fields.ts) and the error they
// throw (errors.ts), Llama config checks (llama-config.ts) and presets, storage dtypes (weight-dtypes.ts), RoPE
// frequencies with GGUF's factors (rope-frequencies.ts) and the RoPE row reorder's checks and partial rotary.
// Every refusal is checked by its whole message, at the boundary of its condition.

import fs from "node:fs";
import path from "node:path";

import { dequantizeTensor, Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { ConfigFields, isObject, readJsonObject } from "../src/config-fields.ts";
import { shapeText } from "../src/errors.ts";
import {
  convertTensorDType,
  convertWeightDTypes,
  llama32Config,
  llama32Presets,
  llamaRopeFrequencies,
  ModelFileError,
  reorderRopeRows,
  storageDTypeFor,
  tinyLlamaConfig,
  validateLlamaConfig,
  type LlamaConfig,
} from "../src/index.ts";
import { vectorsToFloat32 } from "../src/weight-dtypes.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("small-modules");

describe("ModelFileError", () => {
  it("names the file, then the tensor, then the field, then the problem; keeps each part and the cause", () => {
    const cause = new Error("underneath");
    const cases = [
      [{ file: "a.gguf" }, "a.gguf: broken"],
      [{ file: "a.gguf", tensor: "t.weight" }, 'a.gguf: tensor "t.weight": broken'],
      [{ file: "config.json", field: "hidden_size" }, 'config.json: field "hidden_size": broken'],
      [{ file: "a.gguf", tensor: "t", field: "f" }, 'a.gguf: tensor "t": field "f": broken'],
    ] as const;
    for (const [subject, message] of cases) {
      const error = new ModelFileError(subject, "broken", { cause });
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe("ModelFileError");
      expect(error.message).toBe(message);
      expect(error.problem).toBe("broken");
      expect(error.file).toBe(subject.file);
      expect(error.tensor).toBe("tensor" in subject ? subject.tensor : undefined);
      expect(error.field).toBe("field" in subject ? subject.field : undefined);
      expect(error.cause).toBe(cause);
    }
    expect(new ModelFileError({ file: "x" }, "p").cause).toBeUndefined();
    expect(String(new ModelFileError({ file: "x" }, "p"))).toBe("ModelFileError: x: p");
  });

  it("shapeText lists the dimensions in brackets", () => {
    expect(shapeText([])).toBe("[]");
    expect(shapeText([7])).toBe("[7]");
    expect(shapeText([2, 3, 4])).toBe("[2, 3, 4]");
  });
});

describe("readJsonObject and isObject", () => {
  it("reads an object; refuses a missing file, an unreadable one, bad JSON and a top level that is not an object", () => {
    const directory = temporaryDirectory();
    const file = (name: string, text: string): string => {
      const at = path.join(directory, name);
      fs.writeFileSync(at, text);
      return at;
    };
    expect(readJsonObject(file("good.json", '{"a": 1, "b": [2]}'))).toEqual({ a: 1, b: [2] });
    const missing = path.join(directory, "missing.json");
    const notFound = errorOf(() => readJsonObject(missing));
    expect(notFound.message).toBe(`${missing}: file not found`);
    expect((notFound.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect(errorOf(() => readJsonObject(directory)).message).toBe(`${directory}: cannot read (EISDIR)`);
    const bad = file("bad.json", "{nope");
    const badJson = errorOf(() => readJsonObject(bad));
    expect(badJson.message).toMatch(new RegExp(`^${bad.replaceAll(/[.\\/]/g, "\\$&")}: invalid JSON: .+`));
    expect(badJson.message).toBe(`${bad}: invalid JSON: ${(badJson.cause as Error).message}`);
    for (const text of ["[1, 2]", "null", "3", '"text"']) {
      const at = file("top.json", text);
      expect(errorOf(() => readJsonObject(at)).message).toBe(`${at}: expected a JSON object at the top level`);
    }
  });

  it("isObject is true for plain objects only", () => {
    expect([{}, { a: 1 }, null, [], [1], "x", 3, undefined, true].map(isObject)).toEqual([true, true, false, false, false, false, false, false, false]);
  });
});

describe("ConfigFields", () => {
  const fields = (json: Record<string, unknown>, prefix?: string) => new ConfigFields("config.json", json, prefix);
  const message = (action: () => unknown) => errorOf(action).message;

  it("has: present unless undefined or null (0, false and '' are present)", () => {
    const json = { zero: 0, no: false, empty: "", gone: null, list: [] };
    expect(["zero", "no", "empty", "gone", "list", "absent"].map((field) => fields(json).has(field))).toEqual([true, true, true, false, true, false]);
  });

  it("number: the value, the fallback when missing or null, else a message naming the field", () => {
    const json = { n: 2.5, zero: 0, gone: null, text: "3", infinite: Infinity, nan: Number.NaN, list: [1] };
    expect(fields(json).number("n")).toBe(2.5);
    expect(fields(json).number("n", 7)).toBe(2.5);
    expect(fields(json).number("zero", 7)).toBe(0);
    expect(fields(json).number("absent", 7)).toBe(7);
    expect(fields(json).number("gone", 0)).toBe(0);
    expect(message(() => fields(json).number("absent"))).toBe('config.json: field "absent": is required but missing');
    expect(message(() => fields(json).number("gone"))).toBe('config.json: field "gone": is required but missing');
    expect(message(() => fields(json).number("text"))).toBe('config.json: field "text": expected a number, got "3"');
    expect(message(() => fields(json).number("infinite", 1))).toBe('config.json: field "infinite": expected a number, got null');
    expect(message(() => fields(json).number("nan"))).toBe('config.json: field "nan": expected a number, got null');
    expect(message(() => fields(json).number("list"))).toBe('config.json: field "list": expected a number, got [1]');
  });

  it("positiveInteger and positiveNumber: 1 and the smallest positive pass, 0 and below fail with their message", () => {
    const json = { one: 1, zero: 0, minus: -1, half: 0.5, big: 1e9, tiny: Number.MIN_VALUE };
    expect(fields(json).positiveInteger("one")).toBe(1);
    expect(fields(json).positiveInteger("big")).toBe(1e9);
    expect(fields(json).positiveInteger("absent", 4)).toBe(4);
    expect(message(() => fields(json).positiveInteger("zero"))).toBe('config.json: field "zero": expected a positive integer, got 0');
    expect(message(() => fields(json).positiveInteger("minus"))).toBe('config.json: field "minus": expected a positive integer, got -1');
    expect(message(() => fields(json).positiveInteger("half"))).toBe('config.json: field "half": expected a positive integer, got 0.5');
    expect(message(() => fields(json).positiveInteger("absent"))).toBe('config.json: field "absent": is required but missing');
    expect(fields(json).positiveNumber("half")).toBe(0.5);
    expect(fields(json).positiveNumber("tiny")).toBe(Number.MIN_VALUE);
    expect(fields(json).positiveNumber("absent", 1e-6)).toBe(1e-6);
    expect(message(() => fields(json).positiveNumber("zero"))).toBe('config.json: field "zero": expected a number > 0, got 0');
    expect(message(() => fields(json).positiveNumber("minus"))).toBe('config.json: field "minus": expected a number > 0, got -1');
  });

  it("boolean and string: the value, the fallback (boolean) or undefined (string) when missing, else a message", () => {
    const json = { yes: true, no: false, gone: null, text: "hi", empty: "", one: 1 };
    expect(fields(json).boolean("yes", false)).toBe(true);
    expect(fields(json).boolean("no", true)).toBe(false);
    expect(fields(json).boolean("absent", true)).toBe(true);
    expect(fields(json).boolean("gone", false)).toBe(false);
    expect(message(() => fields(json).boolean("one", false))).toBe('config.json: field "one": expected true or false, got 1');
    expect(message(() => fields(json).boolean("text", false))).toBe('config.json: field "text": expected true or false, got "hi"');
    expect(fields(json).string("text")).toBe("hi");
    expect(fields(json).string("empty")).toBe("");
    expect(fields(json).string("absent")).toBeUndefined();
    expect(fields(json).string("gone")).toBeUndefined();
    expect(message(() => fields(json).string("one"))).toBe('config.json: field "one": expected a string, got 1');
    expect(message(() => fields(json).string("yes"))).toBe('config.json: field "yes": expected a string, got true');
  });

  it("tokenIds: one id or a list (0 included), undefined when missing, else a message quoting the whole value", () => {
    const json = { one: 2, zero: 0, list: [0, 5, 9], empty: [], gone: null, minus: -1, fraction: 1.5, text: "3", mixed: [1, -2], nested: [[1]] };
    expect(fields(json).tokenIds("one")).toEqual([2]);
    expect(fields(json).tokenIds("zero")).toEqual([0]);
    expect(fields(json).tokenIds("list")).toEqual([0, 5, 9]);
    expect(fields(json).tokenIds("empty")).toEqual([]);
    expect(fields(json).tokenIds("absent")).toBeUndefined();
    expect(fields(json).tokenIds("gone")).toBeUndefined();
    const expected = (field: string, value: string) => `config.json: field "${field}": expected a token id (integer ≥ 0) or a list of them, got ${value}`;
    expect(message(() => fields(json).tokenIds("minus"))).toBe(expected("minus", "-1"));
    expect(message(() => fields(json).tokenIds("fraction"))).toBe(expected("fraction", "1.5"));
    expect(message(() => fields(json).tokenIds("text"))).toBe(expected("text", '"3"'));
    expect(message(() => fields(json).tokenIds("mixed"))).toBe(expected("mixed", "[1,-2]"));
    expect(message(() => fields(json).tokenIds("nested"))).toBe(expected("nested", "[[1]]"));
  });

  it("object: a ConfigFields whose errors spell the path from the top, undefined when missing, else a message", () => {
    const json = { vision: { size: 0, inner: { name: 3 } }, gone: null, list: [1], text: "x" };
    const vision = fields(json).object("vision")!;
    expect(vision.file).toBe("config.json");
    expect(vision.prefix).toBe("vision.");
    expect(vision.json).toEqual({ size: 0, inner: { name: 3 } });
    expect(message(() => vision.positiveInteger("size"))).toBe('config.json: field "vision.size": expected a positive integer, got 0');
    expect(message(() => vision.object("inner")!.string("name"))).toBe('config.json: field "vision.inner.name": expected a string, got 3');
    expect(message(() => fields(json, "outer.").number("absent"))).toBe('config.json: field "outer.absent": is required but missing');
    expect(fields(json).object("absent")).toBeUndefined();
    expect(fields(json).object("gone")).toBeUndefined();
    expect(message(() => fields(json).object("list"))).toBe('config.json: field "list": expected an object or null, got [1]');
    expect(message(() => fields(json).object("text"))).toBe('config.json: field "text": expected an object or null, got "x"');
  });
});

describe("validateLlamaConfig", () => {
  const check = (overrides: Partial<LlamaConfig>) => errorOf(() => validateLlamaConfig(tinyLlamaConfig(overrides), "model.gguf")).message;

  it("returns a valid config itself, at the edges of every check", () => {
    const edges: Partial<LlamaConfig>[] = [
      {},
      { hiddenSize: 1, intermediateSize: 1, layerCount: 1, contextLength: 1, vocabSize: 1 },
      { headCount: 4, keyValueHeadCount: 4 },
      { headCount: 4, keyValueHeadCount: 1 },
      { rotaryDim: 8, headDim: 8 },
      { rotaryDim: 2, headDim: 8 },
      { rmsNormEpsilon: Number.MIN_VALUE, ropeTheta: 1e-3 },
      { architecture: "llama" },
      { architecture: "chatglm" },
      { ropeLayout: "interleaved" },
      { bosTokenId: 0, eosTokenIds: [0] },
      { bosTokenId: undefined, eosTokenIds: [] },
      { ropeScaling: { type: "llama3", factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 1.0001, originalMaxPositions: 1 } },
    ];
    for (const overrides of edges) {
      const config = tinyLlamaConfig(overrides);
      expect(validateLlamaConfig(config, "model.gguf")).toBe(config);
    }
  });

  it("refuses every integer field that is 0, negative or fractional, by its name", () => {
    for (const field of ["hiddenSize", "intermediateSize", "layerCount", "headCount", "keyValueHeadCount", "headDim", "rotaryDim", "contextLength", "vocabSize"] as const) {
      for (const value of [0, -8, 2.5]) {
        expect(check({ [field]: value })).toBe(`model.gguf: field "${field}": expected a positive integer, got ${value}`);
      }
    }
  });

  it("refuses a non-positive or non-finite epsilon or theta", () => {
    for (const field of ["rmsNormEpsilon", "ropeTheta"] as const) {
      for (const value of [0, -1, Infinity, Number.NaN]) {
        expect(check({ [field]: value })).toBe(`model.gguf: field "${field}": expected a finite number > 0, got ${value}`);
      }
    }
  });

  it("refuses heads that do not group, a rotary part that is odd or wider than a head, unknown names, bad scaling and ids", () => {
    expect(check({ headCount: 4, keyValueHeadCount: 3 })).toBe('model.gguf: field "keyValueHeadCount": headCount (4) must be a multiple of keyValueHeadCount (3)');
    expect(check({ headCount: 4, keyValueHeadCount: 8 })).toBe('model.gguf: field "keyValueHeadCount": headCount (4) must be a multiple of keyValueHeadCount (8)');
    expect(check({ rotaryDim: 7 })).toBe('model.gguf: field "rotaryDim": expected an even number ≤ headDim (8), got 7');
    expect(check({ rotaryDim: 10 })).toBe('model.gguf: field "rotaryDim": expected an even number ≤ headDim (8), got 10');
    expect(check({ architecture: "glm" as never })).toBe('model.gguf: field "architecture": expected "llama" or "chatglm", got glm');
    expect(check({ ropeLayout: "neox" as never })).toBe('model.gguf: field "ropeLayout": expected "half" or "interleaved", got neox');
    const scaling = { type: "llama3" as const, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 };
    for (const field of ["factor", "lowFrequencyFactor", "highFrequencyFactor", "originalMaxPositions"] as const) {
      expect(check({ ropeScaling: { ...scaling, [field]: 0 } })).toBe(`model.gguf: field "ropeScaling.${field}": expected a finite number > 0, got 0`);
    }
    expect(check({ ropeScaling: { ...scaling, highFrequencyFactor: 1 } })).toBe(
      'model.gguf: field "ropeScaling.highFrequencyFactor": must exceed lowFrequencyFactor (1), got 1',
    );
    expect(check({ ropeScaling: { ...scaling, highFrequencyFactor: 0.5 } })).toBe(
      'model.gguf: field "ropeScaling.highFrequencyFactor": must exceed lowFrequencyFactor (1), got 0.5',
    );
    expect(check({ bosTokenId: -1 })).toBe('model.gguf: field "bosTokenId/eosTokenIds": token ids must be integers ≥ 0, got -1');
    expect(check({ eosTokenIds: [2, 1.5] })).toBe('model.gguf: field "bosTokenId/eosTokenIds": token ids must be integers ≥ 0, got 1.5');
  });
});

describe("Llama 3.2 presets", () => {
  it("hold the published shapes; llama32Config shortens layers and context and copies what callers may change", () => {
    expect(llama32Presets["1b"]).toMatchObject({ hiddenSize: 2048, layerCount: 16, headCount: 32, keyValueHeadCount: 8, headDim: 64, rotaryDim: 64, intermediateSize: 8192 });
    expect(llama32Presets["3b"]).toMatchObject({ hiddenSize: 3072, layerCount: 28, headCount: 24, keyValueHeadCount: 8, headDim: 128, rotaryDim: 128 });
    for (const preset of Object.values(llama32Presets)) {
      expect(validateLlamaConfig(preset, "preset")).toBe(preset);
      expect(preset).toMatchObject({
        rmsNormEpsilon: 1e-5,
        ropeTheta: 500000,
        ropeLayout: "half",
        contextLength: 131072,
        vocabSize: 128256,
        tiedEmbeddings: true,
        bosTokenId: 128000,
        eosTokenIds: [128001, 128008, 128009],
        ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 },
      });
    }
    const whole = llama32Config("3b");
    expect(whole).toEqual(llama32Presets["3b"]);
    expect(whole.ropeScaling).not.toBe(llama32Presets["3b"].ropeScaling);
    expect(whole.eosTokenIds).not.toBe(llama32Presets["3b"].eosTokenIds);
    const short = llama32Config("1b", { layers: 2, contextLength: 256 });
    expect(short).toEqual({ ...llama32Presets["1b"], layerCount: 2, contextLength: 256 });
    short.eosTokenIds.push(5);
    short.ropeScaling!.factor = 1;
    expect(llama32Presets["1b"].eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(llama32Presets["1b"].ropeScaling!.factor).toBe(32);
  });
});

describe("storage dtypes", () => {
  it("storageDTypeFor: matrices take the target when a row is whole blocks, else f16; everything else f32", () => {
    const cases = [
      [[4, 256], "q4_k", "q4_k"],
      [[4, 64], "q4_k", "f16"],
      [[4, 32], "q4_0", "q4_0"],
      [[4, 48], "q4_0", "f16"],
      [[4, 33], "q8_0", "f16"],
      [[3, 5], "f16", "f16"],
      [[3, 5], "bf16", "bf16"],
      [[3, 5], "f32", "f32"],
      [[256], "q4_k", "f32"],
      [[2, 2, 256], "q4_k", "f32"],
    ] as const;
    for (const [shape, target, expected] of cases) expect(storageDTypeFor(shape, target), `${shapeText(shape)} ${target}`).toBe(expected);
  });

  it("convertTensorDType re-encodes through f32 values, and returns the tensor itself when it already has the dtype", () => {
    const tensor = Tensor.fromFloat32([2, 2], new Float32Array([1, -0.5, 0.25, 2048]));
    expect(convertTensorDType(tensor, "f32")).toBe(tensor);
    const half = convertTensorDType(tensor, "f16");
    expect(half.dtype).toBe("f16");
    expect(half.shape).toEqual([2, 2]);
    expect(Array.from(dequantizeTensor(half))).toEqual([1, -0.5, 0.25, 2048]);
    expect(convertTensorDType(half, "f16")).toBe(half);
  });

  it("convertWeightDTypes keeps tensors shared under several names shared; vectorsToFloat32 converts 1-D tensors only", () => {
    const embedding = Tensor.fromFloat32([4, 32], new Float32Array(128).map((_, index) => index / 8)); // [4, 32]
    const norm = convertTensorDType(Tensor.fromFloat32([32], new Float32Array(32).fill(1.5)), "f16"); // [32] f16
    const odd = Tensor.fromFloat32([2, 5], new Float32Array(10).fill(3)); // [2, 5]: not whole q8_0 blocks
    const tensors = new Map([
      ["embed", embedding],
      ["lm_head", embedding],
      ["norm", norm],
      ["odd", odd],
    ]);
    const converted = convertWeightDTypes(tensors, "q8_0");
    expect([...converted.keys()]).toEqual(["embed", "lm_head", "norm", "odd"]);
    expect(converted.get("embed")).toBe(converted.get("lm_head"));
    expect(converted.get("embed")!.dtype).toBe("q8_0");
    expect(converted.get("norm")!.dtype).toBe("f32");
    expect(Array.from(dequantizeTensor(converted.get("norm")!))).toEqual(new Array(32).fill(1.5));
    expect(converted.get("odd")!.dtype).toBe("f16");
    const matrix = convertTensorDType(odd, "f16");
    const vectors = vectorsToFloat32(new Map([["m", matrix], ["v", norm]]));
    expect(vectors.get("m")).toBe(matrix);
    expect(vectors.get("v")!.dtype).toBe("f32");
    expect(Array.from(dequantizeTensor(vectors.get("v")!))).toEqual(new Array(32).fill(1.5));
  });
});

describe("llamaRopeFrequencies", () => {
  const config = tinyLlamaConfig({ rotaryDim: 8, headDim: 8, ropeTheta: 10000 });

  it("is theta^(-2i/rotaryDim), divided element-wise by GGUF's rope_freqs factors when given", () => {
    const plain = llamaRopeFrequencies(config);
    expect(Array.from(plain)).toEqual(Array.from(new Float32Array([1, 0.1, 0.01, 0.001])));
    const factors = Tensor.fromFloat32([4], new Float32Array([1, 2, 4, 8]));
    expect(Array.from(llamaRopeFrequencies(config, factors))).toEqual(Array.from(new Float32Array([1, 0.1 / 2, 0.01 / 4, 0.001 / 8])));
    const halfFactors = convertTensorDType(factors, "f16");
    expect(Array.from(llamaRopeFrequencies(config, halfFactors))).toEqual(Array.from(new Float32Array([1, 0.1 / 2, 0.01 / 4, 0.001 / 8])));
  });

  it("refuses factors of another length, naming rope_freqs.weight and both sizes", () => {
    for (const length of [3, 5]) {
      const factors = Tensor.fromFloat32([length], new Float32Array(length).fill(1));
      expect(errorOf(() => llamaRopeFrequencies(config, factors)).message).toBe(
        `(in memory): tensor "rope_freqs.weight": has shape [${length}], expected [rotaryDim / 2] = [4]`,
      );
    }
  });
});

describe("reorderRopeRows: checks and partial rotary", () => {
  /** A [rows, 2] tensor whose row r holds (10r, 10r + 1). */
  const rowsTensor = (rows: number) => Tensor.fromFloat32([rows, 2], new Float32Array(rows * 2).map((_, index) => 10 * Math.floor(index / 2) + (index % 2)));
  const rowOrder = (tensor: Tensor) => Array.from({ length: tensor.shape[0] }, (_, row) => (tensor.data[row * 2] as number) / 10);

  it("with rotaryDim < headDim pairs the leading rows of each head only and keeps the rest in place, both ways", () => {
    const weight = rowsTensor(16); // 2 heads of 8 rows, 6 rotated
    const interleaved = reorderRopeRows(weight, 2, "half", "interleaved", "q", 6);
    expect(rowOrder(interleaved)).toEqual([0, 3, 1, 4, 2, 5, 6, 7, 8, 11, 9, 12, 10, 13, 14, 15]);
    expect(Array.from(interleaved.data.subarray(0, 4))).toEqual([0, 1, 30, 31]);
    const half = reorderRopeRows(weight, 2, "interleaved", "half", "q", 6);
    expect(rowOrder(half)).toEqual([0, 2, 4, 1, 3, 5, 6, 7, 8, 10, 12, 9, 11, 13, 14, 15]);
    expect(rowOrder(reorderRopeRows(interleaved, 2, "interleaved", "half", "q", 6))).toEqual(Array.from({ length: 16 }, (_, row) => row));
    expect(rowOrder(reorderRopeRows(weight, 2, "half", "interleaved", "q", 8))).toEqual(rowOrder(reorderRopeRows(weight, 2, "half", "interleaved")));
    const bias = Tensor.fromFloat32([8], new Float32Array([0, 1, 2, 3, 4, 5, 6, 7])); // one head, 4 rotated
    expect(Array.from(reorderRopeRows(bias, 1, "half", "interleaved", "q.bias", 4).data)).toEqual([0, 2, 1, 3, 4, 5, 6, 7]);
  });

  it("refuses tensors that are not contiguous [rows(, columns)], rows that do not split into even heads, and bad rotary sizes", () => {
    const message = (action: () => unknown) => errorOf(action).message;
    expect(message(() => reorderRopeRows(Tensor.zeros("f32", [2, 2, 2]), 1, "half", "interleaved", "blk.0.attn_q.weight"))).toBe(
      '(in memory): tensor "blk.0.attn_q.weight": RoPE row reordering needs a contiguous [rows, columns] or [rows] tensor, got [2, 2, 2]',
    );
    expect(message(() => reorderRopeRows(Tensor.zeros("f32", []), 1, "half", "interleaved"))).toBe(
      '(in memory): tensor "weight": RoPE row reordering needs a contiguous [rows, columns] or [rows] tensor, got []',
    );
    expect(message(() => reorderRopeRows(Tensor.zeros("f32", [4, 8]).transpose(), 1, "half", "interleaved", "k"))).toBe(
      '(in memory): tensor "k": RoPE row reordering needs a contiguous [rows, columns] or [rows] tensor, got [8, 4]',
    );
    expect(message(() => reorderRopeRows(rowsTensor(12), 4, "half", "interleaved", "k"))).toBe('(in memory): tensor "k": 12 rows do not split into 4 heads of an even size');
    expect(message(() => reorderRopeRows(rowsTensor(12), 5, "interleaved", "half", "k"))).toBe('(in memory): tensor "k": 12 rows do not split into 5 heads of an even size');
    for (const rotary of [7, 10, 0, -2, 2.5]) {
      expect(message(() => reorderRopeRows(rowsTensor(16), 2, "half", "interleaved", "q", rotary))).toBe(
        `(in memory): tensor "q": rotary dimension ${rotary} must be even and at most the head size 8`,
      );
    }
    expect(rowOrder(reorderRopeRows(rowsTensor(16), 2, "half", "interleaved", "q", 2))).toEqual(Array.from({ length: 16 }, (_, row) => row));
  });
});
