// The restricted unpickler opcode by opcode: each value-building opcode torch.save uses gives the documented
// JavaScript value, and every malformed or dangerous pickle is an error naming data.pkl, the problem and (for
// malformed ones) the byte where it was found.

import { describe, expect, it } from "vitest";

import { ModelFileError, UnpicklingRefused, restrictedUnpickle } from "../src/index.ts";

const file = "/models/pytorch_model.bin";
const utf8 = (text: string) => [...new TextEncoder().encode(text)];
const u32 = (value: number) => [...new Uint8Array(Uint32Array.of(value).buffer)];
const u64 = (value: number) => [...new Uint8Array(BigUint64Array.of(BigInt(value)).buffer)];
const unicode = (text: string) => [0x58, ...u32(utf8(text).length), ...utf8(text)];
const global = (module: string, name: string) => [0x63, ...utf8(`${module}\n${name}\n`)];
/** ("storage", torch.<type>, key, "cpu", count) as BINPERSID's argument, then BINPERSID. */
const storage = (type: string, key: string, count: number) => [0x28, ...unicode("storage"), ...global("torch", type), ...unicode(key), ...unicode("cpu"), 0x4b, count, 0x74, 0x51];
/** _rebuild_tensor_v2(storage, offset, (size,), (1,), False, OrderedDict()) */
const tensor = (size: number, offset = 0) => [
  ...global("torch._utils", "_rebuild_tensor_v2"), 0x28, ...storage("FloatStorage", "0", 8), 0x4b, offset, 0x4b, size, 0x85, 0x4b, 1, 0x85, 0x89,
  ...global("collections", "OrderedDict"), 0x29, 0x52, 0x74, 0x52,
];

function unpickle(...body: number[]): unknown {
  return restrictedUnpickle(Uint8Array.from([0x80, 2, ...body, 0x2e]), file);
}

function raw(bytes: number[]): unknown {
  return restrictedUnpickle(Uint8Array.from(bytes), file);
}

describe("values", () => {
  it("builds the documented JavaScript value for each opcode", () => {
    const cases: Array<[number[], unknown]> = [
      [[0x4e], null],
      [[0x88], true],
      [[0x89], false],
      [[0x4b, 0xff], 255],
      [[0x4d, 0x34, 0x12], 0x1234],
      [[0x4a, ...u32(0xfffffffe)], -2],
      [[0x8a, 0], 0],
      [[0x8a, 1, 0x7f], 127],
      [[0x8a, 1, 0xff], -1],
      [[0x8a, 2, 0x01, 0x80], -32767],
      [[0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0], 2 ** 53 - 1],
      [[0x8a, 8, 0, 0, 0, 0, 0, 0, 0x20, 0], 2n ** 53n],
      [[0x8a, 8, 1, 0, 0, 0, 0, 0, 0x20, 0], 2n ** 53n + 1n],
      [[0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff], -(2n ** 53n) - 1n],
      [[0x8a, 8, 1, 0, 0, 0, 0, 0, 0xe0, 0xff], -(2 ** 53) + 1],
      [[0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], 1.5],
      [unicode("é ok"), "é ok"],
      [[0x8c, 3, ...utf8("abc")], "abc"],
      [[0x8d, ...u64(2), ...utf8("hi")], "hi"],
      [[0x55, 2, ...utf8("no")], "no"],
      [[0x54, ...u32(3), ...utf8("yes")], "yes"],
      [[0x29], []],
      [[0x5d, 0x4b, 1, 0x61, 0x28, 0x4b, 2, 0x4b, 3, 0x65], [1, 2, 3]],
      [[0x28, 0x4b, 1, 0x4b, 2, 0x6c], [1, 2]],
      [[0x28, 0x4b, 1, 0x4b, 2, 0x74], [1, 2]],
      [[0x4b, 1, 0x85], [1]],
      [[0x4b, 1, 0x4b, 2, 0x86], [1, 2]],
      [[0x4b, 1, 0x4b, 2, 0x4b, 3, 0x87], [1, 2, 3]],
      [[0x7d, 0x4b, 1, 0x4b, 2, 0x73], new Map([[1, 2]])],
      [[0x7d, 0x28, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x4b, 4, 0x75], new Map([[1, 2], [3, 4]])],
      [[0x28, 0x4b, 5, 0x4b, 6, 0x64], new Map([[5, 6]])],
      [[0x95, ...u64(99), 0x4b, 7], 7],
      [[0x8c, 11, ...utf8("collections"), 0x8c, 11, ...utf8("OrderedDict"), 0x93, 0x29, 0x52], new Map()],
      [[0x7d, 0x4e, 0x62], new Map()],
      [[0x7d, 0x7d, 0x62], new Map()],
    ];
    for (const [body, expected] of cases) expect(unpickle(...body), body.join(" ")).toEqual(expected);
  });

  it("keeps memoized objects by identity (BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, MEMOIZE)", () => {
    const viaBinput = unpickle(0x5d, 0x71, 3, 0x68, 3, 0x86) as unknown[][];
    expect(viaBinput[0]).toBe(viaBinput[1]);
    const viaLong = unpickle(0x5d, 0x72, ...u32(70000), 0x6a, ...u32(70000), 0x86) as unknown[][];
    expect(viaLong[0]).toBe(viaLong[1]);
    const viaMemoize = unpickle(0x4b, 9, 0x94, 0x5d, 0x94, 0x68, 1, 0x87) as unknown[];
    expect(viaMemoize).toEqual([9, [], []]);
    expect(viaMemoize[1]).toBe(viaMemoize[2]);
    expect(unpickle(0x4b, 9, 0x94, 0x5d, 0x94, 0x68, 0, 0x87)).toEqual([9, [], 9]);
  });

  it("rebuilds tensors and parameters as references to their storage", () => {
    expect(unpickle(...tensor(6, 2))).toEqual({
      kind: "tensor",
      storage: { kind: "storage", dtype: "F32", elementBytes: 4, key: "0", elementCount: 8 },
      storageOffset: 2,
      shape: [6],
      strides: [1],
    });
    expect(unpickle(...global("torch._utils", "_rebuild_parameter"), 0x28, ...tensor(4), 0x88, 0x74, 0x52)).toMatchObject({ kind: "tensor", shape: [4] });
    const types: Array<[string, string, number]> = [
      ["HalfStorage", "F16", 2], ["BFloat16Storage", "BF16", 2], ["DoubleStorage", "F64", 8], ["LongStorage", "I64", 8], ["IntStorage", "I32", 4],
      ["ShortStorage", "I16", 2], ["CharStorage", "I8", 1], ["ByteStorage", "U8", 1], ["BoolStorage", "BOOL", 1],
    ];
    for (const [type, dtype, elementBytes] of types) {
      expect(unpickle(...storage(type, "k", 3))).toEqual({ kind: "storage", dtype, elementBytes, key: "k", elementCount: 3 });
    }
  });
});

