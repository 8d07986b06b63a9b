// AVX-512 VNNI matrix products on interleaved q4_kx16 / q6_kx16 weights (layout in interleave.h): the K-quants of
// Q4_K_M files. As for q8_0x16 / q4_0x16 (matmul_avx512_interleaved.cc), one int32 lane of the accumulator is one
// (row, token) dot product: one 64-byte word segment holds 4 bytes of each of 16 rows, unpacked once and multiplied
// by 4 broadcast activation bytes of each of T tokens.
//
// Activations are quantized per 256-value block (one per weight super-block) exactly as
// src/formats/activation-quantization.ts does (d = max|x|/127, round half to even), with the sums of each 16 values.
// Per super-block, row and token (exact integer sums, then two float operations):
//   q4_k  value = d·sc_j·q − dmin·m_j (q = nibble 0..15, sc_j/m_j 6-bit, j = sub-block of 32)
//         total = Σ_j sc_j·Σ q·x   (vpdpbusd per sub-block, vpmulld by sc_j)
//         mins  = Σ_j m_j·Σx       (vpdpwssd on (m_2p, m_2p+1) pairs against the 32-value sums)
//         acc  += total·(d·dx), then acc −= mins·(dmin·dx)
//   q6_k  value = d·sc_j·(q − 32) (q 6-bit, sc_j int8, j = sub-block of 16)
//         total = Σ_j sc_j·(Σ q·x − 32·Σx)   (each sub-block's accumulator starts at −32·Σx)
//         acc  += total·(d·dx)
// The sequence of float operations per output is the same for any number of tokens in the call and any thread split,
// so a token's result does not depend on which other tokens share the call.
//
// Unpacking: a q4_k word segment gives 4 values of sub-block 2c (low nibbles) and of 2c+1 (high nibbles); the three
// scale words hold row r's 12 packed scale bytes in lane r and are unpacked with shifts and masks (ggml's
// get_scale_min_k4, lane-wise). For q6_k, ql word l, ql word l+32 and qh word l give values l, l+32, l+64, l+96 (+0..3)
// of a 128-value half: sub-blocks q, q+2, q+4, q+6 for l in [16q, 16q+16).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "aligned_buffer.h"
#include "formats.h"
#include "interleave.h"
#include "matmul.h"

namespace kernel {
namespace avx512 {

namespace {

constexpr int kQ4KGroupBlockBytes = 16 * 144;  // 2304
constexpr int kQ6KGroupBlockBytes = 16 * 210;  // 3360

// Activations quantized per 256-value block for every token.
struct KActivations {
  const int8_t* values;   // [tokens, cols] int8, natural order
  const float* scales;    // [tokens, blocks] d of each block
  const int16_t* sums32;  // [tokens, blocks, 8]  q4_k: Σx of each 32 values (pairs broadcast for vpdpwssd)
  const int32_t* starts;  // [tokens, blocks, 16] q6_k: −32·Σx of each 16 values
  int64_t cols, blocks;
};

struct KScratch {
  AlignedBuffer<int8_t> values;
  AlignedBuffer<float> scales;
  AlignedBuffer<int16_t> sums32;
  AlignedBuffer<int32_t> starts;
};
KScratch& k_scratch() {
  static KScratch instance;
  return instance;
}

// Quantizes one 256-value block (d = max|x|/127, round half to even) into values; writes the 16 sums of 16 values.
inline float quantize_block_256(const float* x, int8_t* values, int32_t* sums16) {
  __m512 magnitude = _mm512_setzero_ps();
  for (int i = 0; i < 256; i += 16) magnitude = _mm512_max_ps(magnitude, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  const float d = _mm512_reduce_max_ps(magnitude) / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  const __m512 scale = _mm512_set1_ps(inverse);
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i lane_firsts = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int chunk = 0; chunk < 4; chunk++) {
    __m128i parts[4];
    for (int i = 0; i < 4; i++) {
      parts[i] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 64 * chunk + 16 * i), scale)));
    }
    const __m512i bytes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(parts[1], parts[0])), _mm256_set_m128i(parts[3], parts[2]), 1);
    _mm512_storeu_si512(values + 64 * chunk, bytes);
    // Sums of 4 bytes per lane, then of the 4 lanes of each 128-bit lane (= 16 values): lane 4i holds sum i.
    __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, bytes);
    sums = _mm512_add_epi32(sums, _mm512_shuffle_epi32(sums, _MM_PERM_CDAB));
    sums = _mm512_add_epi32(sums, _mm512_shuffle_epi32(sums, _MM_PERM_BADC));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums16 + 4 * chunk), _mm512_castsi512_si128(_mm512_permutexvar_epi32(lane_firsts, sums)));
  }
  return d;
}

