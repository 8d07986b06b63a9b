// The restricted unpickler's type checks on values of the wrong kind (None, a dict, a string where a global, storage,
// tensor or persistent id belongs): each is refused or reported by name, never a TypeError from reading a property of
// None; STACK_GLOBAL with one non-string; a storage type from another module; SETITEMS / DICT with a key left
// without its value (Python's unpickler fails there too).

import { describe, expect, it } from "vitest";

import { ModelFileError, UnpicklingRefused, restrictedUnpickle } from "../src/index.ts";

const file = "/models/pytorch_model.bin";
const utf8 = (text: string) => [...new TextEncoder().encode(text)];
const u32 = (value: number) => [...new Uint8Array(Uint32Array.of(value).buffer)];
const unicode = (text: string) => [0x58, ...u32(utf8(text).length), ...utf8(text)];
const global = (module: string, name: string) => [0x63, ...utf8(`${module}\n${name}\n`)];
const storage = (type: number[], tag = "storage") => [0x28, ...unicode(tag), ...type, ...unicode("0"), ...unicode("cpu"), 0x4b, 8, 0x74, 0x51];

/** The message after "<file>: " of what unpickling `body` (between PROTO 2 and STOP) throws, and its class. */
function thrown(...body: number[]): [string, string] {
  try {
    restrictedUnpickle(Uint8Array.from([0x80, 2, ...body, 0x2e]), file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return [error instanceof UnpicklingRefused ? "refused" : "malformed", (error as Error).message.slice(file.length + 2)];
  }
  throw new Error("expected an error");
}
const refusedMessage = (what: string) =>
  `data.pkl: refusing ${what}: only tensors and their containers are accepted (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, torch.*Storage); a pickle can run arbitrary code, so nothing else is loaded`;

describe("values of the wrong kind", () => {
  it("a call of None, a storage type that is None, a dict or another module's *Storage", () => {
    expect(thrown(0x4e, 0x29, 0x52)).toEqual(["refused", refusedMessage("a call of null")]);
    expect(thrown(...storage([0x4e]))).toEqual(["refused", refusedMessage("a storage of type null")]);
    expect(thrown(...storage([0x7d]))).toEqual(["refused", refusedMessage("a storage of type {}")]);
    expect(thrown(...global("numpy", "FloatStorage"))).toEqual(["refused", refusedMessage("the global numpy.FloatStorage")]);
    expect(thrown(...storage(global("collections", "OrderedDict")))).toEqual(["refused", refusedMessage('a storage of type {"kind":"global","module":"collections","name":"OrderedDict"}')]);
  });

  it("a persistent id that is None or not tagged \"storage\"", () => {
    const [kind, message] = thrown(0x4e, 0x51);
    expect(kind).toBe("malformed");
    expect(message).toMatch(/^data\.pkl: unexpected persistent id null \(expected \("storage", type, key, location, size\)\) \(at byte \d+\)$/);
    expect(thrown(...storage(global("torch", "FloatStorage"), "other"))[1]).toMatch(/^data\.pkl: unexpected persistent id \["other",\{"kind":"global","module":"torch","name":"FloatStorage"\},"0","cpu",8\] /);
  });

  it("a tensor rebuilt from something that is not a storage, a parameter from something that is not a tensor", () => {
    const rebuild = (...storageArgument: number[]) => [...global("torch._utils", "_rebuild_tensor_v2"), 0x28, ...storageArgument, 0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x74, 0x52];
    expect(thrown(...rebuild(0x7d))[1]).toMatch(/^data\.pkl: _rebuild_tensor_v2 needs a storage \(at byte \d+\)$/);
    expect(thrown(...rebuild(...unicode("storage")))[1]).toMatch(/^data\.pkl: _rebuild_tensor_v2 needs a storage /);
    const parameter = (...argument: number[]) => [...global("torch._utils", "_rebuild_parameter"), ...argument, 0x85, 0x52];
    expect(thrown(...parameter(...storage(global("torch", "FloatStorage"))))[1]).toMatch(/^data\.pkl: _rebuild_parameter needs a tensor /);
    expect(thrown(...parameter(0x7d))[1]).toMatch(/^data\.pkl: _rebuild_parameter needs a tensor /);
    expect(thrown(...parameter(...unicode("tensor")))[1]).toMatch(/^data\.pkl: _rebuild_parameter needs a tensor /);
  });

  it("STACK_GLOBAL with either part not a string", () => {
    expect(thrown(...unicode("collections"), 0x4b, 1, 0x93)[1]).toBe("data.pkl: STACK_GLOBAL needs two strings (at byte 21)");
    expect(thrown(0x4b, 1, ...unicode("OrderedDict"), 0x93)[1]).toBe("data.pkl: STACK_GLOBAL needs two strings (at byte 21)");
  });

  it("SETITEMS and DICT with a key left without its value", () => {
    expect(thrown(0x7d, 0x28, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x75)[1]).toBe("data.pkl: SETITEMS / DICT with a key and no value (3 items) (at byte 11)");
    expect(thrown(0x28, 0x4b, 1, 0x64)[1]).toBe("data.pkl: SETITEMS / DICT with a key and no value (1 items) (at byte 6)");
  });
});

describe("BINPUT", () => {
  it("takes a one-byte memo key: the next opcode runs", () => {
    const pair = restrictedUnpickle(Uint8Array.from([0x80, 2, 0x5d, 0x71, 3, 0x68, 3, 0x86, 0x2e]), file) as unknown[][];
    expect(pair).toHaveLength(2);
    expect(pair[0]).toEqual([]);
    expect(pair[0]).toBe(pair[1]);
  });
});
