// Every op other than matmul, in portable C++ (the compiler vectorizes the inner loops). Shapes are noted per
// argument; the TypeScript front (src/kernel.ts) has already validated them.
#pragma once
#include <cstdint>

#include "thread_pool.h"

namespace kernel {

// out, input [rows, dim]; weight [dim]
void rms_norm(float* out, const float* input, const float* weight, int64_t rows, int64_t dim, float epsilon, ThreadPool& pool);
// out, input [rows, dim]; weight, bias [dim] (bias may be null)
void layer_norm(float* out, const float* input, const float* weight, const float* bias, int64_t rows, int64_t dim,
                float epsilon, ThreadPool& pool);
// x [tokens, heads, head_dim] in place; positions [tokens]; frequencies [rotary_dim / 2]
void rope(float* x, const int32_t* positions, const float* frequencies, int64_t tokens, int64_t heads, int64_t head_dim,
          int64_t rotary_dim, bool interleaved, ThreadPool& pool);
// out, input [rows, n]
void softmax(float* out, const float* input, int64_t rows, int64_t n, ThreadPool& pool);
// silu and swiglu are threaded over the global pool for large counts, and vectorized with AVX2 when the CPU has it;
// add and mul are threaded over the pool for large counts as well.
void silu(float* out, const float* input, int64_t count);
void gelu(float* out, const float* input, int64_t count);
void swiglu(float* out, const float* gate, const float* up, int64_t count);
// out, a [count]; b [b_count] repeated (b_count divides count)
void add(float* out, const float* a, const float* b, int64_t count, int64_t b_count);
void mul(float* out, const float* a, const float* b, int64_t count, int64_t b_count);

struct AttentionProblem {
  float* out;             // [tokens, heads, head_dim]
  const float* query;     // [tokens, heads, head_dim]
  const uint8_t* keys;    // [capacity, kv_heads, head_dim] in `dtype`
  const uint8_t* values;  // [capacity, kv_heads, head_dim] in `dtype`
  int dtype;              // a cache element type: F32, F16, BF16, Q8_0, Q4_0
  int64_t tokens, heads, kv_heads, head_dim;
  int64_t start_position, kv_length;
  bool causal;
  float scale;
  const float* key_residual = nullptr;  // keys grouped per channel: see PagedAttentionProblem::key_residual
  int64_t key_residual_rows = 0;
};
// Flash attention: keys in tiles with an online (running max / running sum) softmax, decoded inside the loop. Runs as
// a one-block paged attention (paged_attention.cc); many queries over all positions of f32 keys (not causal) take the
// tiled kernel of full_attention.h on AVX-512.
void attention(const AttentionProblem& problem, ThreadPool& pool);

// out [count, dim] = rows ids[i] of table [vocab, dim] (any dtype) decoded to f32.
void embedding(float* out, const uint8_t* table, int dtype, const int32_t* ids, int64_t count, int64_t dim, ThreadPool& pool);

int64_t argmax(const float* input, int64_t n);

}  // namespace kernel
