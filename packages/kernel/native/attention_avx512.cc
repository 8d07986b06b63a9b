// AVX-512 attention (compiled with the AVX-512 flags of the avx512 kernel library), two ways:
//
// - Vector operations for the generic tile loop (attention_tile.h), used for f32, f16 and bf16 caches: 16-wide dot
//   products four rows at a time with one transposing reduction, a 16-wide e^x, the value accumulator in up to eight
//   registers across a tile's rows, and 16-wide decoding of f16/bf16 head rows into the tile.
// - For q8_0 and q4_0 caches (heads of a multiple of 64 values), a loop of its own that never decodes keys: the query
//   is quantized to int8 once (one scale per head row) and each score is an integer dot product (VNNI vpdpbusd, 64
//   products an instruction) of the stored quants, scaled by the blocks' f16 scales; values are decoded in registers
//   and accumulated into all the query heads of the group at once. See attend_quantized below.
// - For keys grouped per channel (q8_0 / q4_0 caches; src/channel-keys.ts), the tile loop with channel_scores: a
//   channel's 32 quants converted once for up to four query heads, each head's query value times the channel's scale
//   multiplied and added into two registers of 16 positions.
#include <immintrin.h>

#include "attention_tile.h"
#include "vector_math_avx512.h"

namespace kernel {
namespace {

struct Avx512Ops {
  // Four dot products of 16-wide partial sums reduced at once: [Σa0, Σa1, Σa2, Σa3].
  static inline __m128 reduce_four(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    // Within each 128-bit lane: t01 = [a0₀+a0₂, a1₀+a1₂, a0₁+a0₃, a1₁+a1₃], likewise t23; then [a0, a1, a2, a3].
    const __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    const __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    const __m512 lanes = _mm512_add_ps(_mm512_shuffle_ps(t01, t23, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(lanes), _mm512_extractf32x8_ps(lanes, 1));
    return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  }
  static inline void tile_scores(const float* q, const float* const* rows, int64_t length, int64_t n, float scale, float* scores) {
    if (n % 16 != 0) return PortableOps::tile_scores(q, rows, length, n, scale, scores);
    const __m128 factor = _mm_set1_ps(scale);
    int64_t j = 0;
    for (; j + 4 <= length; j += 4) {
      const float *r0 = rows[j], *r1 = rows[j + 1], *r2 = rows[j + 2], *r3 = rows[j + 3];
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
      for (int64_t i = 0; i < n; i += 16) {
        const __m512 qv = _mm512_loadu_ps(q + i);
        a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r0 + i), a0);
        a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r1 + i), a1);
        a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r2 + i), a2);
        a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r3 + i), a3);
      }
      _mm_storeu_ps(scores + j, _mm_mul_ps(reduce_four(a0, a1, a2, a3), factor));
    }
    for (; j < length; j++) {
      __m512 a = _mm512_setzero_ps();
      for (int64_t i = 0; i < n; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(rows[j] + i), a);
      scores[j] = _mm512_reduce_add_ps(a) * scale;
    }
  }
  static inline float tile_exp(float* scores, int64_t length, float maximum) {
    const __m512 m = _mm512_set1_ps(maximum);
    __m512 total = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= length; j += 16) {
      const __m512 e = exp_negative_avx512(_mm512_sub_ps(_mm512_loadu_ps(scores + j), m));
      _mm512_storeu_ps(scores + j, e);
      total = _mm512_add_ps(total, e);
    }
    if (j < length) {  // the tail under a mask
      const __mmask16 mask = (__mmask16)((1u << (length - j)) - 1);
      const __m512 e = exp_negative_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, scores + j), m));
      _mm512_mask_storeu_ps(scores + j, mask, e);
      total = _mm512_add_ps(total, _mm512_maskz_mov_ps(mask, e));
    }
    return _mm512_reduce_add_ps(total);
  }
  // y = correction · y + Σ_j weights[j] · rows[j], `Registers` × 16 floats of y held in registers across the rows.
  template <int Registers>
  static inline void tile_accumulate_registers(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    const __m512 c = _mm512_set1_ps(correction);
    for (int64_t i = 0; i < n; i += 16 * Registers) {
      __m512 a[Registers];
      for (int r = 0; r < Registers; r++) a[r] = _mm512_mul_ps(_mm512_loadu_ps(y + i + 16 * r), c);
      for (int64_t j = 0; j < length; j++) {
        const __m512 w = _mm512_set1_ps(weights[j]);
        const float* v = rows[j] + i;
        for (int r = 0; r < Registers; r++) a[r] = _mm512_fmadd_ps(w, _mm512_loadu_ps(v + 16 * r), a[r]);
      }
      for (int r = 0; r < Registers; r++) _mm512_storeu_ps(y + i + 16 * r, a[r]);
    }
  }
  // Heads of a multiple of 64 never get here: the tile loop runs only for keys grouped per channel (q8_0 / q4_0), whose
  // values of such heads accumulate_values takes from the cache rows in registers.
  static inline void tile_accumulate(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    if (n % 32 == 0) return tile_accumulate_registers<2>(y, correction, weights, rows, length, n);
    if (n % 16 == 0) return tile_accumulate_registers<1>(y, correction, weights, rows, length, n);
    PortableOps::tile_accumulate(y, correction, weights, rows, length, n);
  }

  // Scores of one full per-channel key group (attention_tile.h) for up to four query heads of a kv head (query rows
  // q + n · head_dim, scores + n · kTile): per channel, its 32 positions' quants converted to floats once (two
  // registers), then for each head the query value times the channel's scale broadcast and multiplied and added into
  // that head's two accumulators. Each head's sums are the same operations in the same order as one head alone.
  template <int N>
  static inline void channel_scores_heads(int dtype, const float* q, const uint8_t* channels, int64_t head_dim, float scale, float* scores) {
    __m512 low[N], high[N];  // per head: positions 0–15, 16–31
    for (int n = 0; n < N; n++) low[n] = high[n] = _mm512_setzero_ps();
    if (dtype == Q8_0) {
      const BlockQ8_0* block = reinterpret_cast<const BlockQ8_0*>(channels);
      for (int64_t i = 0; i < head_dim; i++) {
        const float d = _cvtsh_ss(block[i].d);
        const __m512 first = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block[i].qs))));
        const __m512 second = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block[i].qs + 16))));
        for (int n = 0; n < N; n++) {
          const __m512 w = _mm512_set1_ps(q[n * head_dim + i] * d);
          low[n] = _mm512_fmadd_ps(w, first, low[n]);
          high[n] = _mm512_fmadd_ps(w, second, high[n]);
        }
      }
    } else {
      const BlockQ4_0* block = reinterpret_cast<const BlockQ4_0*>(channels);
      const __m128i mask = _mm_set1_epi8(0x0f);
      const __m512i eight = _mm512_set1_epi32(8);
      for (int64_t i = 0; i < head_dim; i++) {
        const float d = _cvtsh_ss(block[i].d);
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block[i].qs));
        const __m512 first = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(packed, mask)), eight));
        const __m512 second = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(packed, 4), mask)), eight));
        for (int n = 0; n < N; n++) {
          const __m512 w = _mm512_set1_ps(q[n * head_dim + i] * d);
          low[n] = _mm512_fmadd_ps(w, first, low[n]);
          high[n] = _mm512_fmadd_ps(w, second, high[n]);
        }
      }
    }
    // A full group is always read whole (a query reads its own group from the residual until it is full, and ranges
    // end at multiples of 32), so all 32 scores are stored.
    const __m512 factor = _mm512_set1_ps(scale);
    for (int n = 0; n < N; n++) {
      _mm512_storeu_ps(scores + n * kTile, _mm512_mul_ps(low[n], factor));
      _mm512_storeu_ps(scores + n * kTile + 16, _mm512_mul_ps(high[n], factor));
    }
  }
  static inline void channel_scores(int dtype, const float* q, int64_t group, const uint8_t* channels, int64_t head_dim, int64_t /*length*/, float scale, float* scores) {
    for (int64_t g = 0; g < group; g += 4) {
      const float* rows = q + g * head_dim;
      float* s = scores + g * kTile;
      switch (std::min<int64_t>(4, group - g)) {
        case 4: channel_scores_heads<4>(dtype, rows, channels, head_dim, scale, s); break;
        case 3: channel_scores_heads<3>(dtype, rows, channels, head_dim, scale, s); break;
        case 2: channel_scores_heads<2>(dtype, rows, channels, head_dim, scale, s); break;
        default: channel_scores_heads<1>(dtype, rows, channels, head_dim, scale, s);
      }
    }
  }

  // 16 nibbles (zero-extended bytes 0..15) minus 8, times the scale.
  static inline __m512 q4_sixteen(__m128i nibbles, __m512 d) {
    const __m512i values = _mm512_sub_epi32(_mm512_cvtepu8_epi32(nibbles), _mm512_set1_epi32(8));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(values), d);
  }
  // q8_0 / q4_0 values of heads of a multiple of 64: decoded in registers, 64 values at a time, into up to four query
  // heads' accumulators (accumulate_chunk below; the same operations in the same order as decode_heads followed by
  // tile_accumulate). Other types: false.
  static bool accumulate_values(int dtype, const uint8_t* const* rows, int64_t kv_head, int64_t head_dim, int64_t length, int64_t group, float* accumulators,
                                const float* corrections, const float* scores);
  static inline void decode_heads(int dtype, const uint8_t* const* rows, int64_t head, int64_t head_dim, int64_t length, float* out) {
    const int64_t first = head * head_dim;
    if (head_dim % 32 != 0) return PortableOps::decode_heads(dtype, rows, head, head_dim, length, out);
    for (int64_t j = 0; j < length; j++) {
      float* o = out + j * head_dim;
      switch (dtype) {
        case F16: {
          const uint16_t* v = reinterpret_cast<const uint16_t*>(rows[j]) + first;
          for (int64_t i = 0; i < head_dim; i += 16) _mm512_storeu_ps(o + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i))));
          break;
        }
        case BF16: {
          const uint16_t* v = reinterpret_cast<const uint16_t*>(rows[j]) + first;
          for (int64_t i = 0; i < head_dim; i += 16) {
            const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + i)));
            _mm512_storeu_ps(o + i, _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)));
          }
          break;
        }
        case Q8_0: {
          const BlockQ8_0* block = reinterpret_cast<const BlockQ8_0*>(rows[j]) + first / 32;
          for (int64_t b = 0; b < head_dim / 32; b++, o += 32) {
            const __m512 d = _mm512_set1_ps(f16_to_f32(block[b].d));
            const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block[b].qs));
            const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block[b].qs + 16));
            _mm512_storeu_ps(o, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(low)), d));
            _mm512_storeu_ps(o + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(high)), d));
          }
          break;
        }
        default: {  // Q4_0
          const BlockQ4_0* block = reinterpret_cast<const BlockQ4_0*>(rows[j]) + first / 32;
          const __m128i low_mask = _mm_set1_epi8(0x0f);
          for (int64_t b = 0; b < head_dim / 32; b++, o += 32) {
            const __m512 d = _mm512_set1_ps(f16_to_f32(block[b].d));
            const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block[b].qs));
            _mm512_storeu_ps(o, q4_sixteen(_mm_and_si128(packed, low_mask), d));                          // values 0..15
            _mm512_storeu_ps(o + 16, q4_sixteen(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask), d));  // 16..31
          }
        }
      }
    }
  }
};

