// A restricted unpickler for the data.pkl of a PyTorch checkpoint: it rebuilds state dicts of tensors and nothing
// else. Python's pickle can call any importable function while loading (which is why torch.load(weights_only=True)
// exists); this one knows the opcodes torch.save writes (protocols 2–4) and resolves only an allowlist of globals —
// the OrderedDict container, torch's tensor-rebuilding functions and its storage classes — never calling anything
// but its own stand-ins for them. Any other global, or an opcode outside that set, is refused with an error naming it.
//
// Values come back as plain JavaScript: None → null, bool, int → number (bigint past 2^53), float, str, list/tuple →
// arrays, dict/OrderedDict → Map; a tensor → TensorReference (its storage key, dtype, offset, shape and strides).

import { ModelFileError } from "../errors.ts";

/** A storage a tensor views: data/<key> in the checkpoint's ZIP archive. */
export interface StorageReference {
  /** Tells a storage from a tensor in the unpickled object graph. */
  kind: "storage";
  /** Safetensors spelling of the element type: "F32", "F16", "BF16", "I64", ... */
  dtype: string;
  /** Bytes per element. */
  elementBytes: number;
  /** The archive entry holding the bytes: data/<key> (the persistent id's key). */
  key: string;
  /** Elements in the storage. */
  elementCount: number;
}

/** A tensor of the state dict: a strided view of a storage. */
export interface TensorReference {
  /** Tells a tensor from a storage in the unpickled object graph. */
  kind: "tensor";
  /** The storage it views. */
  storage: StorageReference;
  /** Offset of the first element in the storage, in elements. */
  storageOffset: number;
  /** Sizes, outermost first (torch.Size). */
  shape: number[];
  /** Element strides. */
  strides: number[];
}

interface GlobalReference {
  kind: "global";
  module: string;
  name: string;
}

/** torch storage classes: element type (safetensors spelling) and bytes per element. */
const storageTypes: Readonly<Record<string, readonly [dtype: string, bytes: number]>> = {
  FloatStorage: ["F32", 4], HalfStorage: ["F16", 2], BFloat16Storage: ["BF16", 2], DoubleStorage: ["F64", 8],
  LongStorage: ["I64", 8], IntStorage: ["I32", 4], ShortStorage: ["I16", 2], CharStorage: ["I8", 1], ByteStorage: ["U8", 1], BoolStorage: ["BOOL", 1],
};

const allowedFunctions = new Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]);

const mark = Symbol("mark");

export class UnpicklingRefused extends ModelFileError {}

