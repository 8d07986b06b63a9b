// Full (non-causal) attention over f32 keys and values as tiled matrix products, AVX-512 (see full_attention.h).
//
// The per-token flash loop (attention_avx512.cc) reads every key and value row once per query token and reduces each
// score horizontally; with 1,024 patches attending to 1,024 patches that streams 6 MB of keys and values per query
// token and spends most of its time on loads. Here a task takes a block of kQueries query tokens of one head, and every
// key and value row it loads serves all of them:
//   scores   Sᵀ[key, query] = Σ_d K[key, d] · (scale · Q)ᵀ[d, query]: the query block is transposed once per task, so
//            a register tile of kKeyRows keys × 32 queries is kKeyRows broadcast key values and two query vectors per
//            d (16 FMAs);
//   softmax  online, per query = per lane: the tile maximum, the correction e^(old max − new max), the exponentials and
//            their sum are vertical vector operations over the tile's keys (no horizontal reduction);
//   values   O[query, d] = correction · O + Σ_key P[query, key] · V[key, d]: kOutputRows queries × 64 values of
//            accumulators, per key four value vectors and kOutputRows broadcast weights (16 FMAs).
// Tasks are (head, query block) in head order, so the tasks a thread runs in a row share that head's keys and values
// (kv_length · head_dim · 8 bytes, 512 KiB for a SigLIP tile) in L2. Arithmetic is f32 throughout (e^x as the flash
// loop computes it); only the summation order differs from the reference (attention.ts).
//
// Shapes: query, out [tokens, heads, head_dim]; keys, values [capacity, kv_heads, head_dim]; query head h reads kv
// head h / (heads / kv_heads).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "full_attention.h"
#include "vector_math_avx512.h"

namespace kernel {
namespace avx512 {

namespace {

constexpr int64_t kQueries = 32;  // query tokens per task: two vectors of 16 lanes
constexpr int64_t kKeys = 64;     // keys per tile of the online softmax
constexpr int kKeyRows = 8;       // score register tile: 8 keys × 2 query vectors = 16 accumulators
constexpr int kOutputRows = 4;    // value register tile: 4 queries × 4 vectors of 16 values = 16 accumulators

// One thread's scratch for a task, head_dim = dim:
struct Scratch {
  std::vector<float> buffer;
  float* query_t;     // [dim, kQueries]  scale · query block, transposed (zeros for tokens past the end)
  float* scores;      // [kKeys, kQueries] Sᵀ of a tile, then Pᵀ = e^(S − max)
  float* out;         // [kQueries, dim]  running Σ P · V
  float* maximum;     // [kQueries]
  float* sum;         // [kQueries]
  float* correction;  // [kQueries]

