// Matrix products out[tokens, rows] = input[tokens, cols] · weight[rows, cols]ᵀ for every weight dtype, and the
// per-instruction-set kernel tables the addon dispatches to at start-up (see cpu_features.h).
#pragma once
#include <cstdint>

#include "thread_pool.h"

namespace kernel {

struct MatmulProblem {
  float* out;             // [tokens, rows]
  const float* input;     // [tokens, cols]
  const uint8_t* weight;  // [rows, cols] in `dtype`'s row layout
  int dtype;
  int64_t tokens, rows, cols;
};

using MatmulFunction = void (*)(const MatmulProblem& problem, ThreadPool& pool);

struct KernelTable {
  const char* name;
  MatmulFunction matmul;
};

// Plain C++ kernels compiled three times (portable, -mavx2, -mavx512*): the compiler vectorizes them. For avx2 and
// avx512, generic_table() is that code and table() the hand-written kernels (matmul_avx2.cc, matmul_avx512.cc),
// which fall back to the generic ones for the dtypes they do not specialize.
namespace portable { const KernelTable& table(); }
namespace avx2 { const KernelTable& generic_table(); const KernelTable& table(); }
namespace avx512 {
const KernelTable& generic_table();
// The AVX-512 kernels; table() uses AVX512_BF16's vdpbf16ps for bf16 weights, table_without_bf16() widens bf16 to f32
// (for CPUs without AVX512_BF16, and to test that path anywhere).
const KernelTable& table();
const KernelTable& table_without_bf16();
// f32 / f16 / bf16 weights; matmul_avx512_float.cc.
void matmul_float(const MatmulProblem& problem, ThreadPool& pool, bool use_bf16_instructions);
// q8_0x16 / q4_0x16 weights (interleave.h); matmul_avx512_interleaved.cc.
void matmul_interleaved(const MatmulProblem& problem, ThreadPool& pool);
// q4_kx16 / q6_kx16 weights (interleave.h); matmul_avx512_kquants.cc.
void matmul_k_interleaved(const MatmulProblem& problem, ThreadPool& pool);
}

// Splits [0, count) into tasks of about `grain` items (at least `minimum_tasks` when possible).
inline int64_t task_size(int64_t count, int threads, int64_t grain) {
  const int64_t tasks_wanted = (int64_t)threads * 8;
  int64_t size = (count + tasks_wanted - 1) / tasks_wanted;
  if (size < grain) size = grain;
  return size;
}

}  // namespace kernel