KActivations prepare_k_activations(const float* input, int64_t tokens, int64_t cols, bool q6, ThreadPool& pool) {
  const int64_t blocks = cols / 256;
  KScratch& s = k_scratch();
  int8_t* values = s.values.get((size_t)(tokens * cols));
  float* scales = s.scales.get((size_t)(tokens * blocks));
  int16_t* sums32 = s.sums32.get((size_t)(tokens * blocks * 8));
  int32_t* starts = s.starts.get((size_t)(tokens * blocks * 16));
  auto body = [&](int64_t token, int) {
    for (int64_t b = 0; b < blocks; b++) {
      const size_t index = (size_t)(token * blocks + b);
      alignas(16) int32_t sums16[16];
      scales[index] = quantize_block_256(input + token * cols + b * 256, values + token * cols + b * 256, sums16);
      if (q6) {
        for (int j = 0; j < 16; j++) starts[index * 16 + j] = -32 * sums16[j];
      } else {
        for (int j = 0; j < 8; j++) sums32[index * 8 + j] = (int16_t)(sums16[2 * j] + sums16[2 * j + 1]);
      }
    }
  };
  pool.parallel_for(tokens, body);
  return KActivations{values, scales, sums32, starts, cols, blocks};
}

inline __m512i broadcast_word(const void* bytes) {
  int32_t word;
  std::memcpy(&word, bytes, 4);
  return _mm512_set1_epi32(word);
}

// Word segment `word` of a group block whose word segments start at `words`.
inline __m512i load_word_segment(const uint8_t* words, int word) {
  return _mm512_loadu_si512(words + word * 64);
}

// ---- q4_k ----

// The sub-block scales sc[8] (int32 lanes) and the mins as int16 pairs (m_2p | m_2p+1 << 16) of one group block.
struct Q4KScales {
  __m512i sc[8];
  __m512i min_pairs[4];
};

inline void unpack_q4_k_scales(const uint8_t* group_block, Q4KScales& s) {
  const __m512i s0 = _mm512_loadu_si512(group_block + 64), s1 = _mm512_loadu_si512(group_block + 128), s2 = _mm512_loadu_si512(group_block + 192);
  const __m512i six_bits = _mm512_set1_epi32(63), low4 = _mm512_set1_epi32(0x0f), high2 = _mm512_set1_epi32(0x30);
  __m512i m[8];
  // j < 4: sc = byte j of word 0, m = byte j of word 1, low 6 bits. j ≥ 4 (k = j − 4): the low 4 bits from byte k of
  // word 2 (scale: low nibble, min: high nibble), the top 2 bits from the top of byte k of word 0 (scale) / 1 (min).
  s.sc[0] = _mm512_and_si512(s0, six_bits);
  s.sc[1] = _mm512_and_si512(_mm512_srli_epi32(s0, 8), six_bits);
  s.sc[2] = _mm512_and_si512(_mm512_srli_epi32(s0, 16), six_bits);
  s.sc[3] = _mm512_and_si512(_mm512_srli_epi32(s0, 24), six_bits);
  m[0] = _mm512_and_si512(s1, six_bits);
  m[1] = _mm512_and_si512(_mm512_srli_epi32(s1, 8), six_bits);
  m[2] = _mm512_and_si512(_mm512_srli_epi32(s1, 16), six_bits);
  m[3] = _mm512_and_si512(_mm512_srli_epi32(s1, 24), six_bits);
  // vpternlogd 0xF8: a | (b & c)
  s.sc[4] = _mm512_ternarylogic_epi32(_mm512_and_si512(s2, low4), _mm512_srli_epi32(s0, 2), high2, 0xF8);
  s.sc[5] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 8), low4), _mm512_srli_epi32(s0, 10), high2, 0xF8);
  s.sc[6] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 16), low4), _mm512_srli_epi32(s0, 18), high2, 0xF8);
  s.sc[7] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 24), low4), _mm512_srli_epi32(s0, 26), high2, 0xF8);
  m[4] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 4), low4), _mm512_srli_epi32(s1, 2), high2, 0xF8);
  m[5] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 12), low4), _mm512_srli_epi32(s1, 10), high2, 0xF8);
  m[6] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi32(s2, 20), low4), _mm512_srli_epi32(s1, 18), high2, 0xF8);
  m[7] = _mm512_ternarylogic_epi32(_mm512_srli_epi32(s2, 28), _mm512_srli_epi32(s1, 26), high2, 0xF8);
  for (int p = 0; p < 4; p++) s.min_pairs[p] = _mm512_or_si512(m[2 * p], _mm512_slli_epi32(m[2 * p + 1], 16));
}

