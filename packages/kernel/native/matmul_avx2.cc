// AVX2 (+FMA, F16C) matrix products for CPUs without AVX-512 (avx2::table()): integer kernels for q8_0, q4_0,
// q4_k and q6_k weights (GGUF blocks as stored) and FMA kernels for f32/f16/bf16. The plain C++ kernels compiled
// for AVX2 (matmul_generic.cc, avx2::generic_table()) remain the fallback for anything not handled here.
//
// Integer dot products. Activations are quantized once per call exactly as src/formats/activation-quantization.ts
// does (blocks of 32, or 256 for the K-quants; d = max|x|/127; round half to even), so results differ from the
// reference only in float summation order. AVX2 has no byte dot product instruction; a block of 32 products is
//   vpmaddubsw(a, b)  unsigned bytes a × signed bytes b → 16 int16 sums of adjacent pairs (these saturate, so every
//                     use below bounds the pair sums: see each kernel),
//   vpmaddwd(…, 1)    → 8 int32 lanes (or vpmaddwd(…, scale) to weight them while widening),
//   vcvtdq2ps + vfmaddps with d_weight · d_activation into a float accumulator,
// whose lanes are summed once at the end. Signed × signed (q8_0) uses |w| as the unsigned side and sign(x, w) as
// the signed side: pairs are at most 2·128·127 = 32512 (|w| of −128 is 128 as an unsigned byte). Nibble formats
// put the small unsigned weight values on the unsigned side and remove the offset (q4_0: −8) exactly from integer
// sums of the activations.
//
// Decode (one token) is memory-bound: each row is streamed once, 4 rows at a time with the next 4 rows prefetched
// at the same pace (q8_0, q4_0), or one row with a fixed prefetch distance (K-quants). Prefill (several tokens) is
// compute-bound: rows are handled per task in panels that stay in L2 while register tiles reuse each weight block
// over several tokens (8 tokens in the lanes of one register for q8_0/q4_0; 3 rows × 4 tokens for floats).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "aligned_buffer.h"
#include "formats.h"
#include "matmul.h"

namespace kernel {
namespace avx2 {

namespace {

// ---- small helpers ----


// f16 block scales → f32 through a table: one load instead of a GPR→vector move and a conversion per block.
// Filled with the conversion the generic kernels use (so NaN/infinity/subnormal scales behave identically) by
// table(), not by a static initializer: this file is compiled with -mavx2 and must not run on load on older CPUs.
float half_values[65536];

void fill_half_values() {
  for (uint32_t h = 0; h < 65536; h++) half_values[h] = f16_to_f32((uint16_t)h);
}

inline float half_to_float(uint16_t h) { return half_values[h]; }

inline float half_scale(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return half_values[h];
}

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i load_bytes(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 q4_0 nibble bytes → 32 bytes n in element order: low nibbles are elements 0–15, high nibbles 16–31.
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// Σ over a 32-value block of (w·x) as 8 int32 lanes, with |w| and w given separately (see the header comment).
inline __m256i block_dot(__m256i abs_w, __m256i w, __m256i x, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(x, w)), ones);
}

// Calls f(std::integral_constant<int, n>) for a runtime n in [1, N].
template <int N, typename F>
inline void with_constant(int n, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { ((n == I + 1 ? (f(std::integral_constant<int, I + 1>{}), 0) : 0), ...); }(
      std::make_integer_sequence<int, N>{});
}

// ---- activation quantization ----

struct Activations {
  const int8_t* values;  // [tokens, cols] int8, rows 32-byte aligned
  const float* scales;   // [blocks, token_stride]: block-major, so a token group's scales for one block are adjacent
  int64_t cols, blocks, token_stride;
};

// Token t alone: its values first, its scale of block b at scales[b · token_stride].
inline Activations token_view(const Activations& x, int64_t t) {
  return Activations{x.values + t * x.cols, x.scales + t, x.cols, x.blocks, x.token_stride};
}

// Per-thread scratch for repacked (integer) or converted (f16/bf16) weight panels.
struct ThreadScratch {
  AlignedBuffer<uint8_t> bytes;
  AlignedBuffer<float> floats;
};

// Scratch reused across calls (ops are called from one JavaScript thread).
struct Scratch {
  AlignedBuffer<int8_t> values;
  AlignedBuffer<float> scales;
  std::vector<std::unique_ptr<ThreadScratch>> threads;
  // Grows every thread's buffers to the given sizes before a parallel loop (workers then only read the pointers).
  void reserve(int count, size_t bytes, size_t floats) {
    while ((int)threads.size() < count) threads.push_back(std::make_unique<ThreadScratch>());
    for (int thread = 0; thread < count; thread++) {
      threads[thread]->bytes.get(bytes);
      threads[thread]->floats.get(floats);
    }
  }
};
Scratch& scratch() {
  static Scratch instance;
  return instance;
}

// max |x| over `count` floats (a multiple of 32).
inline float max_magnitude(const float* x, int64_t count) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int64_t i = 0; i < count; i += 32) {
    const __m256 a = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 8)));
    const __m256 b = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 16)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 24)));
    m = _mm256_max_ps(m, _mm256_max_ps(a, b));
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// round-half-even(x · inverse) of 32 floats as int8 at `out` (32-byte aligned).
inline void quantize_values(const float* x, float inverse, int8_t* out) {
  const __m256 s = _mm256_set1_ps(inverse);
  // cvtps2dq rounds half to even under the default MXCSR mode, as the reference's roundHalfToEven does.
  const __m256i qa = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), s));
  const __m256i qb = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), s));
  const __m256i qc = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), s));
  const __m256i qe = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), s));
  // The packs work per 128-bit lane: the result holds 4-byte groups of elements 0,8,16,24 | 4,12,20,28 (by first
  // element); the permutation puts them back in order.
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(qa, qb), _mm256_packs_epi32(qc, qe));
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// Quantizes a block of `count` floats as activation-quantization.ts does (d = max|x|/127, f32); returns d.
inline float quantize_block(const float* x, int8_t* out, int64_t count = 32) {
  const float d = max_magnitude(x, count) / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int64_t i = 0; i < count; i += 32) quantize_values(x + i, inverse, out + i);
  return d;
}

