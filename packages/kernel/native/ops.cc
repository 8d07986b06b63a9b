// Portable implementations of the non-matmul ops; see ops.h for shapes.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "formats.h"
#include "full_attention.h"
#include "interleave.h"
#include "matmul.h"
#include "paged_attention.h"
#include "vector_math.h"

namespace kernel {

void rms_norm(float* out, const float* input, const float* weight, int64_t rows, int64_t dim, float epsilon, ThreadPool& pool) {
  auto body = [&](int64_t row, int) {
    const float* x = input + row * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; i++) sum += (double)x[i] * x[i];
    const float inverse = (float)(1.0 / std::sqrt(sum / (double)dim + (double)epsilon));
    float* y = out + row * dim;
    for (int64_t i = 0; i < dim; i++) y[i] = x[i] * inverse * weight[i];
  };
  pool.parallel_for(rows, body);
}

// The sum of a vector's four doubles.
__attribute__((target("avx2,fma"))) static double total(__m256d a) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

// One row of layer_norm with AVX2: the mean and the variance summed in double, 4 + 4 lanes (the scalar loop's sums up
// to the order of additions), the output 8 at a time.
__attribute__((target("avx2,fma"))) static void layer_norm_row_avx2(float* y, const float* x, const float* weight, const float* bias, int64_t dim,
                                                                    float epsilon) {
  const int64_t vectors = dim / 8 * 8;
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  for (int64_t i = 0; i < vectors; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    low = _mm256_add_pd(low, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    high = _mm256_add_pd(high, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  double sum = total(_mm256_add_pd(low, high));
  for (int64_t i = vectors; i < dim; i++) sum += x[i];
  const double mean = sum / (double)dim;
  const __m256d mean_vector = _mm256_set1_pd(mean);
  low = high = _mm256_setzero_pd();
  for (int64_t i = 0; i < vectors; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), mean_vector);
    const __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), mean_vector);
    low = _mm256_fmadd_pd(a, a, low);
    high = _mm256_fmadd_pd(b, b, high);
  }
  double squares = total(_mm256_add_pd(low, high));
  for (int64_t i = vectors; i < dim; i++) squares += ((double)x[i] - mean) * ((double)x[i] - mean);
  const float inverse = (float)(1.0 / std::sqrt(squares / (double)dim + (double)epsilon));
  const float mean_f = (float)mean;
  const __m256 m = _mm256_set1_ps(mean_f), scale = _mm256_set1_ps(inverse);
  for (int64_t i = 0; i < vectors; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), scale), _mm256_loadu_ps(weight + i));
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
    _mm256_storeu_ps(y + i, v);
  }
  for (int64_t i = vectors; i < dim; i++) y[i] = (x[i] - mean_f) * inverse * weight[i] + (bias ? bias[i] : 0.0f);
}

void layer_norm(float* out, const float* input, const float* weight, const float* bias, int64_t rows, int64_t dim,
                float epsilon, ThreadPool& pool) {
  if (avx2_paths_selected()) {
    auto body = [&](int64_t row, int) { layer_norm_row_avx2(out + row * dim, input + row * dim, weight, bias, dim, epsilon); };
    pool.parallel_for(rows, body);
    return;
  }
  auto body = [&](int64_t row, int) {
    const float* x = input + row * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; i++) sum += x[i];
    const double mean = sum / (double)dim;
    double squares = 0;
    for (int64_t i = 0; i < dim; i++) squares += ((double)x[i] - mean) * ((double)x[i] - mean);
    const float inverse = (float)(1.0 / std::sqrt(squares / (double)dim + (double)epsilon));
    const float mean_f = (float)mean;
    float* y = out + row * dim;
    for (int64_t i = 0; i < dim; i++) y[i] = (x[i] - mean_f) * inverse * weight[i] + (bias ? bias[i] : 0.0f);
  };
  pool.parallel_for(rows, body);
}

