// Node-API bindings: each exported function reads typed arrays in place (zero copy), re-checks sizes against the
// dimensions it was given, and calls the kernel. Argument order mirrors src/native/native-backend.ts.
#define NAPI_VERSION 8
#include <node_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <thread>

#include "bandwidth.h"
#include "compute_peak.h"
#include "cpu_features.h"
#include "formats.h"
#include "interleave.h"
#include "matmul.h"
#include "ops.h"
#include "paged_attention.h"
#include "thread_pool.h"

namespace {

using namespace kernel;

struct Arguments {
  napi_env env;
  static constexpr size_t kMaximum = 20;
  napi_value values[kMaximum];
  size_t count = kMaximum;
  bool failed = false;
  const char* op;

  Arguments(napi_env environment, napi_callback_info info, const char* name) : env(environment), op(name) {
    napi_get_cb_info(env, info, &count, values, nullptr, nullptr);
    count = std::min(count, kMaximum);  // napi reports every argument passed, but fills only kMaximum
  }

  void fail(const std::string& message) {
    if (!failed) napi_throw_error(env, nullptr, (std::string("native ") + op + ": " + message).c_str());
    failed = true;
  }

  // Pointer and byte length of a typed array argument, or null when the argument is null/undefined.
  void* array(size_t index, size_t* bytes, bool optional = false) {
    *bytes = 0;
    if (index >= count) { fail("missing argument " + std::to_string(index)); return nullptr; }
    napi_valuetype type;
    napi_typeof(env, values[index], &type);
    if (optional && (type == napi_null || type == napi_undefined)) return nullptr;
    bool is_typed_array = false;
    napi_is_typedarray(env, values[index], &is_typed_array);
    if (!is_typed_array) { fail("argument " + std::to_string(index) + " must be a typed array"); return nullptr; }
    napi_typedarray_type array_type;
    size_t length;
    void* data;
    napi_get_typedarray_info(env, values[index], &array_type, &length, &data, nullptr, nullptr);
    size_t element = 1;
    switch (array_type) {
      case napi_float32_array: case napi_int32_array: case napi_uint32_array: element = 4; break;
      case napi_uint16_array: case napi_int16_array: element = 2; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: element = 8; break;
      default: element = 1;
    }
    *bytes = length * element;
    return data;
  }

  float* floats(size_t index, size_t minimum_count, bool optional = false) {
    size_t bytes;
    void* data = array(index, &bytes, optional);
    if (!data) return nullptr;
    if (bytes < minimum_count * 4) fail("argument " + std::to_string(index) + " holds " + std::to_string(bytes / 4) +
                                        " floats, needs " + std::to_string(minimum_count));
    return static_cast<float*>(data);
  }

  const uint8_t* bytes(size_t index, size_t minimum_bytes) {
    size_t size;
    void* data = array(index, &size);
    if (data && size < minimum_bytes) fail("argument " + std::to_string(index) + " holds " + std::to_string(size) +
                                           " bytes, needs " + std::to_string(minimum_bytes));
    return static_cast<const uint8_t*>(data);
  }

  int64_t integer(size_t index) {
    int64_t value = 0;
    if (index >= count || napi_get_value_int64(env, values[index], &value) != napi_ok) fail("argument " + std::to_string(index) + " must be a number");
    return value;
  }

  double number(size_t index) {
    double value = 0;
    if (index >= count || napi_get_value_double(env, values[index], &value) != napi_ok) fail("argument " + std::to_string(index) + " must be a number");
    return value;
  }

  std::string string(size_t index) {
    char value[64] = {0};
    size_t length = 0;
    if (index >= count || napi_get_value_string_utf8(env, values[index], value, sizeof value, &length) != napi_ok) {
      fail("argument " + std::to_string(index) + " must be a string");
    }
    return std::string(value, length);
  }