// ---- Heads of a multiple of 64 values: the block kernel ----
//
// A loop of its own for every cache element type when head_dim is a multiple of 64 (Llama's 64 and 128): tiles of
// kQuantizedTile positions; per kv head, the scores of four positions at a time for all the group's query heads (each
// key chunk loaded once, in registers); the online softmax of the group's heads side by side (one vector e^x for
// their corrections); then each value row decoded once, in registers, into the accumulators of up to four heads.
// Nothing is written to a decoded tile.
//
// Scores from float caches (f32, f16, bf16) are float dot products of the decoded key with the query. Scores from
// q8_0 / q4_0 caches are integer dot products (VNNI vpdpbusd: 64 byte products an instruction) of the stored quants
// with the query quantized to int8 once per call (ggml's q8_0: a scale per 32 values, rounded to nearest even). A head row is
// taken in chunks of 64 values (two blocks). The key bytes of a chunk, as vpdpbusd's unsigned operand, and the lanes
// of its int32 result (each the sum of 4 adjacent byte products):
//   q8_0  [block 0 quants (32) | block 1 quants (32)] XOR 0x80 = q + 128;  lanes 0–7 → block 0, 8–15 → block 1
//   q4_0  [low nibbles of block 0 (values 0–15) | of block 1 (32–47) | high nibbles of block 0 (16–31) | of block 1
//         (48–63)] = q + 8;  lanes 0–3, 8–11 → block 0, 4–7, 12–15 → block 1
// The query chunk is quantized in the same order, so lane sums are Σ (q + offset) · x; subtracting offset · Σ x per
// lane (precomputed) leaves Σ q · x exactly. Each lane is then scaled by its block's key and query scales, the lanes
// of four positions summed with one reduction, and 1/√d applied with the softmax.

