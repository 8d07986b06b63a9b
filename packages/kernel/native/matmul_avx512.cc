// AVX-512 matrix products: VNNI integer kernels for q8_0 and q4_0 (GGUF blocks as stored), and the dispatch of every
// dtype: f32/f16/bf16 to matmul_avx512_float.cc, the interleaved layouts to matmul_avx512_interleaved.cc and
// matmul_avx512_kquants.cc. Each integer kernel computes an R-row × T-token tile over the whole inner dimension, so one
// weight load serves T tokens (prefill) and one activation load serves R rows. Decode is the T = 1 case. K-quants in
// the plain row layout (q4_k, q6_k not packed) use the hand-written AVX2 kernels (matmul_avx2.cc).
//
// Integer tiles work on pairs of 32-value blocks (64 bytes = one zmm). vpdpbusd multiplies unsigned by signed bytes:
//  q8_0: activations are stored as unsigned x+128, weights are signed as stored; the per-row term 128·Σw is removed
//        by starting the accumulator at −128·Σw (computed once per row and pair, shared by the T tokens).
//  q4_0: weight nibbles (0..15) are the unsigned side, activations the signed side; Σ(n−8)·x = Σn·x − 8·Σx, so the
//        accumulator starts at −8·Σx (precomputed once per token and pair, shared by the R rows).
// Each pair's int32 lanes are converted to float and scaled by d_weight · d_activation of their block.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "aligned_buffer.h"
#include "avx512_quantize.h"
#include "formats.h"
#include "matmul.h"

namespace kernel {
namespace avx512 {

namespace {


// Activations prepared for the integer tiles, per token and block pair (64 values):
struct PreparedActivations {
  const uint8_t* bytes;  // [tokens, pairs, 64]  q8_0: x+128 (natural order); q4_0: x (block-interleaved order)
  const float* scales;   // [tokens, pairs, 2]   d of block 2p and block 2p+1
  int64_t pairs;
};

struct Scratch {
  AlignedBuffer<uint8_t> bytes;
  AlignedBuffer<float> scales;
};
Scratch& scratch() {
  static Scratch instance;
  return instance;
}


// q8_0 layout: bytes in natural order (block 2p then block 2p+1), stored as x+128.
// q4_0 layout: bytes [0,16) = block 2p values 0–15, [16,32) = block 2p+1 values 0–15, [32,48) = block 2p values
// 16–31, [48,64) = block 2p+1 values 16–31 — the order in which the weight nibbles unpack (see load_q4_0).
void prepare_activations(const float* input, int64_t tokens, int64_t cols, bool q4_layout, ThreadPool& pool,
                         PreparedActivations* prepared) {
  const int64_t blocks = cols / 32, pairs = (blocks + 1) / 2;
  Scratch& s = scratch();
  uint8_t* bytes = s.bytes.get((size_t)(tokens * pairs * 64));
  float* scales = s.scales.get((size_t)(tokens * pairs * 2));
  auto body = [&](int64_t token, int) {
    const float* x = input + token * cols;
    for (int64_t p = 0; p < pairs; p++) {
      __m128i low[2] = {_mm_setzero_si128(), _mm_setzero_si128()}, high[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
      float d[2] = {0, 0};
      for (int half = 0; half < 2 && 2 * p + half < blocks; half++) d[half] = quantize_block(x + (2 * p + half) * 32, &low[half], &high[half]);
      __m512i v = q4_layout ? _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(low[1], low[0])), _mm256_set_m128i(high[1], high[0]), 1)
                            : _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(high[0], low[0])), _mm256_set_m128i(high[1], low[1]), 1);
      if (!q4_layout) v = _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));  // two's complement x → x + 128 unsigned
      const size_t index = (size_t)(token * pairs + p);
      _mm512_store_si512(bytes + index * 64, v);
      scales[index * 2] = d[0];
      scales[index * 2 + 1] = d[1];
    }
  };
  pool.parallel_for(tokens, body);
  *prepared = PreparedActivations{bytes, scales, pairs};
}

// One weight row's block pair: the 64 bytes, the lane scales and (q8_0) the accumulator start −128·Σw.
struct WeightPair {
  __m512i bytes;
  __m512 scales;
  __m512i start;
};

// Word indices for vpermw. q8_0 pair = 68 bytes: d at word 0 and word 17. q4_0 pair = 36 bytes: d at words 0 and 9,
// nibbles at words 1–8 and 10–17.
alignas(64) const uint16_t kQ8ScaleWords[32] = {0, 0, 0, 0, 0, 0, 0, 0, 17, 17, 17, 17, 17, 17, 17, 17};
alignas(64) const uint16_t kQ4ScaleWords[32] = {0, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0, 9, 9, 9, 9};
alignas(64) const uint16_t kQ4NibbleWords[32] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17,
                                                 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17};