  bool boolean(size_t index) {
    bool value = false;
    if (index >= count || napi_get_value_bool(env, values[index], &value) != napi_ok) fail("argument " + std::to_string(index) + " must be a boolean");
    return value;
  }
};

napi_value undefined(napi_env env) {
  napi_value value;
  napi_get_undefined(env, &value);
  return value;
}

napi_value make_number(napi_env env, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  return value;
}

napi_value make_bool(napi_env env, bool flag) {
  napi_value value;
  napi_get_boolean(env, flag, &value);
  return value;
}

// Storage dtypes (every op); matmul and embedding also read the interleaved layouts (interleave.h).
bool valid_dtype(int64_t dtype) { return dtype >= F32 && dtype <= Q6_K; }
bool valid_matmul_dtype(int64_t dtype) { return valid_dtype(dtype) || (dtype >= Q8_0_X16 && dtype <= BF16_X16); }
// Values per block of a block dtype (1 for floats).
int64_t block_values(int64_t dtype) {
  switch (plain_dtype((int)dtype)) {
    case Q8_0: case Q4_0: return 32;
    case Q4_K: case Q6_K: return 256;
  }
  return 1;
}

// A product whose weight bytes × tokens come to less than this runs on the calling thread: handing it to a helper
// costs more than it saves (a tiny model's decode GEMVs). Tests lower it to 0 to drive the threaded paths on small data.
double minimum_shared_matmul_bytes = 128 * 1024;
// Matmuls and attention of at least this many tokens (prefill chunks, not decode steps or short speculative batches)
// are shared with the helpers even while the pool backs off after a stall (ThreadPool::LongTasks).
constexpr int64_t kLongTaskTokens = 32;

// setMinimumSharedMatmulBytes(bytes) → the previous value
napi_value SetMinimumSharedMatmulBytes(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "setMinimumSharedMatmulBytes");
  const int64_t bytes = a.integer(0);
  if (!a.failed && bytes < 0) a.fail("bytes must be ≥ 0");
  if (a.failed) return nullptr;
  const double previous = minimum_shared_matmul_bytes;
  minimum_shared_matmul_bytes = (double)bytes;
  return make_number(env, previous);
}

// matmul(out f32, input f32, weight bytes, dtype, tokens, rows, cols)
napi_value Matmul(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "matmul");
  const int64_t dtype = a.integer(3), tokens = a.integer(4), rows = a.integer(5), cols = a.integer(6);
  if (!a.failed && !valid_matmul_dtype(dtype)) a.fail("unknown dtype code " + std::to_string(dtype));
  if (!a.failed && is_interleaved((int)dtype) && rows % kInterleavedRows != 0) a.fail("interleaved weights need a multiple of 16 rows");
  if (a.failed) return nullptr;
  float* out = a.floats(0, (size_t)(tokens * rows));
  const float* input = a.floats(1, (size_t)(tokens * cols));
  const uint8_t* weight = a.bytes(2, row_bytes((int)dtype, cols) * (size_t)rows);
  if (a.failed) return nullptr;
  ThreadPool::CallerOnly small(global_pool(), (double)row_bytes((int)dtype, cols) * (double)rows * (double)tokens < minimum_shared_matmul_bytes);
  // A prefill's GEMM (tokens ≥ kLongTaskTokens): its tasks take milliseconds, so it stays shared through a back-off.
  ThreadPool::LongTasks long_tasks(global_pool(), tokens >= kLongTaskTokens);
  active_kernels().matmul(MatmulProblem{out, input, weight, (int)dtype, tokens, rows, cols}, global_pool());
  return undefined(env);
}