template <int Dtype>
struct RowFormat;

// Float caches: 64 values of a head row are 4 registers.
template <int Dtype>
struct FloatRowFormat {
  static constexpr bool kInteger = false;
  static constexpr int64_t kValueBytes = Dtype == F32 ? 4 : 2;
  static constexpr int64_t kChunkBytes = 64 * kValueBytes;
  static inline __m512 sixteen(const uint8_t* values) {
    if constexpr (Dtype == F32) return _mm512_loadu_ps(reinterpret_cast<const float*>(values));
    else if constexpr (Dtype == F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(values)));
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(values))), 16));
  }
  // The chunk's 64 values, in order, into v[0..3].
  static inline void values(const uint8_t* chunk, __m512 v[4]) {
    for (int k = 0; k < 4; k++) v[k] = sixteen(chunk + 16 * k * kValueBytes);
  }
};
template <> struct RowFormat<F32> : FloatRowFormat<F32> {};
template <> struct RowFormat<F16> : FloatRowFormat<F16> {};
template <> struct RowFormat<BF16> : FloatRowFormat<BF16> {};

template <>
struct RowFormat<Q8_0> {
  static constexpr bool kInteger = true;
  static constexpr int64_t kBlockBytes = 34;
  static constexpr int64_t kChunkBytes = 2 * kBlockBytes;
  static constexpr int kOffset = 128;
  static inline __m512i bytes(const uint8_t* chunk) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(chunk);
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs));
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1), _mm512_set1_epi8((char)0x80));
  }
  static inline __m512i scale_lanes() { return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1); }
  // Query chunk bytes i..i+15 (i a multiple of 16) hold the chunk's values query_order(i)...
  static inline int query_order(int i) { return i; }
  static inline void values(const uint8_t* chunk, __m512 v[4]) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(chunk);
    for (int k = 0; k < 2; k++) {
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(b[k].d));
      v[2 * k] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs)))), d);
      v[2 * k + 1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs + 16)))), d);
    }
  }
};