alignas(64) const uint16_t kQ4NibbleShifts[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};

template <bool Full>
inline WeightPair load_q8_0(const uint8_t* row, int64_t pair) {
  const uint8_t* block = row + pair * 2 * 34;
  const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
  const __m256i second = Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 36)) : _mm256_setzero_si256();
  // Masked load of just the two scale words: never touches memory past this pair.
  const __m512i words = _mm512_maskz_loadu_epi16(Full ? 0x20001u : 0x1u, block);
  const __m512i scale_words = _mm512_permutexvar_epi16(_mm512_load_si512(kQ8ScaleWords), words);
  WeightPair w;
  w.bytes = _mm512_inserti64x4(_mm512_castsi256_si512(first), second, 1);
  w.scales = _mm512_cvtph_ps(_mm512_castsi512_si256(scale_words));
  w.start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), w.bytes));
  return w;
}

template <bool Full>
inline WeightPair load_q4_0(const uint8_t* row, int64_t pair) {
  const uint8_t* block = row + pair * 2 * 18;
  const __m512i words = _mm512_maskz_loadu_epi16(Full ? 0x3ffffu : 0x1ffu, block);
  const __m512i nibbles = _mm512_permutexvar_epi16(_mm512_load_si512(kQ4NibbleWords), words);
  WeightPair w;
  w.bytes = _mm512_and_si512(_mm512_srlv_epi16(nibbles, _mm512_load_si512(kQ4NibbleShifts)), _mm512_set1_epi8(0x0f));
  w.scales = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_load_si512(kQ4ScaleWords), words)));
  return w;
}

template <bool Q4, int R, int T, bool Full, bool Ahead>
inline void tile_pair(const uint8_t* const* rows, const PreparedActivations& x, int64_t token0, int64_t pair, __m512 (&acc)[R][T],
                      size_t stride) {
  // The R rows of a tile are adjacent in memory, and so is the next tile: fetch it while this one computes, since
  // short rows give the hardware prefetcher too little run-up (decode streams every weight exactly once).
  constexpr int kPairBytes = Q4 ? 36 : 68;
  const uint8_t* next = rows[0] + R * stride + pair * R * kPairBytes;
  for (int offset = 0; offset < R * kPairBytes; offset += 64) _mm_prefetch(reinterpret_cast<const char*>(next + offset), _MM_HINT_T1);
  // Streaming q8_0 (decode, small batches): also fetch 1 KiB ahead in each row, about once per cache line. (q4_0
  // does more work per byte, and there the extra instructions cost more than they save.)
  if constexpr (Ahead && !Q4) {
    for (int r = 0; r < R; r++) _mm_prefetch(reinterpret_cast<const char*>(rows[r] + pair * kPairBytes + 1024), _MM_HINT_T0);
  }
  WeightPair w[R];
  for (int r = 0; r < R; r++) w[r] = Q4 ? load_q4_0<Full>(rows[r], pair) : load_q8_0<Full>(rows[r], pair);
  const __m512i scale_lanes = Q4 ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
                                 : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  for (int t = 0; t < T; t++) {
    const size_t index = (size_t)((token0 + t) * x.pairs + pair);
    const __m512i xv = _mm512_load_si512(x.bytes + index * 64);
    const __m512 xs = _mm512_permutexvar_ps(scale_lanes, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x.scales + index * 2)))));
    // q4_0: Σ(n − 8)·x = Σn·x − 8·Σx; start each lane at −8·Σx of its four activation bytes.
    const __m512i start = Q4 ? _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), xv))
                             : _mm512_setzero_si512();
    for (int r = 0; r < R; r++) {
      const __m512i dot = Q4 ? _mm512_dpbusd_epi32(start, w[r].bytes, xv) : _mm512_dpbusd_epi32(w[r].start, xv, w[r].bytes);
      acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(w[r].scales, xs), acc[r][t]);
    }
  }
}

// out[t, row0 + r] for an R × T tile over all block pairs.
template <bool Q4, int R, int T, bool Ahead>
void integer_tile(const uint8_t* weight, size_t stride, int64_t row0, const PreparedActivations& x, int64_t blocks,
                  int64_t token0, float* out, int64_t out_stride) {
  __m512 acc[R][T];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
  const uint8_t* rows[R];
  for (int r = 0; r < R; r++) rows[r] = weight + (size_t)(row0 + r) * stride;
  const int64_t full_pairs = blocks / 2;
  for (int64_t pair = 0; pair < full_pairs; pair++) tile_pair<Q4, R, T, true, Ahead>(rows, x, token0, pair, acc, stride);
  if (blocks % 2) tile_pair<Q4, R, T, false, Ahead>(rows, x, token0, full_pairs, acc, stride);
  for (int t = 0; t < T; t++)
    for (int r = 0; r < R; r++) out[(token0 + t) * out_stride + row0 + r] = _mm512_reduce_add_ps(acc[r][t]);
}