// interleave(out, input, dtype q8_0|q4_0|q4_k|q6_k|f32|f16|bf16, rows, cols): the weight matrix in the interleaved
// layout, into out (which may be input itself)
napi_value Interleave(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "interleave");
  const int64_t dtype = a.integer(2), rows = a.integer(3), cols = a.integer(4);
  if (!a.failed && interleaved_dtype((int)dtype) < 0) a.fail("only q8_0, q4_0, q4_k, q6_k, f32, f16 and bf16 have an interleaved layout");
  const int64_t column_multiple = dtype == BF16 ? 2 : block_values(dtype);  // bf16x16 holds column pairs
  if (!a.failed && (rows % kInterleavedRows != 0 || cols % column_multiple != 0)) {
    a.fail("rows must be a multiple of 16 and cols of " + std::to_string(column_multiple));
  }
  if (a.failed) return nullptr;
  const size_t bytes = row_bytes((int)dtype, cols) * (size_t)rows;
  const uint8_t* input = a.bytes(1, bytes);
  size_t out_bytes;
  uint8_t* out = static_cast<uint8_t*>(a.array(0, &out_bytes));
  if (!a.failed && out_bytes < bytes) a.fail("output too small");
  if (a.failed) return nullptr;
  // out may be input itself (packing in place): then each group goes through a per-thread copy. Any other overlap
  // would let one group's output clobber another group's input.
  const bool overlap = out < input + bytes && input < out + bytes;
  if (overlap && out != input) {
    a.fail("out must be input itself or not overlap it");
    return nullptr;
  }
  const size_t group_bytes = kInterleavedRows * row_bytes((int)dtype, cols);
  std::vector<uint8_t> scratch(overlap ? group_bytes * (size_t)global_pool().threads() : 0);
  const int64_t groups = rows / kInterleavedRows;
  auto body = [&](int64_t group, int thread) {
    interleave_groups((int)dtype, input, out, cols, group, group + 1, overlap ? scratch.data() + (size_t)thread * group_bytes : nullptr);
  };
  global_pool().parallel_for(groups, body);
  return undefined(env);
}

// rmsNorm(out, input, weight, rows, dim, epsilon)
napi_value RmsNorm(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "rmsNorm");
  const int64_t rows = a.integer(3), dim = a.integer(4);
  const double epsilon = a.number(5);
  float* out = a.floats(0, (size_t)(rows * dim));
  const float* input = a.floats(1, (size_t)(rows * dim));
  const float* weight = a.floats(2, (size_t)dim);
  if (a.failed) return nullptr;
  rms_norm(out, input, weight, rows, dim, (float)epsilon, global_pool());
  return undefined(env);
}

// layerNorm(out, input, weight, bias | null, rows, dim, epsilon)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "layerNorm");
  const int64_t rows = a.integer(4), dim = a.integer(5);
  const double epsilon = a.number(6);
  float* out = a.floats(0, (size_t)(rows * dim));
  const float* input = a.floats(1, (size_t)(rows * dim));
  const float* weight = a.floats(2, (size_t)dim);
  const float* bias = a.floats(3, (size_t)dim, true);
  if (a.failed) return nullptr;
  layer_norm(out, input, weight, bias, rows, dim, (float)epsilon, global_pool());
  return undefined(env);
}

// rope(x, positions Int32Array, frequencies, tokens, heads, headDim, interleaved)
napi_value Rope(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "rope");
  const int64_t tokens = a.integer(3), heads = a.integer(4), head_dim = a.integer(5);
  const bool interleaved = a.boolean(6);
  float* x = a.floats(0, (size_t)(tokens * heads * head_dim));
  size_t position_bytes, frequency_bytes;
  const int32_t* positions = static_cast<const int32_t*>(a.array(1, &position_bytes));
  const float* frequencies = static_cast<const float*>(a.array(2, &frequency_bytes));
  if (!a.failed && position_bytes < (size_t)tokens * 4) a.fail("positions shorter than tokens");
  const int64_t rotary_dim = (int64_t)(frequency_bytes / 4) * 2;
  if (!a.failed && rotary_dim > head_dim) a.fail("rotary dimension exceeds head dimension");
  if (a.failed) return nullptr;
  rope(x, positions, frequencies, tokens, heads, head_dim, rotary_dim, interleaved, global_pool());
  return undefined(env);
}