void rope(float* x, const int32_t* positions, const float* frequencies, int64_t tokens, int64_t heads, int64_t head_dim,
          int64_t rotary_dim, bool interleaved, ThreadPool& pool) {
  const int64_t pairs = rotary_dim / 2;
  auto body = [&](int64_t token, int) {
    std::vector<float> cosines((size_t)pairs), sines((size_t)pairs);
    for (int64_t i = 0; i < pairs; i++) {
      const double angle = (double)positions[token] * (double)frequencies[i];
      cosines[i] = (float)std::cos(angle);
      sines[i] = (float)std::sin(angle);
    }
    for (int64_t head = 0; head < heads; head++) {
      float* v = x + (token * heads + head) * head_dim;
      for (int64_t i = 0; i < pairs; i++) {
        const int64_t first = interleaved ? 2 * i : i;
        const int64_t second = interleaved ? 2 * i + 1 : i + pairs;
        const float a = v[first], b = v[second];
        v[first] = a * cosines[i] - b * sines[i];
        v[second] = a * sines[i] + b * cosines[i];
      }
    }
  };
  pool.parallel_for(tokens, body);
}

void softmax(float* out, const float* input, int64_t rows, int64_t n, ThreadPool& pool) {
  auto body = [&](int64_t row, int) {
    const float* x = input + row * n;
    float* y = out + row * n;
    float maximum = -INFINITY;
    for (int64_t i = 0; i < n; i++) maximum = std::max(maximum, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
      y[i] = std::exp(x[i] - maximum);
      sum += y[i];
    }
    const float inverse = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) y[i] *= inverse;
  };
  pool.parallel_for(rows, body);
}

// Elementwise work over [0, count) in chunks across the pool; small counts (decode) run inline.
template <typename Range>
void for_chunks(int64_t count, Range range) {
  constexpr int64_t kChunk = 16 * 1024;
  if (count <= kChunk) {
    range(0, count);
    return;
  }
  auto body = [&](int64_t chunk, int) { range(chunk * kChunk, std::min(count, (chunk + 1) * kChunk)); };
  global_pool().parallel_for((count + kChunk - 1) / kChunk, body);
}

// out[i] = silu(gate[i]) · (up ? up[i] : 1) for i in [begin, end).
__attribute__((target("avx2,fma"))) static void silu_range_avx2(float* out, const float* gate, const float* up, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256 y = silu_avx2(_mm256_loadu_ps(gate + i));
    if (up) y = _mm256_mul_ps(y, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(out + i, y);
  }
  // The tail goes through the same vector formula (masked), so an element's value never depends on where it sits
  // in the array: a row computes the same whether it runs alone (decode) or inside a batch (a speculative verify).
  if (i < end) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(end - i)), lanes);
    __m256 y = silu_avx2(_mm256_maskload_ps(gate + i, mask));
    if (up) y = _mm256_mul_ps(y, _mm256_maskload_ps(up + i, mask));
    _mm256_maskstore_ps(out + i, mask, y);
  }
}

static void silu_range(float* out, const float* gate, const float* up, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * (up ? up[i] : 1.0f);
}

static void silu_times(float* out, const float* gate, const float* up, int64_t count) {
  const bool avx2 = avx2_paths_selected();
  for_chunks(count, [&](int64_t begin, int64_t end) {
    if (avx2) silu_range_avx2(out, gate, up, begin, end);
    else silu_range(out, gate, up, begin, end);
  });
}

void silu(float* out, const float* input, int64_t count) {
  silu_times(out, input, nullptr, count);
}

// out[i] = gelu(input[i]) for i in [begin, end); the tail masked as in silu_range_avx2.
__attribute__((target("avx2,fma"))) static void gelu_range_avx2(float* out, const float* input, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) _mm256_storeu_ps(out + i, gelu_avx2(_mm256_loadu_ps(input + i)));
  if (i < end) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(end - i)), lanes);
    _mm256_maskstore_ps(out + i, mask, gelu_avx2(_mm256_maskload_ps(input + i, mask)));
  }
}

static void gelu_range(float* out, const float* input, int64_t begin, int64_t end) {
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = begin; i < end; i++) {
    const float x = input[i];
    out[i] = 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
  }
}