describe("malformed pickles", () => {
  function problem(bytes: number[]): string {
    try {
      raw(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error).not.toBeInstanceOf(UnpicklingRefused);
      return (error as Error).message.slice(file.length + 2);
    }
    throw new Error("expected a ModelFileError");
  }

  it("names the problem and the byte", () => {
    const cases: Array<[number[], string]> = [
      [[0x80], "data.pkl: truncated: 1 more bytes needed (at byte 1)"],
      [[0x80, 2, 0x4d, 1], "data.pkl: truncated: 2 more bytes needed (at byte 3)"],
      [[0x80, 2, 0x4a, 1, 2, 3], "data.pkl: truncated: 4 more bytes needed (at byte 3)"],
      [[0x80, 2, 0x58, ...u32(5), 0x61], "data.pkl: truncated: 5 more bytes needed (at byte 7)"],
      [[0x80, 2, 0x47, 0, 0], "data.pkl: truncated: 8 more bytes needed (at byte 3)"],
      [[0x80, 2, 0x8a, 4, 1], "data.pkl: truncated: 4 more bytes needed (at byte 4)"],
      [[0x80, 2, 0x95, 1], "data.pkl: truncated: 8 more bytes needed (at byte 3)"],
      [[0x80, 2, 0x63, ...utf8("torch")], "data.pkl: unterminated line (at byte 3)"],
      [[0x80, 2, 0x85], "data.pkl: stack underflow (at byte 3)"],
      [[0x80, 2, 0x4b, 1, 0x74], "data.pkl: no MARK on the stack (at byte 5)"],
      [[0x80, 2, 0x2e], "data.pkl: STOP with 0 values on the stack (at byte 3)"],
      [[0x80, 2, 0x4e, 0x4e, 0x2e], "data.pkl: STOP with 2 values on the stack (at byte 5)"],
      [[0x80, 2, 0x4e, 0x4b, 1, 0x61], "data.pkl: APPEND to a non-list (at byte 6)"],
      [[0x80, 2, 0x4e, 0x28, 0x65], "data.pkl: APPENDS to a non-list (at byte 5)"],
      [[0x80, 2, 0x5d, 0x4b, 1, 0x4b, 2, 0x73], "data.pkl: SETITEM(S) on something that is not a dict (at byte 8)"],
      [[0x80, 2, 0x68, 4], "data.pkl: BINGET of unknown memo 4 (at byte 4)"],
      [[0x80, 2, 0x6a, ...u32(9)], "data.pkl: LONG_BINGET of unknown memo 9 (at byte 7)"],
      [[0x80, 2, 0x4b, 1, 0x4b, 2, 0x93], "data.pkl: STACK_GLOBAL needs two strings (at byte 7)"],
      [[0x80, 2, 0x01], "data.pkl: unsupported pickle opcode 0x01 (at byte 3)"],
      [[0x80, 2, ...global("collections", "OrderedDict"), 0x7d, 0x52], "data.pkl: arguments of collections.OrderedDict must be a tuple (at byte 29)"],
    ];
    for (const [bytes, message] of cases) expect(problem(bytes), message).toBe(message);
  });

  it("names what is wrong in a tensor or storage", () => {
    const rebuild = (...args: number[]) => [0x80, 2, ...global("torch._utils", "_rebuild_tensor_v2"), 0x28, ...args, 0x74, 0x52, 0x2e];
    const store = storage("FloatStorage", "0", 8);
    expect(problem(rebuild(0x4e))).toMatch(/^data\.pkl: _rebuild_tensor_v2 needs a storage \(at byte \d+\)$/);
    expect(problem(rebuild(...store, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x29, 0x29))).toMatch(/^data\.pkl: storage offset must be an integer, got 1\.5 /);
    expect(problem(rebuild(...store, 0x4b, 0, 0x4e, 0x29))).toMatch(/^data\.pkl: size must be a tuple of integers /);
    expect(problem(rebuild(...store, 0x4b, 0, 0x29, 0x4e))).toMatch(/^data\.pkl: stride must be a tuple of integers /);
    expect(problem(rebuild(...store, 0x4b, 0, 0x29, 0x89, 0x85))).toMatch(/^data\.pkl: stride must be an integer, got false /);
    expect(problem(rebuild(...store, 0x4b, 0, 0x4e, 0x85, 0x29))).toMatch(/^data\.pkl: size must be an integer, got null /);
    expect(problem([0x80, 2, ...global("torch._utils", "_rebuild_parameter"), 0x4e, 0x85, 0x52, 0x2e])).toMatch(/^data\.pkl: _rebuild_parameter needs a tensor /);
    expect(problem([0x80, 2, ...unicode("x"), 0x85, 0x51, 0x2e])).toMatch(/^data\.pkl: unexpected persistent id \["x"\] \(expected \("storage", type, key, location, size\)\) /);
    expect(problem([0x80, 2, 0x28, ...unicode("storage"), ...global("torch", "FloatStorage"), ...unicode("0"), ...unicode("cpu"), 0x74, 0x51, 0x2e])).toMatch(/^data\.pkl: unexpected persistent id /);
    expect(problem([0x80, 2, 0x28, ...unicode("storage"), ...global("torch", "FloatStorage"), 0x4b, 5, ...unicode("cpu"), 0x4b, 1, 0x74, 0x51, 0x2e])).toMatch(/^data\.pkl: storage key must be a string, got 5 /);
    expect(problem([0x80, 2, 0x28, ...unicode("storage"), ...global("torch", "FloatStorage"), ...unicode("0"), ...unicode("cpu"), 0x4e, 0x74, 0x51, 0x2e])).toMatch(/^data\.pkl: storage size must be an integer, got null /);
  });
});