// softmax(out, input, rows, n)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "softmax");
  const int64_t rows = a.integer(2), n = a.integer(3);
  float* out = a.floats(0, (size_t)(rows * n));
  const float* input = a.floats(1, (size_t)(rows * n));
  if (a.failed) return nullptr;
  softmax(out, input, rows, n, global_pool());
  return undefined(env);
}

template <void (*Function)(float*, const float*, int64_t)>
napi_value Unary(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "unary");
  size_t out_bytes, input_bytes;
  float* out = static_cast<float*>(a.array(0, &out_bytes));
  const float* input = static_cast<const float*>(a.array(1, &input_bytes));
  if (!a.failed && out_bytes != input_bytes) a.fail("out and input differ in length");
  if (a.failed) return nullptr;
  Function(out, input, (int64_t)(out_bytes / 4));
  return undefined(env);
}

// swiglu(out, gate, up)
napi_value Swiglu(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "swiglu");
  size_t out_bytes, gate_bytes, up_bytes;
  float* out = static_cast<float*>(a.array(0, &out_bytes));
  const float* gate = static_cast<const float*>(a.array(1, &gate_bytes));
  const float* up = static_cast<const float*>(a.array(2, &up_bytes));
  if (!a.failed && (out_bytes != gate_bytes || out_bytes != up_bytes)) a.fail("out, gate and up differ in length");
  if (a.failed) return nullptr;
  swiglu(out, gate, up, (int64_t)(out_bytes / 4));
  return undefined(env);
}

template <void (*Function)(float*, const float*, const float*, int64_t, int64_t)>
napi_value Binary(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "binary");
  size_t out_bytes, a_bytes, b_bytes;
  float* out = static_cast<float*>(a.array(0, &out_bytes));
  const float* first = static_cast<const float*>(a.array(1, &a_bytes));
  const float* second = static_cast<const float*>(a.array(2, &b_bytes));
  if (!a.failed && (out_bytes != a_bytes || b_bytes == 0 || a_bytes % b_bytes != 0)) a.fail("b must match a or divide it into rows");
  if (a.failed) return nullptr;
  Function(out, first, second, (int64_t)(out_bytes / 4), (int64_t)(b_bytes / 4));
  return undefined(env);
}

// The cache element type argument of attention / pagedAttention (absent: f32), checked against the head layout.
int cache_dtype(Arguments& a, size_t index, int64_t kv_heads, int64_t head_dim) {
  const int64_t dtype = index < a.count ? a.integer(index) : (int64_t)F32;
  if (!a.failed && !cache_layout_supported((int)dtype, kv_heads, head_dim)) {
    a.fail("dtype code " + std::to_string(dtype) + " is not a cache element type that can store " + std::to_string(kv_heads) + " kv heads of " +
           std::to_string(head_dim) + " (f32, f16, bf16, q8_0, q4_0; the block types need rows of whole 32-value blocks)");
  }
  return (int)dtype;
}

// The optional key residual argument (keys grouped per channel; PagedAttentionProblem::key_residual): null when absent;
// else q8_0 / q4_0 keys, storage rows in whole groups of 32 (`rows`: the dense capacity or the paged block size), and
// enough residual rows for the call (src/channel-keys.ts residualRowsNeeded). Sets p.key_residual(_rows).
template <typename Problem>
void key_residual(Arguments& a, size_t index, Problem& p, int64_t rows) {
  if (index >= a.count || a.failed) return;
  size_t bytes;
  const float* residual = static_cast<const float*>(a.array(index, &bytes, /*optional=*/true));
  if (!residual || a.failed) return;
  const int64_t residual_rows = (int64_t)(bytes / 4) / (p.kv_heads * p.head_dim);
  const int64_t quantized_end = p.kv_length / 32 * 32;
  const int64_t first = p.causal ? std::min(quantized_end, p.start_position / 32 * 32) : quantized_end;
  if (p.dtype != Q8_0 && p.dtype != Q4_0) a.fail("a key residual (keys grouped per channel) needs q8_0 or q4_0 keys");
  else if (rows % 32 != 0) a.fail("keys grouped per channel need storage in whole groups of 32 positions, got " + std::to_string(rows));
  else if (residual_rows < std::max<int64_t>(1, p.kv_length - first)) a.fail("the key residual holds " + std::to_string(residual_rows) + " positions, needs " + std::to_string(p.kv_length - first));
  if (a.failed) return;
  p.key_residual = residual;
  p.key_residual_rows = residual_rows;
}