template <>
struct RowFormat<Q4_0> {
  static constexpr bool kInteger = true;
  static constexpr int64_t kBlockBytes = 18;
  static constexpr int64_t kChunkBytes = 2 * kBlockBytes;
  static constexpr int kOffset = 8;
  static inline __m512i bytes(const uint8_t* chunk) {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(chunk);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs))),
                                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)), 1);
    const __m256i mask = _mm256_set1_epi8(0x0f);
    const __m256i low = _mm256_and_si256(both, mask), high = _mm256_and_si256(_mm256_srli_epi16(both, 4), mask);
    return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
  }
  static inline __m512i scale_lanes() { return _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1); }
  static inline int query_order(int i) { return i == 16 ? 32 : i == 32 ? 16 : i; }
  static inline void values(const uint8_t* chunk, __m512 v[4]) {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(chunk);
    const __m128i mask = _mm_set1_epi8(0x0f);
    for (int k = 0; k < 2; k++) {
      const float scale = _cvtsh_ss(b[k].d);
      const __m512 d = _mm512_set1_ps(scale), offset = _mm512_set1_ps(-8.0f * scale);  // (n − 8)·d = n·d − 8d, exactly
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs));
      v[2 * k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(packed, mask))), d, offset);
      v[2 * k + 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(packed, 4), mask))), d, offset);
    }
  }
};

