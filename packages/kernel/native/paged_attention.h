// Attention over a paged KV cache (paged_attention.cc): the problem description and the entry point.
#pragma once

#include <cstdint>

#include "thread_pool.h"

namespace kernel {

struct PagedAttentionProblem {
  float* out;                 // [tokens, heads, head_dim]
  const float* query;         // [tokens, heads, head_dim]
  const float* key_blocks;    // [block_count, block_size, kv_heads, head_dim]
  const float* value_blocks;  // [block_count, block_size, kv_heads, head_dim]
  const int32_t* block_table; // [ceil(kv_length / block_size)]
  int64_t tokens, heads, kv_heads, head_dim, block_size;
  int64_t start_position, kv_length;
  bool causal;
  float scale;
};

// Computes out for every query token; returns false (computing nothing) when a group has more than 64 query heads
// per kv head.
bool paged_attention(const PagedAttentionProblem& p, ThreadPool& pool);

}  // namespace kernel
