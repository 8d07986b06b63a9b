// AVX-512 matrix products on float weights: f32, f16 and bf16, GEMV (decode) and GEMM (prefill).
//
// bf16 weights multiply activations rounded to bf16 (round to nearest even), as src/reference/matmul.ts defines and
// as llama.cpp does; every product of two bf16 values is exact in f32. On CPUs with AVX512_BF16 (Zen 4/5, Sapphire
// Rapids …) vdpbf16ps takes two of those products per lane and instruction; without it the same bf16 values are
// widened to f32 and FMAed.
//
// One lane of an accumulator is one output row, and every output is one sequential chain over the columns: an FMA per
// column (f32, f16, bf16 without AVX512_BF16) or a vdpbf16ps per column pair, in column order. So a token's result
// is the same whichever path computes it and however many tokens share the call (speculative decoding verifies a
// draft in one batch and needs the logits decode would give).
//
// Decode and short batches (tokens < kPackedMinTokens) stream the weights once in their stored layout: 16 rows at a
// time, 16 columns (or column pairs) of each are loaded and transposed in registers, so that each column's 16 rows
// form one vector, multiplied by the tokens' broadcast activation.
//
// Prefill (GEMM) is compute-bound: a 32-row × 12-token register tile runs over a panel of 32 rows × KC columns: per
// column (pair) two vector loads, 12 broadcast activations and 24 FMAs (vdpbf16ps). The interleaved layouts are
// panels already (f32x16, bf16x16 with vdpbf16ps) or converted as the tile loads them (f16x16: vcvtph2ps per 16 rows
// and column, half the bytes of an f32 panel); the row layout (and bf16x16 without AVX512_BF16) is repacked per task
// into panels in that column order (f32 for f32/f16 weights, bf16 column pairs for vdpbf16ps). Between column blocks
// the partial sums go through the output (exactly, f32), so the chain stays the same. A task's panels (MC rows × KC
// columns) stay in L2 while every token tile's activations pass through L1. A task is a block of MC rows and one part
// of the tokens (whole tiles): with the panels read in place, the tokens are split into as many parts as the pool has
// threads, so the threads tend to share a row block's panels at the same time and each to keep its own part of the
// activations (measured at 2 threads: bf16x16 +8–14 %, f16x16 within ±2 %, at the Llama 3.2 3B shapes). Packed panels
// keep one part (all tokens), so each is packed once.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "aligned_buffer.h"
#include "formats.h"
#include "interleave.h"
#include "matmul.h"

namespace kernel {
namespace avx512 {

namespace {

// ---- activations rounded to bf16 (for bf16 weights) ----

// [tokens, padded] bf16 values of the input rows, padded with zeros to a multiple of 32 columns.
struct Bf16Activations {
  const uint16_t* values;
  int64_t padded;
};

inline __m256i round_ps_to_bf16(__m512 x) {
  // Round to nearest even on the bit pattern (as f32_to_bf16 and the reference do; NaN stays NaN).
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i rounding = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1)));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, rounding), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(rounded);
}

Bf16Activations bf16_activations(const float* input, int64_t tokens, int64_t cols, ThreadPool& pool) {
  static AlignedBuffer<uint16_t> buffer;
  const int64_t padded = (cols + 31) / 32 * 32;
  uint16_t* values = buffer.get((size_t)(tokens * padded));
  auto body = [&](int64_t token, int) {
    const float* x = input + token * cols;
    uint16_t* out = values + token * padded;
    for (int64_t c = 0; c < padded; c += 16) {
      const __mmask16 mask = cols - c >= 16 ? (__mmask16)0xffff : cols > c ? (__mmask16)((1u << (cols - c)) - 1) : (__mmask16)0;
      _mm256_store_si256(reinterpret_cast<__m256i*>(out + c), round_ps_to_bf16(_mm512_maskz_loadu_ps(mask, x + c)));
    }
  };
  pool.parallel_for(tokens, body);
  return Bf16Activations{values, padded};
}

