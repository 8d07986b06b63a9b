// Arithmetic peak probes: independent dependency chains of one vector instruction, enough of them (12) to cover its
// latency on the pipes that execute it, so the rate is the core's throughput for that instruction. Each pool thread
// runs its own task (pinned to it) in rounds until its own clock passes the minimum duration, and reports what it did,
// so a helper that is late or descheduled shows up as a thread with fewer operations instead of being hidden by the
// caller running its share.
#include "compute_peak.h"

#include <chrono>
#include <ctime>

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu_features.h"

namespace kernel {

namespace {

// Iterations of the 12 chains per round between two clock reads (a few hundred microseconds of work).
constexpr int64_t kIterationsPerRound = 1 << 16;
constexpr int kChains = 12;

#if defined(__x86_64__)

// Twelve chains a_i = INSTRUCTION(a_i) for `iterations` rounds, then folded into a0. Twelve named variables rather
// than an array: GCC keeps an array of vectors in memory when asm operands name its elements, and the store and reload
// in every round then lengthen each chain (that probe read about half the FMA peak). The empty asm keeps the compiler
// from merging the identical chains (each is opaque to it after every round). A macro rather than a template with a
// lambda: the lambda would not inherit the function's target attribute.
#define PEAK_CHAINS(Vector, seed, INSTRUCTION, ADD)                                                          \
  Vector a0 = seed, a1 = seed, a2 = seed, a3 = seed, a4 = seed, a5 = seed, a6 = seed, a7 = seed, a8 = seed, \
         a9 = seed, a10 = seed, a11 = seed;                                                                 \
  for (int64_t k = 0; k < iterations; k++) {                                                                \
    a0 = INSTRUCTION(a0), a1 = INSTRUCTION(a1), a2 = INSTRUCTION(a2), a3 = INSTRUCTION(a3);                 \
    a4 = INSTRUCTION(a4), a5 = INSTRUCTION(a5), a6 = INSTRUCTION(a6), a7 = INSTRUCTION(a7);                 \
    a8 = INSTRUCTION(a8), a9 = INSTRUCTION(a9), a10 = INSTRUCTION(a10), a11 = INSTRUCTION(a11);             \
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));                     \
    __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                   \
  }                                                                                                         \
  a0 = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                                  \
  a0 = ADD(a0, ADD(ADD(a8, a9), ADD(a10, a11)));

// The lanes of the folded chains summed by hand (GCC 12's _mm512_reduce_add_ps warns about an undefined half): a sink
// for the results, so the chains are not dead code.
template <typename Lane, int Count>
double lane_sum(const Lane (&lanes)[Count]) {
  double sum = 0;
  for (Lane lane : lanes) sum += (double)lane;
  return sum;
}

__attribute__((target("avx512f"))) double fma512_chains(int64_t iterations) {
  const __m512 multiplier = _mm512_set1_ps(0.999999f), addend = _mm512_set1_ps(1e-7f);
#define FMA(x) _mm512_fmadd_ps(x, multiplier, addend)
  PEAK_CHAINS(__m512, _mm512_set1_ps(1.0f), FMA, _mm512_add_ps)
#undef FMA
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a0);
  return lane_sum(lanes);
}

__attribute__((target("avx2,fma"))) double fma256_chains(int64_t iterations) {
  const __m256 multiplier = _mm256_set1_ps(0.999999f), addend = _mm256_set1_ps(1e-7f);
#define FMA(x) _mm256_fmadd_ps(x, multiplier, addend)
  PEAK_CHAINS(__m256, _mm256_set1_ps(1.0f), FMA, _mm256_add_ps)
#undef FMA
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, a0);
  return lane_sum(lanes);
}

__attribute__((target("avx512f,avx512bf16"))) double bf16_chains(int64_t iterations) {
  const __m512bh ones = (__m512bh)_mm512_set1_epi16(0x3f80);  // bf16 1.0
#define DOT(x) _mm512_dpbf16_ps(x, ones, ones)
  PEAK_CHAINS(__m512, _mm512_set1_ps(1e-3f), DOT, _mm512_add_ps)
#undef DOT
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a0);
  return lane_sum(lanes);
}

__attribute__((target("avx512f,avx512vnni"))) double vnni_chains(int64_t iterations) {
  const __m512i threes = _mm512_set1_epi8(3);
#define DOT(x) _mm512_dpbusd_epi32(x, threes, threes)
  PEAK_CHAINS(__m512i, _mm512_set1_epi32(1), DOT, _mm512_add_epi32)
#undef DOT
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, a0);
  return lane_sum(lanes);
}

#undef PEAK_CHAINS

#endif

double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// CPU time of the calling thread in seconds (-1 where there is no per-thread clock).
double thread_cpu_seconds() {
#if defined(__linux__)
  timespec time;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0) return (double)time.tv_sec + (double)time.tv_nsec * 1e-9;
#endif
  return -1;
}

}  // namespace

PeakResult compute_peak(PeakKind kind, double minimum_seconds, ThreadPool& pool) {
  PeakResult result;
#if defined(__x86_64__)
  const CpuFeatures& cpu = cpu_features();
  const bool wide = cpu.avx512f;
  using Chains = double (*)(int64_t);
  Chains chains = nullptr;
  double operations_per_instruction = 0;  // lanes × operations per lane
  if (kind == PeakKind::Fma && wide) chains = fma512_chains, operations_per_instruction = 16 * 2;
  else if (kind == PeakKind::Fma && cpu.avx2 && cpu.fma) chains = fma256_chains, operations_per_instruction = 8 * 2;
  else if (kind == PeakKind::Bf16 && wide && cpu.avx512bf16) chains = bf16_chains, operations_per_instruction = 16 * 4;
  else if (kind == PeakKind::Vnni && wide && cpu.avx512vnni) chains = vnni_chains, operations_per_instruction = 16 * 8;
  if (chains == nullptr) return result;
  result.supported = true;
  result.threads.resize((size_t)pool.threads());
  auto body = [&](int thread) {
    PeakThread& record = result.threads[(size_t)thread];
    record.thread = thread;
    int64_t rounds = 0;
    double checksum = 0;
    const double cpu_start = thread_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    auto now = start;
    do {
      checksum += chains(kIterationsPerRound);
      rounds++;
      now = std::chrono::steady_clock::now();
    } while (seconds_between(start, now) < minimum_seconds);
    record.seconds = seconds_between(start, now);
    if (cpu_start >= 0) record.cpu_seconds = thread_cpu_seconds() - cpu_start;
    record.operations = (double)rounds * kIterationsPerRound * kChains * operations_per_instruction;
#if defined(__linux__)
    record.system_thread_id = (int64_t)syscall(SYS_gettid);
    record.cpu = sched_getcpu();
#endif
    volatile double sink = checksum;  // the chains' results are used
    (void)sink;
  };
  const auto start = std::chrono::steady_clock::now();
  pool.run_on_every_thread(body);
  result.wall_seconds = seconds_between(start, std::chrono::steady_clock::now());
#else
  (void)kind;
  (void)minimum_seconds;
  (void)pool;
#endif
  return result;
}

}  // namespace kernel
