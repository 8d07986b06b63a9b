// Full (non-causal) attention of many query tokens over f32 keys and values, as tiled matrix products on AVX-512
// (full_attention_avx512.cc): the vision encoder's attention, where every patch of a tile attends to every patch
// (1,024 × 1,024 per head for a 512² SigLIP tile). ops.cc's attention() takes it when full_attention_applies() says so
// and the AVX-512 kernels are selected; every other call runs the per-token flash loop (paged_attention.cc).
#pragma once

#include "ops.h"
#include "thread_pool.h"

namespace kernel {

// Whether the tiled kernel takes this problem: f32 keys and values (no per-channel keys), not causal, heads of a
// multiple of 64 values, and at least one full block of query tokens.
bool full_attention_applies(const AttentionProblem& p);

namespace avx512 {
// out [tokens, heads, head_dim] for query [tokens, heads, head_dim] over keys/values [≥ kv_length, kv_heads, head_dim]
// f32, every query over positions 0 .. kv_length − 1. Requires full_attention_applies(p).
void full_attention(const AttentionProblem& p, ThreadPool& pool);
}  // namespace avx512

}  // namespace kernel
