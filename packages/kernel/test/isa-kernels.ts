// The kernels attention tests run on: the reference backend, and the native backend once per instruction set this
// CPU runs (each selected while its checks run, then the best one restored).

import { Kernel, NativeBackend, createKernel, nativeAvailability } from "../src/index.ts";
import { createReferenceBackend } from "../src/reference/index.ts";

/** One kernel to check, with the instruction set to select first (native only). */
export interface IsaKernel {
  name: string;
  kernel: Kernel;
  isa?: "avx512" | "avx2" | "portable";
}

/** Selects the best instruction set again after a check selected another. */
export function restoreBestIsa(backend: NativeBackend): void {
  backend.selectIsa("avx512") || backend.selectIsa("avx2") || backend.selectIsa("portable");
}

/** The reference kernel and the native kernel per instruction set (a warning naming `what` when native is absent). */
export function isaKernels(what: string): IsaKernel[] {
  const kernels: IsaKernel[] = [{ name: "reference", kernel: new Kernel(createReferenceBackend()) }];
  if (nativeAvailability().available) {
    const kernel = createKernel({ backend: "native", threads: 2 });
    const backend = kernel.backend as NativeBackend;
    for (const isa of ["avx512", "avx2", "portable"] as const) if (backend.selectIsa(isa)) kernels.push({ name: `native ${isa}`, kernel, isa });
    restoreBestIsa(backend);
  } else console.warn(`${what}: native backend skipped: ${(nativeAvailability() as { reason: string }).reason}`);
  return kernels;
}