// bf16 values widened to f32 (exact).
inline __m512 widen_bf16(__m256i half) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16)); }

// ---- decode: rows streamed in their stored layout, transposed in registers ----

template <int DT>
inline __m512 load_weights(const uint8_t* row, int64_t column, __mmask16 mask) {
  if constexpr (DT == F32) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + column);
  } else {
    const __m256i half = _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + column);
    if constexpr (DT == F16) return _mm512_cvtph_ps(half);
    else return widen_bf16(half);
  }
}

// Transposes a 16 × 16 block of 32-bit lanes in registers: r[i] lane j becomes r[j] lane i.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
    t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
  }
}

// 16 rows from row0 (rows past the matrix are zeros) × 16 lanes from `lane0` of each row, transposed: block[j] holds
// lane j of the 16 rows. Lanes are f32 values (column lane0 + j) or, with Pairs, bf16 column pairs (columns
// 2 (lane0 + j), 2 (lane0 + j) + 1); lanes past the row's end are zeros.
template <int DT, bool Pairs>
inline void load_transposed(const MatmulProblem& p, size_t stride, int64_t row0, int64_t lane0, __m512 (&block)[16]) {
  if constexpr (Pairs) {
    const int64_t values = std::min<int64_t>(32, p.cols - 2 * lane0);
    const __mmask32 mask = values >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << values) - 1);
    for (int i = 0; i < 16; i++) {
      block[i] = row0 + i < p.rows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(p.weight + (size_t)(row0 + i) * stride) + 2 * lane0))
                                   : _mm512_setzero_ps();
    }
  } else {
    const int64_t values = std::min<int64_t>(16, p.cols - lane0);
    const __mmask16 mask = values >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << values) - 1);
    for (int i = 0; i < 16; i++) block[i] = row0 + i < p.rows ? load_weights<DT>(p.weight + (size_t)(row0 + i) * stride, lane0, mask) : _mm512_setzero_ps();
  }
  transpose16(block);
}

// The weights of one call as the kernels read them: the row layout, and the activations — f32, or for bf16 weights
// the bf16-rounded ones (as bf16 pairs for vdpbf16ps, or as f32 without AVX512_BF16).
struct FloatProblem {
  const MatmulProblem* p;
  size_t stride;
  const float* input;      // f32 activations [tokens, cols] (bf16 weights without AVX512_BF16: the rounded ones)
  Bf16Activations bf16;    // bf16 weights with AVX512_BF16
  bool dot_bf16;
};

// Each output is one dependent chain of FMAs (latency 4 cycles on Zen 4/5): a tile keeps G × T chains in flight, G
// blocks of 16 rows side by side for T tokens. Decode (T = 1) on interleaved weights takes G = 4: one chain alone
// would cap a core at about 8 bytes of weights per cycle (measured: f16x16 17 → 33–36 GB/s-equivalent at one thread).
constexpr int kDecodeGroups = 4;

