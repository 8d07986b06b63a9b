// Interleaved ("x16") layouts of q8_0, q4_0, q4_k and q6_k weights, made once at load time for the AVX-512 VNNI
// kernels (matmul_avx512_interleaved.cc, matmul_avx512_kquants.cc). Sixteen consecutive rows are stored block by
// block, so that one 64-byte load holds four bytes of each of the sixteen rows and one int32 lane of vpdpbusd
// accumulates one row's dot product: scales, conversions and FMAs happen once per block for sixteen outputs, and the
// weights stream as one linear sequence.
//
// A group of 16 rows occupies exactly the bytes the 16 plain rows did (same total size). Inside it, block b takes
// 16 × block bytes (the group block). Each plain block is cut, in its own byte order, into 2-byte fields (f16 scales)
// and 4-byte words (everything else); the group block holds the same segments in the same order, each for the 16 rows
// in turn (a field: 32 bytes, a word: 64 bytes):
//   q8_0 (34): field d, words 0..7 of the 32 values, each byte stored as value + 128 (the operand vpdpbusd multiplies)
//   q4_0 (18): field d, words 0..3 of the 16 nibble bytes
//   q4_k (144): field d, field dmin, words 0..2 of the 12 packed scale bytes, words 3..34 of the 128 nibble bytes
//   q6_k (210): words 0..31 of ql, 32..47 of qh, 48..51 of the 16 int8 scales, then field d
// Float weights (f32x16, f16x16, bf16x16) are interleaved value by value, so that each column's 16 rows sit together:
//   f32x16 / f16x16: group[c * 16 + r] = w[16 g + r, c]
//   bf16x16: column pairs, as vdpbf16ps multiplies them: group[(c / 2) * 32 + 2 r + c % 2] = w[16 g + r, c] (cols even)
// Only matrices whose row count is a multiple of 16 are interleaved. src/formats/interleaved.ts is the reference.
#pragma once
#include <cstdint>

namespace kernel {

constexpr int kInterleavedRows = 16;

// Interleaved dtype for a plain one (Q8_0 → Q8_0_X16, F16 → F16_X16 …), or -1 when the dtype has none.
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