// attention(out, query, keys, values, tokens, heads, kvHeads, headDim, capacity, startPosition, kvLength, causal, scale,
//           dtype?, keyResidual?) — keys/values [capacity, kvHeads, headDim] in the cache element type `dtype`
//           (default f32); keyResidual [rows, kvHeads, headDim] f32: q8_0 / q4_0 keys grouped per channel
napi_value Attention(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "attention");
  AttentionProblem p{};
  p.tokens = a.integer(4);
  p.heads = a.integer(5);
  p.kv_heads = a.integer(6);
  p.head_dim = a.integer(7);
  const int64_t capacity = a.integer(8);
  p.start_position = a.integer(9);
  p.kv_length = a.integer(10);
  p.causal = a.boolean(11);
  p.scale = (float)a.number(12);
  if (a.failed) return nullptr;
  if (p.kv_heads <= 0 || p.heads % p.kv_heads != 0 || p.kv_length > capacity || p.kv_length < 1) {
    a.fail("inconsistent heads or kvLength");
    return nullptr;
  }
  p.dtype = cache_dtype(a, 13, p.kv_heads, p.head_dim);
  if (a.failed) return nullptr;
  const size_t cache_bytes = row_bytes(p.dtype, p.kv_heads * p.head_dim) * (size_t)capacity;
  p.out = a.floats(0, (size_t)(p.tokens * p.heads * p.head_dim));
  p.query = a.floats(1, (size_t)(p.tokens * p.heads * p.head_dim));
  p.keys = a.bytes(2, cache_bytes);
  p.values = a.bytes(3, cache_bytes);
  key_residual(a, 14, p, capacity);
  if (a.failed) return nullptr;
  // A prefill's attention (tokens ≥ kLongTaskTokens): one job of tens of milliseconds, shared through a back-off.
  ThreadPool::LongTasks long_tasks(global_pool(), p.tokens >= kLongTaskTokens);
  attention(p, global_pool());
  return undefined(env);
}

// pagedAttention(out, query, keyBlocks, valueBlocks, blockTable, tokens, heads, kvHeads, headDim, blockCount, blockSize,
//                startPosition, kvLength, causal, scale, dtype?, keyResidual?) — blocks in the cache element type `dtype`
//                (default f32); keyResidual as for attention (block size a multiple of 32)
napi_value PagedAttention(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "pagedAttention");
  PagedAttentionProblem p{};
  p.tokens = a.integer(5);
  p.heads = a.integer(6);
  p.kv_heads = a.integer(7);
  p.head_dim = a.integer(8);
  const int64_t block_count = a.integer(9);
  p.block_size = a.integer(10);
  p.start_position = a.integer(11);
  p.kv_length = a.integer(12);
  p.causal = a.boolean(13);
  p.scale = (float)a.number(14);
  if (a.failed) return nullptr;
  if (p.kv_heads <= 0 || p.heads % p.kv_heads != 0 || p.block_size <= 0 || p.kv_length < 1) {
    a.fail("inconsistent heads, block size or kvLength");
    return nullptr;
  }
  p.dtype = cache_dtype(a, 15, p.kv_heads, p.head_dim);
  if (a.failed) return nullptr;
  const size_t cache_bytes = row_bytes(p.dtype, p.kv_heads * p.head_dim) * (size_t)(block_count * p.block_size);
  const int64_t blocks_needed = (p.kv_length + p.block_size - 1) / p.block_size;
  p.out = a.floats(0, (size_t)(p.tokens * p.heads * p.head_dim));
  p.query = a.floats(1, (size_t)(p.tokens * p.heads * p.head_dim));
  p.key_blocks = a.bytes(2, cache_bytes);
  p.value_blocks = a.bytes(3, cache_bytes);
  size_t table_bytes;
  p.block_table = static_cast<const int32_t*>(a.array(4, &table_bytes));
  key_residual(a, 16, p, p.block_size);
  if (a.failed) return nullptr;
  if ((int64_t)(table_bytes / 4) < blocks_needed) {
    a.fail("the block table is shorter than kvLength needs");
    return nullptr;
  }
  for (int64_t i = 0; i < blocks_needed; i++) {
    if (p.block_table[i] < 0 || p.block_table[i] >= block_count) {
      a.fail("block table entry " + std::to_string(i) + " is outside the blocks");
      return nullptr;
    }
  }
  ThreadPool::LongTasks long_tasks(global_pool(), p.tokens >= kLongTaskTokens);  // a prefill chunk's, as in Attention
  paged_attention(p, global_pool());
  return undefined(env);
}

