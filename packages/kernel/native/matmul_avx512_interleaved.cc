// AVX-512 VNNI matrix products on interleaved q8_0x16 / q4_0x16 weights (layout in interleave.h). One int32 lane of
// the accumulator is one (row, token) dot product, so a tile of 16 rows × T tokens costs, per 32-value block:
// 8 vpdpbusd per token (each multiplies 4 values of all 16 rows by 4 broadcast activation bytes), then one convert
// and one FMA by d_weight·d_activation per token; the weight bytes are unpacked once and serve all T tokens.
//
// vpdpbusd multiplies unsigned weight bytes by signed activation bytes. Weight bytes are u = w + K (q4_0: the nibble,
// K = 8; q8_0: stored as value + 128, K = 128), so Σu·x = Σw·x + K·Σx: each block's accumulator starts at −K·Σx,
// computed once per token and block when the activations are quantized.
//
// Decode (up to 4 tokens) over long rows reads four groups side by side instead (interleaved_stream_tile): more
// streams keep more memory reads in flight. Small batches of 2–8 tokens (a speculative verify) also stream every
// weight once, but their arithmetic per block is long enough that the hardware prefetcher, which follows the demand
// loads, no longer keeps the memory busy: their tiles fetch a few blocks ahead (kPrefetchBytes).
//
// Every output is a sequential FMA chain over the blocks in one lane, the same for any T, either tile and any thread
// split, so a token's result does not depend on which other tokens share the call.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "aligned_buffer.h"
#include "avx512_quantize.h"
#include "formats.h"
#include "interleave.h"
#include "matmul.h"

namespace kernel {
namespace avx512 {

namespace {

// Activations quantized per 32-value block, for every token.
struct PreparedActivations {
  const int8_t* values;   // [tokens, cols]   int8, natural order
  const float* scales;    // [tokens, blocks] d of each block
  const int32_t* starts;  // [tokens, blocks] −K·Σx of each block (K = 8 for q4_0, 128 for q8_0)
  int64_t cols, blocks;
};

struct Scratch {
  AlignedBuffer<int8_t> values;
  AlignedBuffer<float> scales;
  AlignedBuffer<int32_t> starts;
};
Scratch& scratch() {
  static Scratch instance;
  return instance;
}

PreparedActivations prepare_activations(const float* input, int64_t tokens, int64_t cols, int32_t offset, ThreadPool& pool) {
  const int64_t blocks = cols / 32;
  Scratch& s = scratch();
  int8_t* values = s.values.get((size_t)(tokens * cols));
  float* scales = s.scales.get((size_t)(tokens * blocks));
  int32_t* starts = s.starts.get((size_t)(tokens * blocks));
  auto body = [&](int64_t token, int) {
    for (int64_t b = 0; b < blocks; b++) {
      __m128i low, high;
      const size_t index = (size_t)(token * blocks + b);
      scales[index] = quantize_block(input + token * cols + b * 32, &low, &high);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(values + token * cols + b * 32), low);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(values + token * cols + b * 32 + 16), high);
      const int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_cvtepi8_epi32(low), _mm512_cvtepi8_epi32(high)));
      starts[index] = -offset * sum;
    }
  };
  pool.parallel_for(tokens, body);
  return PreparedActivations{values, scales, starts, cols, blocks};
}

inline __m512i broadcast_four_bytes(const int8_t* bytes) {
  int32_t word;
  std::memcpy(&word, bytes, 4);
  return _mm512_set1_epi32(word);
}

// Where chunk k (0..7) of a block's payload sits among the block's 32 values: 4k for q8_0; for q4_0 the low nibbles of
// chunks 0..3 are values 4k.., and chunks 4..7 (their high nibbles) values 16 + 4(k − 4)...
template <bool Q4>
constexpr int chunk_column(int k) {
  return Q4 ? (k < 4 ? 4 * k : 16 + 4 * (k - 4)) : 4 * k;
}