// out[token0 .. token0 + T - 1, row0 .. row0 + 16 G - 1] over all columns, one chain per row lane.
template <int DT, int G, int T, bool Pairs>
void rows16_tile(const FloatProblem& f, int64_t row0, int64_t token0) {
  const MatmulProblem& p = *f.p;
  __m512 acc[G][T];
  for (int g = 0; g < G; g++)
    for (int t = 0; t < T; t++) acc[g][t] = _mm512_setzero_ps();
  const int64_t lanes = Pairs ? (p.cols + 1) / 2 : p.cols;  // columns, or column pairs
  constexpr int kElementBytes = DT == F32 ? 4 : 2;
  for (int64_t lane0 = 0; lane0 < lanes; lane0 += 16) {
    // Decode streams each row once: fetch 1 KiB ahead in each row.
    const int64_t column = Pairs ? 2 * lane0 : lane0;
    for (int i = 0; i < 16 * G; i++) {
      _mm_prefetch(reinterpret_cast<const char*>(p.weight + (size_t)(row0 + i) * f.stride + column * kElementBytes + 1024), _MM_HINT_T0);
    }
    // One block of 16 rows at a time (16 registers); the G blocks' chains are independent, so the out-of-order core
    // overlaps one block's FMAs with the next block's loads and transposes.
    const int64_t count = std::min<int64_t>(16, lanes - lane0);
    for (int g = 0; g < G; g++) {
      __m512 block[16];
      load_transposed<DT, Pairs>(p, f.stride, row0 + 16 * g, lane0, block);
      for (int64_t j = 0; j < count; j++) {
        for (int t = 0; t < T; t++) {
          if constexpr (Pairs) {
            int32_t pair;
            std::memcpy(&pair, f.bf16.values + (token0 + t) * f.bf16.padded + 2 * (lane0 + j), 4);
            acc[g][t] = _mm512_dpbf16_ps(acc[g][t], (__m512bh)_mm512_castps_si512(block[j]), (__m512bh)_mm512_set1_epi32(pair));
          } else {
            acc[g][t] = _mm512_fmadd_ps(block[j], _mm512_set1_ps(f.input[(token0 + t) * p.cols + lane0 + j]), acc[g][t]);
          }
        }
      }
    }
  }
  for (int g = 0; g < G; g++) {
    const int64_t rows = std::min<int64_t>(16, p.rows - row0 - 16 * g);
    const __mmask16 mask = rows >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rows) - 1);
    for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(p.out + (token0 + t) * p.rows + row0 + 16 * g, mask, acc[g][t]);
  }
}

// Calls f(std::integral_constant<int, n>) for a runtime n in [1, N].
template <int N, typename F>
inline void with_constant(int n, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { ((n == I + 1 ? (f(std::integral_constant<int, I + 1>{}), 0) : 0), ...); }(
      std::make_integer_sequence<int, N>{});
}

constexpr int kDecodeTokenTile = 4;

// Row blocks [group_begin, group_end) of 16 rows for every token: `Groups` blocks at a time while the tokens are few
// (1–2), one block per tile otherwise (T ≥ 3 chains already hide the latency).
template <int Groups, typename Tile>
void for_group_tiles(int64_t tokens, int64_t group_begin, int64_t group_end, Tile&& tile) {
  for (int64_t t = 0; t < tokens; t += kDecodeTokenTile) {
    with_constant<kDecodeTokenTile>((int)std::min<int64_t>(kDecodeTokenTile, tokens - t), [&](auto token_tile) {
      constexpr int T = decltype(token_tile)::value;
      int64_t g = group_begin;
      if constexpr (T <= 2 && Groups > 1) {
        for (; g + Groups <= group_end; g += Groups) tile(std::integral_constant<int, Groups>{}, token_tile, g, t);
      }
      for (; g < group_end; g++) tile(std::integral_constant<int, 1>{}, token_tile, g, t);
    });
  }
}

// The row layout takes one block per tile: several blocks' rows at once (64 row streams) measured slower on Zen 5
// (about 10 against 16 GB/s of f16 at one thread); models pack their weights (group_tile) for decode anyway.
template <int DT>
void decode_groups(const FloatProblem& f, int64_t group_begin, int64_t group_end) {
  for_group_tiles<1>(f.p->tokens, group_begin, group_end, [&](auto groups, auto token_tile, int64_t g, int64_t t) {
    constexpr int G = decltype(groups)::value, T = decltype(token_tile)::value;
    if (DT == BF16 && f.dot_bf16) rows16_tile<DT, G, T, true>(f, 16 * g, t);
    else rows16_tile<DT, G, T, false>(f, 16 * g, t);
  });
}

// ---- decode on interleaved weights (f32x16, f16x16, bf16x16): one linear stream per group of 16 rows ----