// The key scales of a q8_0 / q4_0 chunk's two blocks spread over the lanes their sums occupy.
template <int Dtype>
inline __m512 key_scale_lanes(const uint8_t* chunk) {
  const uint16_t d0 = reinterpret_cast<const BlockQ8_0*>(chunk)->d;  // both block types start with their f16 scale
  const uint16_t d1 = reinterpret_cast<const BlockQ8_0*>(chunk + RowFormat<Dtype>::kBlockBytes)->d;
  const __m128 scales = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | ((uint32_t)d1 << 16))));
  return _mm512_permutexvar_ps(RowFormat<Dtype>::scale_lanes(), _mm512_castps128_ps512(scales));
}

// Scores of four positions (head rows rows4[0..3]) for the group's query heads, over 64-value chunks
// [first_chunk, first_chunk + Count): added to scores[g · kQuantizedTile + j ..] (stored when first_chunk is 0).
// Float formats: Count 1 (16 key registers); integer formats: Count ≤ 2.
template <int Dtype, int Count>
inline void score_four(const uint8_t* const rows4[4], int64_t first_chunk, int64_t group, const float* query_rows, const int8_t* query_bytes,
                       const int32_t* offsets, const float* query_scales, int64_t dim, float* scores, int64_t j) {
  using Format = RowFormat<Dtype>;
  const int64_t chunks = dim / 64;
  if constexpr (Format::kInteger) {
    __m512i keys[4][Count];
    __m512 scales[4][Count];
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < Count; c++) {
        const uint8_t* chunk = rows4[r] + (first_chunk + c) * Format::kChunkBytes;
        keys[r][c] = Format::bytes(chunk);
        scales[r][c] = key_scale_lanes<Dtype>(chunk);
      }
    for (int64_t g = 0; g < group; g++) {
      __m512 f[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int c = 0; c < Count; c++) {
        const __m512i q = _mm512_loadu_si512(query_bytes + g * dim + (first_chunk + c) * 64);
        const __m512i offset = _mm512_loadu_si512(offsets + (g * chunks + first_chunk + c) * 16);
        const __m512 query_scale = _mm512_loadu_ps(query_scales + (g * chunks + first_chunk + c) * 16);
        for (int r = 0; r < 4; r++) {
          const __m512i sums = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), keys[r][c], q), offset);
          f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(scales[r][c], query_scale), f[r]);
        }
      }
      float* s = scores + g * kQuantizedTile + j;
      const __m128 four = Avx512Ops::reduce_four(f[0], f[1], f[2], f[3]);
      _mm_storeu_ps(s, first_chunk == 0 ? four : _mm_add_ps(_mm_loadu_ps(s), four));
    }
  } else {
    __m512 keys[4][4];
    for (int r = 0; r < 4; r++) Format::values(rows4[r] + first_chunk * Format::kChunkBytes, keys[r]);
    for (int64_t g = 0; g < group; g++) {
      const float* q = query_rows + g * dim + first_chunk * 64;
      __m512 f[4];
      for (int r = 0; r < 4; r++) f[r] = _mm512_mul_ps(_mm512_loadu_ps(q), keys[r][0]);
      for (int k = 1; k < 4; k++) {
        const __m512 qk = _mm512_loadu_ps(q + 16 * k);
        for (int r = 0; r < 4; r++) f[r] = _mm512_fmadd_ps(qk, keys[r][k], f[r]);
      }
      float* s = scores + g * kQuantizedTile + j;
      const __m128 four = Avx512Ops::reduce_four(f[0], f[1], f[2], f[3]);
      _mm_storeu_ps(s, first_chunk == 0 ? four : _mm_add_ps(_mm_loadu_ps(s), four));
    }
  }
}