Activations quantize_activations(const float* input, int64_t tokens, int64_t cols, ThreadPool& pool) {
  const int64_t blocks = cols / 32;
  // Scales of 8 consecutive tokens are loaded together by the prefill tiles: pad the token dimension.
  const int64_t token_stride = tokens == 1 ? 1 : (tokens + 7) / 8 * 8;
  Scratch& s = scratch();
  int8_t* values = s.values.get((size_t)(tokens * cols));
  float* scales = s.scales.get((size_t)(blocks * token_stride));
  if (token_stride != tokens) std::memset(scales, 0, sizeof(float) * (size_t)(blocks * token_stride));
  // Tasks of 16 tokens, so two threads never write the same cache line of the block-major scales.
  const int64_t group = 16;
  auto body = [&](int64_t task, int) {
    const int64_t end = std::min(tokens, (task + 1) * group);
    for (int64_t t = task * group; t < end; t++)
      for (int64_t b = 0; b < blocks; b++) scales[b * token_stride + t] = quantize_block(input + t * cols + b * 32, values + t * cols + b * 32);
  };
  pool.parallel_for((tokens + group - 1) / group, body);
  return Activations{values, scales, cols, blocks, token_stride};
}

// ---- decode: one token, weights streamed in their stored layout ----
//
// q8_0: one block at a time, vpmaddubsw(|w|, sign(x, w)). q4_0: two blocks at a time (see DecodePairQ4). Both read
// the f16 block scales through half_values and multiply them with the activation scale per block.

// Prefetches the bytes [done, target) of the next tile, a cache line at a time.
struct TilePrefetcher {
  const char* cursor;
  const char* base;
  void advance(size_t target) {
    while (cursor < base + target) {
      _mm_prefetch(cursor, _MM_HINT_T0);
      cursor += 64;
    }
  }
};

// out[r] = Σ_b d_w·d_x·Σ w·x for R adjacent q8_0 rows.
template <int R>
void decode_q8_0_rows(const uint8_t* row0, size_t stride, const Activations& x, const void*, float* out) {
  constexpr int kBlockBytes = 34;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R];
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
  // The next tile (R rows) starts right after this one; fetch it while this one computes so decode keeps enough
  // requests in flight even when rows are short.
  TilePrefetcher prefetch{reinterpret_cast<const char*>(row0 + R * stride), reinterpret_cast<const char*>(row0 + R * stride)};
  for (int64_t b = 0; b < x.blocks; b++) {
    prefetch.advance((size_t)((b + 1) * R * kBlockBytes));
    const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + b * 32));
    const __m256 dx = _mm256_broadcast_ss(x.scales + b * x.token_stride);
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const uint8_t* block = row0 + r * stride + b * kBlockBytes;
      const __m256i w = load_bytes(block + 2);
      const __m256i dot = block_dot(_mm256_abs_epi8(w), w, xv, ones);
      const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(half_scale(block)), dx);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[r]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) out[r] = horizontal_sum(acc[r]);
}

// q4_0 decode works on pairs of blocks: one 256-bit register holds the 32 nibble bytes of blocks 2p and 2p+1, so
// masking gives [2p: values 0–15 | 2p+1: values 0–15] and shifting + masking [2p: 16–31 | 2p+1: 16–31]. The
// activations are rearranged once per call to match (DecodePairQ4), with the offset term and the scales.
struct DecodePairQ4 {
  __m256i low;     // [x(2p)[0..15]  | x(2p+1)[0..15]]
  __m256i high;    // [x(2p)[16..31] | x(2p+1)[16..31]]
  __m256i offset;  // int16 pair sums of 8·x over low and high: Σ(n − 8)·x = Σ n·x − Σ 8·x
  __m256 scale;    // [d(2p) × 4 | d(2p+1) × 4], matching the int32 lanes of vpmaddwd
};

const DecodePairQ4* prepare_decode_q4_0(const Activations& x) {
  static AlignedBuffer<DecodePairQ4> buffer;
  const int64_t pairs = x.blocks / 2;
  DecodePairQ4* out = buffer.get((size_t)std::max<int64_t>(pairs, 1));
  for (int64_t p = 0; p < pairs; p++) {
    const __m256i first = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + p * 64));
    const __m256i second = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + p * 64 + 32));
    DecodePairQ4& pair = out[p];
    pair.low = _mm256_permute2x128_si256(first, second, 0x20);
    pair.high = _mm256_permute2x128_si256(first, second, 0x31);
    const __m256i eight = _mm256_set1_epi8(8);
    pair.offset = _mm256_add_epi16(_mm256_maddubs_epi16(eight, pair.low), _mm256_maddubs_epi16(eight, pair.high));
    pair.scale = _mm256_set_m128(_mm_set1_ps(x.scales[(2 * p + 1) * x.token_stride]), _mm_set1_ps(x.scales[2 * p * x.token_stride]));
  }
  return out;
}

