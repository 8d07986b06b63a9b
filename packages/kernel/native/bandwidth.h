// Streaming-read bandwidth probe used by the kernel benchmark (see bandwidth.cc).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "thread_pool.h"

namespace kernel {

// Reads every byte of `data` once across the pool's threads; returns a checksum so the reads cannot be elided.
// `wide` uses 512-bit loads (only pass true when the CPU has AVX-512).
uint64_t stream_read(const uint8_t* data, size_t bytes, bool wide, ThreadPool& pool);

}  // namespace kernel
