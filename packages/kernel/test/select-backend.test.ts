// createKernel's checks of its settings: INFER_THREADS, the threads option and INFER_NATIVE_ISA outside what the
// native backend runs are refused with a message naming the setting and what is allowed, never ignored.

import { afterEach, describe, expect, it } from "vitest";

import { KernelError, createKernel, nativeAvailability, requestedNativeIsa } from "../src/index.ts";

const saved = { INFER_THREADS: process.env.INFER_THREADS, INFER_NATIVE_ISA: process.env.INFER_NATIVE_ISA };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("createKernel settings", () => {
  it("refuses thread counts the native pool cannot run", () => {
    process.env.INFER_THREADS = "99999";
    expect(() => createKernel({ backend: "reference" })).toThrow(new KernelError('INFER_THREADS must be an integer in 1..256, got "99999"'));
    process.env.INFER_THREADS = "two";
    expect(() => createKernel({ backend: "reference" })).toThrow(/INFER_THREADS must be an integer in 1\.\.256, got "two"/);
    delete process.env.INFER_THREADS;
    expect(() => createKernel({ backend: "reference", threads: 257 })).toThrow(/threads must be an integer in 1\.\.256, got 257/);
    expect(() => createKernel({ backend: "reference", threads: 0 })).toThrow(KernelError);
    expect(createKernel({ backend: "reference", threads: 256 }).backend.name).toBe("reference");
  });

  it("refuses an INFER_NATIVE_ISA that is not an instruction set", () => {
    process.env.INFER_NATIVE_ISA = "sse";
    expect(() => requestedNativeIsa()).toThrow(/INFER_NATIVE_ISA must be one of avx512, avx2, portable, got "sse"/);
    process.env.INFER_NATIVE_ISA = "portable";
    expect(requestedNativeIsa()).toBe("portable");
    delete process.env.INFER_NATIVE_ISA;
    expect(requestedNativeIsa()).toBeUndefined();
  });

  it.skipIf(!nativeAvailability().available)("creates a native kernel on the requested instruction set, and refuses an unknown one", () => {
    process.env.INFER_NATIVE_ISA = "sse";
    expect(() => createKernel({ backend: "native", threads: 1 })).toThrow(/INFER_NATIVE_ISA must be one of/);
    process.env.INFER_NATIVE_ISA = "portable";
    const kernel = createKernel({ backend: "native", threads: 1 });
    expect((kernel.backend as unknown as { isa: string }).isa).toBe("portable");
    delete process.env.INFER_NATIVE_ISA;
    const backend = kernel.backend as unknown as { selectIsa(name: string): boolean };
    for (const isa of ["avx512", "avx2"]) if (backend.selectIsa(isa)) break; // leave the fast path for later tests
  });
});
