// checkGgufDataLayout on a relabelled tensor in the middle of the data section: the padded size it reports is the
// tensor's own (its end minus its start), not its end offset.

import { describe, expect, it } from "vitest";

import { checkGgufDataLayout } from "../src/gguf/data-checks.ts";
import { errorOf } from "./helpers/model-file-error.ts";

describe("GGUF data layout, a tensor that does not start at offset 0", () => {
  it("names its size with padding, measured from its own offset", () => {
    const tensor = (name: string, offset: number, byteLength: number) => ({ name, shape: [byteLength / 4], ggmlTypeName: "F32", offset, byteLength });
    // "b" starts at 64 and claims 40 bytes (64 with padding), but "c" starts 160 bytes later.
    const tensors = [tensor("a", 0, 64), tensor("b", 64, 40), tensor("c", 224, 4)];
    expect(errorOf(() => checkGgufDataLayout("f.gguf", tensors, 1000, 32, 1000 + 256)).message).toBe(
      'f.gguf: tensor "b": F32 [10] is 40 bytes (64 with padding to 32), but its data runs 160 bytes to the next tensor "c": ' +
        "its type or shape does not match its data (a tensor relabelled with another type?)",
    );
  });
});
