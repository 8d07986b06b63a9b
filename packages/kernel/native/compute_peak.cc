// Arithmetic peak probes: independent dependency chains of one vector instruction, enough of them (12) to cover its
// latency on the pipes that execute it, so the rate is the core's throughput for that instruction.
#include "compute_peak.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu_features.h"

namespace kernel {

#if defined(__x86_64__)
namespace {

// Twelve chains a[i] = INSTRUCTION(a[i]) for `iterations` rounds, then folded into a[0]. The empty asm keeps the
// compiler from merging the identical chains (each is opaque to it after every round). A macro rather than a template
// with a lambda: the lambda would not inherit the function's target attribute.
#define PEAK_CHAINS(Vector, seed, INSTRUCTION)                       \
  Vector a[12];                                                      \
  for (int i = 0; i < 12; i++) a[i] = seed;                          \
  for (int64_t k = 0; k < iterations; k++) {                         \
    for (int i = 0; i < 12; i++) a[i] = INSTRUCTION(a[i]);           \
    for (int i = 0; i < 12; i++) __asm__ volatile("" : "+v"(a[i])); \
  }

__attribute__((target("avx512f"))) float fma_chains(int64_t iterations) {
  const __m512 multiplier = _mm512_set1_ps(0.999999f), addend = _mm512_set1_ps(1e-7f);
#define FMA(x) _mm512_fmadd_ps(x, multiplier, addend)
  PEAK_CHAINS(__m512, _mm512_set1_ps(1.0f), FMA)
#undef FMA
  for (int i = 1; i < 12; i++) a[0] = _mm512_add_ps(a[0], a[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a[0]);  // summed by hand: GCC 12's _mm512_reduce_add_ps warns about an undefined half
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_chains(int64_t iterations) {
  const __m512bh ones = (__m512bh)_mm512_set1_epi16(0x3f80);  // bf16 1.0
#define DOT(x) _mm512_dpbf16_ps(x, ones, ones)
  PEAK_CHAINS(__m512, _mm512_set1_ps(1e-3f), DOT)
#undef DOT
  for (int i = 1; i < 12; i++) a[0] = _mm512_add_ps(a[0], a[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a[0]);  // summed by hand: GCC 12's _mm512_reduce_add_ps warns about an undefined half
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

__attribute__((target("avx512f,avx512vnni"))) int vnni_chains(int64_t iterations) {
  const __m512i threes = _mm512_set1_epi8(3);
#define DOT(x) _mm512_dpbusd_epi32(x, threes, threes)
  PEAK_CHAINS(__m512i, _mm512_set1_epi32(1), DOT)
#undef DOT
  for (int i = 1; i < 12; i++) a[0] = _mm512_add_epi32(a[0], a[i]);
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, a[0]);
  uint32_t sum = 0;  // wraps (only a sink for the chains' results)
  for (int lane : lanes) sum += (uint32_t)lane;
  return (int)sum;
}

#undef PEAK_CHAINS

}  // namespace
#endif

double compute_peak(PeakKind kind, int64_t iterations, ThreadPool& pool) {
#if defined(__x86_64__)
  const CpuFeatures& cpu = cpu_features();
  if (!cpu.avx512f || (kind == PeakKind::Bf16 && !cpu.avx512bf16) || (kind == PeakKind::Vnni && !cpu.avx512vnni)) return -1;
  volatile float sink = 0;
  auto body = [&](int64_t, int) {
    if (kind == PeakKind::Fma) sink = sink + fma_chains(iterations);
    else if (kind == PeakKind::Bf16) sink = sink + bf16_chains(iterations);
    else sink = sink + (float)vnni_chains(iterations);
  };
  pool.parallel_for(pool.threads(), body);
  const double per_instruction = kind == PeakKind::Fma ? 32 : kind == PeakKind::Bf16 ? 64 : 128;
  return (double)iterations * 12 * per_instruction * pool.threads();
#else
  (void)kind;
  (void)iterations;
  (void)pool;
  return -1;
#endif
}

}  // namespace kernel