// out[token0 .. token0 + T - 1, 16 g0 .. 16 (g0 + G) - 1] over all columns of groups g0 .. g0 + G - 1: per column
// (pair), one vector load of each group's 16 rows, the same chain per lane as rows16_tile.
template <int DT, int G, int T, bool Pairs>
void group_tile(const FloatProblem& f, int64_t g0, int64_t token0) {
  const MatmulProblem& p = *f.p;
  const size_t group_bytes = kInterleavedRows * f.stride;
  const uint8_t* groups = p.weight + (size_t)g0 * group_bytes;
  __m512 acc[G][T];
  for (int g = 0; g < G; g++)
    for (int t = 0; t < T; t++) acc[g][t] = _mm512_setzero_ps();
  auto x = [&](int t, int64_t c) { return _mm512_set1_ps(f.input[(token0 + t) * p.cols + c]); };
  if constexpr (DT == BF16) {
    // Column pairs: 64 bytes hold columns 2q and 2q + 1 of a group's 16 rows.
    for (int64_t q = 0; q < p.cols / 2; q++) {
      __m512i w[G];
      for (int g = 0; g < G; g++) {
        const uint8_t* pair = groups + g * group_bytes + q * 64;
        _mm_prefetch(reinterpret_cast<const char*>(pair + 1024), _MM_HINT_T0);
        w[g] = _mm512_loadu_si512(pair);
      }
      for (int t = 0; t < T; t++) {
        if constexpr (Pairs) {
          int32_t values;
          std::memcpy(&values, f.bf16.values + (token0 + t) * f.bf16.padded + 2 * q, 4);
          const __m512bh xv = (__m512bh)_mm512_set1_epi32(values);
          for (int g = 0; g < G; g++) acc[g][t] = _mm512_dpbf16_ps(acc[g][t], (__m512bh)w[g], xv);
        } else {
          const __m512 even_x = x(t, 2 * q), odd_x = x(t, 2 * q + 1);
          for (int g = 0; g < G; g++) {
            acc[g][t] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w[g], 16)), even_x, acc[g][t]);
            acc[g][t] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(w[g], _mm512_set1_epi32((int)0xFFFF0000u))), odd_x, acc[g][t]);
          }
        }
      }
    }
  } else {
    constexpr int kColumnBytes = DT == F32 ? 64 : 32;
    for (int64_t c = 0; c < p.cols; c++) {
      __m512 w[G];
      for (int g = 0; g < G; g++) {
        const uint8_t* column = groups + g * group_bytes + c * kColumnBytes;
        if (c % (64 / kColumnBytes) == 0) _mm_prefetch(reinterpret_cast<const char*>(column + 1024), _MM_HINT_T0);
        w[g] = DT == F32 ? _mm512_loadu_ps(column) : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column)));
      }
      for (int t = 0; t < T; t++) {
        const __m512 xv = x(t, c);
        for (int g = 0; g < G; g++) acc[g][t] = _mm512_fmadd_ps(w[g], xv, acc[g][t]);
      }
    }
  }
  for (int g = 0; g < G; g++)
    for (int t = 0; t < T; t++) _mm512_storeu_ps(p.out + (token0 + t) * p.rows + 16 * (g0 + g), acc[g][t]);
}

template <int DT>
void decode_interleaved_groups(const FloatProblem& f, int64_t group_begin, int64_t group_end) {
  for_group_tiles<kDecodeGroups>(f.p->tokens, group_begin, group_end, [&](auto groups, auto token_tile, int64_t g, int64_t t) {
    constexpr int G = decltype(groups)::value, T = decltype(token_tile)::value;
    if (DT == BF16 && f.dot_bf16) group_tile<DT, G, T, true>(f, g, t);
    else group_tile<DT, G, T, false>(f, g, t);
  });
}

// ---- prefill: 32-row panels ----

constexpr int kPanelRows = 32;           // two vectors of 16 rows
constexpr int kPanelTokens = 12;         // 24 accumulators
constexpr int64_t kPanelColumns = 512;   // KC: a 32-row f32 panel is 64 KiB (f16x16: 32 KiB); 256 measured slower
constexpr int64_t kTaskRows = 128;       // MC: four panels per task and column block (256 KiB of f32 in L2)