template <int R>
void decode_q4_0_rows(const uint8_t* row0, size_t stride, const Activations& x, const void* prepared, float* out) {
  constexpr int kBlockBytes = 18;
  const DecodePairQ4* pairs = static_cast<const DecodePairQ4*>(prepared);
  const __m256i ones = _mm256_set1_epi16(1), low_nibbles = _mm256_set1_epi8(0x0f);
  __m256 acc[R];
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
  TilePrefetcher prefetch{reinterpret_cast<const char*>(row0 + R * stride), reinterpret_cast<const char*>(row0 + R * stride)};
  const int64_t pair_count = x.blocks / 2;
  for (int64_t p = 0; p < pair_count; p++) {
    prefetch.advance((size_t)((p + 1) * R * 2 * kBlockBytes));
    const DecodePairQ4& xp = pairs[p];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const uint8_t* block = row0 + r * stride + p * 2 * kBlockBytes;
      const __m256i packed = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(block + kBlockBytes + 2),
                                                 reinterpret_cast<const __m128i*>(block + 2));
      const __m256i low = _mm256_and_si256(packed, low_nibbles);
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
      // n·x pair sums are at most 2·15·127, so the two halves and the offset combine in int16 without overflow.
      const __m256i sums = _mm256_add_epi16(_mm256_maddubs_epi16(low, xp.low), _mm256_maddubs_epi16(high, xp.high));
      const __m256i dot = _mm256_madd_epi16(_mm256_sub_epi16(sums, xp.offset), ones);
      const __m256 weight_scale = _mm256_set_m128(_mm_set1_ps(half_scale(block + kBlockBytes)), _mm_set1_ps(half_scale(block)));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(weight_scale, xp.scale), acc[r]);
    }
  }
  if (x.blocks % 2) {
    // The last block of an odd count, on its own.
    const int64_t b = x.blocks - 1;
    const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + b * 32));
    const __m256i offset = _mm256_maddubs_epi16(_mm256_set1_epi8(8), xv);
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const uint8_t* block = row0 + r * stride + b * kBlockBytes;
      const __m256i dot = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles(block + 2), xv), offset), ones);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(half_scale(block) * x.scales[b * x.token_stride]), acc[r]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) out[r] = horizontal_sum(acc[r]);
}

constexpr int kDecodeRows = 4;

// One token's products: x is a single-token view (see token_view), out its output row.
template <bool Q4>
void decode(const MatmulProblem& p, const Activations& x, float* out, ThreadPool& pool) {
  const size_t stride = row_bytes(p.dtype, p.cols);
  const void* prepared = Q4 ? prepare_decode_q4_0(x) : nullptr;
  const int64_t rows_per_task = (task_size(p.rows, pool.threads(), 16) + kDecodeRows - 1) / kDecodeRows * kDecodeRows;
  auto body = [&](int64_t task, int) {
    const int64_t begin = task * rows_per_task, end = std::min(p.rows, begin + rows_per_task);
    int64_t r = begin;
    if constexpr (Q4) {
      for (; r + kDecodeRows <= end; r += kDecodeRows) decode_q4_0_rows<kDecodeRows>(p.weight + r * stride, stride, x, prepared, out + r);
      for (; r < end; r++) decode_q4_0_rows<1>(p.weight + r * stride, stride, x, prepared, out + r);
    } else {
      for (; r + kDecodeRows <= end; r += kDecodeRows) decode_q8_0_rows<kDecodeRows>(p.weight + r * stride, stride, x, prepared, out + r);
      for (; r < end; r++) decode_q8_0_rows<1>(p.weight + r * stride, stride, x, prepared, out + r);
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

// ---- prefill: several tokens ----
//
// Prefill puts 8 tokens in the 8 int32 lanes of a register. The activations of a group of 8 tokens are interleaved
// per block (256 bytes): quad q (values 4q..4q+3) of token t sits at byte 32q + 4t, so one load holds quad q of all
// 8 tokens. A weight quad broadcast to every lane then gives, through vpmaddubsw and vpmaddwd, each token's partial
// dot product in its own lane: no horizontal sums, and one scale vector d_w · d_x[8 tokens] per row and block.
//  q4_0: the nibbles n (0..15) are the unsigned operand and the activations the signed one. An n·x pair sum is at
//        most 2·15·127 = 3810, so the 8 quads of a block add up in int16 (≤ 30480) before a single vpmaddwd; the
//        −8 offset is removed exactly in int32 with 8·Σx per token and block, computed once.
//  q8_0: |w| and sign(x, w) as in decode; each quad goes through vpmaddwd and adds up in int32.
// Each task repacks a panel of rows, one chunk of the inner dimension at a time, into an aligned scratch (q4_0:
// 32 nibble values per block; q8_0: 32 bytes |w| then 32 bytes w; plus f32 scales) that stays in L2 while every
// token group sweeps it; the group's activations for the chunk (8 KiB) stay in L1 across the row tiles.

constexpr int kLaneRowTile = 4;            // rows per register tile (× 8 tokens)
constexpr int64_t kIntChunkBlocks = 32;    // inner-dimension chunk: 1024 values
constexpr int64_t kIntPanelRows = 64;      // rows per task (64 rows × 32 blocks × 64 B = 128 KiB of scratch)
constexpr int64_t kMinimumPrefillTokens = 4;  // fewer tokens run the decode kernel once per token

struct GroupedActivations {
  const int8_t* values;    // [groups, blocks, 256] interleaved as described above (padding tokens are 0)
  const int32_t* offsets;  // [groups, blocks, 8]: 8·Σx of each token's block (q4_0 only)
  int64_t groups;
};

GroupedActivations group_activations(const Activations& x, int64_t tokens, bool offsets, ThreadPool& pool) {
  static AlignedBuffer<int8_t> values_buffer;
  static AlignedBuffer<int32_t> offsets_buffer;
  const int64_t groups = (tokens + 7) / 8, blocks = x.blocks;
  int8_t* values = values_buffer.get((size_t)(groups * blocks * 256));
  int32_t* sums = offsets ? offsets_buffer.get((size_t)(groups * blocks * 8)) : nullptr;
  auto body = [&](int64_t g, int) {
    for (int64_t b = 0; b < blocks; b++) {
      // Token rows as 8 dwords (quads) each; an 8×8 dword transpose makes the rows quads.
      __m256i r[8];
      for (int t = 0; t < 8; t++)
        r[t] = 8 * g + t < tokens ? _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + (8 * g + t) * x.cols + b * 32))
                                  : _mm256_setzero_si256();
      const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
      const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
      const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
      const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
      // u0 = [quad 0 of tokens 0–3 | quad 4 of tokens 0–3], u1 = quads 1|5, u2 = 2|6, u3 = 3|7; u4–u7 for tokens 4–7.
      const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
      const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
      const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
      const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
      const __m256i quads[8] = {
          _mm256_permute2x128_si256(u0, u4, 0x20), _mm256_permute2x128_si256(u1, u5, 0x20),
          _mm256_permute2x128_si256(u2, u6, 0x20), _mm256_permute2x128_si256(u3, u7, 0x20),
          _mm256_permute2x128_si256(u0, u4, 0x31), _mm256_permute2x128_si256(u1, u5, 0x31),
          _mm256_permute2x128_si256(u2, u6, 0x31), _mm256_permute2x128_si256(u3, u7, 0x31)};
      int8_t* target = values + (g * blocks + b) * 256;
      __m256i pair_sums = _mm256_setzero_si256();
      for (int q = 0; q < 8; q++) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(target + 32 * q), quads[q]);
        if (sums) pair_sums = _mm256_add_epi16(pair_sums, _mm256_maddubs_epi16(_mm256_set1_epi8(1), quads[q]));
      }
      if (sums) {
        const __m256i total = _mm256_madd_epi16(pair_sums, _mm256_set1_epi16(1));
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums + (g * blocks + b) * 8), _mm256_slli_epi32(total, 3));
      }
    }
  };
  pool.parallel_for(groups, body);
  return GroupedActivations{values, sums, groups};
}

