// A plain streaming read of a buffer over the thread pool: the benchmark's yardstick for memory bandwidth.
// Independent 64-byte accumulators and a software prefetch keep enough loads in flight to saturate the memory system.
#include "bandwidth.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kernel {

#if defined(__x86_64__)
// Each function reads `Streams` equal parts of the buffer side by side, 64 bytes from each per step. One stream is the
// plain sequential read; several streams are what a GEMV tile does (it reads four weight rows at once), and they
// keep more cache misses in flight on one core.
template <int Streams>
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t* data, size_t bytes) {
  __m512i sums[Streams];
  for (auto& sum : sums) sum = _mm512_setzero_si512();
  const size_t part = (bytes / Streams) & ~size_t(63);
  size_t i = 0;
  for (; i + 64 <= part; i += 64)
    for (int stream = 0; stream < Streams; stream++) {
      // Software prefetch 1 KiB ahead, as the GEMV kernels do: on Zen 5 the hardware prefetcher alone leaves a
      // third of the bandwidth unused, and the yardstick must be the best plain read, not an easy one.
      _mm_prefetch(reinterpret_cast<const char*>(data + stream * part + i + 1024), _MM_HINT_T0);
      sums[stream] = _mm512_xor_si512(sums[stream], _mm512_loadu_si512(data + stream * part + i));
    }
  for (int stream = 1; stream < Streams; stream++) sums[0] = _mm512_xor_si512(sums[0], sums[stream]);
  uint64_t out[8];
  _mm512_storeu_si512(out, sums[0]);
  uint64_t result = out[0] ^ out[1] ^ out[2] ^ out[3] ^ out[4] ^ out[5] ^ out[6] ^ out[7];
  for (int stream = 0; stream < Streams; stream++)
    for (size_t j = i; j < part; j++) result ^= data[stream * part + j];
  for (size_t j = Streams * part; j < bytes; j++) result ^= data[j];
  return result;
}

template <int Streams>
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t* data, size_t bytes) {
  __m256i sums[2 * Streams];
  for (auto& sum : sums) sum = _mm256_setzero_si256();
  const size_t part = (bytes / Streams) & ~size_t(63);
  size_t i = 0;
  for (; i + 64 <= part; i += 64)
    for (int stream = 0; stream < Streams; stream++) {
      const __m256i* p = reinterpret_cast<const __m256i*>(data + stream * part + i);
      sums[2 * stream] = _mm256_xor_si256(sums[2 * stream], _mm256_loadu_si256(p));
      sums[2 * stream + 1] = _mm256_xor_si256(sums[2 * stream + 1], _mm256_loadu_si256(p + 1));
    }
  for (int lane = 1; lane < 2 * Streams; lane++) sums[0] = _mm256_xor_si256(sums[0], sums[lane]);
  uint64_t out[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), sums[0]);
  uint64_t result = out[0] ^ out[1] ^ out[2] ^ out[3];
  for (int stream = 0; stream < Streams; stream++)
    for (size_t j = i; j < part; j++) result ^= data[stream * part + j];
  for (size_t j = Streams * part; j < bytes; j++) result ^= data[j];
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

uint64_t stream_read(const uint8_t* data, size_t bytes, VectorWidth width, bool four_streams, ThreadPool& pool) {
  const size_t chunk = 1 << 20;
  const int64_t tasks = (int64_t)((bytes + chunk - 1) / chunk);
  std::vector<uint64_t> partial((size_t)tasks, 0);
  auto body = [&](int64_t task, int) {
    const size_t begin = (size_t)task * chunk, length = std::min(chunk, bytes - begin);
#if defined(__x86_64__)
    const uint8_t* start = data + begin;
    uint64_t value;
    if (width == VectorWidth::Avx512) value = four_streams ? read_avx512<4>(start, length) : read_avx512<1>(start, length);
    else if (width == VectorWidth::Avx2) value = four_streams ? read_avx2<4>(start, length) : read_avx2<1>(start, length);
    else value = read_portable(start, length);
    partial[(size_t)task] = value;
#else
    (void)width;
    (void)four_streams;
    partial[(size_t)task] = read_portable(data + begin, length);
#endif
  };
  pool.parallel_for(tasks, body);
  uint64_t result = 0;
  for (uint64_t value : partial) result ^= value;
  return result;
}

}  // namespace kernel