// Where a 32-row panel's columns come from: two 16-row halves; column c (f32 panels) or column pair q (bf16 pair
// panels) of half h is the vector at half[h] + c · stride (floats, or bf16 values for pairs). Halves past the matrix
// point at the first half (their results are masked out). f16x16 panels are the groups themselves: column c of half h
// is the 16 f16 values at half[h] + 16 c (stride 16), converted as they are loaded.
struct PanelSource {
  const void* half[2];
  int64_t stride;
};

// Panel layouts made in a scratch buffer, for rows [row0, row0 + 32) (rows past the matrix are zeros) and columns
// [c0, c0 + count):
//   f32: panel[c * 32 + i] = w[row0 + i, c0 + c]                          (count columns)
//   bf16 pairs: panel[(c / 2) * 64 + 2 * i + (c % 2)] = w[row0 + i, c0 + c] (count rounded up to even, zero-padded)
// From the row layout they are made 16 rows × 16 lanes at a time: load 16 row pieces, transpose in registers, store 16
// column pieces. From bf16x16 (without AVX512_BF16) each column is the group's column widened to f32.
template <int DT>
void pack_f32_panel(const MatmulProblem& p, size_t stride, int64_t row0, int64_t c0, int64_t count, float* panel) {
  for (int half = 0; half < 2; half++) {
    for (int64_t c = 0; c < count; c += 16) {
      const __mmask16 mask = count - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - c)) - 1);
      __m512 block[16];
      for (int i = 0; i < 16; i++) {
        const int64_t row = row0 + 16 * half + i;
        block[i] = row < p.rows ? load_weights<DT>(p.weight + (size_t)row * stride, c0 + c, mask) : _mm512_setzero_ps();
      }
      transpose16(block);
      const int64_t columns = std::min<int64_t>(16, count - c);
      for (int64_t j = 0; j < columns; j++) _mm512_store_ps(panel + (c + j) * kPanelRows + 16 * half, block[j]);
    }
  }
}

void pack_bf16_pair_panel(const MatmulProblem& p, size_t stride, int64_t row0, int64_t c0, int64_t count, uint16_t* panel) {
  const int64_t pairs = (count + 1) / 2;
  for (int half = 0; half < 2; half++) {
    for (int64_t q = 0; q < pairs; q += 16) {
      const int64_t values = std::min<int64_t>(32, count - 2 * q);  // bf16 values of this piece of each row
      const __mmask32 mask = values >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << values) - 1);
      __m512 block[16];
      for (int i = 0; i < 16; i++) {
        const int64_t row = row0 + 16 * half + i;
        block[i] = row < p.rows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(p.weight + (size_t)row * stride) + c0 + 2 * q))
                                : _mm512_setzero_ps();
      }
      transpose16(block);
      const int64_t columns = std::min<int64_t>(16, pairs - q);
      for (int64_t j = 0; j < columns; j++) _mm512_store_ps(reinterpret_cast<float*>(panel + (q + j) * 2 * kPanelRows) + 16 * half, block[j]);
    }
  }
}

// bf16x16 groups g, g + 1 (g + 1 absent when `second` is null) → an f32 panel (without AVX512_BF16).
void widen_bf16_group_panel(const uint8_t* first, const uint8_t* second, int64_t c0, int64_t count, float* panel) {
  for (int half = 0; half < 2; half++) {
    const uint16_t* group = reinterpret_cast<const uint16_t*>(half == 0 ? first : second);
    if (group == nullptr) continue;
    for (int64_t c = 0; c < count; c += 2) {
      const __m512i w = _mm512_loadu_si512(group + (c0 + c) * 16);  // column pair (c0 + c) / 2
      _mm512_store_ps(panel + c * kPanelRows + 16 * half, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
      _mm512_store_ps(panel + (c + 1) * kPanelRows + 16 * half, _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32((int)0xFFFF0000u))));
    }
  }
}