template <bool Q4>
constexpr int kPanelBlockBytes = Q4 ? 32 : 64;

// Repacks rows [row0, row0 + rows) × blocks [block0, block0 + chunk): block (i, j) at (i·chunk + j)·kPanelBlockBytes,
// its f32 scale at scales[i·chunk + j].
template <bool Q4>
void repack_panel(const uint8_t* weight, size_t stride, int64_t row0, int64_t rows, int64_t block0, int64_t chunk,
                  uint8_t* panel, float* scales) {
  constexpr int kBlockBytes = Q4 ? 18 : 34;
  for (int64_t i = 0; i < rows; i++) {
    const uint8_t* source = weight + (size_t)(row0 + i) * stride + block0 * kBlockBytes;
    for (int64_t j = 0; j < chunk; j++) {
      const uint8_t* block = source + j * kBlockBytes;
      uint8_t* target = panel + (i * chunk + j) * kPanelBlockBytes<Q4>;
      if constexpr (Q4) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(target), unpack_nibbles(block + 2));
      } else {
        const __m256i w = load_bytes(block + 2);
        _mm256_store_si256(reinterpret_cast<__m256i*>(target), _mm256_abs_epi8(w));
        _mm256_store_si256(reinterpret_cast<__m256i*>(target + 32), w);
      }
      scales[i * chunk + j] = half_scale(block);
    }
  }
}

inline __m256i broadcast_quad(const uint8_t* p) {
  int32_t quad;
  std::memcpy(&quad, p, 4);
  return _mm256_set1_epi32(quad);
}

struct LaneTileArgs {
  const uint8_t* panel;       // row i0 of the repacked panel
  const float* panel_scales;  // row i0
  int64_t chunk;              // blocks in this chunk (the panel's row pitch in blocks)
  const int8_t* x;            // the group's interleaved activations at the chunk's first block
  const int32_t* offsets;     // the group's 8·Σx at the chunk's first block (q4_0)
  const float* scales;        // activation scales at (chunk's first block, group's first token)
  int64_t token_stride;
  float* out;                 // out[first token of the group, row0 + i0]
  int64_t out_stride;
  int tokens;                 // real tokens in the group (the rest are padding)
  bool accumulate;            // add to out (later chunks) instead of storing
};

// R rows × 8 tokens over one chunk.
template <bool Q4, int R>
void lane_tile(const LaneTileArgs& a) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R];
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
  for (int64_t j = 0; j < a.chunk; j++) {
    const __m256i* x = reinterpret_cast<const __m256i*>(a.x + j * 256);
    const __m256 dx = _mm256_loadu_ps(a.scales + j * a.token_stride);
    // Loads are the scarce resource (about 1.5 256-bit loads per cycle): load the block's 8 activation quads into
    // registers once for all R rows, so each row and quad costs one weight broadcast.
    __m256i xq[8];
    #pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      __m256i v = _mm256_load_si256(x + q);
      __asm__("" : "+x"(v));  // keep it in a register rather than folded into each use
      xq[q] = v;
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const uint8_t* w = a.panel + (r * a.chunk + j) * kPanelBlockBytes<Q4>;
      __m256i dot;
      if constexpr (Q4) {
        __m256i sums = _mm256_maddubs_epi16(broadcast_quad(w), xq[0]);
        #pragma GCC unroll 8
        for (int q = 1; q < 8; q++) {
          sums = _mm256_add_epi16(sums, _mm256_maddubs_epi16(broadcast_quad(w + 4 * q), xq[q]));
          __asm__("" : "+x"(sums));  // a running sum: keeps GCC from re-associating into a tree that needs more registers
        }
        dot = _mm256_sub_epi32(_mm256_madd_epi16(sums, ones), _mm256_load_si256(reinterpret_cast<const __m256i*>(a.offsets + j * 8)));
      } else {
        dot = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
          dot = _mm256_add_epi32(dot, block_dot(broadcast_quad(w + 4 * q), broadcast_quad(w + 32 + 4 * q), xq[q], ones));
          __asm__("" : "+x"(dot));
        }
      }
      const __m256 scale = _mm256_mul_ps(dx, _mm256_broadcast_ss(a.panel_scales + r * a.chunk + j));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[r]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc[r]);
    for (int t = 0; t < a.tokens; t++) {
      float& target = a.out[t * a.out_stride + r];
      target = a.accumulate ? target + lanes[t] : lanes[t];
    }
  }
}

