// Which instruction sets this CPU (and the OS) supports, and which kernel table the addon uses.
#pragma once
#include "matmul.h"

namespace kernel {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
  bool avx512_usable() const { return avx512f && avx512bw && avx512vl && avx512vnni && fma && f16c; }
  bool avx2_usable() const { return avx2 && fma && f16c; }
};

const CpuFeatures& cpu_features();

// The table in use: the best the CPU supports, or the one named by INFER_NATIVE_ISA / select_kernels().
const KernelTable& active_kernels();
// Selects "avx512", "avx512-nobf16" (AVX-512 without AVX512_BF16 instructions), "avx2" or "portable"; returns false
// (and changes nothing) when the CPU cannot run it.
bool select_kernels(const char* name);
// Whether ops outside the kernel tables (attention, SiLU/SwiGLU) take their AVX2 paths: the CPU runs AVX2 and the
// selected table is not the portable one, so INFER_NATIVE_ISA=portable (and the tests) run their portable paths too.
bool avx2_paths_selected();

}  // namespace kernel
