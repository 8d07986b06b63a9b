// Interleaved ("x16") layouts of q8_0 and q4_0 weights, made once at load time for the AVX-512 VNNI kernels
// (matmul_avx512_interleaved.cc). Sixteen consecutive rows are stored block by block, so that one 64-byte load holds
// four values of each of the sixteen rows and one int32 lane of vpdpbusd accumulates one row's dot product: scales,
// conversions and FMAs happen once per block for sixteen outputs, and the weights stream as one linear sequence.
//
// A group of 16 rows occupies exactly the bytes the 16 plain rows did (same total size). Inside it, per block b:
//   q4_0x16 (288 bytes = 16 × 18): the 16 rows' f16 scales, then 4 chunks of 64 bytes; chunk c holds, row after row,
//           bytes 4c..4c+3 of that row's 16 nibble bytes (low nibbles = values 4c..4c+3, high = values 16+4c..16+4c+3).
//   q8_0x16 (544 bytes = 16 × 34): the 16 rows' f16 scales, then 8 chunks of 64 bytes; chunk c holds, row after row,
//           values 4c..4c+3 of that row, each stored as value + 128 (unsigned), the operand vpdpbusd multiplies.
// Only matrices whose row count is a multiple of 16 are interleaved. src/formats/interleaved.ts is the reference.
#pragma once
#include <cstdint>

namespace kernel {

constexpr int kInterleavedRows = 16;

// Interleaved dtype for a plain one (Q8_0 → Q8_0_X16, Q4_0 → Q4_0_X16), or -1 when the dtype has none.
int interleaved_dtype(int dtype);
// The plain dtype whose blocks an interleaved dtype holds (the dtype itself for plain dtypes).
int plain_dtype(int dtype);
inline bool is_interleaved(int dtype) { return plain_dtype(dtype) != dtype; }

// Rewrites plain rows (groups of 16) of `cols` values into the interleaved layout, for groups [begin, end). `out` may
// be `input` (in place, no second copy of the matrix): each group is first copied to `scratch` (16 rows of bytes),
// which may be null when out and input do not overlap.
void interleave_groups(int plain, const uint8_t* input, uint8_t* out, int64_t cols, int64_t group_begin, int64_t group_end,
                       uint8_t* scratch = nullptr);
// Copies row `row` of an interleaved matrix back into plain blocks (row_bytes(plain_dtype, cols) bytes).
void deinterleave_row(int dtype, const uint8_t* weight, int64_t row, int64_t cols, uint8_t* out);

}  // namespace kernel