// Σ over one group block of T tokens: the float accumulators acc[t] (lane = row) take this block's contribution.
template <int T>
inline void q4_k_group_block(const uint8_t* group_block, const KActivations& x, int64_t token0, int64_t b, __m512 (&acc)[T]) {
  Q4KScales s;
  unpack_q4_k_scales(group_block, s);
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i total[T];
  for (int t = 0; t < T; t++) total[t] = _mm512_setzero_si512();
  for (int c = 0; c < 4; c++) {
    __m512i low[T], high[T];
    for (int t = 0; t < T; t++) low[t] = high[t] = _mm512_setzero_si512();
    for (int k = 0; k < 8; k++) {
      const __m512i w = load_word_segment(group_block + 64, 3 + 8 * c + k);  // words start after the d and dmin fields
      const __m512i wl = _mm512_and_si512(w, low4), wh = _mm512_and_si512(_mm512_srli_epi16(w, 4), low4);
      for (int t = 0; t < T; t++) {
        const int8_t* v = x.values + (token0 + t) * x.cols + b * 256 + 64 * c + 4 * k;
        low[t] = _mm512_dpbusd_epi32(low[t], wl, broadcast_word(v));
        high[t] = _mm512_dpbusd_epi32(high[t], wh, broadcast_word(v + 32));
      }
    }
    for (int t = 0; t < T; t++) {
      total[t] = _mm512_add_epi32(total[t], _mm512_add_epi32(_mm512_mullo_epi32(low[t], s.sc[2 * c]), _mm512_mullo_epi32(high[t], s.sc[2 * c + 1])));
    }
  }
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group_block)));
  const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group_block + 32)));
  for (int t = 0; t < T; t++) {
    const size_t index = (size_t)((token0 + t) * x.blocks + b);
    const int16_t* sums = x.sums32 + index * 8;
    __m512i mins = _mm512_dpwssd_epi32(_mm512_setzero_si512(), s.min_pairs[0], broadcast_word(sums));
    for (int p = 1; p < 4; p++) mins = _mm512_dpwssd_epi32(mins, s.min_pairs[p], broadcast_word(sums + 2 * p));
    const __m512 dx = _mm512_set1_ps(x.scales[index]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total[t]), _mm512_mul_ps(d, dx), acc[t]);
    acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins), _mm512_mul_ps(dmin, dx), acc[t]);
  }
}

// ---- q6_k ----