template <bool Q4>
void prefill_integer(const MatmulProblem& p, const Activations& x, ThreadPool& pool) {
  constexpr int R = kLaneRowTile;
  const size_t stride = row_bytes(p.dtype, p.cols);
  const int64_t blocks = p.cols / 32;
  const GroupedActivations grouped = group_activations(x, p.tokens, Q4, pool);
  // With a single token group there is nothing to reuse across chunks: one chunk keeps the row streams sequential.
  const int64_t chunk_blocks = grouped.groups == 1 ? blocks : std::min(blocks, kIntChunkBlocks);
  int64_t rows_per_task = std::min<int64_t>(task_size(p.rows, pool.threads(), 8), kIntPanelRows);
  rows_per_task = (rows_per_task + R - 1) / R * R;
  Scratch& s = scratch();
  const int64_t panel_blocks = rows_per_task * chunk_blocks;
  s.reserve(pool.threads(), (size_t)(panel_blocks * kPanelBlockBytes<Q4>), (size_t)panel_blocks);
  auto body = [&](int64_t task, int thread) {
    const int64_t row0 = task * rows_per_task, rows = std::min(p.rows, row0 + rows_per_task) - row0;
    uint8_t* panel = s.threads[thread]->bytes.get(0);
    float* panel_scales = s.threads[thread]->floats.get(0);
    for (int64_t block0 = 0; block0 < blocks; block0 += chunk_blocks) {
      const int64_t chunk = std::min(chunk_blocks, blocks - block0);
      repack_panel<Q4>(p.weight, stride, row0, rows, block0, chunk, panel, panel_scales);
      for (int64_t g = 0; g < grouped.groups; g++) {
        for (int64_t i0 = 0; i0 < rows; i0 += R) {
          const LaneTileArgs args{panel + i0 * chunk * kPanelBlockBytes<Q4>, panel_scales + i0 * chunk, chunk,
                                  grouped.values + (g * blocks + block0) * 256,
                                  Q4 ? grouped.offsets + (g * blocks + block0) * 8 : nullptr,
                                  x.scales + block0 * x.token_stride + 8 * g, x.token_stride,
                                  p.out + 8 * g * p.rows + row0 + i0, p.rows, (int)std::min<int64_t>(8, p.tokens - 8 * g), block0 > 0};
          with_constant<R>((int)std::min<int64_t>(R, rows - i0), [&](auto rc) { lane_tile<Q4, decltype(rc)::value>(args); });
        }
      }
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

template <bool Q4>
void matmul_integer(const MatmulProblem& p, ThreadPool& pool) {
  const Activations x = quantize_activations(p.input, p.tokens, p.cols, pool);
  if (p.tokens < kMinimumPrefillTokens) {
    for (int64_t t = 0; t < p.tokens; t++) decode<Q4>(p, token_view(x, t), p.out + t * p.rows, pool);
  } else {
    prefill_integer<Q4>(p, x, pool);
  }
}

// ---- q4_k / q6_k weights ----
//
// Activations are quantized in blocks of 256 (one per weight super-block), with the sum of every 16 values kept as
// well. A super-block is walked in slices of 32 values: each slice is unpacked into 32 small unsigned values q and
// the int16 scale of each pair-sum lane, then dotted with T tokens: vpmaddubsw(q, x) gives int16 pair sums (q4_k:
// q ≤ 15, q6_k: q ≤ 63, so at most 2·63·127 = 16002) and vpmaddwd with the scale lanes weights and widens them in
// one step. The constant parts of the values come from the 16-value sums:
//  q4_k: value = d·sc·q − dmin·m  →  Σ = d·Σ sc·(q·x) − dmin·Σ m·(Σx)
//  q6_k: value = d·sc·(q − 32)    →  Σ = d·(Σ sc·(q·x) − 32·Σ sc·(Σx))
// Decode streams one row at a time with a fixed prefetch distance. Prefill takes a panel of rows per task and
// walks token tiles of 4 over it (unpacking again per tile), so a tile's activations stay in L1 and the panel's
// rows in L2.

struct KActivations {
  const int8_t* values;  // [tokens, cols]
  const float* scales;   // [tokens, blocks]
  const int16_t* sums;   // [tokens, blocks, 16]: sum of each 16 consecutive values
  int64_t cols, blocks;
};

KActivations quantize_k_activations(const float* input, int64_t tokens, int64_t cols, ThreadPool& pool) {
  static AlignedBuffer<int8_t> values_buffer;
  static AlignedBuffer<float> scales_buffer;
  static AlignedBuffer<int16_t> sums_buffer;
  const int64_t blocks = cols / 256;
  int8_t* values = values_buffer.get((size_t)(tokens * cols));
  float* scales = scales_buffer.get((size_t)(tokens * blocks));
  int16_t* sums = sums_buffer.get((size_t)(tokens * blocks * 16));
  auto body = [&](int64_t t, int) {
    for (int64_t b = 0; b < blocks; b++) {
      int8_t* q = values + t * cols + b * 256;
      scales[t * blocks + b] = quantize_block(input + t * cols + b * 256, q, 256);
      for (int s16 = 0; s16 < 16; s16++) {
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += q[16 * s16 + i];
        sums[(t * blocks + b) * 16 + s16] = (int16_t)sum;
      }
    }
  };
  pool.parallel_for(tokens, body);
  return KActivations{values, scales, sums, cols, blocks};
}

// Byte shuffle masks that broadcast int16 element j of a 128-bit lane to the whole lane.
alignas(32) const uint8_t kBroadcastWord[8][32] = {
#define KERNEL_WORD(j) {2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, \
                        2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, \
                        2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1}
    KERNEL_WORD(0), KERNEL_WORD(1), KERNEL_WORD(2), KERNEL_WORD(3), KERNEL_WORD(4), KERNEL_WORD(5), KERNEL_WORD(6), KERNEL_WORD(7)
#undef KERNEL_WORD
};

// Byte shuffle masks for q6_k: [scale 2k × 8 | scale 2k + 1 × 8] from the 16 scale bytes (k = 0..7).
alignas(16) const uint8_t kScalePairs[8][16] = {
#define KERNEL_PAIR(k) {2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, \
                        2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1}
    KERNEL_PAIR(0), KERNEL_PAIR(1), KERNEL_PAIR(2), KERNEL_PAIR(3), KERNEL_PAIR(4), KERNEL_PAIR(5), KERNEL_PAIR(6), KERNEL_PAIR(7)
#undef KERNEL_PAIR
};

constexpr int kKTokenTile = 4;
constexpr int64_t kKPanelRows = 16;
constexpr int64_t kKPrefetchBlocks = 8;  // 1.1–1.6 KiB ahead: covers memory latency at one thread's bandwidth

// out[t0 + t, row] for T tokens of one row. Each 32-value slice k of a super-block is unpacked into q (unsigned
// bytes) and its int16 scale lanes, used by the T tokens at once, and dropped: few registers live at a time.
template <int DT, int T>
void k_row(const uint8_t* row, const KActivations& x, int64_t t0, float* out, int64_t out_stride) {
  constexpr int kBlockBytes = DT == Q4_K ? 144 : 210;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[T];
  #pragma GCC unroll 16
  for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < x.blocks; b++) {
    // Decode streams each row once: fetch a few blocks ahead (runs into the next row at the end, as wanted).
    const char* ahead = reinterpret_cast<const char*>(row + (b + kKPrefetchBlocks) * kBlockBytes);
    _mm_prefetch(ahead, _MM_HINT_T0);
    _mm_prefetch(ahead + 64, _MM_HINT_T0);
    _mm_prefetch(ahead + 128, _MM_HINT_T0);
    if constexpr (DT == Q6_K) _mm_prefetch(ahead + 192, _MM_HINT_T0);
    const uint8_t* data = row + b * kBlockBytes;
    __m256i total[T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; t++) total[t] = _mm256_setzero_si256();
    // Adds Σ scale·(q·x) over slice k (values 32k..32k+31) for every token.
    auto slice = [&](int k, __m256i q, __m256i scale) {
      #pragma GCC unroll 16
      for (int t = 0; t < T; t++) {
        const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.values + (t0 + t) * x.cols + b * 256 + 32 * k));
        total[t] = _mm256_add_epi32(total[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), scale));
      }
    };
    float d, dmin = 0.0f;
    __m256i constant;  // int16 lanes multiplied with the 16-value sums: q4_k mins, q6_k 32·scale
    if constexpr (DT == Q4_K) {
      const BlockQ4_K* block = reinterpret_cast<const BlockQ4_K*>(data);
      d = half_to_float(block->d);
      dmin = half_to_float(block->dmin);
      // The 12 scale bytes as three words: scales 0–3 and mins 0–3 are the low 6 bits of words 0 and 1; scales 4–7
      // and mins 4–7 take their low 4 bits from word 2 and their top 2 bits from the top bits of words 0 and 1.
      uint32_t w[3];
      std::memcpy(w, block->scales, 12);
      const uint32_t scales_low = w[0] & 0x3f3f3f3f, mins_low = w[1] & 0x3f3f3f3f;
      const uint32_t scales_high = (w[2] & 0x0f0f0f0f) | (((w[0] >> 6) & 0x03030303) << 4);
      const uint32_t mins_high = ((w[2] >> 4) & 0x0f0f0f0f) | (((w[1] >> 6) & 0x03030303) << 4);
      const __m128i scales8 = _mm_cvtsi64_si128((int64_t)(((uint64_t)scales_high << 32) | scales_low));
      const __m128i mins8 = _mm_cvtsi64_si128((int64_t)(((uint64_t)mins_high << 32) | mins_low));
      const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales8));
      // 16-value sum s belongs to sub-block s / 2: duplicate each min.
      constant = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
      // Chunk c (64 values): low nibbles are sub-block 2c, high nibbles sub-block 2c + 1.
      #pragma GCC unroll 4
      for (int c = 0; c < 4; c++) {
        const __m256i v = load_bytes(block->qs + 32 * c);
        slice(2 * c, _mm256_and_si256(v, low4),
              _mm256_shuffle_epi8(scales16, _mm256_load_si256(reinterpret_cast<const __m256i*>(kBroadcastWord[2 * c]))));
        slice(2 * c + 1, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
              _mm256_shuffle_epi8(scales16, _mm256_load_si256(reinterpret_cast<const __m256i*>(kBroadcastWord[2 * c + 1]))));
      }
    } else {
      const BlockQ6_K* block = reinterpret_cast<const BlockQ6_K*>(data);
      d = half_to_float(block->d);
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block->scales));
      constant = _mm256_slli_epi16(_mm256_cvtepi8_epi16(raw), 5);  // 32·scale (|32·scale| ≤ 4096)
      // Slice k covers scales 2k (its first 16 values) and 2k + 1.
      auto scale_of = [&](int k) {
        return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(raw, _mm_load_si128(reinterpret_cast<const __m128i*>(kScalePairs[k]))));
      };
      #pragma GCC unroll 2
      for (int h = 0; h < 2; h++) {
        const __m256i ql0 = load_bytes(block->ql + 64 * h), ql1 = load_bytes(block->ql + 64 * h + 32);
        const __m256i qh = load_bytes(block->qh + 32 * h);
        // Values 128h + 32k + l take their top two bits from bits 2k, 2k+1 of qh[l] (moved to bits 4, 5).
        slice(4 * h, _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4)),
              scale_of(4 * h));
        slice(4 * h + 1, _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0c)), 2)),
              scale_of(4 * h + 1));
        slice(4 * h + 2, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, _mm256_set1_epi8(0x30))),
              scale_of(4 * h + 2));
        slice(4 * h + 3, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                         _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8((char)0xc0)), 2)),
              scale_of(4 * h + 3));
      }
    }
    #pragma GCC unroll 16
    for (int t = 0; t < T; t++) {
      const int64_t token = t0 + t;
      const float dx = x.scales[token * x.blocks + b];
      const __m256i sums = _mm256_load_si256(reinterpret_cast<const __m256i*>(x.sums + (token * x.blocks + b) * 16));
      const __m256i constant_term = _mm256_madd_epi16(constant, sums);
      if constexpr (DT == Q6_K) {  // both terms share d
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(total[t], constant_term)), _mm256_set1_ps(d * dx), acc[t]);
      } else {
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total[t]), _mm256_set1_ps(d * dx), acc[t]);
        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(constant_term), _mm256_set1_ps(dmin * dx), acc[t]);
      }
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; t++) out[t * out_stride] = horizontal_sum(acc[t]);
}