// The 8 chunks of one group block as unsigned bytes, chunk k = 4 values of each of the 16 rows.
template <bool Q4>
inline void load_group_block(const uint8_t* block, __m512i (&w)[8]) {
  if constexpr (Q4) {
    const __m512i mask = _mm512_set1_epi8(0x0f);
    for (int c = 0; c < 4; c++) {
      const __m512i bytes = _mm512_loadu_si512(block + 32 + 64 * c);
      w[c] = _mm512_and_si512(bytes, mask);
      w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), mask);
    }
  } else {
    for (int c = 0; c < 8; c++) w[c] = _mm512_loadu_si512(block + 32 + 64 * c);
  }
}

// How far ahead a small batch's tile fetches weights: about 10 q4_0 or 6 q8_0 group blocks. Measured at 2 threads on
// Zen 5 (a busy machine: medians of 7), 5 tokens over 8192×3072 q4_0 weights streamed from RAM: 1.9× one token
// without it, 1.0–1.4× fetching 2–3 KiB ahead, 1.4× at 1.5 KiB; the 128256×3072 LM head 1.9× → 1.3×. One token is
// left to the hardware prefetcher, which keeps up with its short arithmetic.
constexpr int kPrefetchBytes = 3072;

// out[t, row0 .. row0+15] for tokens token0 .. token0+T-1 over every block of one 16-row group; with Prefetch, each
// block's step fetches the weights kPrefetchBytes ahead (into the next group after the last block: the task's next).
template <bool Q4, int T, bool Prefetch>
void interleaved_tile(const uint8_t* group, const PreparedActivations& x, int64_t token0, float* out, int64_t out_stride,
                      int64_t row0) {
  constexpr int kGroupBlockBytes = Q4 ? 16 * 18 : 16 * 34;
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < x.blocks; b++) {
    const uint8_t* block = group + b * kGroupBlockBytes;
    if constexpr (Prefetch) {
      for (int offset = 0; offset < kGroupBlockBytes; offset += 64) _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchBytes + offset), _MM_HINT_T0);
    }
    const __m512 weight_scales = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)));
    __m512i w[8];
    load_group_block<Q4>(block, w);
    __m512i dot[T];
    for (int t = 0; t < T; t++) dot[t] = _mm512_set1_epi32(x.starts[(token0 + t) * x.blocks + b]);
    for (int k = 0; k < 8; k++) {
      for (int t = 0; t < T; t++) {
        const int8_t* values = x.values + (token0 + t) * x.cols + b * 32 + chunk_column<Q4>(k);
        dot[t] = _mm512_dpbusd_epi32(dot[t], w[k], broadcast_four_bytes(values));
      }
    }
    for (int t = 0; t < T; t++) {
      const __m512 scale = _mm512_mul_ps(weight_scales, _mm512_set1_ps(x.scales[(token0 + t) * x.blocks + b]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), scale, acc[t]);
    }
  }
  for (int t = 0; t < T; t++) _mm512_storeu_ps(out + (token0 + t) * out_stride + row0, acc[t]);
}