/** Unpickles `bytes` (a data.pkl), accepting tensors and their containers only. `file` names the checkpoint in errors. */
export function restrictedUnpickle(bytes: Uint8Array, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let position = 0;
  const fail = (problem: string): never => {
    throw new ModelFileError({ file }, `data.pkl: ${problem} (at byte ${position})`);
  };
  const refuse = (what: string): never => {
    throw new UnpicklingRefused(
      { file },
      `data.pkl: refusing ${what}: only tensors and their containers are accepted (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, torch.*Storage); a pickle can run arbitrary code, so nothing else is loaded`,
    );
  };
  const need = (count: number) => {
    if (position + count > bytes.length) fail(`truncated: ${count} more bytes needed`);
  };
  const u8 = () => (need(1), bytes[position++]);
  const u16 = () => (need(2), (position += 2), view.getUint16(position - 2, true));
  const u32 = () => (need(4), (position += 4), view.getUint32(position - 4, true));
  const text = (length: number) => {
    need(length);
    const value = new TextDecoder("utf-8").decode(bytes.subarray(position, position + length));
    position += length;
    return value;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, position);
    if (end < 0) fail("unterminated line");
    const value = new TextDecoder("latin1").decode(bytes.subarray(position, end));
    position = end + 1;
    return value;
  };
  const pop = () => (stack.length === 0 ? fail("stack underflow") : stack.pop());
  const popToMark = (): unknown[] => {
    const index = stack.lastIndexOf(mark);
    if (index < 0) fail("no MARK on the stack");
    const items = stack.splice(index);
    items.shift();
    return items;
  };
  const resolveGlobal = (module: string, name: string): GlobalReference => {
    const full = `${module}.${name}`;
    if (allowedFunctions.has(full) || (module === "torch" && name in storageTypes)) return { kind: "global", module, name };
    return refuse(`the global ${full}`);
  };
  const isGlobal = (value: unknown): value is GlobalReference => typeof value === "object" && value !== null && (value as GlobalReference).kind === "global";
  const integer = (value: unknown, what: string): number => {
    if (typeof value !== "number" || !Number.isInteger(value)) fail(`${what} must be an integer, got ${String(value)}`);
    return value as number;
  };
  const integers = (value: unknown, what: string): number[] => {
    if (!Array.isArray(value)) fail(`${what} must be a tuple of integers`);
    return (value as unknown[]).map((item) => integer(item, what));
  };
  const call = (callable: unknown, args: unknown): unknown => {
    if (!isGlobal(callable)) return refuse(`a call of ${typeof callable === "object" ? JSON.stringify(callable) : String(callable)}`);
    const full = `${callable.module}.${callable.name}`;
    if (!Array.isArray(args)) fail(`arguments of ${full} must be a tuple`);
    const list = args as unknown[];
    switch (full) {
      case "collections.OrderedDict":
        if (list.length !== 0) refuse("collections.OrderedDict called with arguments");
        return new Map();
      case "torch._utils._rebuild_tensor_v2": {
        const [storage, offset, size, stride] = list;
        if (typeof storage !== "object" || storage === null || (storage as StorageReference).kind !== "storage") fail("_rebuild_tensor_v2 needs a storage");
        return { kind: "tensor", storage: storage as StorageReference, storageOffset: integer(offset, "storage offset"), shape: integers(size, "size"), strides: integers(stride, "stride") } satisfies TensorReference;
      }
      case "torch._utils._rebuild_parameter": {
        const [data] = list;
        if (typeof data !== "object" || data === null || (data as TensorReference).kind !== "tensor") fail("_rebuild_parameter needs a tensor");
        return data;
      }
      default:
        return refuse(`a call of ${full}`);
    }
  };
  const persistentLoad = (pid: unknown): StorageReference => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) return fail(`unexpected persistent id ${JSON.stringify(pid)} (expected ("storage", type, key, location, size))`);
    const [, type, key, , count] = pid as [string, unknown, unknown, unknown, unknown];
    if (!isGlobal(type) || type.module !== "torch" || !(type.name in storageTypes)) return refuse(`a storage of type ${JSON.stringify(type)}`);
    const [dtype, elementBytes] = storageTypes[type.name];
    if (typeof key !== "string") fail(`storage key must be a string, got ${String(key)}`);
    return { kind: "storage", dtype, elementBytes, key: key as string, elementCount: integer(count, "storage size") };
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail("SETITEM(S) on something that is not a dict");
    if (items.length % 2 !== 0) fail(`SETITEMS / DICT with a key and no value (${items.length} items)`);
    for (let index = 0; index < items.length; index += 2) (target as Map<unknown, unknown>).set(items[index], items[index + 1]);
  };

  for (;;) {
    const opcode = u8();
    switch (opcode) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); position += 8; break; // FRAME (protocol 4): a length hint only
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x28: stack.push(mark); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popToMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popToMark()); break; // LIST
      case 0x64: { const items = popToMark(); const map = new Map(); setItems(map, items); stack.push(map); break; } // DICT
      case 0x61: { const item = pop(); const list = stack[stack.length - 1]; if (!Array.isArray(list)) fail("APPEND to a non-list"); (list as unknown[]).push(item); break; } // APPEND
      case 0x65: { const items = popToMark(); const list = stack[stack.length - 1]; if (!Array.isArray(list)) fail("APPENDS to a non-list"); (list as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const value = pop(); const key = pop(); setItems(stack[stack.length - 1], [key, value]); break; } // SETITEM
      case 0x75: { const items = popToMark(); setItems(stack[stack.length - 1], items); break; } // SETITEMS
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: { need(4); stack.push(view.getInt32(position, true)); position += 4; break; } // BININT
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const length = u8();
        need(length);
        let value = 0n;
        for (let index = length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[position + index]);
        if (length > 0 && bytes[position + length - 1] & 0x80) value -= 1n << BigInt(8 * length);
        position += length;
        stack.push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        break;
      }
      case 0x47: { need(8); stack.push(view.getFloat64(position, false)); position += 8; break; } // BINFLOAT (big-endian)
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const length = Number(view.getBigUint64(position, true)); position += 8; stack.push(text(length)); break; } // BINUNICODE8
      case 0x55: stack.push(text(u8())); break; // SHORT_BINSTRING
      case 0x54: stack.push(text(u32())); break; // BINSTRING
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: { const key = u8(); if (!memo.has(key)) fail(`BINGET of unknown memo ${key}`); stack.push(memo.get(key)); break; } // BINGET
      case 0x6a: { const key = u32(); if (!memo.has(key)) fail(`LONG_BINGET of unknown memo ${key}`); stack.push(memo.get(key)); break; } // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); stack.push(resolveGlobal(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings"); stack.push(resolveGlobal(module as string, name as string)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); const callable = pop(); stack.push(call(callable, args)); break; } // REDUCE
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x62: { // BUILD: torch's state dicts carry a _metadata attribute (per-module versions), ignored here
        const state = pop();
        const target = stack[stack.length - 1];
        if (!(target instanceof Map) || !(state instanceof Map || state === null)) refuse("setting the state of an object that is not a dict");
        break;
      }
      case 0x81: case 0x92: refuse("creating an object of a class (NEWOBJ)"); break;
      case 0x69: case 0x6f: refuse("instantiating a class (INST/OBJ)"); break;
      default:
        fail(`unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")}`);
    }
  }
}
