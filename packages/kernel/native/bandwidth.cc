// A plain streaming read of a buffer over the thread pool: the benchmark's yardstick for memory bandwidth.
// Eight independent 64-byte accumulators per thread keep enough loads in flight to saturate the memory system.
#include "bandwidth.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kernel {

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t* data, size_t bytes) {
  __m512i sums[8];
  for (auto& sum : sums) sum = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 512 <= bytes; i += 512)
    for (int lane = 0; lane < 8; lane++)
      sums[lane] = _mm512_xor_si512(sums[lane], _mm512_loadu_si512(data + i + 64 * lane));
  for (int lane = 1; lane < 8; lane++) sums[0] = _mm512_xor_si512(sums[0], sums[lane]);
  uint64_t out[8];
  _mm512_storeu_si512(out, sums[0]);
  uint64_t result = out[0] ^ out[1] ^ out[2] ^ out[3] ^ out[4] ^ out[5] ^ out[6] ^ out[7];
  for (; i < bytes; i++) result ^= data[i];
  return result;
}

// 256-bit loads for CPUs without AVX-512: a 64-bit scalar loop cannot keep enough loads in flight on one core and
// would understate the bandwidth (making kernels look faster than the memory).
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t* data, size_t bytes) {
  __m256i sums[8];
  for (auto& sum : sums) sum = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 256 <= bytes; i += 256) {
    for (int lane = 0; lane < 8; lane++)
      sums[lane] = _mm256_xor_si256(sums[lane], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i + 32 * lane)));
  }
  for (int lane = 1; lane < 8; lane++) sums[0] = _mm256_xor_si256(sums[0], sums[lane]);
  uint64_t out[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), sums[0]);
  uint64_t result = out[0] ^ out[1] ^ out[2] ^ out[3];
  for (; i < bytes; i++) result ^= data[i];
  return result;
}
#endif

static uint64_t read_portable(const uint8_t* data, size_t bytes) {
  uint64_t sums[8] = {0};
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64)
    for (int lane = 0; lane < 8; lane++) {
      uint64_t word;
      std::memcpy(&word, data + i + 8 * lane, 8);
      sums[lane] ^= word;
    }
  uint64_t result = 0;
  for (uint64_t sum : sums) result ^= sum;
  for (; i < bytes; i++) result ^= data[i];
  return result;
}

uint64_t stream_read(const uint8_t* data, size_t bytes, VectorWidth width, ThreadPool& pool) {
  const size_t chunk = 1 << 20;
  const int64_t tasks = (int64_t)((bytes + chunk - 1) / chunk);
  std::vector<uint64_t> partial((size_t)tasks, 0);
  auto body = [&](int64_t task, int) {
    const size_t begin = (size_t)task * chunk, length = std::min(chunk, bytes - begin);
#if defined(__x86_64__)
    partial[(size_t)task] = width == VectorWidth::Avx512 ? read_avx512(data + begin, length)
                            : width == VectorWidth::Avx2 ? read_avx2(data + begin, length)
                                                         : read_portable(data + begin, length);
#else
    (void)width;
    partial[(size_t)task] = read_portable(data + begin, length);
#endif
  };
  pool.parallel_for(tasks, body);
  uint64_t result = 0;
  for (uint64_t value : partial) result ^= value;
  return result;
}

}  // namespace kernel
