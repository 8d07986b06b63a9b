// Attention over a paged KV cache, natively: each query token walks its sequence's block table instead of reading a
// contiguous buffer, so serving many sequences needs no gather copy. One task per (query token, kv head) computes
// all query heads of that group together (the group's rows stay in L1 while its heads use them), with an online
// softmax over tiles of 64 positions. With AVX2/FMA (chosen at run time: this file is compiled for the baseline ISA):
// four dot products at once, a vectorized e^x, and the value accumulator held in registers across a tile's rows;
// a portable loop otherwise.
//
// Shapes: out, query [tokens, heads, head_dim]; key_blocks, value_blocks [block_count, block_size, kv_heads, head_dim];
// block_table [>= ceil(kv_length / block_size)]. Query token t sits at position start_position + t.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu_features.h"
#include "paged_attention.h"
#include "thread_pool.h"
#include "vector_math.h"

namespace kernel {

namespace paged {

// Positions per softmax tile, and the most query heads one kv head may serve.
constexpr int64_t kTile = 64;
constexpr int64_t kMaxGroup = 64;

struct PortableOps {
  static float dot(const float* a, const float* b, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
  }
  // scores[j] = scale · (q · rows[j]) for j < length.
  static void tile_scores(const float* q, const float* const* rows, int64_t length, int64_t n, float scale, float* scores) {
    for (int64_t j = 0; j < length; j++) scores[j] = dot(q, rows[j], n) * scale;
  }
  // scores[j] = e^(scores[j] − maximum); returns their sum.
  static float tile_exp(float* scores, int64_t length, float maximum) {
    float sum = 0;
    for (int64_t j = 0; j < length; j++) sum += scores[j] = std::exp(scores[j] - maximum);
    return sum;
  }
  static void scale(float* y, float factor, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= factor;
  }
  static void axpy(float* y, float a, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
  }
  // y = correction · y + Σ_j weights[j] · rows[j].
  static void tile_accumulate(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    scale(y, correction, n);
    for (int64_t j = 0; j < length; j++) axpy(y, weights[j], rows[j], n);
  }
};

struct Avx2Ops {
  __attribute__((target("avx2,fma"))) static inline float dot(const float* a, const float* b, int64_t n) {
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
      sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), sum1);
    }
    for (; i + 8 <= n; i += 8) sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
    const __m256 sum = _mm256_add_ps(sum0, sum1);
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    float total = _mm_cvtss_f32(half);
    for (; i < n; i++) total += a[i] * b[i];
    return total;
  }
  // Four dot products at once (independent accumulators hide the FMA latency), summed with two horizontal adds.
  __attribute__((target("avx2,fma"))) static inline void tile_scores(const float* q, const float* const* rows, int64_t length, int64_t n, float scale, float* scores) {
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
  __attribute__((target("avx2,fma"))) static inline float tile_exp(float* scores, int64_t length, float maximum) {
    const __m256 m = _mm256_set1_ps(maximum);
    __m256 total = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= length; j += 8) {
      const __m256 e = exp_negative_avx2(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
      _mm256_storeu_ps(scores + j, e);
      total = _mm256_add_ps(total, e);
    }
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    float sum = _mm_cvtss_f32(half);
    for (; j < length; j++) sum += scores[j] = std::exp(scores[j] - maximum);
    return sum;
  }
  __attribute__((target("avx2,fma"))) static inline void scale(float* y, float factor, int64_t n) {
    const __m256 f = _mm256_set1_ps(factor);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), f));
    for (; i < n; i++) y[i] *= factor;
  }
  __attribute__((target("avx2,fma"))) static inline void axpy(float* y, float a, const float* x, int64_t n) {
    const __m256 factor = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(factor, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
  }
  // y = correction · y + Σ_j weights[j] · rows[j], `Registers` × 8 floats of y held in registers across the tile's
  // rows (one load per FMA instead of a load and a store of y per row).
  template <int Registers>
  __attribute__((target("avx2,fma"))) static inline void tile_accumulate_registers(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
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
  __attribute__((target("avx2,fma"))) static inline void tile_accumulate(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    if (n % 64 == 0) return tile_accumulate_registers<8>(y, correction, weights, rows, length, n);
    if (n % 32 == 0) return tile_accumulate_registers<4>(y, correction, weights, rows, length, n);
    scale(y, correction, n);
    for (int64_t j = 0; j < length; j++) axpy(y, weights[j], rows[j], n);
  }
};

// One (token, kv head) task: the group's query heads attend over the visible positions, tile by tile.
// accumulator [group, head_dim] and scores [group, kTile] are the calling thread's scratch.
template <typename Ops>
__attribute__((always_inline)) inline void attend(const PagedAttentionProblem& p, int64_t token, int64_t kv_head, float* accumulator, float* scores) {
  const int64_t group = p.heads / p.kv_heads;
  const int64_t dim = p.head_dim;
  const int64_t row_stride = p.kv_heads * dim;  // floats between consecutive positions of one block
  const int64_t visible = p.causal ? std::min(p.kv_length, p.start_position + token + 1) : p.kv_length;
  const float* queries = p.query + (token * p.heads + kv_head * group) * dim;  // [group, dim]
  float running_max[kMaxGroup], running_sum[kMaxGroup];
  for (int64_t h = 0; h < group; h++) {
    running_max[h] = -INFINITY;
    running_sum[h] = 0;
  }
  std::fill(accumulator, accumulator + group * dim, 0.0f);
  const float* rows[kTile];  // key row of each position in the tile
  const float* value_rows[kTile];
  for (int64_t tile = 0; tile < visible; tile += kTile) {
    const int64_t length = std::min(kTile, visible - tile);
    // Row addresses of the tile's positions, walking the block table (one division per tile, not per position).
    int64_t logical = tile / p.block_size, row = tile % p.block_size;
    const float* key_row = p.key_blocks + (((int64_t)p.block_table[logical] * p.block_size + row) * p.kv_heads + kv_head) * dim;
    const float* value_row = p.value_blocks + (key_row - p.key_blocks);
    for (int64_t j = 0; j < length; j++) {
      rows[j] = key_row;
      value_rows[j] = value_row;
      if (++row == p.block_size) {
        row = 0;
        if (j + 1 < length) {
          const int64_t offset = ((int64_t)p.block_table[++logical] * p.block_size * p.kv_heads + kv_head) * dim;
          key_row = p.key_blocks + offset;
          value_row = p.value_blocks + offset;
        }
      } else {
        key_row += row_stride;
        value_row += row_stride;
      }
    }
    for (int64_t h = 0; h < group; h++) {
      const float* q = queries + h * dim;
      float* s = scores + h * kTile;
      Ops::tile_scores(q, rows, length, dim, p.scale, s);
      float tile_max = -INFINITY;
      for (int64_t j = 0; j < length; j++) tile_max = std::max(tile_max, s[j]);
      const float new_max = std::max(running_max[h], tile_max);
      const float correction = std::exp(running_max[h] - new_max);  // 0 on the first tile
      running_sum[h] = running_sum[h] * correction + Ops::tile_exp(s, length, new_max);
      running_max[h] = new_max;
      // The accumulator, rescaled to the new maximum, plus this tile's weighted values.
      Ops::tile_accumulate(accumulator + h * dim, correction, s, value_rows, length, dim);
    }
  }
  float* out = p.out + (token * p.heads + kv_head * group) * dim;
  for (int64_t h = 0; h < group; h++) {
    const float inverse = running_sum[h] > 0 ? 1.0f / running_sum[h] : 0.0f;
    for (int64_t d = 0; d < dim; d++) out[h * dim + d] = accumulator[h * dim + d] * inverse;
  }
}

__attribute__((target("avx2,fma"))) void attend_avx2(const PagedAttentionProblem& p, int64_t token, int64_t kv_head, float* accumulator, float* scores) {
  attend<Avx2Ops>(p, token, kv_head, accumulator, scores);
}

void attend_portable(const PagedAttentionProblem& p, int64_t token, int64_t kv_head, float* accumulator, float* scores) {
  attend<PortableOps>(p, token, kv_head, accumulator, scores);
}

}  // namespace paged

bool paged_attention(const PagedAttentionProblem& p, ThreadPool& pool) {
  const int64_t group = p.heads / p.kv_heads;
  if (group > paged::kMaxGroup) return false;
  const bool avx2 = cpu_features().avx2_usable();
  auto body = [&](int64_t task, int) {
    thread_local std::vector<float> scratch;
    const size_t needed = (size_t)(group * p.head_dim + group * paged::kTile);
    if (scratch.size() < needed) scratch.resize(needed);
    float* accumulator = scratch.data();
    float* scores = scratch.data() + group * p.head_dim;
    const int64_t token = task / p.kv_heads, kv_head = task % p.kv_heads;
    if (avx2) paged::attend_avx2(p, token, kv_head, accumulator, scores);
    else paged::attend_portable(p, token, kv_head, accumulator, scores);
  };
  pool.parallel_for(p.tokens * p.kv_heads, body);
  return true;
}

}  // namespace kernel