// out[t, row0 .. row0 + 31] (+)= the panel's columns against T tokens' activations (f32, row-major, stride cols).
// Half16: the panel holds f16 values (f16x16 groups), widened to f32 (exactly) as they are loaded.
template <int T, bool Half16>
void f32_panel_tile(const PanelSource& w, int64_t count, const float* input, int64_t input_stride, float* out, int64_t out_stride,
                    __mmask16 mask0, __mmask16 mask1, bool accumulate) {
  using Element = std::conditional_t<Half16, uint16_t, float>;
  const Element* half0 = static_cast<const Element*>(w.half[0]);
  const Element* half1 = static_cast<const Element*>(w.half[1]);
  auto load = [](const Element* column) {
    if constexpr (Half16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column)));
    else return _mm512_loadu_ps(column);
  };
  __m512 acc[T][2];
  for (int t = 0; t < T; t++) {
    acc[t][0] = accumulate ? _mm512_maskz_loadu_ps(mask0, out + t * out_stride) : _mm512_setzero_ps();
    acc[t][1] = accumulate ? _mm512_maskz_loadu_ps(mask1, out + t * out_stride + 16) : _mm512_setzero_ps();
  }
  for (int64_t c = 0; c < count; c++) {
    const __m512 w0 = load(half0 + c * w.stride), w1 = load(half1 + c * w.stride);
    for (int t = 0; t < T; t++) {
      const __m512 xv = _mm512_set1_ps(input[t * input_stride + c]);
      acc[t][0] = _mm512_fmadd_ps(w0, xv, acc[t][0]);
      acc[t][1] = _mm512_fmadd_ps(w1, xv, acc[t][1]);
    }
  }
  for (int t = 0; t < T; t++) {
    _mm512_mask_storeu_ps(out + t * out_stride, mask0, acc[t][0]);
    _mm512_mask_storeu_ps(out + t * out_stride + 16, mask1, acc[t][1]);
  }
}

// The same with bf16 column pairs and vdpbf16ps; `input` is bf16 activations (stride in bf16 values, even).
template <int T>
void bf16_panel_tile(const PanelSource& w, int64_t count, const uint16_t* input, int64_t input_stride, float* out, int64_t out_stride,
                     __mmask16 mask0, __mmask16 mask1, bool accumulate) {
  const uint16_t* half0 = static_cast<const uint16_t*>(w.half[0]);
  const uint16_t* half1 = static_cast<const uint16_t*>(w.half[1]);
  __m512 acc[T][2];
  for (int t = 0; t < T; t++) {
    acc[t][0] = accumulate ? _mm512_maskz_loadu_ps(mask0, out + t * out_stride) : _mm512_setzero_ps();
    acc[t][1] = accumulate ? _mm512_maskz_loadu_ps(mask1, out + t * out_stride + 16) : _mm512_setzero_ps();
  }
  const int64_t pairs = (count + 1) / 2;
  for (int64_t q = 0; q < pairs; q++) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(half0 + q * w.stride);
    const __m512bh w1 = (__m512bh)_mm512_loadu_si512(half1 + q * w.stride);
    for (int t = 0; t < T; t++) {
      int32_t pair;
      std::memcpy(&pair, input + t * input_stride + 2 * q, 4);
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
      acc[t][0] = _mm512_dpbf16_ps(acc[t][0], w0, xv);
      acc[t][1] = _mm512_dpbf16_ps(acc[t][1], w1, xv);
    }
  }
  for (int t = 0; t < T; t++) {
    _mm512_mask_storeu_ps(out + t * out_stride, mask0, acc[t][0]);
    _mm512_mask_storeu_ps(out + t * out_stride + 16, mask1, acc[t][1]);
  }
}

struct PanelScratch {
  AlignedBuffer<float> floats;
  AlignedBuffer<uint16_t> halves;
};

