// Runtime CPU dispatch: detect features once, pick the fastest kernel table the CPU can run.
#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace kernel {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the vector state (XCR0).
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = __builtin_cpu_supports("f16c");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    return f;
  }();
  return features;
}

static const KernelTable* lookup(const char* name) {
#if defined(__x86_64__)
  // "avx512" uses AVX512_BF16 when the CPU has it; "avx512-nobf16" never does.
  if (std::strcmp(name, "avx512") == 0) {
    if (!cpu_features().avx512_usable()) return nullptr;
    return cpu_features().avx512bf16 ? &avx512::table() : &avx512::table_without_bf16();
  }
  if (std::strcmp(name, "avx512-nobf16") == 0) return cpu_features().avx512_usable() ? &avx512::table_without_bf16() : nullptr;
  if (std::strcmp(name, "avx2") == 0) return cpu_features().avx2_usable() ? &avx2::table() : nullptr;
#endif
  if (std::strcmp(name, "portable") == 0) return &portable::table();
  return nullptr;
}

static const KernelTable* best() {
  const char* requested = std::getenv("INFER_NATIVE_ISA");
  if (requested && *requested) {
    if (const KernelTable* table = lookup(requested)) return table;
  }
  for (const char* name : {"avx512", "avx2", "portable"}) {
    if (const KernelTable* table = lookup(name)) return table;
  }
  return &portable::table();
}

static const KernelTable*& current() {
  static const KernelTable* table = best();
  return table;
}

const KernelTable& active_kernels() { return *current(); }

bool select_kernels(const char* name) {
  const KernelTable* table = lookup(name);
  if (!table) return false;
  current() = table;
  return true;
}

bool avx2_paths_selected() { return cpu_features().avx2_usable() && current() != &portable::table(); }

}  // namespace kernel
