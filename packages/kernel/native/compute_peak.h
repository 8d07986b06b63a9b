// Arithmetic peak probes used by the kernel benchmark (see compute_peak.cc): the yardstick for compute-bound GEMMs, as
// the streaming read (bandwidth.h) is for memory-bound GEMVs.
#pragma once
#include <cstdint>
#include <vector>

#include "thread_pool.h"

namespace kernel {

enum class PeakKind { Fma, Bf16, Vnni };

// What one pool thread did in a peak probe.
struct PeakThread {
  int thread = 0;                // pool thread index that ran the task (the task is pinned to it)
  int64_t system_thread_id = 0;  // the OS thread (Linux tid) it ran on
  int cpu = -1;                  // the CPU it ran on when it finished (-1: unknown)
  double operations = 0;         // arithmetic operations done
  double seconds = 0;            // its own run time, from its first chain round to its last
  double cpu_seconds = -1;       // the CPU time it got meanwhile (less than `seconds` when it was descheduled; -1: unknown)
};

struct PeakResult {
  bool supported = false;  // false: the CPU lacks the instruction (the rest is empty)
  double wall_seconds = 0; // from publishing the tasks to the last thread finishing, as the caller saw it
  std::vector<PeakThread> threads;  // one per pool thread, in thread order
};

// Runs independent chains of one vector instruction (f32 FMA, vdpbf16ps or vpdpbusd) on every thread of the pool at
// once, each thread one task pinned to it (ThreadPool::run_on_every_thread, so the caller cannot run a helper's share),
// each for at least `minimum_seconds` of its own time. Operations count an FMA lane as 2, a vdpbf16ps lane 4, a
// vpdpbusd lane 8. FMA uses 512-bit vectors with AVX-512, else 256-bit ones with AVX2 + FMA.
PeakResult compute_peak(PeakKind kind, double minimum_seconds, ThreadPool& pool);

}  // namespace kernel
