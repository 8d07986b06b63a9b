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
uint64_t stream_read(const uint8_t* data, size_t bytes, VectorWidth width, ThreadPool& pool);

}  // namespace kernel