template <int T>
inline void q6_k_group_block(const uint8_t* group_block, const KActivations& x, int64_t token0, int64_t b, __m512 (&acc)[T]) {
  const __m512i low4 = _mm512_set1_epi8(0x0f), high2 = _mm512_set1_epi8(0x30);
  __m512i total[T];
  for (int t = 0; t < T; t++) total[t] = _mm512_setzero_si512();
  for (int h = 0; h < 2; h++) {
    for (int q = 0; q < 2; q++) {
      // Sub-blocks 8h + q + 2i (i = 0..3): values 128h + 32i + [16q, 16q + 16).
      __m512i dot[4][T];
      for (int i = 0; i < 4; i++)
        for (int t = 0; t < T; t++) dot[i][t] = _mm512_set1_epi32(x.starts[(size_t)((token0 + t) * x.blocks + b) * 16 + 8 * h + q + 2 * i]);
      for (int l = 16 * q; l < 16 * q + 16; l += 4) {
        const __m512i ql_low = load_word_segment(group_block, 16 * h + l / 4);      // ql[64h + l ..]
        const __m512i ql_high = load_word_segment(group_block, 16 * h + 8 + l / 4); // ql[64h + 32 + l ..]
        const __m512i qh = load_word_segment(group_block, 32 + 8 * h + l / 4);      // qh[32h + l ..]
        __m512i quants[4];
        quants[0] = _mm512_ternarylogic_epi32(_mm512_and_si512(ql_low, low4), _mm512_slli_epi16(qh, 4), high2, 0xF8);
        quants[1] = _mm512_ternarylogic_epi32(_mm512_and_si512(ql_high, low4), _mm512_slli_epi16(qh, 2), high2, 0xF8);
        quants[2] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql_low, 4), low4), qh, high2, 0xF8);
        quants[3] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql_high, 4), low4), _mm512_srli_epi16(qh, 2), high2, 0xF8);
        for (int i = 0; i < 4; i++) {
          for (int t = 0; t < T; t++) {
            const int8_t* v = x.values + (token0 + t) * x.cols + b * 256 + 128 * h + 32 * i + l;
            dot[i][t] = _mm512_dpbusd_epi32(dot[i][t], quants[i], broadcast_word(v));
          }
        }
      }
      for (int i = 0; i < 4; i++) {
        // Scale word 48 + j/4 holds sc[j] in byte j % 4 of each lane: shift it to the top, then arithmetic back.
        const int j = 8 * h + q + 2 * i;
        const __m512i word = load_word_segment(group_block, 48 + j / 4);
        const __m512i scale = _mm512_srai_epi32(_mm512_slli_epi32(word, 24 - 8 * (j % 4)), 24);
        for (int t = 0; t < T; t++) total[t] = _mm512_add_epi32(total[t], _mm512_mullo_epi32(dot[i][t], scale));
      }
    }
  }
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group_block + 52 * 64)));
  for (int t = 0; t < T; t++) {
    const __m512 dx = _mm512_set1_ps(x.scales[(token0 + t) * x.blocks + b]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total[t]), _mm512_mul_ps(d, dx), acc[t]);
  }
}

// out[t, row0 .. row0+15] for tokens token0 .. token0+T-1 over every block of one 16-row group. Decode streams the
// weights once: it fetches the next group block while computing this one (a q6_k group block is consumed in three
// interleaved runs, which the hardware prefetcher alone follows poorly: measured 2x on Zen 5 for q6_k, 1.4x for q4_k).
template <bool Q6, int T, bool Prefetch>
void k_tile(const uint8_t* group, const KActivations& x, int64_t token0, float* out, int64_t out_stride, int64_t row0) {
  constexpr int kGroupBlockBytes = Q6 ? kQ6KGroupBlockBytes : kQ4KGroupBlockBytes;
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < x.blocks; b++) {
    const uint8_t* group_block = group + b * kGroupBlockBytes;
    if constexpr (Prefetch) {
      // The next block of this group, or (after the last) the first block of the next group, which follows it.
      for (int offset = 0; offset < kGroupBlockBytes; offset += 64) _mm_prefetch(reinterpret_cast<const char*>(group_block + kGroupBlockBytes + offset), _MM_HINT_T0);
    }
    if constexpr (Q6) q6_k_group_block<T>(group_block, x, token0, b, acc);
    else q4_k_group_block<T>(group_block, x, token0, b, acc);
  }
  for (int t = 0; t < T; t++) _mm512_storeu_ps(out + (token0 + t) * out_stride + row0, acc[t]);
}