// embedding(out, table bytes, dtype, ids Int32Array, dim, vocab)
napi_value Embedding(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "embedding");
  const int64_t dtype = a.integer(2), dim = a.integer(4), vocab = a.integer(5);
  if (!a.failed && !valid_matmul_dtype(dtype)) a.fail("unknown dtype code");
  if (!a.failed && is_interleaved((int)dtype) && vocab % kInterleavedRows != 0) a.fail("interleaved tables need a multiple of 16 rows");
  if (a.failed) return nullptr;
  size_t id_bytes;
  const int32_t* ids = static_cast<const int32_t*>(a.array(3, &id_bytes));
  const int64_t count = (int64_t)(id_bytes / 4);
  float* out = a.floats(0, (size_t)(count * dim));
  const uint8_t* table = a.bytes(1, row_bytes((int)dtype, dim) * (size_t)vocab);
  if (a.failed) return nullptr;
  for (int64_t i = 0; i < count; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) { a.fail("id " + std::to_string(ids[i]) + " outside the table"); return nullptr; }
  }
  embedding(out, table, (int)dtype, ids, count, dim, global_pool());
  return undefined(env);
}

// quantize(out bytes, input f32, dtype, count) → false when the dtype has no native encoder
napi_value Quantize(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "quantize");
  const int64_t dtype = a.integer(2), count = a.integer(3);
  if (!a.failed && !valid_dtype(dtype)) a.fail("unknown dtype code");
  if (a.failed) return nullptr;
  if (dtype == Q4_K || dtype == Q6_K) return make_bool(env, false);
  const float* input = a.floats(1, (size_t)count);
  size_t out_bytes;
  uint8_t* out = static_cast<uint8_t*>(a.array(0, &out_bytes));
  if (!a.failed && out_bytes < row_bytes((int)dtype, count)) a.fail("output too small");
  if (a.failed) return nullptr;
  // Rows of blocks are independent: split the work into block-aligned chunks over the pool.
  const int64_t chunk = 32 * 1024;
  auto body = [&](int64_t task, int) {
    const int64_t begin = task * chunk, length = std::min(chunk, count - begin);
    quantize_row((int)dtype, input + begin, out + row_bytes((int)dtype, begin), length);
  };
  global_pool().parallel_for((count + chunk - 1) / chunk, body);
  return make_bool(env, true);
}

// dequantize(out f32, input bytes, dtype, count)
napi_value Dequantize(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "dequantize");
  const int64_t dtype = a.integer(2), count = a.integer(3);
  if (!a.failed && !valid_dtype(dtype)) a.fail("unknown dtype code");
  if (a.failed) return nullptr;
  float* out = a.floats(0, (size_t)count);
  const uint8_t* input = a.bytes(1, row_bytes((int)dtype, count));
  if (a.failed) return nullptr;
  const int64_t chunk = 32 * 1024;
  auto body = [&](int64_t task, int) {
    const int64_t begin = task * chunk, length = std::min(chunk, count - begin);
    dequantize_row((int)dtype, input + row_bytes((int)dtype, begin), out + begin, length);
  };
  global_pool().parallel_for((count + chunk - 1) / chunk, body);
  return undefined(env);
}

