// Attention over a key/value cache in any cache element type (paged_attention.cc): the problem description, the
// per-instruction-set range kernels it dispatches to (attention_tile.h, attention_avx2.cc, attention_avx512.cc), and
// the entry point.
#pragma once

#include <cstdint>

#include "thread_pool.h"

namespace kernel {

struct PagedAttentionProblem {
  float* out;                   // [tokens, heads, head_dim]
  const float* query;           // [tokens, heads, head_dim]
  const uint8_t* key_blocks;    // [block_count, block_size, kv_heads, head_dim] in `dtype`
  const uint8_t* value_blocks;  // [block_count, block_size, kv_heads, head_dim] in `dtype`
  const int32_t* block_table;   // [ceil(kv_length / block_size)]
  int dtype;                    // F32, F16, BF16, Q8_0 or Q4_0 (formats.h)
  int64_t tokens, heads, kv_heads, head_dim, block_size;
  int64_t start_position, kv_length;
  bool causal;
  float scale;
  // Keys grouped per channel (src/channel-keys.ts), for Q8_0 / Q4_0 keys, when not null: [key_residual_rows, kv_heads,
  // head_dim] f32, position p at row p mod key_residual_rows, holding at least start_position / 32 · 32 ..
  // kv_length − 1; the other positions are in key_blocks as groups of 32 positions (block_size a multiple of 32),
  // group g = storage rows 32g.. = kv_heads · head_dim blocks, block c holding channel c of the group's 32 positions. A
  // causal query reads its own group from the residual while that group is not full at its position, every other
  // group below kv_length / 32 · 32 quantized. Values stay per token.
  const float* key_residual = nullptr;
  int64_t key_residual_rows = 0;
};

// What one task leaves for the merge: per query head of one token, the running maximum and sum of the online softmax
// and the accumulator Σ e^(score − maximum) · value (not yet divided by the sum).
struct AttentionPartial {
  float* accumulator;  // [heads, head_dim]
  float* maximum;      // [heads]
  float* sum;          // [heads]
};

// Scratch one thread needs for attend_range: floats.
int64_t attention_scratch_floats(const PagedAttentionProblem& p);

// Query token `token` over its visible positions [begin, end) (all kv heads), into `partial`. `scratch` holds
// attention_scratch_floats(p) floats. One implementation per instruction set; the same arithmetic up to summation order.
using AttendRangeFunction = void (*)(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch);
namespace portable { void attend_range(const PagedAttentionProblem&, int64_t, int64_t, int64_t, const AttentionPartial&, float*); }
namespace avx2 { void attend_range(const PagedAttentionProblem&, int64_t, int64_t, int64_t, const AttentionPartial&, float*); }
namespace avx512 { void attend_range(const PagedAttentionProblem&, int64_t, int64_t, int64_t, const AttentionPartial&, float*); }

// Whether `dtype` is a cache element type that can store heads of `head_dim` (see src/dtype.ts CacheDType).
bool cache_layout_supported(int dtype, int64_t kv_heads, int64_t head_dim);

// Computes out for every query token, splitting long contexts over the pool by position ranges that are merged with
// their softmax statistics (split-K / flash-decoding), on the instruction set the kernels use (active_kernels()).
void paged_attention(const PagedAttentionProblem& p, ThreadPool& pool);

}  // namespace kernel
