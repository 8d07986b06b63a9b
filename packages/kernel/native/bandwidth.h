// Streaming-read bandwidth probe used by the kernel benchmark (see bandwidth.cc).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "thread_pool.h"

namespace kernel {

// Which loads the probe uses: pass the widest the CPU supports, so the yardstick is the memory and not the core.
enum class VectorWidth { Portable, Avx2, Avx512 };

// Reads every byte of `data` once across the pool's threads; returns a checksum so the reads cannot be elided.
// `four_streams` reads four parts of each chunk side by side (as a GEMV tile reads four rows) instead of one.
uint64_t stream_read(const uint8_t* data, size_t bytes, VectorWidth width, bool four_streams, ThreadPool& pool);

}  // namespace kernel
