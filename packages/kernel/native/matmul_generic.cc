// Matrix products in plain C++, one definition compiled for several instruction sets: binding.gyp builds this file
// with KERNEL_ISA=portable, avx2 and avx512 and the matching -m flags, and the compiler vectorizes the inner loops.
// These are also the kernels for the K-quants (q4_k, q6_k) on every instruction set.
#include <algorithm>
#include <cmath>
#include <vector>

#include "formats.h"
#include "interleave.h"
#include "matmul.h"

#ifndef KERNEL_ISA
#error "KERNEL_ISA must name the instruction-set namespace"
#endif
#define KERNEL_STRING_(name) #name
#define KERNEL_STRING(name) KERNEL_STRING_(name)
#define KERNEL_ISA_NAME KERNEL_STRING(KERNEL_ISA)

namespace kernel {
namespace KERNEL_ISA {

namespace {

// Scratch reused across calls (ops are called from one JavaScript thread).
struct ActivationBuffers {
  std::vector<int8_t> values;   // [tokens, cols]
  std::vector<float> scales;    // [tokens, cols / block]
  std::vector<int32_t> sums;    // [tokens, cols / block]
  std::vector<float> decoded;   // [threads, cols] f32 rows of f16/bf16 weights
  std::vector<uint8_t> rows;    // [threads, row bytes] plain copies of interleaved rows
};
ActivationBuffers& buffers() {
  static ActivationBuffers instance;
  return instance;
}

inline int32_t dot_int8(const int8_t* a, const int8_t* b, int count) {
  int32_t sum = 0;
  for (int i = 0; i < count; i++) sum += (int32_t)a[i] * (int32_t)b[i];
  return sum;
}

inline float dot_f32(const float* a, const float* b, int64_t count) {
  // Sixteen partial sums let the compiler keep a vector of accumulators without reassociating.
  float partial[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int lane = 0; lane < 16; lane++) partial[lane] += a[i + lane] * b[i + lane];
  float sum = 0;
  for (; i < count; i++) sum += a[i] * b[i];
  for (int lane = 0; lane < 16; lane++) sum += partial[lane];
  return sum;
}

// Quantizes activation rows as src/formats/activation-quantization.ts does: per block of `block` values,
// d = max|x| / 127 (f32), q = round-half-even(x / d); `sums` gets Σq per block.
void quantize_activations(const float* input, int64_t tokens, int64_t cols, int block, int8_t* values, float* scales,
                          int32_t* sums, ThreadPool& pool) {
  const int64_t blocks_per_row = cols / block;
  auto body = [&](int64_t token, int) {
    for (int64_t b = 0; b < blocks_per_row; b++) {
      const float* x = input + token * cols + b * block;
      int8_t* q = values + token * cols + b * block;
      float amax = 0;
      for (int i = 0; i < block; i++) amax = std::max(amax, std::fabs(x[i]));
      const float d = amax / 127.0f;
      const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
      int32_t sum = 0;
      for (int i = 0; i < block; i++) {
        q[i] = (int8_t)std::nearbyint(x[i] * inverse);
        sum += q[i];
      }
      scales[token * blocks_per_row + b] = d;
      sums[token * blocks_per_row + b] = sum;
    }
  };
  pool.parallel_for(tokens, body);
}

struct Prepared {
  const int8_t* values;
  const float* scales;
  const int32_t* sums;
  int64_t blocks_per_row;
};

float row_dot_q8_0(const uint8_t* row, const Prepared& x, int64_t token) {
  const BlockQ8_0* blocks = reinterpret_cast<const BlockQ8_0*>(row);
  const int8_t* values = x.values + token * x.blocks_per_row * 32;
  const float* scales = x.scales + token * x.blocks_per_row;
  float sum = 0;
  for (int64_t b = 0; b < x.blocks_per_row; b++) {
    sum += (float)dot_int8(blocks[b].qs, values + b * 32, 32) * (f16_to_f32(blocks[b].d) * scales[b]);
  }
  return sum;
}

float row_dot_q4_0(const uint8_t* row, const Prepared& x, int64_t token) {
  const BlockQ4_0* blocks = reinterpret_cast<const BlockQ4_0*>(row);
  const int8_t* values = x.values + token * x.blocks_per_row * 32;
  const float* scales = x.scales + token * x.blocks_per_row;
  const int32_t* sums = x.sums + token * x.blocks_per_row;
  float sum = 0;
  for (int64_t b = 0; b < x.blocks_per_row; b++) {
    const int8_t* v = values + b * 32;
    int32_t dot = 0;
    for (int j = 0; j < 16; j++) dot += (blocks[b].qs[j] & 0xf) * v[j] + (blocks[b].qs[j] >> 4) * v[j + 16];
    sum += (float)(dot - 8 * sums[b]) * (f16_to_f32(blocks[b].d) * scales[b]);
  }
  return sum;
}

// q4_k against activations quantized in blocks of 256: Σ_j d·sc_j·Σ(q·x) − dmin·m_j·Σx, times the activation scale.
float row_dot_q4_k(const uint8_t* row, const Prepared& x, int64_t token) {
  const BlockQ4_K* blocks = reinterpret_cast<const BlockQ4_K*>(row);
  const int8_t* values = x.values + token * x.blocks_per_row * 256;
  const float* scales = x.scales + token * x.blocks_per_row;
  float sum = 0;
  for (int64_t b = 0; b < x.blocks_per_row; b++) {
    const BlockQ4_K& block = blocks[b];
    const int8_t* v = values + b * 256;
    int32_t scaled = 0, minimums = 0;
    for (int chunk = 0; chunk < 4; chunk++) {
      uint8_t scale_low, min_low, scale_high, min_high;
      q4_k_scale_min(2 * chunk, block.scales, &scale_low, &min_low);
      q4_k_scale_min(2 * chunk + 1, block.scales, &scale_high, &min_high);
      const uint8_t* q = block.qs + 32 * chunk;
      const int8_t* low_values = v + 64 * chunk;
      const int8_t* high_values = low_values + 32;
      int32_t dot_low = 0, dot_high = 0, sum_low = 0, sum_high = 0;
      for (int i = 0; i < 32; i++) {
        dot_low += (q[i] & 0xf) * low_values[i];
        dot_high += (q[i] >> 4) * high_values[i];
        sum_low += low_values[i];
        sum_high += high_values[i];
      }
      scaled += scale_low * dot_low + scale_high * dot_high;
      minimums += min_low * sum_low + min_high * sum_high;
    }
    sum += (f16_to_f32(block.d) * (float)scaled - f16_to_f32(block.dmin) * (float)minimums) * scales[b];
  }
  return sum;
}

// GCC 12 miscompiles this loop when it vectorizes it with AVX512-VNNI dot-product instructions (wrong sums; seen on
// Zen 5): that build keeps the loop scalar. (The avx512 table uses the AVX2 kernels for q6_k; this keeps the generic
// kernel correct wherever it is called.)
#if defined(__AVX512VNNI__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-vectorize")))
#endif
float row_dot_q6_k(const uint8_t* row, const Prepared& x, int64_t token) {
  const BlockQ6_K* blocks = reinterpret_cast<const BlockQ6_K*>(row);
  const int8_t* values = x.values + token * x.blocks_per_row * 256;
  const float* scales = x.scales + token * x.blocks_per_row;
  float sum = 0;
  for (int64_t b = 0; b < x.blocks_per_row; b++) {
    const BlockQ6_K& block = blocks[b];
    int32_t total = 0;
    for (int half = 0; half < 2; half++) {
      const uint8_t* ql = block.ql + 64 * half;
      const uint8_t* qh = block.qh + 32 * half;
      const int8_t* scale = block.scales + 8 * half;
      const int8_t* v = values + b * 256 + 128 * half;
      for (int group = 0; group < 2; group++) {
        int32_t dots[4] = {0, 0, 0, 0};
        for (int l = 16 * group; l < 16 * group + 16; l++) {
          dots[0] += ((int)((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32) * v[l];
          dots[1] += ((int)((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32) * v[l + 32];
          dots[2] += ((int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * v[l + 64];
          dots[3] += ((int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * v[l + 96];
        }
        total += scale[group] * dots[0] + scale[group + 2] * dots[1] + scale[group + 4] * dots[2] + scale[group + 6] * dots[3];
      }
    }
    sum += f16_to_f32(block.d) * scales[b] * (float)total;
  }
  return sum;
}

using RowDot = float (*)(const uint8_t* row, const Prepared& x, int64_t token);

// Interleaved weights (interleave.h) are read one plain row at a time: these kernels only serve them
// when the instruction set changed after packing (the AVX-512 kernels are the ones made for that layout).
void matmul_quantized(const MatmulProblem& p, ThreadPool& pool, int block, RowDot row_dot) {
  ActivationBuffers& scratch = buffers();
  const int64_t blocks_per_row = p.cols / block;
  scratch.values.resize((size_t)(p.tokens * p.cols));
  scratch.scales.resize((size_t)(p.tokens * blocks_per_row));
  scratch.sums.resize((size_t)(p.tokens * blocks_per_row));
  quantize_activations(p.input, p.tokens, p.cols, block, scratch.values.data(), scratch.scales.data(), scratch.sums.data(), pool);
  const Prepared x{scratch.values.data(), scratch.scales.data(), scratch.sums.data(), blocks_per_row};
  const size_t stride = row_bytes(p.dtype, p.cols);
  const bool interleaved = is_interleaved(p.dtype);
  if (interleaved) scratch.rows.resize((size_t)pool.threads() * stride);
  const int64_t rows_per_task = task_size(p.rows, pool.threads(), 16);
  auto body = [&](int64_t task, int thread) {
    const int64_t end = std::min(p.rows, (task + 1) * rows_per_task);
    for (int64_t r = task * rows_per_task; r < end; r++) {
      const uint8_t* row = p.weight + r * stride;
      if (interleaved) {
        uint8_t* copy = scratch.rows.data() + (size_t)thread * stride;
        deinterleave_row(p.dtype, p.weight, r, p.cols, copy);
        row = copy;
      }
      for (int64_t t = 0; t < p.tokens; t++) p.out[t * p.rows + r] = row_dot(row, x, t);
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

void matmul_float(const MatmulProblem& p, ThreadPool& pool) {
  ActivationBuffers& scratch = buffers();
  const int threads = pool.threads();
  const int plain = plain_dtype(p.dtype);
  const bool interleaved = plain != p.dtype;
  const size_t stride = row_bytes(plain, p.cols);
  if (plain != F32 || interleaved) scratch.decoded.resize((size_t)(threads * p.cols));
  if (interleaved) scratch.rows.resize((size_t)threads * stride);
  const int64_t rows_per_task = task_size(p.rows, threads, 16);
  auto body = [&](int64_t task, int thread) {
    const int64_t end = std::min(p.rows, (task + 1) * rows_per_task);
    float* decoded = scratch.decoded.data() + thread * p.cols;
    for (int64_t r = task * rows_per_task; r < end; r++) {
      // Interleaved float weights (f32x16 …) are gathered back into a plain row first.
      const uint8_t* bytes = p.weight + (size_t)r * stride;
      if (interleaved) {
        uint8_t* copy = scratch.rows.data() + (size_t)thread * stride;
        deinterleave_row(p.dtype, p.weight, r, p.cols, copy);
        bytes = copy;
      }
      const float* row;
      if (plain == F32) {
        row = reinterpret_cast<const float*>(bytes);
      } else {
        const uint16_t* half = reinterpret_cast<const uint16_t*>(bytes);
        if (plain == F16) for (int64_t c = 0; c < p.cols; c++) decoded[c] = f16_to_f32(half[c]);
        else for (int64_t c = 0; c < p.cols; c++) decoded[c] = bf16_to_f32(half[c]);
        row = decoded;
      }
      for (int64_t t = 0; t < p.tokens; t++) p.out[t * p.rows + r] = dot_f32(row, p.input + t * p.cols, p.cols);
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

void matmul(const MatmulProblem& p, ThreadPool& pool) {
  switch (p.dtype) {
    case F32: case F16: case F32_X16: case F16_X16: matmul_float(p, pool); return;
    case BF16: case BF16_X16: {
      // bf16 weights multiply bf16-rounded activations (formats.h round_to_bf16).
      static std::vector<float> rounded;
      rounded.resize((size_t)(p.tokens * p.cols));
      round_to_bf16(p.input, rounded.data(), p.tokens * p.cols);
      MatmulProblem q = p;
      q.input = rounded.data();
      matmul_float(q, pool);
      return;
    }
    case Q8_0: case Q8_0_X16: matmul_quantized(p, pool, 32, row_dot_q8_0); return;
    case Q4_0: case Q4_0_X16: matmul_quantized(p, pool, 32, row_dot_q4_0); return;
    case Q4_K: case Q4_K_X16: matmul_quantized(p, pool, 256, row_dot_q4_k); return;
    case Q6_K: case Q6_K_X16: matmul_quantized(p, pool, 256, row_dot_q6_k); return;
  }
}

}  // namespace

#if KERNEL_GENERIC_IS_BASE
const KernelTable& table() {
  static const KernelTable instance{KERNEL_ISA_NAME, matmul};
  return instance;
}
#else
const KernelTable& generic_table() {
  static const KernelTable instance{KERNEL_ISA_NAME, matmul};
  return instance;
}
#endif

}  // namespace KERNEL_ISA
}  // namespace kernel