constexpr int kKTokenTile = 4;
// A small batch (a speculative verify of up to 8 tokens) streams the weights once, as decode does: each group is
// computed for all its token tiles while it is in L1/L2, the first tile fetching ahead. (Passes of 4 tokens over a
// task's groups, then the rest, without fetching ahead, measured 5.2× one token for 5 tokens over the 128256×3072 q6_k
// LM head at 2 threads on Zen 5; this way 2.5×; q4_k 8192×3072: 2.7× → 2.0×.)
constexpr int kKSmallBatchTokens = 2 * kKTokenTile;
// Prefill: tokens are taken in chunks so a chunk's activations stay in L2 while a task's weights are reused from it.
constexpr int64_t kKTokenChunk = 64;
// A task's weights in prefill: about this many bytes of row groups, reused from L2 by every token tile.
constexpr int64_t kKTaskWeightBytes = 256 * 1024;

template <bool Q6, bool Prefetch>
void k_tile_any(int tokens, const uint8_t* group, const KActivations& x, int64_t token0, float* out, int64_t out_stride, int64_t row0) {
  switch (tokens) {
    case 1: k_tile<Q6, 1, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 2: k_tile<Q6, 2, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 3: k_tile<Q6, 3, Prefetch>(group, x, token0, out, out_stride, row0); return;
    default: k_tile<Q6, 4, Prefetch>(group, x, token0, out, out_stride, row0); return;
  }
}

template <bool Q6>
void matmul_k_groups(const MatmulProblem& p, ThreadPool& pool) {
  const KActivations x = prepare_k_activations(p.input, p.tokens, p.cols, Q6, pool);
  const int64_t groups = p.rows / kInterleavedRows;
  const size_t group_bytes = kInterleavedRows * row_bytes(p.dtype, p.cols);
  const int64_t by_balance = std::max<int64_t>(1, groups / ((int64_t)pool.threads() * 8));
  const int64_t by_cache = std::max<int64_t>(1, kKTaskWeightBytes / (int64_t)group_bytes);
  const bool small_batch = p.tokens <= kKSmallBatchTokens;  // one pass over the weights
  const int64_t groups_per_task = small_batch ? by_balance : std::min(by_balance, by_cache);
  const int64_t row_tasks = (groups + groups_per_task - 1) / groups_per_task;
  const int64_t token_chunks = (p.tokens + kKTokenChunk - 1) / kKTokenChunk;
  auto body = [&](int64_t task, int) {
    const int64_t group_begin = (task % row_tasks) * groups_per_task, group_end = std::min(groups, group_begin + groups_per_task);
    const int64_t token_begin = (task / row_tasks) * kKTokenChunk, token_end = std::min(p.tokens, token_begin + kKTokenChunk);
    if (small_batch) {
      for (int64_t g = group_begin; g < group_end; g++) {
        const uint8_t* group = p.weight + (size_t)g * group_bytes;
        k_tile_any<Q6, true>((int)std::min<int64_t>(kKTokenTile, p.tokens), group, x, 0, p.out, p.rows, g * kInterleavedRows);
        if (p.tokens > kKTokenTile) k_tile_any<Q6, false>((int)(p.tokens - kKTokenTile), group, x, kKTokenTile, p.out, p.rows, g * kInterleavedRows);
      }
      return;
    }
    for (int64_t t = token_begin; t < token_end; t += kKTokenTile) {
      const int tile_tokens = (int)std::min<int64_t>(kKTokenTile, token_end - t);
      for (int64_t g = group_begin; g < group_end; g++) {
        k_tile_any<Q6, false>(tile_tokens, p.weight + (size_t)g * group_bytes, x, t, p.out, p.rows, g * kInterleavedRows);
      }
    }
  };
  pool.parallel_for(row_tasks * token_chunks, body);
}

}  // namespace

void matmul_k_interleaved(const MatmulProblem& p, ThreadPool& pool) {
  if (p.dtype == Q6_K_X16) matmul_k_groups<true>(p, pool);
  else matmul_k_groups<false>(p, pool);
}

}  // namespace avx512
}  // namespace kernel