// DT is the plain dtype; Interleaved: the weights are DT's x16 layout.
template <int DT, bool Interleaved>
void prefill(const FloatProblem& f, ThreadPool& pool) {
  const MatmulProblem& p = *f.p;
  const bool pairs = DT == BF16 && f.dot_bf16;
  // Panels read straight from the weights: f32x16, f16x16 (converted by the tile) and bf16x16 with vdpbf16ps. The others
  // are packed or widened into a thread's scratch panels.
  const bool direct = Interleaved && (DT == F32 || DT == F16 || pairs);
  static std::vector<std::unique_ptr<PanelScratch>> scratch;
  while ((int)scratch.size() < pool.threads()) scratch.push_back(std::make_unique<PanelScratch>());
  const int64_t panels_per_task = kTaskRows / kPanelRows;
  const int64_t panel_floats = kPanelRows * kPanelColumns;
  for (int thread = 0; thread < (direct ? 0 : pool.threads()); thread++) {
    if (pairs) scratch[thread]->halves.get((size_t)(panels_per_task * panel_floats));
    else scratch[thread]->floats.get((size_t)(panels_per_task * panel_floats));
  }
  const size_t group_bytes = kInterleavedRows * f.stride;
  // Tasks: row blocks × token parts, a part's tokens whole tiles (see the file header); consecutive tasks share a row
  // block. A token range does not change any output's chain (each output is one token's).
  const int64_t row_blocks = (p.rows + kTaskRows - 1) / kTaskRows;
  const int64_t tiles = (p.tokens + kPanelTokens - 1) / kPanelTokens;
  const int64_t parts = direct ? std::min<int64_t>(pool.threads(), tiles) : 1;
  auto body = [&](int64_t task, int thread) {
    const int64_t block = task / parts, part = task % parts;
    const int64_t row_begin = block * kTaskRows, row_end = std::min(p.rows, row_begin + kTaskRows);
    const int64_t token_begin = tiles * part / parts * kPanelTokens;
    const int64_t token_end = std::min(p.tokens, tiles * (part + 1) / parts * kPanelTokens);
    const int64_t panels = (row_end - row_begin + kPanelRows - 1) / kPanelRows;
    float* float_panels = pairs ? nullptr : scratch[thread]->floats.get(0);
    uint16_t* pair_panels = pairs ? scratch[thread]->halves.get(0) : nullptr;
    PanelSource sources[kTaskRows / kPanelRows];
    for (int64_t c0 = 0; c0 < p.cols; c0 += kPanelColumns) {
      const int64_t count = std::min(kPanelColumns, p.cols - c0);
      for (int64_t k = 0; k < panels; k++) {
        const int64_t row0 = row_begin + k * kPanelRows;
        if constexpr (Interleaved) {
          const uint8_t* first = p.weight + (size_t)(row0 / kInterleavedRows) * group_bytes;
          const uint8_t* second = row0 + kInterleavedRows < p.rows ? first + group_bytes : nullptr;
          if (direct) {
            // f32x16 / f16x16: column c at group + c · 16 values; bf16x16: pair q at group + q · 32 bf16 values.
            const int64_t offset = c0 * 16 * (DT == F32 ? 4 : 2);
            sources[k] = PanelSource{{first + offset, (second ? second : first) + offset}, pairs ? 32 : 16};
          } else if constexpr (DT == BF16) {
            widen_bf16_group_panel(first, second, c0, count, float_panels + k * panel_floats);
            sources[k] = PanelSource{{float_panels + k * panel_floats, float_panels + k * panel_floats + 16}, kPanelRows};
          }
        } else if (pairs) {
          pack_bf16_pair_panel(p, f.stride, row0, c0, count, pair_panels + k * panel_floats);
          sources[k] = PanelSource{{pair_panels + k * panel_floats, pair_panels + k * panel_floats + 32}, 2 * kPanelRows};
        } else {
          pack_f32_panel<DT>(p, f.stride, row0, c0, count, float_panels + k * panel_floats);
          sources[k] = PanelSource{{float_panels + k * panel_floats, float_panels + k * panel_floats + 16}, kPanelRows};
        }
      }
      for (int64_t t0 = token_begin; t0 < token_end; t0 += kPanelTokens) {
        const int tokens = (int)std::min<int64_t>(kPanelTokens, token_end - t0);
        for (int64_t k = 0; k < panels; k++) {
          const int64_t row0 = row_begin + k * kPanelRows, rows = std::min<int64_t>(kPanelRows, p.rows - row0);
          const __mmask16 mask0 = rows >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rows) - 1);
          const __mmask16 mask1 = rows >= 32 ? (__mmask16)0xFFFF : rows > 16 ? (__mmask16)((1u << (rows - 16)) - 1) : (__mmask16)0;
          float* out = p.out + t0 * p.rows + row0;
          with_constant<kPanelTokens>(tokens, [&](auto token_tile) {
            constexpr int T = decltype(token_tile)::value;
            if (pairs) {
              bf16_panel_tile<T>(sources[k], count, f.bf16.values + t0 * f.bf16.padded + c0, f.bf16.padded, out, p.rows, mask0, mask1, c0 > 0);
            } else {
              if (DT == F16 && direct) f32_panel_tile<T, true>(sources[k], count, f.input + t0 * p.cols + c0, p.cols, out, p.rows, mask0, mask1, c0 > 0);
              else f32_panel_tile<T, false>(sources[k], count, f.input + t0 * p.cols + c0, p.cols, out, p.rows, mask0, mask1, c0 > 0);
            }
          });
        }
      }
    }
  };
  pool.parallel_for(row_blocks * parts, body);
}