template <int DT>
void matmul_k(const MatmulProblem& p, ThreadPool& pool) {
  constexpr int T = kKTokenTile;
  const KActivations x = quantize_k_activations(p.input, p.tokens, p.cols, pool);
  const size_t stride = row_bytes(DT, p.cols);
  const int64_t grain = p.tokens <= T ? 16 : 4;
  const int64_t rows_per_task = p.tokens <= T ? task_size(p.rows, pool.threads(), grain)
                                              : std::min<int64_t>(task_size(p.rows, pool.threads(), grain), kKPanelRows);
  auto body = [&](int64_t task, int) {
    const int64_t row0 = task * rows_per_task, row_end = std::min(p.rows, row0 + rows_per_task);
    for (int64_t t0 = 0; t0 < p.tokens; t0 += T) {
      with_constant<T>((int)std::min<int64_t>(T, p.tokens - t0), [&](auto tc) {
        for (int64_t r = row0; r < row_end; r++) k_row<DT, decltype(tc)::value>(p.weight + r * stride, x, t0, p.out + t0 * p.rows + r, p.rows);
      });
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

// ---- f32 / f16 / bf16 weights ----

template <int DT>
inline __m256 load_weights(const uint8_t* row, int64_t column) {
  if constexpr (DT == F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + column);
  } else {
    const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + column * 2));
    if constexpr (DT == F16) return _mm256_cvtph_ps(half);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
  }
}