// y[n] = correction[n] · y[n] + Σ_j weights[n][j] · value row j, for N query heads at once over one 64-value chunk:
// each value row is decoded once into four registers and serves every head.
template <int Dtype, int N>
inline void accumulate_chunk(float* const* y, const float* corrections, const float* const* weights, const uint8_t* const* rows, int64_t chunk_offset, int64_t length) {
  __m512 a[N][4];
  for (int n = 0; n < N; n++) {
    const __m512 c = _mm512_set1_ps(corrections[n]);
    for (int k = 0; k < 4; k++) a[n][k] = _mm512_mul_ps(_mm512_loadu_ps(y[n] + 16 * k), c);
  }
  for (int64_t j = 0; j < length; j++) {
    __m512 v[4];
    RowFormat<Dtype>::values(rows[j] + chunk_offset, v);
    for (int n = 0; n < N; n++) {
      const __m512 w = _mm512_set1_ps(weights[n][j]);
      for (int k = 0; k < 4; k++) a[n][k] = _mm512_fmadd_ps(w, v[k], a[n][k]);
    }
  }
  for (int n = 0; n < N; n++)
    for (int k = 0; k < 4; k++) _mm512_storeu_ps(y[n] + 16 * k, a[n][k]);
}

// Values of one kv head's query group over a tile: per 64-value chunk, up to four query heads at once. Head n's
// weights are scores + n · scores_stride, its accumulator accumulators + n · head_dim. Avx512Ops::accumulate_values
// (the tile loop) and attend_blocks (the block kernel) both use it.
template <int Dtype>
inline void accumulate_tile_values(const uint8_t* const* rows, int64_t kv_head, int64_t head_dim, int64_t length, int64_t group, float* accumulators,
                                   const float* corrections, const float* scores, int64_t scores_stride) {
  using Format = RowFormat<Dtype>;
  const int64_t chunks = head_dim / 64;
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t chunk_offset = kv_head * chunks * Format::kChunkBytes + c * Format::kChunkBytes;
    for (int64_t g0 = 0; g0 < group; g0 += 4) {
      const int64_t count = std::min<int64_t>(4, group - g0);
      float* y[4];
      const float* weights[4];
      for (int64_t n = 0; n < count; n++) {
        y[n] = accumulators + (g0 + n) * head_dim + c * 64;
        weights[n] = scores + (g0 + n) * scores_stride;
      }
      switch (count) {
        case 4: accumulate_chunk<Dtype, 4>(y, corrections + g0, weights, rows, chunk_offset, length); break;
        case 3: accumulate_chunk<Dtype, 3>(y, corrections + g0, weights, rows, chunk_offset, length); break;
        case 2: accumulate_chunk<Dtype, 2>(y, corrections + g0, weights, rows, chunk_offset, length); break;
        default: accumulate_chunk<Dtype, 1>(y, corrections + g0, weights, rows, chunk_offset, length);
      }
    }
  }
}

bool Avx512Ops::accumulate_values(int dtype, const uint8_t* const* rows, int64_t kv_head, int64_t head_dim, int64_t length, int64_t group, float* accumulators,
                                  const float* corrections, const float* scores) {
  if (head_dim % 64 != 0) return false;
  if (dtype == Q8_0) accumulate_tile_values<Q8_0>(rows, kv_head, head_dim, length, group, accumulators, corrections, scores, kTile);
  else if (dtype == Q4_0) accumulate_tile_values<Q4_0>(rows, kv_head, head_dim, length, group, accumulators, corrections, scores, kTile);
  else return false;
  return true;
}

