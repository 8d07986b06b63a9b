// Packing into and out of the interleaved q8_0x16 / q4_0x16 layouts described in interleave.h.
#include "interleave.h"

#include <cstring>

#include "formats.h"

namespace kernel {

namespace {

struct Layout {
  int block_bytes;     // plain block: 34 (q8_0) or 18 (q4_0)
  int payload_bytes;   // bytes after the scale: 32 or 16
  uint8_t flip;        // XOR applied to each payload byte: 0x80 turns int8 values into value + 128
};

Layout layout_of(int plain) {
  return plain == Q8_0 ? Layout{34, 32, 0x80} : Layout{18, 16, 0x00};
}

}  // namespace

int interleaved_dtype(int dtype) {
  return dtype == Q8_0 ? Q8_0_X16 : dtype == Q4_0 ? Q4_0_X16 : -1;
}

int plain_dtype(int dtype) {
  return dtype == Q8_0_X16 ? Q8_0 : dtype == Q4_0_X16 ? Q4_0 : dtype;
}

void interleave_groups(int plain, const uint8_t* input, uint8_t* out, int64_t cols, int64_t group_begin, int64_t group_end,
                       uint8_t* scratch) {
  const Layout layout = layout_of(plain);
  const int64_t blocks = cols / 32;
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
      uint8_t* packed = destination + (size_t)b * group_block_bytes;
      for (int r = 0; r < kInterleavedRows; r++) {
        const uint8_t* block = rows + (size_t)r * row_stride + (size_t)b * layout.block_bytes;
        std::memcpy(packed + 2 * r, block, 2);
        for (int chunk = 0; chunk < layout.payload_bytes / 4; chunk++)
          for (int i = 0; i < 4; i++) packed[32 + chunk * 64 + r * 4 + i] = block[2 + chunk * 4 + i] ^ layout.flip;
      }
    }
  }
}

void deinterleave_row(int dtype, const uint8_t* weight, int64_t row, int64_t cols, uint8_t* out) {
  const Layout layout = layout_of(plain_dtype(dtype));
  const int64_t blocks = cols / 32;
  const size_t row_stride = (size_t)blocks * layout.block_bytes;
  const size_t group_block_bytes = (size_t)kInterleavedRows * layout.block_bytes;
  const uint8_t* group = weight + (size_t)(row / kInterleavedRows) * kInterleavedRows * row_stride;
  const int r = (int)(row % kInterleavedRows);
  for (int64_t b = 0; b < blocks; b++) {
    const uint8_t* packed = group + (size_t)b * group_block_bytes;
    uint8_t* block = out + (size_t)b * layout.block_bytes;
    std::memcpy(block, packed + 2 * r, 2);
    for (int chunk = 0; chunk < layout.payload_bytes / 4; chunk++)
      for (int i = 0; i < 4; i++) block[2 + chunk * 4 + i] = packed[32 + chunk * 64 + r * 4 + i] ^ layout.flip;
  }
}

}  // namespace kernel