constexpr int kRowTile = 4;
constexpr int kTokenTile = 4;
// Prepared activations up to this size stay in L2 (1 MiB on Zen 4/5) beside the weight rows being streamed.
constexpr int64_t kActivationBytesInL2 = 256 * 1024;

// One task: rows [begin, end) for every token. With few tokens (decode batches) their activations fit in L2, so row
// tiles are the outer loop: each weight row is read from memory once and reused for every token tile while it sits in
// L1. With many tokens (prefill) token tiles are the outer loop, so a tile's activations stay in L1 while the task's
// weight rows (a few hundred KB) are reused from L2. Either order computes every output with the same arithmetic.
template <bool Q4>
void integer_task(const MatmulProblem& p, const PreparedActivations& x, size_t stride, int64_t begin, int64_t end) {
  const int64_t blocks = p.cols / 32;
  const bool activations_fit_l2 = p.tokens * x.pairs * 64 <= kActivationBytesInL2;
  auto tile = [&](auto row_tile, auto token_tile, int64_t r, int64_t t) {
    constexpr int R = decltype(row_tile)::value, T = decltype(token_tile)::value;
    // Row tiles outermost stream the weights from memory once: prefetch ahead. Token tiles outermost reuse them
    // from L2, where extra prefetches only cost issue slots.
    if (activations_fit_l2) integer_tile<Q4, R, T, true>(p.weight, stride, r, x, blocks, t, p.out, p.rows);
    else integer_tile<Q4, R, T, false>(p.weight, stride, r, x, blocks, t, p.out, p.rows);
  };
  auto tokens_for = [&](auto row_tile, int64_t r) {
    int64_t t = 0;
    for (; t + kTokenTile <= p.tokens; t += kTokenTile) tile(row_tile, std::integral_constant<int, kTokenTile>{}, r, t);
    for (; t < p.tokens; t++) tile(row_tile, std::integral_constant<int, 1>{}, r, t);
  };
  auto rows_for = [&](auto token_tile, int64_t t) {
    int64_t r = begin;
    for (; r + kRowTile <= end; r += kRowTile) tile(std::integral_constant<int, kRowTile>{}, token_tile, r, t);
    for (; r < end; r++) tile(std::integral_constant<int, 1>{}, token_tile, r, t);
  };
  if (activations_fit_l2) {
    int64_t r = begin;
    for (; r + kRowTile <= end; r += kRowTile) tokens_for(std::integral_constant<int, kRowTile>{}, r);
    for (; r < end; r++) tokens_for(std::integral_constant<int, 1>{}, r);
    return;
  }
  int64_t t = 0;
  for (; t + kTokenTile <= p.tokens; t += kTokenTile) rows_for(std::integral_constant<int, kTokenTile>{}, t);
  for (; t < p.tokens; t++) rows_for(std::integral_constant<int, 1>{}, t);
}

void matmul_integer(const MatmulProblem& p, ThreadPool& pool, bool q4) {
  PreparedActivations x;
  prepare_activations(p.input, p.tokens, p.cols, q4, pool, &x);
  const size_t stride = row_bytes(p.dtype, p.cols);
  const int64_t grain = p.tokens == 1 ? 16 : 32;
  const int64_t rows_per_task = ((task_size(p.rows, pool.threads(), grain) + kRowTile - 1) / kRowTile) * kRowTile;
  auto body = [&](int64_t task, int) {
    const int64_t begin = task * rows_per_task, end = std::min(p.rows, begin + rows_per_task);
    if (q4) integer_task<true>(p, x, stride, begin, end);
    else integer_task<false>(p, x, stride, begin, end);
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

template <bool UseBf16Instructions>
void matmul(const MatmulProblem& p, ThreadPool& pool) {
  switch (p.dtype) {
    case F32: case F16: case BF16: case F32_X16: case F16_X16: case BF16_X16: matmul_float(p, pool, UseBf16Instructions); return;
    case Q8_0: matmul_integer(p, pool, false); return;
    case Q4_0: matmul_integer(p, pool, true); return;
    case Q8_0_X16: case Q4_0_X16: matmul_interleaved(p, pool); return;
    case Q4_K_X16: case Q6_K_X16: matmul_k_interleaved(p, pool); return;
    case Q4_K: case Q6_K: avx2::table().matmul(p, pool); return;
    default: generic_table().matmul(p, pool); return;
  }
}

}  // namespace

const KernelTable& table() {
  static const KernelTable instance{"avx512", matmul<true>};
  return instance;
}

const KernelTable& table_without_bf16() {
  static const KernelTable instance{"avx512-nobf16", matmul<false>};
  return instance;
}

}  // namespace avx512
}  // namespace kernel