// Decode (T ≤ 4 tokens) over G adjacent 16-row groups at once: G weight streams side by side keep more memory reads
// in flight than one (the read yardstick shows the same: four streams outrun one). Per lane the arithmetic is exactly
// interleaved_tile's, so a token gets the same result whichever path computes it.
template <bool Q4, int G, int T>
void interleaved_stream_tile(const uint8_t* first_group, size_t group_bytes, const PreparedActivations& x, int64_t token0,
                             float* out, int64_t out_stride, int64_t row0) {
  constexpr int kGroupBlockBytes = Q4 ? 16 * 18 : 16 * 34;
  __m512 acc[G][T];
  for (int g = 0; g < G; g++)
    for (int t = 0; t < T; t++) acc[g][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < x.blocks; b++) {
    // One token: its eight activation broadcasts, start and scale serve all G groups from registers (loading them
    // once per group instead measured 0.66x for q4_0).
    __m512i xv[8];
    __m512i start = _mm512_setzero_si512();
    __m512 activation_scale = _mm512_setzero_ps();
    if constexpr (T == 1) {
      for (int k = 0; k < 8; k++) xv[k] = broadcast_four_bytes(x.values + token0 * x.cols + b * 32 + chunk_column<Q4>(k));
      start = _mm512_set1_epi32(x.starts[token0 * x.blocks + b]);
      activation_scale = _mm512_set1_ps(x.scales[token0 * x.blocks + b]);
    }
    for (int g = 0; g < G; g++) {
      const uint8_t* block = first_group + g * group_bytes + b * kGroupBlockBytes;
      __m512i w[8];
      load_group_block<Q4>(block, w);
      const __m512 weight_scales = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)));
      if constexpr (T == 1) {
        __m512i dot = start;
        for (int k = 0; k < 8; k++) dot = _mm512_dpbusd_epi32(dot, w[k], xv[k]);
        acc[g][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(weight_scales, activation_scale), acc[g][0]);
        continue;
      }
      for (int t = 0; t < T; t++) {
        const int8_t* values = x.values + (token0 + t) * x.cols + b * 32;
        __m512i dot = _mm512_set1_epi32(x.starts[(token0 + t) * x.blocks + b]);
        for (int k = 0; k < 8; k++) dot = _mm512_dpbusd_epi32(dot, w[k], broadcast_four_bytes(values + chunk_column<Q4>(k)));
        const __m512 scale = _mm512_mul_ps(weight_scales, _mm512_set1_ps(x.scales[(token0 + t) * x.blocks + b]));
        acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[g][t]);
      }
    }
  }
  for (int g = 0; g < G; g++)
    for (int t = 0; t < T; t++) _mm512_storeu_ps(out + (token0 + t) * out_stride + row0 + g * kInterleavedRows, acc[g][t]);
}

// Decode reads four groups side by side when a group's rows are long enough for four streams to pay off. Measured at
// 2 threads on Zen 5 (q4_0 / q8_0, one token, weights streamed from RAM): 1.2–1.35x for groups of 36 KiB and more
// (q4_0 with 4096+ columns, q8_0 with 3072+); 0.85–1.0x for shorter groups, which stay one stream. Up to 4 tokens fit
// (4 groups × 4 tokens of accumulators fill the registers). Batches of 5–8 tokens took passes of 4 + the rest here,
// the second pass unpacking every weight again: the prefetching tiles of all the batch at once are faster (measured
// as above, 5 / 8 tokens over 3072×8192 q4_0: 1.8× / 2.5× one token → 1.6× / 2.0×; q8_0 8192×3072: 1.9× / 2.4× →
// 1.3× / 1.6×), while 2 tokens are nearly free here (1.0×, against 1.4× for a prefetching tile).
constexpr int kStreamGroups = 4;
constexpr int kStreamTokens = 4;
constexpr size_t kMultiStreamGroupBytes = 36 * 1024;

template <bool Q4>
void stream_tile_any(int tokens, const uint8_t* first_group, size_t group_bytes, const PreparedActivations& x, int64_t token0,
                     float* out, int64_t out_stride, int64_t row0) {
  constexpr int G = kStreamGroups;
  switch (tokens) {
    case 1: interleaved_stream_tile<Q4, G, 1>(first_group, group_bytes, x, token0, out, out_stride, row0); return;
    case 2: interleaved_stream_tile<Q4, G, 2>(first_group, group_bytes, x, token0, out, out_stride, row0); return;
    case 3: interleaved_stream_tile<Q4, G, 3>(first_group, group_bytes, x, token0, out, out_stride, row0); return;
    default: interleaved_stream_tile<Q4, G, 4>(first_group, group_bytes, x, token0, out, out_stride, row0); return;
  }
}

constexpr int kTokenTile = 8;
// Prefill: tokens are taken in chunks so a chunk's activations stay in L2 while a task's weights are reused from it.
constexpr int64_t kTokenChunk = 64;
// A task's weights: about this many bytes of row groups, small enough to be reused from L2 by every token tile.
constexpr int64_t kTaskWeightBytes = 256 * 1024;

