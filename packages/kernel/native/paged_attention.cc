// Attention over a key/value cache (dense or paged) in any cache element type, natively: the work split and the
// dispatch. The per-tile loop is attention_tile.h, instantiated for the portable path here and for AVX2 and AVX-512 in
// attention_avx2.cc / attention_avx512.cc; the instruction set follows the matmul kernels' (active_kernels(), which
// INFER_NATIVE_ISA and selectIsa choose).
//
// Work split: one task per (query token, position range). A long context is cut into ranges so that a decode step
// (one token) still spreads over the pool — each range is read in order, all kv heads at once, so the cache streams
// from memory sequentially (flash-decoding's split-K); the ranges' results are merged with their softmax statistics:
//   m = max_r m_r,  out = Σ_r e^(m_r − m) · acc_r / Σ_r e^(m_r − m) · sum_r.
// Prefill (many tokens) has enough tasks with one range per token, which then writes its output directly.
//
// Shapes: out, query [tokens, heads, head_dim]; key_blocks, value_blocks [block_count, block_size, kv_heads, head_dim];
// block_table [>= ceil(kv_length / block_size)]. Query token t sits at position start_position + t.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "attention_tile.h"
#include "cpu_features.h"
#include "formats.h"
#include "paged_attention.h"
#include "thread_pool.h"

namespace kernel {

namespace portable {
void attend_range(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch) {
  attend_range_with<PortableOps>(p, token, begin, end, partial, scratch);
}
}  // namespace portable

int64_t attention_scratch_floats(const PagedAttentionProblem& p) { return scratch_floats(p); }

bool cache_layout_supported(int dtype, int64_t kv_heads, int64_t head_dim) {
  switch (dtype) {
    case F32: case F16: case BF16: return true;
    case Q8_0: case Q4_0: return (kv_heads * head_dim) % 32 == 0 && (head_dim % 32 == 0 || 32 % head_dim == 0);
    default: return false;
  }
}

namespace {

// Positions a range covers at least: below this the merge and the task overhead outweigh the parallelism.
constexpr int64_t kMinimumRange = 256;

AttendRangeFunction attend_range_for_active_isa() {
  const char* isa = active_kernels().name;
  if (std::strcmp(isa, "avx512") == 0) return avx512::attend_range;
  if (std::strcmp(isa, "avx2") == 0) return avx2::attend_range;
  return portable::attend_range;
}

int64_t visible_positions(const PagedAttentionProblem& p, int64_t token) {
  return p.causal ? std::min(p.kv_length, p.start_position + token + 1) : p.kv_length;
}

// out[h] = accumulator[h] / sum[h] for the heads of one token.
void normalize(const PagedAttentionProblem& p, int64_t token, const AttentionPartial& partial) {
  float* out = p.out + token * p.heads * p.head_dim;
  for (int64_t h = 0; h < p.heads; h++) {
    const float inverse = partial.sum[h] > 0 ? 1.0f / partial.sum[h] : 0.0f;
    for (int64_t d = 0; d < p.head_dim; d++) out[h * p.head_dim + d] = partial.accumulator[h * p.head_dim + d] * inverse;
  }
}

}  // namespace

void paged_attention(const PagedAttentionProblem& p, ThreadPool& pool) {
  const AttendRangeFunction attend_range = attend_range_for_active_isa();
  const int64_t scratch_size = attention_scratch_floats(p);
  const int64_t partial_size = p.heads * (p.head_dim + 2);  // accumulator, maximum, sum of one token's heads
  auto partial_at = [&](float* base) { return AttentionPartial{base, base + p.heads * p.head_dim, base + p.heads * p.head_dim + p.heads}; };
  // Ranges per token: enough tasks for the pool (4 per thread), none shorter than kMinimumRange positions.
  const int64_t wanted = std::max<int64_t>(1, (4 * pool.threads() + p.tokens - 1) / p.tokens);
  const int64_t ranges = std::max<int64_t>(1, std::min(wanted, p.kv_length / kMinimumRange));
  const int64_t range_length = ((p.kv_length + ranges - 1) / ranges + kTile - 1) / kTile * kTile;

  if (ranges == 1) {
    auto body = [&](int64_t token, int) {
      thread_local std::vector<float> scratch;
      if ((int64_t)scratch.size() < scratch_size + partial_size) scratch.resize((size_t)(scratch_size + partial_size));
      const AttentionPartial partial = partial_at(scratch.data() + scratch_size);
      attend_range(p, token, 0, visible_positions(p, token), partial, scratch.data());
      normalize(p, token, partial);
    };
    pool.parallel_for(p.tokens, body);
    return;
  }

  std::vector<float> partials((size_t)(p.tokens * ranges * partial_size));  // [tokens, ranges] partial results
  auto body = [&](int64_t task, int) {
    thread_local std::vector<float> scratch;
    if ((int64_t)scratch.size() < scratch_size) scratch.resize((size_t)scratch_size);
    const int64_t token = task / ranges, range = task % ranges;
    const int64_t begin = range * range_length, end = std::min(visible_positions(p, token), begin + range_length);
    const AttentionPartial partial = partial_at(partials.data() + task * partial_size);
    if (begin < end) {
      attend_range(p, token, begin, end, partial, scratch.data());
    } else {  // nothing visible in this range (an early token of a prefill chunk)
      std::fill(partial.maximum, partial.maximum + p.heads, -INFINITY);
      std::fill(partial.sum, partial.sum + p.heads, 0.0f);
    }
  };
  pool.parallel_for(p.tokens * ranges, body);

  // Merge each token's ranges (range 0 is never empty, so the maximum is finite).
  for (int64_t token = 0; token < p.tokens; token++) {
    float* out = p.out + token * p.heads * p.head_dim;
    for (int64_t h = 0; h < p.heads; h++) {
      float maximum = -INFINITY;
      for (int64_t range = 0; range < ranges; range++) maximum = std::max(maximum, partial_at(partials.data() + (token * ranges + range) * partial_size).maximum[h]);
      float sum = 0;
      float* o = out + h * p.head_dim;
      std::fill(o, o + p.head_dim, 0.0f);
      for (int64_t range = 0; range < ranges; range++) {
        const AttentionPartial partial = partial_at(partials.data() + (token * ranges + range) * partial_size);
        if (partial.sum[h] == 0) continue;
        const float weight = std::exp(partial.maximum[h] - maximum);
        sum += weight * partial.sum[h];
        const float* accumulator = partial.accumulator + h * p.head_dim;
        for (int64_t d = 0; d < p.head_dim; d++) o[d] += weight * accumulator[d];
      }
      const float inverse = sum > 0 ? 1.0f / sum : 0.0f;
      for (int64_t d = 0; d < p.head_dim; d++) o[d] *= inverse;
    }
  }
}

}  // namespace kernel
