// Arithmetic peak probes used by the kernel benchmark (see compute_peak.cc): the yardstick for compute-bound GEMMs, as
// the streaming read (bandwidth.h) is for memory-bound GEMVs.
#pragma once
#include <cstdint>

#include "thread_pool.h"

namespace kernel {

enum class PeakKind { Fma, Bf16, Vnni };

// Runs `iterations` rounds of 12 independent 512-bit FMA (f32), vdpbf16ps or vpdpbusd chains on every thread of the
// pool; returns the arithmetic operations done (an FMA lane counts 2, a vdpbf16ps lane 4, a vpdpbusd lane 8), or -1
// when the CPU lacks the instruction. The caller times the call.
double compute_peak(PeakKind kind, int64_t iterations, ThreadPool& pool);

}  // namespace kernel