// The vision encoders' activation (SigLIP's MLP): vectorized and spread over the pool like silu.
void gelu(float* out, const float* input, int64_t count) {
  const bool avx2 = avx2_paths_selected();
  for_chunks(count, [&](int64_t begin, int64_t end) {
    if (avx2) gelu_range_avx2(out, input, begin, end);
    else gelu_range(out, input, begin, end);
  });
}

void swiglu(float* out, const float* gate, const float* up, int64_t count) {
  silu_times(out, gate, up, count);
}

// out[i] = a[i] ∘ b[i mod b_count] over whole repeats of b; a prefill's activations (more than one chunk) in chunks of
// whole repeats across the pool, like silu.
template <typename Combine>
void broadcast_binary(float* out, const float* a, const float* b, int64_t count, int64_t b_count, Combine combine) {
  const int64_t repeats = count / b_count;
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t start = begin * b_count; start < end * b_count; start += b_count)
      for (int64_t i = 0; i < b_count; i++) out[start + i] = combine(a[start + i], b[i]);
  };
  constexpr int64_t kChunk = 16 * 1024;
  const int64_t per_chunk = std::max<int64_t>(1, kChunk / b_count);  // repeats of b per chunk
  if (repeats <= per_chunk) {
    rows(0, repeats);
    return;
  }
  auto body = [&](int64_t chunk, int) { rows(chunk * per_chunk, std::min(repeats, (chunk + 1) * per_chunk)); };
  global_pool().parallel_for((repeats + per_chunk - 1) / per_chunk, body);
}

void add(float* out, const float* a, const float* b, int64_t count, int64_t b_count) {
  broadcast_binary(out, a, b, count, b_count, [](float x, float y) { return x + y; });
}

void mul(float* out, const float* a, const float* b, int64_t count, int64_t b_count) {
  broadcast_binary(out, a, b, count, b_count, [](float x, float y) { return x * y; });
}

bool full_attention_applies(const AttentionProblem& p) {
  return p.dtype == F32 && p.key_residual == nullptr && !p.causal && p.head_dim % 64 == 0 && p.tokens >= 32;
}

// Keys per tile: scores for one tile live in registers/L1; the running max and sum carry across tiles.
void attention(const AttentionProblem& p, ThreadPool& pool) {
  // Many queries over all positions of f32 keys (the vision encoder): tiled matrix products (full_attention.h).
  if (std::strncmp(active_kernels().name, "avx512", 6) == 0 && full_attention_applies(p)) return avx512::full_attention(p, pool);
  // A contiguous cache is a paged cache with a single block: the paged kernel (paged_attention.cc) takes it as such.
  const int32_t only_block = 0;
  paged_attention(PagedAttentionProblem{p.out, p.query, p.keys, p.values, &only_block, p.dtype, p.tokens, p.heads, p.kv_heads, p.head_dim,
                                        /*block_size=*/p.kv_length, p.start_position, p.kv_length, p.causal, p.scale, p.key_residual, p.key_residual_rows},
                  pool);
}

void embedding(float* out, const uint8_t* table, int dtype, const int32_t* ids, int64_t count, int64_t dim, ThreadPool& pool) {
  const size_t stride = row_bytes(dtype, dim);
  if (is_interleaved(dtype)) {
    // A packed table (an LM head tied to the embedding): each row is gathered back into plain blocks first.
    const int plain = plain_dtype(dtype);
    std::vector<uint8_t> rows((size_t)count * stride);
    auto body = [&](int64_t index, int) {
      uint8_t* row = rows.data() + (size_t)index * stride;
      deinterleave_row(dtype, table, ids[index], dim, row);
      dequantize_row(plain, row, out + index * dim, dim);
    };
    pool.parallel_for(count, body);
    return;
  }
  auto body = [&](int64_t index, int) { dequantize_row(dtype, table + (size_t)ids[index] * stride, out + index * dim, dim); };
  pool.parallel_for(count, body);
}

int64_t argmax(const float* input, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (input[i] > input[best]) best = i;
  return best;
}

}  // namespace kernel