template <int DT>
inline float weight_at(const uint8_t* row, int64_t column) {
  if constexpr (DT == F32) return reinterpret_cast<const float*>(row)[column];
  uint16_t h;
  std::memcpy(&h, row + column * 2, 2);
  if constexpr (DT == F16) return f16_to_f32(h);
  else return bf16_to_f32(h);
}

// Lane sums of four vectors: result[i] = Σ lanes of v_i.
inline __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  // hadd pairs neighbours within each 128-bit half; two rounds leave [a, b, c, d] partial sums in each half.
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

struct FloatTileArgs {
  const uint8_t* weight;  // row r0, first column of the chunk
  size_t weight_stride;   // bytes
  const float* input;     // token t0, first column of the chunk
  int64_t input_stride;   // floats
  int64_t count;          // columns in the chunk
  float* out;             // out[t0, r0]
  int64_t out_stride;
  bool accumulate;
};

// R rows × T tokens over `count` columns; columns past the last multiple of 8 are done in scalar code.
template <int DT, int R, int T>
void float_tile(const FloatTileArgs& a) {
  __m256 acc[R][T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++)
    #pragma GCC unroll 16
    for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= a.count; c += 8) {
    __m256 w[R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) w[r] = load_weights<DT>(a.weight + r * a.weight_stride, c);
    #pragma GCC unroll 16
    for (int t = 0; t < T; t++) {
      const __m256 xv = _mm256_loadu_ps(a.input + t * a.input_stride + c);
      #pragma GCC unroll 16
      for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(w[r], xv, acc[r][t]);
    }
  }
  alignas(16) float sums[R][T < 4 ? 4 : T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    int t = 0;
    if constexpr (T >= 4)
      for (; t + 4 <= T; t += 4) _mm_storeu_ps(&sums[r][t], sum4(acc[r][t], acc[r][t + 1], acc[r][t + 2], acc[r][t + 3]));
    for (; t < T; t++) sums[r][t] = horizontal_sum(acc[r][t]);
  }
  for (; c < a.count; c++)
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const float w = weight_at<DT>(a.weight + r * a.weight_stride, c);
      #pragma GCC unroll 16
      for (int t = 0; t < T; t++) sums[r][t] += w * a.input[t * a.input_stride + c];
    }
  #pragma GCC unroll 16
  for (int t = 0; t < T; t++)
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      float& target = a.out[t * a.out_stride + r];
      target = a.accumulate ? target + sums[r][t] : sums[r][t];
    }
}

constexpr int kFloatRowTile = 3;
constexpr int kFloatTokenTile = 4;
constexpr int kFloatDecodeRows = 4;
constexpr int64_t kFloatChunk = 1024;    // columns per chunk (4 KiB of f32 per row)
constexpr int64_t kFloatPanelRows = 48;  // 48 rows × 4 KiB = 192 KiB of f32 weights per task