describe("dangerous pickles", () => {
  function refusal(bytes: number[]): string {
    try {
      raw(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(UnpicklingRefused);
      const message = (error as Error).message.slice(file.length + 2);
      expect(message).toMatch(/: only tensors and their containers are accepted \(collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2 and _rebuild_parameter, torch\.\*Storage\); a pickle can run arbitrary code, so nothing else is loaded$/);
      return message.slice(0, message.indexOf(": only tensors"));
    }
    throw new Error("expected UnpicklingRefused");
  }

  it("refuses every global, call and object construction outside the allowlist, naming it", () => {
    const cases: Array<[number[], string]> = [
      [[0x80, 2, ...global("os", "system"), 0x2e], "data.pkl: refusing the global os.system"],
      [[0x80, 2, ...global("torch", "load"), 0x2e], "data.pkl: refusing the global torch.load"],
      [[0x80, 2, ...global("torch", "FloatStorage"), 0x29, 0x52, 0x2e], "data.pkl: refusing a call of torch.FloatStorage"],
      [[0x80, 2, ...unicode("x"), 0x29, 0x52, 0x2e], "data.pkl: refusing a call of x"],
      [[0x80, 2, 0x7d, 0x29, 0x52, 0x2e], "data.pkl: refusing a call of {}"],
      [[0x80, 2, ...global("collections", "OrderedDict"), 0x4b, 1, 0x85, 0x52, 0x2e], "data.pkl: refusing collections.OrderedDict called with arguments"],
      [[0x80, 2, 0x28, ...unicode("storage"), ...unicode("FloatStorage"), ...unicode("0"), ...unicode("cpu"), 0x4b, 1, 0x74, 0x51, 0x2e], `data.pkl: refusing a storage of type "FloatStorage"`],
      [[0x80, 2, 0x5d, 0x4e, 0x62, 0x2e], "data.pkl: refusing setting the state of an object that is not a dict"],
      [[0x80, 2, 0x7d, 0x5d, 0x62, 0x2e], "data.pkl: refusing setting the state of an object that is not a dict"],
      [[0x80, 2, 0x81], "data.pkl: refusing creating an object of a class (NEWOBJ)"],
      [[0x80, 2, 0x92], "data.pkl: refusing creating an object of a class (NEWOBJ)"],
      [[0x80, 2, 0x69], "data.pkl: refusing instantiating a class (INST/OBJ)"],
      [[0x80, 2, 0x6f], "data.pkl: refusing instantiating a class (INST/OBJ)"],
    ];
    for (const [bytes, message] of cases) expect(refusal(bytes), message).toBe(message);
  });
});
