// Packing into and out of the interleaved q8_0x16 / q4_0x16 / q4_kx16 / q6_kx16 layouts described in interleave.h.
#include "interleave.h"

#include <cstring>

#include "formats.h"

namespace kernel {

namespace {

struct Layout {
  int block_values;    // 32 or 256
  int block_bytes;     // 34, 18, 144, 210
  int fields[2];       // offsets of the 2-byte fields in the plain block (-1: none)
  uint8_t flip;        // XOR applied to each word byte: 0x80 turns int8 values into value + 128
};

Layout layout_of(int plain) {
  switch (plain) {
    case Q8_0: return Layout{32, 34, {0, -1}, 0x80};
    case Q4_0: return Layout{32, 18, {0, -1}, 0x00};
    case Q4_K: return Layout{256, 144, {0, 2}, 0x00};
    default: return Layout{256, 210, {208, -1}, 0x00};  // Q6_K
  }
}

inline bool is_field(const Layout& layout, int byte) { return byte == layout.fields[0] || byte == layout.fields[1]; }

// Moves one row's block between its plain bytes and its place in the group block (row `r` of 16), segment by segment.
template <bool ToPacked>
void move_block(const Layout& layout, uint8_t* plain, uint8_t* group_block, int r) {
  size_t offset = 0;  // of the current segment in the group block
  for (int byte = 0; byte < layout.block_bytes;) {
    const int size = is_field(layout, byte) ? 2 : 4;
    uint8_t* packed = group_block + offset + (size_t)size * r;
    for (int i = 0; i < size; i++) {
      const uint8_t flip = size == 4 ? layout.flip : 0;
      if constexpr (ToPacked) packed[i] = plain[byte + i] ^ flip;
      else plain[byte + i] = packed[i] ^ flip;
    }
    offset += (size_t)size * kInterleavedRows;
    byte += size;
  }
}

}  // namespace

int interleaved_dtype(int dtype) {
  switch (dtype) {
    case Q8_0: return Q8_0_X16;
    case Q4_0: return Q4_0_X16;
    case Q4_K: return Q4_K_X16;
    case Q6_K: return Q6_K_X16;
    case F32: return F32_X16;
    case F16: return F16_X16;
    case BF16: return BF16_X16;
  }
  return -1;
}

int plain_dtype(int dtype) {
  switch (dtype) {
    case Q8_0_X16: return Q8_0;
    case Q4_0_X16: return Q4_0;
    case Q4_K_X16: return Q4_K;
    case Q6_K_X16: return Q6_K;
    case F32_X16: return F32;
    case F16_X16: return F16;
    case BF16_X16: return BF16;
  }
  return dtype;
}

namespace {

// Index of value (r, c) of a 16-row group in the interleaved float layouts (see interleave.h).
inline int64_t float_index(int plain, int r, int64_t c) {
  return plain == BF16 ? (c / 2) * 32 + 2 * r + (c % 2) : c * kInterleavedRows + r;
}

template <typename Value>
void move_float_group(int plain, Value* plain_rows, Value* group, int64_t cols, bool to_packed) {
  for (int r = 0; r < kInterleavedRows; r++) {
    for (int64_t c = 0; c < cols; c++) {
      Value& packed = group[float_index(plain, r, c)];
      if (to_packed) packed = plain_rows[(size_t)r * cols + c];
      else plain_rows[(size_t)r * cols + c] = packed;
    }
  }
}

template <typename Value>
void move_float_row(int plain, Value* row, Value* group, int r, int64_t cols) {
  for (int64_t c = 0; c < cols; c++) row[c] = group[float_index(plain, r, c)];
}

bool is_float(int plain) { return plain == F32 || plain == F16 || plain == BF16; }

}  // namespace

void interleave_groups(int plain, const uint8_t* input, uint8_t* out, int64_t cols, int64_t group_begin, int64_t group_end,
                       uint8_t* scratch) {
  if (is_float(plain)) {
    const size_t group_bytes = kInterleavedRows * row_bytes(plain, cols);
    for (int64_t group = group_begin; group < group_end; group++) {
      const uint8_t* rows = input + (size_t)group * group_bytes;
      uint8_t* destination = out + (size_t)group * group_bytes;
      if (scratch != nullptr) {
        std::memcpy(scratch, rows, group_bytes);
        rows = scratch;
      }
      if (plain == F32) move_float_group(plain, const_cast<float*>(reinterpret_cast<const float*>(rows)), reinterpret_cast<float*>(destination), cols, true);
      else move_float_group(plain, const_cast<uint16_t*>(reinterpret_cast<const uint16_t*>(rows)), reinterpret_cast<uint16_t*>(destination), cols, true);
    }
    return;
  }
  const Layout layout = layout_of(plain);
  const int64_t blocks = cols / layout.block_values;
  const size_t row_stride = (size_t)blocks * layout.block_bytes;
  const size_t group_block_bytes = (size_t)kInterleavedRows * layout.block_bytes;
  for (int64_t group = group_begin; group < group_end; group++) {
    const uint8_t* rows = input + (size_t)group * kInterleavedRows * row_stride;
    uint8_t* destination = out + (size_t)group * kInterleavedRows * row_stride;
    if (scratch != nullptr) {
      std::memcpy(scratch, rows, kInterleavedRows * row_stride);
      rows = scratch;
    }
    for (int64_t b = 0; b < blocks; b++) {
      for (int r = 0; r < kInterleavedRows; r++) {
        uint8_t* block = const_cast<uint8_t*>(rows + (size_t)r * row_stride + (size_t)b * layout.block_bytes);
        move_block<true>(layout, block, destination + (size_t)b * group_block_bytes, r);
      }
    }
  }
}

void deinterleave_row(int dtype, const uint8_t* weight, int64_t row, int64_t cols, uint8_t* out) {
  const int plain = plain_dtype(dtype);
  if (is_float(plain)) {
    const size_t group_bytes = kInterleavedRows * row_bytes(plain, cols);
    uint8_t* group = const_cast<uint8_t*>(weight) + (size_t)(row / kInterleavedRows) * group_bytes;
    const int r = (int)(row % kInterleavedRows);
    if (plain == F32) move_float_row(plain, reinterpret_cast<float*>(out), reinterpret_cast<float*>(group), r, cols);
    else move_float_row(plain, reinterpret_cast<uint16_t*>(out), reinterpret_cast<uint16_t*>(group), r, cols);
    return;
  }
  const Layout layout = layout_of(plain);
  const int64_t blocks = cols / layout.block_values;
  const size_t row_stride = (size_t)blocks * layout.block_bytes;
  const size_t group_block_bytes = (size_t)kInterleavedRows * layout.block_bytes;
  const uint8_t* group = weight + (size_t)(row / kInterleavedRows) * kInterleavedRows * row_stride;
  const int r = (int)(row % kInterleavedRows);
  for (int64_t b = 0; b < blocks; b++) {
    move_block<false>(layout, out + (size_t)b * layout.block_bytes, const_cast<uint8_t*>(group + (size_t)b * group_block_bytes), r);
  }
}

}  // namespace kernel