// argmax(input f32) → index
napi_value Argmax(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "argmax");
  size_t bytes;
  const float* input = static_cast<const float*>(a.array(0, &bytes));
  if (a.failed) return nullptr;
  return make_number(env, (double)argmax(input, (int64_t)(bytes / 4)));
}

// computePeak(kind "fma"|"bf16"|"vnni", milliseconds) → { wallSeconds, threads: [{ thread, systemThreadId, cpu,
// operations, seconds, cpuSeconds }] }, or null when the CPU lacks the instruction: every pool thread runs its own pinned task of
// independent chains for at least `milliseconds` (the benchmark's compute yardstick, compute_peak.h)
napi_value ComputePeak(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "computePeak");
  const std::string kind = a.string(0);
  const double milliseconds = a.number(1);
  if (!a.failed && kind != "fma" && kind != "bf16" && kind != "vnni") a.fail("kind must be fma, bf16 or vnni");
  if (!a.failed && !(milliseconds > 0 && milliseconds <= 60'000)) a.fail("milliseconds must be in (0, 60000]");
  if (a.failed) return nullptr;
  const PeakKind peak = kind == "fma" ? PeakKind::Fma : kind == "bf16" ? PeakKind::Bf16 : PeakKind::Vnni;
  const PeakResult result = compute_peak(peak, milliseconds / 1000.0, global_pool());
  napi_value object;
  if (!result.supported) {
    napi_get_null(env, &object);
    return object;
  }
  napi_value threads;
  napi_create_array_with_length(env, result.threads.size(), &threads);
  for (size_t index = 0; index < result.threads.size(); index++) {
    const PeakThread& record = result.threads[index];
    napi_value entry;
    napi_create_object(env, &entry);
    const std::pair<const char*, double> fields[] = {
        {"thread", (double)record.thread}, {"systemThreadId", (double)record.system_thread_id}, {"cpu", (double)record.cpu},
        {"operations", record.operations}, {"seconds", record.seconds}, {"cpuSeconds", record.cpu_seconds}};
    for (const auto& [name, value] : fields) napi_set_named_property(env, entry, name, make_number(env, value));
    napi_set_element(env, threads, (uint32_t)index, entry);
  }
  napi_create_object(env, &object);
  napi_set_named_property(env, object, "wallSeconds", make_number(env, result.wall_seconds));
  napi_set_named_property(env, object, "threads", threads);
  return object;
}

// streamRead(bytes, fourStreams?) → checksum; reads every byte once over the thread pool (a bandwidth yardstick)
napi_value StreamRead(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "streamRead");
  size_t bytes;
  const uint8_t* data = static_cast<const uint8_t*>(a.array(0, &bytes));
  const bool four_streams = a.count > 1 && a.boolean(1);
  if (a.failed) return nullptr;
  return make_number(env, (double)(stream_read(data, bytes,
                                          cpu_features().avx512f ? VectorWidth::Avx512
                                          : cpu_features().avx2  ? VectorWidth::Avx2
                                                                 : VectorWidth::Portable,
                                          four_streams, global_pool()) & 0xffffffff));
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "setThreads");
  const int64_t threads = a.integer(0);
  if (!a.failed && (threads < 1 || threads > 256)) a.fail("threads must be between 1 and 256");
  if (a.failed) return nullptr;
  global_pool().resize((int)threads);
  return undefined(env);
}

napi_value GetThreads(napi_env env, napi_callback_info) { return make_number(env, global_pool().threads()); }