template <int Dtype>
void attend_blocks(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch) {
  using Format = RowFormat<Dtype>;
  constexpr int64_t kTile = kQuantizedTile;
  const int64_t group = p.heads / p.kv_heads;
  const int64_t dim = p.head_dim, chunks = dim / 64;
  const int64_t head_bytes = chunks * Format::kChunkBytes;  // bytes of one head in a position's row
  const int64_t row_bytes = p.kv_heads * head_bytes;
  float* scores = scratch;                     // [group, kTile]
  float* correction = scores + group * kTile;  // [group]
  int8_t* query_bytes = reinterpret_cast<int8_t*>(correction + group);           // [heads, dim] int8, chunks in key order
  int32_t* offsets = reinterpret_cast<int32_t*>(query_bytes + p.heads * dim);    // [heads, chunks, 16] offset · Σ of 4 bytes
  float* query_scales = reinterpret_cast<float*>(offsets + p.heads * chunks * 16); // [heads, chunks, 16] block scales by lane
  const float* query_rows = p.query + token * p.heads * dim;                     // [heads, dim]
  for (int64_t h = 0; h < p.heads; h++) {
    if constexpr (Format::kInteger) {
      // The query row quantized once, as ggml's q8_0 does it: a scale per block of 32 values (max |q| / 127), values
      // rounded to nearest even.
      const float* q = query_rows + h * dim;
      int8_t* row = query_bytes + h * dim;
      for (int64_t c = 0; c < chunks; c++) {
        float inverse[2];
        __m128 block_scales = _mm_setzero_ps();
        for (int b = 0; b < 2; b++) {
          const float* block = q + c * 64 + 32 * b;
          const __m512 largest = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(block)), _mm512_abs_ps(_mm512_loadu_ps(block + 16)));
          const float d = _mm512_reduce_max_ps(largest) / 127.0f;
          inverse[b] = d > 0 ? 1.0f / d : 0.0f;
          // The lane is an immediate: a literal per case, so unoptimized (debug, coverage) builds compile too.
          block_scales = b == 0 ? _mm_insert_ps(block_scales, _mm_set_ss(d), 0x00) : _mm_insert_ps(block_scales, _mm_set_ss(d), 0x10);
        }
        for (int part = 0; part < 4; part++) {  // 16 values at a time, from where the chunk's order takes them
          const int first = Format::query_order(16 * part);
          const __m512i rounded = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(q + c * 64 + first), _mm512_set1_ps(inverse[first / 32])));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(row + c * 64 + 16 * part), _mm512_cvtsepi32_epi8(rounded));
        }
        const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), _mm512_loadu_si512(row + c * 64));
        _mm512_storeu_si512(offsets + (h * chunks + c) * 16, _mm512_mullo_epi32(sums, _mm512_set1_epi32(Format::kOffset)));
        _mm512_storeu_ps(query_scales + (h * chunks + c) * 16, _mm512_permutexvar_ps(Format::scale_lanes(), _mm512_castps128_ps512(block_scales)));
      }
    }
    partial.maximum[h] = -INFINITY;
    partial.sum[h] = 0;
  }
  std::fill(partial.accumulator, partial.accumulator + p.heads * dim, 0.0f);

  const uint8_t* key_rows[kTile];
  const uint8_t* value_rows[kTile];
  float new_max[16];
  for (int64_t tile = begin; tile < end; tile += kTile) {
    const int64_t length = std::min(kTile, end - tile);
    gather_tile_rows(p, row_bytes, tile, length, kTile, end, key_rows, value_rows);
    for (int64_t kv_head = 0; kv_head < p.kv_heads; kv_head++) {
      const int64_t head_offset = kv_head * head_bytes;
      const int64_t first_head = kv_head * group;
      // Scores, four positions at a time (a short tail repeats its last row; the extra scores are not read).
      for (int64_t j = 0; j < length; j += 4) {
        const uint8_t* rows4[4];
        for (int r = 0; r < 4; r++) rows4[r] = key_rows[std::min(j + r, length - 1)] + head_offset;
        for (int64_t c = 0; c < chunks;) {
          if (Format::kInteger && c + 2 <= chunks) {
            score_four<Dtype, 2>(rows4, c, group, query_rows + first_head * dim, query_bytes + first_head * dim, offsets + first_head * chunks * 16,
                                 query_scales + first_head * chunks * 16, dim, scores, j);
            c += 2;
          } else {
            score_four<Dtype, 1>(rows4, c, group, query_rows + first_head * dim, query_bytes + first_head * dim, offsets + first_head * chunks * 16,
                                 query_scales + first_head * chunks * 16, dim, scores, j);
            c += 1;
          }
        }
      }
      // Online softmax for the group's query heads: scale the scores and find each head's tile maximum, then every
      // head's correction e^(old max − new max) with one vector e^x, then the exponentials and sums. The heads are
      // independent, so their latency chains overlap.
      for (int64_t g0 = 0; g0 < group; g0 += 16) {
        const int64_t count = std::min<int64_t>(16, group - g0);
        for (int64_t g = g0; g < g0 + count; g++) {
          float* s = scores + g * kTile;
          const __m512 factor = _mm512_set1_ps(p.scale);
          __m512 largest = _mm512_set1_ps(-INFINITY);
          for (int64_t j = 0; j < length; j += 16) {
            const __mmask16 mask = length - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (length - j)) - 1);
            const __m512 scaled = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, s + j), factor);
            _mm512_mask_storeu_ps(s + j, mask, scaled);
            largest = _mm512_mask_max_ps(largest, mask, largest, scaled);
          }
          new_max[g - g0] = std::max(partial.maximum[first_head + g], _mm512_reduce_max_ps(largest));
        }
        const __mmask16 heads_mask = (__mmask16)((1u << count) - 1);
        const __m512 old_max = _mm512_maskz_loadu_ps(heads_mask, partial.maximum + first_head + g0);
        const __m512 maxima = _mm512_maskz_loadu_ps(heads_mask, new_max);
        // e^(−∞) on a head's first tile: exp_negative_avx512 clamps its argument, giving ~1e-38 for a sum and an
        // accumulator that are still 0.
        _mm512_mask_storeu_ps(correction + g0, heads_mask, exp_negative_avx512(_mm512_sub_ps(old_max, maxima)));
        for (int64_t g = g0; g < g0 + count; g++) {
          const int64_t h = first_head + g;
          partial.sum[h] = partial.sum[h] * correction[g] + Avx512Ops::tile_exp(scores + g * kTile, length, new_max[g - g0]);
          partial.maximum[h] = new_max[g - g0];
        }
      }
      // Values: each 64-value chunk of a row decoded once for up to four query heads.
      accumulate_tile_values<Dtype>(value_rows, kv_head, dim, length, group, partial.accumulator + first_head * dim, correction, scores, kTile);
    }
  }
}

}  // namespace

namespace avx512 {
void attend_range(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch) {
  // Keys grouped per channel take the tile loop (its channel_scores above); the block kernel reads per-token keys.
  if (p.head_dim % 64 == 0 && p.key_residual == nullptr) {
    switch (p.dtype) {
      case F32: return attend_blocks<F32>(p, token, begin, end, partial, scratch);
      case F16: return attend_blocks<F16>(p, token, begin, end, partial, scratch);
      case BF16: return attend_blocks<BF16>(p, token, begin, end, partial, scratch);
      case Q8_0: return attend_blocks<Q8_0>(p, token, begin, end, partial, scratch);
      case Q4_0: return attend_blocks<Q4_0>(p, token, begin, end, partial, scratch);
    }
  }
  attend_range_with<Avx512Ops>(p, token, begin, end, partial, scratch);
}
}  // namespace avx512

}  // namespace kernel
