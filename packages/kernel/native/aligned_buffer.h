// A grow-only, 64-byte-aligned scratch buffer for the hand-written kernels' prepared activations.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>

namespace kernel {

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }
  // At least `count` elements, 64-byte aligned; contents are not preserved when it grows.
  T* get(size_t count) {
    if (count > capacity_) {
      std::free(data_);
      capacity_ = std::max(count, capacity_ * 2);
      data_ = static_cast<T*>(std::aligned_alloc(64, ((capacity_ * sizeof(T) + 63) / 64) * 64));
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace kernel