// selectIsa("avx512" | "avx2" | "portable") → whether the CPU can run it (and it is now active)
// poolProbe(tasks, callerMicroseconds, helperMicroseconds) → Int32Array of the thread that ran each task: a diagnostic
// job whose tasks busy-wait callerMicroseconds on the calling thread and sleep helperMicroseconds on a helper (a
// helper descheduled mid-task, as under contention). Tests use it to drive the pool's stall detection and back-off.
napi_value PoolProbe(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "poolProbe");
  const int64_t tasks = a.integer(0), caller_us = a.integer(1), helper_us = a.integer(2);
  if (!a.failed && (tasks < 1 || tasks > 1024 || caller_us < 0 || helper_us < 0)) a.fail("needs 1..1024 tasks and durations ≥ 0");
  if (a.failed) return nullptr;
  std::vector<int32_t> ran_by((size_t)tasks, -1);
  auto body = [&](int64_t task, int thread) {
    ran_by[(size_t)task] = thread;
    if (thread == 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(caller_us);
      while (std::chrono::steady_clock::now() < until) {
      }
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(helper_us));
    }
  };
  global_pool().parallel_for(tasks, body);
  napi_value buffer, result;
  void* data;
  napi_create_arraybuffer(env, (size_t)tasks * 4, &data, &buffer);
  std::memcpy(data, ran_by.data(), (size_t)tasks * 4);
  napi_create_typedarray(env, napi_int32_array, (size_t)tasks, buffer, 0, &result);
  return result;
}

// poolStatistics() → the thread pool's counters since it was created or resized (thread_pool.h Statistics)
napi_value PoolStatistics(napi_env env, napi_callback_info) {
  const ThreadPool::Statistics statistics = global_pool().statistics();
  napi_value result;
  napi_create_object(env, &result);
  const std::pair<const char*, double> fields[] = {
      {"jobs", (double)statistics.jobs}, {"sharedJobs", (double)statistics.shared_jobs}, {"soloJobs", (double)statistics.solo_jobs},
      {"stalls", (double)statistics.stalls}, {"waitMicroseconds", statistics.wait_microseconds},
      {"callerOnlyJobs", (double)statistics.caller_only_jobs}};
  for (const auto& [name, value] : fields) napi_set_named_property(env, result, name, make_number(env, value));
  return result;
}

napi_value SelectIsa(napi_env env, napi_callback_info info) {
  Arguments a(env, info, "selectIsa");
  char name[32] = {0};
  size_t length = 0;
  if (napi_get_value_string_utf8(env, a.values[0], name, sizeof name, &length) != napi_ok) {
    a.fail("expects a string");
    return nullptr;
  }
  return make_bool(env, select_kernels(name));
}

napi_value Features(napi_env env, napi_callback_info) {
  const CpuFeatures& f = cpu_features();
  napi_value object;
  napi_create_object(env, &object);
  auto set = [&](const char* key, napi_value value) { napi_set_named_property(env, object, key, value); };
  set("avx2", make_bool(env, f.avx2_usable()));
  set("avx512", make_bool(env, f.avx512_usable()));
  set("avx512bf16", make_bool(env, f.avx512bf16));
  napi_value isa;
  napi_create_string_utf8(env, active_kernels().name, NAPI_AUTO_LENGTH, &isa);
  set("isa", isa);
  set("hardwareThreads", make_number(env, std::thread::hardware_concurrency()));
  return object;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor properties[] = {
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"interleave", nullptr, Interleave, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNorm", nullptr, RmsNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rope", nullptr, Rope, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"silu", nullptr, Unary<silu>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gelu", nullptr, Unary<gelu>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"swiglu", nullptr, Swiglu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add", nullptr, Binary<add>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mul", nullptr, Binary<mul>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attention", nullptr, Attention, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pagedAttention", nullptr, PagedAttention, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"embedding", nullptr, Embedding, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"quantize", nullptr, Quantize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dequantize", nullptr, Dequantize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"argmax", nullptr, Argmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"streamRead", nullptr, StreamRead, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"computePeak", nullptr, ComputePeak, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"selectIsa", nullptr, SelectIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"poolStatistics", nullptr, PoolStatistics, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"poolProbe", nullptr, PoolProbe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setMinimumSharedMatmulBytes", nullptr, SetMinimumSharedMatmulBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"features", nullptr, Features, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