// Scratch pitch for `count` columns: a multiple of 8 floats plus one cache line, so that rows a power of two apart
// in the source do not land in the same L1 sets.
inline int64_t float_pitch(int64_t count) { return (count + 7) / 8 * 8 + 16; }

// Rows [row0, row0 + rows) × columns [column0, column0 + count) as f32 at `panel` (row pitch `pitch`), zero-padded
// to a multiple of 8 columns so the tiles need no scalar tail.
template <int DT>
void copy_panel(const uint8_t* weight, size_t stride, int64_t row0, int64_t rows, int64_t column0, int64_t count,
                float* panel, int64_t pitch) {
  for (int64_t i = 0; i < rows; i++) {
    const uint8_t* row = weight + (size_t)(row0 + i) * stride + column0 * (DT == F32 ? 4 : 2);
    float* target = panel + i * pitch;
    int64_t c = 0;
    for (; c + 8 <= count; c += 8) _mm256_store_ps(target + c, load_weights<DT>(row, c));
    for (; c < count; c++) target[c] = weight_at<DT>(row, c);
    for (; c % 8; c++) target[c] = 0.0f;
  }
}

template <int DT>
void matmul_float(const MatmulProblem& p, ThreadPool& pool) {
  const size_t stride = row_bytes(DT, p.cols);
  if (p.tokens <= kFloatTokenTile) {
    // Decode and very short prompts: one pass over the rows, weights converted as they stream in.
    constexpr int R = kFloatDecodeRows;
    const int64_t rows_per_task = (task_size(p.rows, pool.threads(), 16) + R - 1) / R * R;
    auto body = [&](int64_t task, int) {
      const int64_t row0 = task * rows_per_task, rows = std::min(p.rows, row0 + rows_per_task) - row0;
      for (int64_t i = 0; i < rows; i += R) {
        const FloatTileArgs args{p.weight + (row0 + i) * stride, stride, p.input, p.cols, p.cols, p.out + row0 + i, p.rows, false};
        with_constant<R>((int)std::min<int64_t>(R, rows - i), [&](auto rc) {
          with_constant<kFloatTokenTile>((int)p.tokens, [&](auto tc) { float_tile<DT, decltype(rc)::value, decltype(tc)::value>(args); });
        });
      }
    };
    pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
    return;
  }
  // Prefill: per task (a panel of rows) and chunk of columns, the panel is copied or converted to f32 in an aligned
  // scratch that stays in L2, and each token tile's activations to a small one that stays in L1.
  constexpr int R = kFloatRowTile, T = kFloatTokenTile;
  int64_t rows_per_task = std::min<int64_t>(task_size(p.rows, pool.threads(), 8), kFloatPanelRows);
  rows_per_task = (rows_per_task + R - 1) / R * R;
  const int64_t chunk_columns = std::min(p.cols, kFloatChunk), pitch = float_pitch(chunk_columns);
  Scratch& s = scratch();
  s.reserve(pool.threads(), (size_t)(T * pitch * 4), (size_t)(rows_per_task * pitch));
  auto body = [&](int64_t task, int thread) {
    const int64_t row0 = task * rows_per_task, rows = std::min(p.rows, row0 + rows_per_task) - row0;
    float* panel = s.threads[thread]->floats.get(0);
    float* inputs = reinterpret_cast<float*>(s.threads[thread]->bytes.get(0));
    for (int64_t column0 = 0; column0 < p.cols; column0 += chunk_columns) {
      const int64_t count = std::min(chunk_columns, p.cols - column0), padded = (count + 7) / 8 * 8;
      copy_panel<DT>(p.weight, stride, row0, rows, column0, count, panel, pitch);
      for (int64_t t0 = 0; t0 < p.tokens; t0 += T) {
        const int tokens = (int)std::min<int64_t>(T, p.tokens - t0);
        for (int t = 0; t < tokens; t++) {
          std::memcpy(inputs + t * pitch, p.input + (t0 + t) * p.cols + column0, (size_t)count * 4);
          std::memset(inputs + t * pitch + count, 0, (size_t)(padded - count) * 4);
        }
        for (int64_t i = 0; i < rows; i += R) {
          const FloatTileArgs args{reinterpret_cast<const uint8_t*>(panel + i * pitch), (size_t)pitch * 4, inputs, pitch, padded,
                                   p.out + t0 * p.rows + row0 + i, p.rows, column0 > 0};
          with_constant<R>((int)std::min<int64_t>(R, rows - i), [&](auto rc) {
            with_constant<T>(tokens, [&](auto tc) { float_tile<F32, decltype(rc)::value, decltype(tc)::value>(args); });
          });
        }
      }
    }
  };
  pool.parallel_for((p.rows + rows_per_task - 1) / rows_per_task, body);
}

void matmul(const MatmulProblem& p, ThreadPool& pool) {
  switch (p.dtype) {
    case F32: matmul_float<F32>(p, pool); return;
    case F16: matmul_float<F16>(p, pool); return;
    case BF16: {
      // bf16 weights multiply bf16-rounded activations (formats.h round_to_bf16).
      static AlignedBuffer<float> rounded;
      float* values = rounded.get((size_t)(p.tokens * p.cols));
      round_to_bf16(p.input, values, p.tokens * p.cols);
      MatmulProblem q = p;
      q.input = values;
      matmul_float<BF16>(q, pool);
      return;
    }
    case Q8_0: matmul_integer<false>(p, pool); return;
    case Q4_0: matmul_integer<true>(p, pool); return;
    case Q4_K: matmul_k<Q4_K>(p, pool); return;
    case Q6_K: matmul_k<Q6_K>(p, pool); return;
    default: generic_table().matmul(p, pool); return;
  }
}

}  // namespace

const KernelTable& table() {
  static const KernelTable instance = [] {
    fill_half_values();
    return KernelTable{"avx2", matmul};
  }();
  return instance;
}

}  // namespace avx2
}  // namespace kernel
