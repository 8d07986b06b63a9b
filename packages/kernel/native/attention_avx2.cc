// AVX2/FMA/F16C vector operations for the attention tile loop (attention_tile.h), compiled with -mavx2 -mfma -mf16c:
// four dot products at once, a vectorized e^x, the value accumulator held in registers across a tile's rows, and
// 8-wide decoding of f16, bf16, q8_0 and q4_0 head rows into the tile.
#include <immintrin.h>

#include "attention_tile.h"
#include "vector_math.h"

namespace kernel {
namespace {

struct Avx2Ops {
  static inline float horizontal_sum(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
  }
  static inline float dot(const float* a, const float* b, int64_t n) {
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
      sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), sum1);
    }
    for (; i + 8 <= n; i += 8) sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
    float total = horizontal_sum(_mm256_add_ps(sum0, sum1));
    for (; i < n; i++) total += a[i] * b[i];
    return total;
  }
  // Four dot products at once (independent accumulators hide the FMA latency), summed with two horizontal adds.
  static inline void tile_scores(const float* q, const float* const* rows, int64_t length, int64_t n, float scale, float* scores) {
    int64_t j = 0;
    if (n % 8 == 0) {
      const __m128 factor = _mm_set1_ps(scale);
      for (; j + 4 <= length; j += 4) {
        const float *r0 = rows[j], *r1 = rows[j + 1], *r2 = rows[j + 2], *r3 = rows[j + 3];
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int64_t i = 0; i < n; i += 8) {
          const __m256 qv = _mm256_loadu_ps(q + i);
          a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r0 + i), a0);
          a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r1 + i), a1);
          a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r2 + i), a2);
          a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r3 + i), a3);
        }
        const __m256 pairs = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        const __m128 sums = _mm_add_ps(_mm256_castps256_ps128(pairs), _mm256_extractf128_ps(pairs, 1));
        _mm_storeu_ps(scores + j, _mm_mul_ps(sums, factor));
      }
    }
    for (; j < length; j++) scores[j] = dot(q, rows[j], n) * scale;
  }
  static inline float tile_exp(float* scores, int64_t length, float maximum) {
    const __m256 m = _mm256_set1_ps(maximum);
    __m256 total = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= length; j += 8) {
      const __m256 e = exp_negative_avx2(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
      _mm256_storeu_ps(scores + j, e);
      total = _mm256_add_ps(total, e);
    }
    float sum = horizontal_sum(total);
    for (; j < length; j++) sum += scores[j] = std::exp(scores[j] - maximum);
    return sum;
  }
  // y = correction · y + Σ_j weights[j] · rows[j], `Registers` × 8 floats of y held in registers across the tile's
  // rows (one load per FMA instead of a load and a store of y per row).
  template <int Registers>
  static inline void tile_accumulate_registers(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    const __m256 c = _mm256_set1_ps(correction);
    for (int64_t i = 0; i < n; i += 8 * Registers) {
      __m256 a[Registers];
      for (int r = 0; r < Registers; r++) a[r] = _mm256_mul_ps(_mm256_loadu_ps(y + i + 8 * r), c);
      for (int64_t j = 0; j < length; j++) {
        const __m256 w = _mm256_set1_ps(weights[j]);
        const float* v = rows[j] + i;
        for (int r = 0; r < Registers; r++) a[r] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * r), a[r]);
      }
      for (int r = 0; r < Registers; r++) _mm256_storeu_ps(y + i + 8 * r, a[r]);
    }
  }
  static inline void tile_accumulate(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    if (n % 64 == 0) return tile_accumulate_registers<8>(y, correction, weights, rows, length, n);
    if (n % 32 == 0) return tile_accumulate_registers<4>(y, correction, weights, rows, length, n);
    if (n % 8 == 0) return tile_accumulate_registers<1>(y, correction, weights, rows, length, n);
    PortableOps::tile_accumulate(y, correction, weights, rows, length, n);
  }

  // 8 values of a q8_0 block's int8 quants times the scale.
  static inline __m256 q8_eight(const int8_t* quants, __m256 d) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(quants));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)), d);
  }
  // 8 nibbles (zero-extended bytes 0..15) minus 8, times the scale.
  static inline __m256 q4_eight(__m128i nibbles, __m256 d) {
    const __m256i values = _mm256_sub_epi32(_mm256_cvtepu8_epi32(nibbles), _mm256_set1_epi32(8));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(values), d);
  }
  // Per-channel key groups: the portable loop, vectorized by the compiler for AVX2 in this translation unit.
  static inline void channel_scores(int dtype, const float* q, int64_t group, const uint8_t* channels, int64_t head_dim, int64_t length, float scale, float* scores) {
    channel_scores_heads(dtype, q, group, channels, head_dim, length, scale, scores);
  }
  static bool accumulate_values(int dtype, const uint8_t* const* rows, int64_t kv_head, int64_t head_dim, int64_t length, int64_t group, float* accumulators,
                                const float* corrections, const float* scores) {
    return PortableOps::accumulate_values(dtype, rows, kv_head, head_dim, length, group, accumulators, corrections, scores);
  }
  static inline void decode_heads(int dtype, const uint8_t* const* rows, int64_t head, int64_t head_dim, int64_t length, float* out) {
    const int64_t first = head * head_dim;
    if (head_dim % 32 != 0) return PortableOps::decode_heads(dtype, rows, head, head_dim, length, out);
    for (int64_t j = 0; j < length; j++) {
      float* o = out + j * head_dim;
      switch (dtype) {
        case F16: {
          const uint16_t* v = reinterpret_cast<const uint16_t*>(rows[j]) + first;
          for (int64_t i = 0; i < head_dim; i += 8) _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i))));
          break;
        }
        case BF16: {
          const uint16_t* v = reinterpret_cast<const uint16_t*>(rows[j]) + first;
          for (int64_t i = 0; i < head_dim; i += 8) {
            const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
            _mm256_storeu_ps(o + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
          }
          break;
        }
        case Q8_0: {
          const BlockQ8_0* block = reinterpret_cast<const BlockQ8_0*>(rows[j]) + first / 32;
          for (int64_t b = 0; b < head_dim / 32; b++, o += 32) {
            const __m256 d = _mm256_set1_ps(f16_to_f32(block[b].d));
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(o + 8 * k, q8_eight(block[b].qs + 8 * k, d));
          }
          break;
        }
        default: {  // Q4_0
          const BlockQ4_0* block = reinterpret_cast<const BlockQ4_0*>(rows[j]) + first / 32;
          const __m128i low_mask = _mm_set1_epi8(0x0f);
          for (int64_t b = 0; b < head_dim / 32; b++, o += 32) {
            const __m256 d = _mm256_set1_ps(f16_to_f32(block[b].d));
            const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block[b].qs));
            const __m128i low = _mm_and_si128(packed, low_mask);                     // values 0..15
            const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), low_mask);  // values 16..31
            _mm256_storeu_ps(o, q4_eight(low, d));
            _mm256_storeu_ps(o + 8, q4_eight(_mm_srli_si128(low, 8), d));
            _mm256_storeu_ps(o + 16, q4_eight(high, d));
            _mm256_storeu_ps(o + 24, q4_eight(_mm_srli_si128(high, 8), d));
          }
        }
      }
    }
  }
};

}  // namespace

namespace avx2 {
void attend_range(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch) {
  attend_range_with<Avx2Ops>(p, token, begin, end, partial, scratch);
}
}  // namespace avx2

}  // namespace kernel