  void prepare(int64_t dim) {
    const int64_t floats = 2 * dim * kQueries + kKeys * kQueries + 3 * kQueries;
    if ((int64_t)buffer.size() < floats) buffer.resize((size_t)floats);
    query_t = buffer.data();
    scores = query_t + dim * kQueries;
    out = scores + kKeys * kQueries;
    maximum = out + kQueries * dim;
    sum = maximum + kQueries;
    correction = sum + kQueries;
  }
};

// scores[j, 0..31] = Σ_d rows[j][d] · query_t[d, 0..31] for the R key rows of rows[0..R-1].
template <int R>
inline void score_rows(const float* const* rows, const float* query_t, int64_t dim, float* scores) {
  __m512 acc[R][2];
  for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t d = 0; d < dim; d++) {
    const __m512 q0 = _mm512_loadu_ps(query_t + d * kQueries), q1 = _mm512_loadu_ps(query_t + d * kQueries + 16);
    for (int r = 0; r < R; r++) {
      const __m512 k = _mm512_set1_ps(rows[r][d]);
      acc[r][0] = _mm512_fmadd_ps(k, q0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(k, q1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; r++) {
    _mm512_storeu_ps(scores + r * kQueries, acc[r][0]);
    _mm512_storeu_ps(scores + r * kQueries + 16, acc[r][1]);
  }
}

// out[i, c0 .. c0 + 63] = correction[i] · out[i, ..] + Σ_j scores[j, i] · values[j][c0 ..] for queries i0 .. i0 + N − 1.
template <int N>
inline void accumulate_rows(const float* const* values, int64_t length, const float* scores, const float* correction, int64_t i0, int64_t c0,
                            int64_t dim, float* out) {
  __m512 acc[N][4];
  for (int n = 0; n < N; n++) {
    const __m512 c = _mm512_set1_ps(correction[i0 + n]);
    for (int k = 0; k < 4; k++) acc[n][k] = _mm512_mul_ps(_mm512_loadu_ps(out + (i0 + n) * dim + c0 + 16 * k), c);
  }
  for (int64_t j = 0; j < length; j++) {
    const float* v = values[j] + c0;
    const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16), v2 = _mm512_loadu_ps(v + 32), v3 = _mm512_loadu_ps(v + 48);
    for (int n = 0; n < N; n++) {
      const __m512 w = _mm512_set1_ps(scores[j * kQueries + i0 + n]);
      acc[n][0] = _mm512_fmadd_ps(w, v0, acc[n][0]);
      acc[n][1] = _mm512_fmadd_ps(w, v1, acc[n][1]);
      acc[n][2] = _mm512_fmadd_ps(w, v2, acc[n][2]);
      acc[n][3] = _mm512_fmadd_ps(w, v3, acc[n][3]);
    }
  }
  for (int n = 0; n < N; n++)
    for (int k = 0; k < 4; k++) _mm512_storeu_ps(out + (i0 + n) * dim + c0 + 16 * k, acc[n][k]);
}

// One task: query tokens q0 .. q0 + count − 1 of head h over every position.
void attend_block(const AttentionProblem& p, int64_t h, int64_t q0, int64_t count, Scratch& s) {
  const int64_t dim = p.head_dim;
  const int64_t query_stride = p.heads * dim, row_stride = p.kv_heads * dim;
  const int64_t kv_head = h / (p.heads / p.kv_heads);
  const float* keys = reinterpret_cast<const float*>(p.keys) + kv_head * dim;
  const float* values = reinterpret_cast<const float*>(p.values) + kv_head * dim;

  for (int64_t d = 0; d < dim; d++)
    for (int64_t i = 0; i < kQueries; i++) s.query_t[d * kQueries + i] = i < count ? p.scale * p.query[(q0 + i) * query_stride + h * dim + d] : 0.0f;
  std::fill(s.out, s.out + kQueries * dim, 0.0f);
  __m512 maximum[2] = {_mm512_set1_ps(-INFINITY), _mm512_set1_ps(-INFINITY)};
  __m512 sum[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  const int64_t output_rows = (count + kOutputRows - 1) / kOutputRows * kOutputRows;  // queries worth accumulating

  const float* key_rows[kKeys];
  const float* value_rows[kKeys];
  for (int64_t tile = 0; tile < p.kv_length; tile += kKeys) {
    const int64_t length = std::min(kKeys, p.kv_length - tile);
    for (int64_t j = 0; j < kKeys; j++) {
      // A short last tile repeats its last row (never a row past kv_length); those scores are not read.
      const int64_t position = tile + std::min(j, length - 1);
      key_rows[j] = keys + position * row_stride;
      value_rows[j] = values + position * row_stride;
    }
    for (int64_t j = 0; j < length; j += kKeyRows) score_rows<kKeyRows>(key_rows + j, s.query_t, dim, s.scores + j * kQueries);

    // Online softmax, 16 queries per vector.
    for (int v = 0; v < 2; v++) {
      __m512 largest = _mm512_set1_ps(-INFINITY);
      for (int64_t j = 0; j < length; j++) largest = _mm512_max_ps(largest, _mm512_loadu_ps(s.scores + j * kQueries + 16 * v));
      const __m512 new_max = _mm512_max_ps(maximum[v], largest);
      // e^(−∞) on the first tile: exp_negative_avx512 clamps its argument, ~1e-38 times a sum and outputs still 0.
      const __m512 correction = exp_negative_avx512(_mm512_sub_ps(maximum[v], new_max));
      __m512 total = _mm512_setzero_ps();
      for (int64_t j = 0; j < length; j++) {
        float* row = s.scores + j * kQueries + 16 * v;
        const __m512 e = exp_negative_avx512(_mm512_sub_ps(_mm512_loadu_ps(row), new_max));
        _mm512_storeu_ps(row, e);
        total = _mm512_add_ps(total, e);
      }
      sum[v] = _mm512_fmadd_ps(sum[v], correction, total);
      maximum[v] = new_max;
      _mm512_storeu_ps(s.correction + 16 * v, correction);
    }

    for (int64_t c0 = 0; c0 < dim; c0 += 64)
      for (int64_t i0 = 0; i0 < output_rows; i0 += kOutputRows) accumulate_rows<kOutputRows>(value_rows, length, s.scores, s.correction, i0, c0, dim, s.out);
  }

  _mm512_storeu_ps(s.sum, sum[0]);
  _mm512_storeu_ps(s.sum + 16, sum[1]);
  for (int64_t i = 0; i < count; i++) {
    const __m512 inverse = _mm512_set1_ps(s.sum[i] > 0 ? 1.0f / s.sum[i] : 0.0f);
    float* o = p.out + (q0 + i) * query_stride + h * dim;
    for (int64_t d = 0; d < dim; d += 16) _mm512_storeu_ps(o + d, _mm512_mul_ps(_mm512_loadu_ps(s.out + i * dim + d), inverse));
  }
}

}  // namespace

void full_attention(const AttentionProblem& p, ThreadPool& pool) {
  const int64_t blocks = (p.tokens + kQueries - 1) / kQueries;
  auto body = [&](int64_t task, int) {
    thread_local Scratch scratch;
    scratch.prepare(p.head_dim);
    const int64_t h = task / blocks, q0 = task % blocks * kQueries;
    attend_block(p, h, q0, std::min(kQueries, p.tokens - q0), scratch);
  };
  pool.parallel_for(p.heads * blocks, body);
}

}  // namespace avx512
}  // namespace kernel