template <bool Q4, bool Prefetch>
void tile_any(int tokens, const uint8_t* group, const PreparedActivations& x, int64_t token0, float* out, int64_t out_stride,
              int64_t row0) {
  switch (tokens) {
    case 1: interleaved_tile<Q4, 1, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 2: interleaved_tile<Q4, 2, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 3: interleaved_tile<Q4, 3, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 4: interleaved_tile<Q4, 4, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 5: interleaved_tile<Q4, 5, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 6: interleaved_tile<Q4, 6, Prefetch>(group, x, token0, out, out_stride, row0); return;
    case 7: interleaved_tile<Q4, 7, Prefetch>(group, x, token0, out, out_stride, row0); return;
    default: interleaved_tile<Q4, 8, Prefetch>(group, x, token0, out, out_stride, row0); return;
  }
}

template <bool Q4>
void matmul_groups(const MatmulProblem& p, ThreadPool& pool) {
  const PreparedActivations x = prepare_activations(p.input, p.tokens, p.cols, Q4 ? 8 : 128, pool);
  const int64_t groups = p.rows / kInterleavedRows;
  const size_t group_bytes = kInterleavedRows * row_bytes(p.dtype, p.cols);
  // Enough tasks for load balance (8 per thread); for prefill each at most kTaskWeightBytes of weights.
  const int64_t by_balance = std::max<int64_t>(1, groups / ((int64_t)pool.threads() * 8));
  const int64_t by_cache = std::max<int64_t>(1, kTaskWeightBytes / (int64_t)group_bytes);
  // Decode (one token tile) streams every weight once, so there is nothing to keep in L2: tasks are sized for balance
  // only, which keeps each thread's stream long. (Measured: about 5% more bandwidth than cache-sized tasks.)
  const int64_t groups_per_task = p.tokens <= kTokenTile ? by_balance : std::min(by_balance, by_cache);
  const int64_t row_tasks = (groups + groups_per_task - 1) / groups_per_task;
  const int64_t token_chunks = (p.tokens + kTokenChunk - 1) / kTokenChunk;
  auto body = [&](int64_t task, int) {
    const int64_t group_begin = (task % row_tasks) * groups_per_task, group_end = std::min(groups, group_begin + groups_per_task);
    const int64_t token_begin = (task / row_tasks) * kTokenChunk, token_end = std::min(p.tokens, token_begin + kTokenChunk);
    int64_t first_group = group_begin;  // groups before this one are done
    if (p.tokens <= kStreamTokens && group_bytes >= kMultiStreamGroupBytes) {
      for (; first_group + kStreamGroups <= group_end; first_group += kStreamGroups) {
        stream_tile_any<Q4>((int)p.tokens, p.weight + (size_t)first_group * group_bytes, group_bytes, x, 0, p.out, p.rows,
                            first_group * kInterleavedRows);
      }
    }
    // A small batch (2–8 tokens: one tile) streams the weights once: fetch ahead. One token keeps up without it.
    const bool prefetch = p.tokens > 1 && p.tokens <= kTokenTile;
    for (int64_t t = token_begin; t < token_end; t += kTokenTile) {
      const int tile_tokens = (int)std::min<int64_t>(kTokenTile, token_end - t);
      for (int64_t g = first_group; g < group_end; g++) {
        if (prefetch) tile_any<Q4, true>(tile_tokens, p.weight + (size_t)g * group_bytes, x, t, p.out, p.rows, g * kInterleavedRows);
        else tile_any<Q4, false>(tile_tokens, p.weight + (size_t)g * group_bytes, x, t, p.out, p.rows, g * kInterleavedRows);
      }
    }
  };
  pool.parallel_for(row_tasks * token_chunks, body);
}

}  // namespace

void matmul_interleaved(const MatmulProblem& p, ThreadPool& pool) {
  if (p.dtype == Q4_0_X16) matmul_groups<true>(p, pool);
  else matmul_groups<false>(p, pool);
}

}  // namespace avx512
}  // namespace kernel