// Fewer tokens than this stream the weights in their stored layout (decode); more go through panels. Both give the
// same results (see the file header).
constexpr int64_t kPackedMinTokens = 8;

// DT is the plain dtype; Interleaved: the weights are DT's x16 layout.
template <int DT, bool Interleaved>
void matmul_float_dtype(const MatmulProblem& p, ThreadPool& pool, bool has_bf16) {
  FloatProblem f{&p, row_bytes(DT, p.cols), p.input, Bf16Activations{nullptr, 0}, DT == BF16 && has_bf16};
  static AlignedBuffer<float> rounded;
  if constexpr (DT == BF16) {
    if (f.dot_bf16) {
      f.bf16 = bf16_activations(p.input, p.tokens, p.cols, pool);
    } else {
      // Without AVX512_BF16: the same bf16-rounded activations as f32 (exact), FMAed with the widened weights.
      float* values = rounded.get((size_t)(p.tokens * p.cols));
      round_to_bf16(p.input, values, p.tokens * p.cols);
      f.input = values;
    }
  }
  if (p.tokens >= kPackedMinTokens) {
    prefill<DT, Interleaved>(f, pool);
    return;
  }
  const int64_t groups = (p.rows + 15) / 16;
  const int64_t groups_per_task = std::max<int64_t>(1, task_size(groups, pool.threads(), 1));
  auto body = [&](int64_t task, int) {
    const int64_t begin = task * groups_per_task, end = std::min(groups, (task + 1) * groups_per_task);
    if constexpr (Interleaved) decode_interleaved_groups<DT>(f, begin, end);
    else decode_groups<DT>(f, begin, end);
  };
  pool.parallel_for((groups + groups_per_task - 1) / groups_per_task, body);
}

}  // namespace

void matmul_float(const MatmulProblem& p, ThreadPool& pool, bool use_bf16_instructions) {
  switch (p.dtype) {
    case F32: matmul_float_dtype<F32, false>(p, pool, false); return;
    case F16: matmul_float_dtype<F16, false>(p, pool, false); return;
    case BF16: matmul_float_dtype<BF16, false>(p, pool, use_bf16_instructions); return;
    case F32_X16: matmul_float_dtype<F32, true>(p, pool, false); return;
    case F16_X16: matmul_float_dtype<F16, true>(p, pool, false); return;
    case BF16_X16: matmul_float_dtype<BF16, true>(p, pool, use_bf16_instructions); return;
  }
}

}  // namespace avx512
}  // namespace kernel
