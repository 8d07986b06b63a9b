// The flash-attention loop over a key/value cache of any cache element type, written once and instantiated per
// instruction set (attention_portable in paged_attention.cc, attention_avx2.cc, attention_avx512.cc) with that ISA's
// vector operations (`Ops`). Everything here has internal linkage, so each translation unit keeps its own copy,
// compiled for its own instruction set.
//
// One call handles one query token over a range of its visible positions, for every kv head: the positions are read
// in tiles of kTile; a tile's rows (all kv heads of a position are contiguous) are prefetched one tile ahead, so the
// cache streams from memory in order. Per kv head the tile's keys are decoded into a small f32 tile in L1 (f32 caches
// are read in place) — the only decoded copy ever made, kTile rows of one head — and serve all the query heads of
// the group; then the same for the values. Online softmax per query head, as in the reference (attention.ts).
//
// Element types (dtype codes from formats.h), value i of a head row:
//   F32, F16, BF16       one value per element
//   Q8_0, Q4_0           blocks of 32 along the position's kv_heads · head_dim row (34 / 18 bytes); a head of 32k
//                        values is k whole blocks, a head of 8 or 16 values lies inside one block.
//   Q8_0, Q4_0 keys per channel (p.key_residual set; src/channel-keys.ts): tiles are groups of 32 positions. A full
//                        group is kv_heads · head_dim blocks, one per channel over the group's 32 positions; its scores
//                        are computed without decoding a key: the channel's scale folded into the query value, then 32
//                        positions multiplied and added per channel (channel_scores). The newest positions (the
//                        unfinished group, and for a query its own group until full at its position) are f32 rows of
//                        the residual, read in place.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "formats.h"
#include "paged_attention.h"

namespace kernel {
namespace {

// Positions per tile.
constexpr int64_t kTile = 32;

// Bytes of one position's row (all kv heads) in `dtype`.
inline int64_t cache_row_bytes(int dtype, int64_t kv_heads, int64_t head_dim) {
  return (int64_t)row_bytes(dtype, kv_heads * head_dim);
}

// Decodes the 32 values of a q8_0 / q4_0 block (ggml's arithmetic: value = f32(d · q)).
inline void decode_block_portable(int dtype, const uint8_t* block, float* out) {
  if (dtype == Q8_0) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(block);
    const float d = f16_to_f32(b->d);
    for (int i = 0; i < 32; i++) out[i] = d * (float)b->qs[i];
  } else {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(block);
    const float d = f16_to_f32(b->d);
    for (int i = 0; i < 16; i++) {
      out[i] = d * (float)((b->qs[i] & 0x0f) - 8);
      out[i + 16] = d * (float)((b->qs[i] >> 4) - 8);
    }
  }
}

// Decodes the head_dim values of `head` out of one position's row (any non-f32 dtype) into out [head_dim].
inline void decode_head_portable(int dtype, const uint8_t* row, int64_t head, int64_t head_dim, float* out) {
  const int64_t first = head * head_dim;  // value index of the head's first value in the row
  switch (dtype) {
    case F16: {
      const uint16_t* values = reinterpret_cast<const uint16_t*>(row) + first;
      for (int64_t i = 0; i < head_dim; i++) out[i] = f16_to_f32(values[i]);
      return;
    }
    case BF16: {
      const uint16_t* values = reinterpret_cast<const uint16_t*>(row) + first;
      for (int64_t i = 0; i < head_dim; i++) out[i] = bf16_to_f32(values[i]);
      return;
    }
    default: {
      const int64_t block_bytes = dtype == Q8_0 ? 34 : 18;
      const uint8_t* block = row + (first / 32) * block_bytes;
      if (head_dim % 32 == 0) {
        for (int64_t b = 0; b < head_dim / 32; b++) decode_block_portable(dtype, block + b * block_bytes, out + b * 32);
      } else {
        float values[32];  // a small head inside one block
        decode_block_portable(dtype, block, values);
        std::memcpy(out, values + first % 32, (size_t)head_dim * sizeof(float));
      }
    }
  }
}

// scores[j] = scale · Σ_i q[i] · key_i[j] for the positions j < length (always 32: a full group is read whole) of one
// full per-channel key group; `channels`
// is the head's first channel block (head_dim blocks of 32 positions, one scale each). The scale goes into the query
// value once per channel; the 32 positions are then 32 independent sums the compiler vectorizes.
template <int Dtype>
inline void channel_scores_portable(const float* q, const uint8_t* channels, int64_t head_dim, int64_t length, float scale, float* scores) {
  float sums[32] = {};
  for (int64_t i = 0; i < head_dim; i++) {
    if constexpr (Dtype == Q8_0) {
      const BlockQ8_0& block = reinterpret_cast<const BlockQ8_0*>(channels)[i];
      const float w = q[i] * f16_to_f32(block.d);
      for (int j = 0; j < 32; j++) sums[j] += w * (float)block.qs[j];
    } else {
      const BlockQ4_0& block = reinterpret_cast<const BlockQ4_0*>(channels)[i];
      const float w = q[i] * f16_to_f32(block.d);
      for (int j = 0; j < 16; j++) {
        sums[j] += w * (float)((block.qs[j] & 0x0f) - 8);
        sums[j + 16] += w * (float)((block.qs[j] >> 4) - 8);
      }
    }
  }
  for (int64_t j = 0; j < length; j++) scores[j] = sums[j] * scale;
}

inline void channel_scores_any(int dtype, const float* q, const uint8_t* channels, int64_t head_dim, int64_t length, float scale, float* scores) {
  if (dtype == Q8_0) channel_scores_portable<Q8_0>(q, channels, head_dim, length, scale, scores);
  else channel_scores_portable<Q4_0>(q, channels, head_dim, length, scale, scores);
}

// channel_scores_any for the `group` query heads of one kv head (query rows q + g · head_dim, scores + g · kTile).
inline void channel_scores_heads(int dtype, const float* q, int64_t group, const uint8_t* channels, int64_t head_dim, int64_t length, float scale, float* scores) {
  for (int64_t g = 0; g < group; g++) channel_scores_any(dtype, q + g * head_dim, channels, head_dim, length, scale, scores + g * kTile);
}

// Plain C++ vector operations (the compiler vectorizes them for the ISA of the translation unit).
struct PortableOps {
  static float dot(const float* a, const float* b, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
  }
  // scores[j] = scale · (q · rows[j]) for j < length.
  static void tile_scores(const float* q, const float* const* rows, int64_t length, int64_t n, float scale, float* scores) {
    for (int64_t j = 0; j < length; j++) scores[j] = dot(q, rows[j], n) * scale;
  }
  // scores[j] = e^(scores[j] − maximum); returns their sum.
  static float tile_exp(float* scores, int64_t length, float maximum) {
    float sum = 0;
    for (int64_t j = 0; j < length; j++) sum += scores[j] = std::exp(scores[j] - maximum);
    return sum;
  }
  // y = correction · y + Σ_j weights[j] · rows[j].
  static void tile_accumulate(float* y, float correction, const float* weights, const float* const* rows, int64_t length, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= correction;
    for (int64_t j = 0; j < length; j++) {
      const float w = weights[j];
      const float* x = rows[j];
      for (int64_t i = 0; i < n; i++) y[i] += w * x[i];
    }
  }
  // out[j · head_dim ..] = head `head` of rows[j], decoded, for j < length.
  static void decode_heads(int dtype, const uint8_t* const* rows, int64_t head, int64_t head_dim, int64_t length, float* out) {
    for (int64_t j = 0; j < length; j++) decode_head_portable(dtype, rows[j], head, head_dim, out + j * head_dim);
  }
  // Scores of one full per-channel key group for the `group` query heads of a kv head (query rows q + g · head_dim,
  // scores + g · kTile).
  static void channel_scores(int dtype, const float* q, int64_t group, const uint8_t* channels, int64_t head_dim, int64_t length, float scale, float* scores) {
    channel_scores_heads(dtype, q, group, channels, head_dim, length, scale, scores);
  }
  // Accumulates the tile's values of kv head `kv_head` straight from the cache rows into the `group` accumulators
  // (accumulators + g · head_dim, rescaled by corrections[g], weights scores + g · kTile) and returns true, where the
  // ISA has a kernel for the element type; false leaves it to decode_heads and tile_accumulate.
  static bool accumulate_values(int, const uint8_t* const*, int64_t, int64_t, int64_t, int64_t, float*, const float*, const float*) { return false; }
};

// Positions per tile of the AVX-512 block kernel (attention_avx512.cc): longer tiles, as it keeps no decoded rows.
constexpr int64_t kQuantizedTile = 128;

// Scratch of one attend_range call: scores [group, kTile], decoded key and value tiles [kTile, head_dim] each, and the
// softmax corrections of the group's query heads [group]; or for the integer kernels scores [group, kQuantizedTile],
// corrections, and per query head an int8 row and per 64 values 16 int32 offset sums and 16 block scales.
inline int64_t scratch_floats(const PagedAttentionProblem& p) {
  const int64_t group = p.heads / p.kv_heads;
  const int64_t generic = group * kTile + 2 * kTile * p.head_dim + group;
  const int64_t quantized = group * (kQuantizedTile + 1) + p.heads * (p.head_dim / 4 + 32 * (p.head_dim / 64 + 1));
  return std::max(generic, quantized);
}

// Points key_rows/value_rows at the rows of positions tile..tile+length-1 (through the block table; the same byte
// offset in the key and the value blocks), and prefetches every cache line of the next tile's rows (up to `end`) while
// this tile computes.
inline void gather_tile_rows(const PagedAttentionProblem& p, int64_t row_bytes, int64_t tile, int64_t length, int64_t tile_size, int64_t end,
                             const uint8_t** key_rows, const uint8_t** value_rows) {
  auto row_offset = [&](int64_t position) {
    return ((int64_t)p.block_table[position / p.block_size] * p.block_size + position % p.block_size) * row_bytes;
  };
  for (int64_t j = 0; j < length; j++) {
    const int64_t offset = row_offset(tile + j);
    key_rows[j] = p.key_blocks + offset;
    value_rows[j] = p.value_blocks + offset;
  }
  const int64_t next_end = std::min(end, tile + 2 * tile_size);
  for (int64_t position = tile + tile_size; position < next_end; position++) {
    const int64_t offset = row_offset(position);
    for (int64_t byte = 0; byte < row_bytes; byte += 64) {
      __builtin_prefetch(p.key_blocks + offset + byte, 0, 3);
      __builtin_prefetch(p.value_blocks + offset + byte, 0, 3);
    }
  }
}

template <typename Ops>
inline void attend_range_with(const PagedAttentionProblem& p, int64_t token, int64_t begin, int64_t end, const AttentionPartial& partial, float* scratch) {
  const int64_t group = p.heads / p.kv_heads;
  const int64_t dim = p.head_dim;
  const int64_t row_bytes = cache_row_bytes(p.dtype, p.kv_heads, dim);
  const bool decode = p.dtype != F32;
  float* scores = scratch;                      // [group, kTile]
  float* key_tile = scores + group * kTile;     // [kTile, dim]
  float* value_tile = key_tile + kTile * dim;   // [kTile, dim]
  float* correction = value_tile + kTile * dim; // [group]
  for (int64_t h = 0; h < p.heads; h++) {
    partial.maximum[h] = -INFINITY;
    partial.sum[h] = 0;
  }
  std::fill(partial.accumulator, partial.accumulator + p.heads * dim, 0.0f);

  const uint8_t* key_rows[kTile];
  const uint8_t* value_rows[kTile];
  const float* keys[kTile];    // head rows the score loop reads (in the cache for f32, else in key_tile)
  const float* values[kTile];  // head rows the accumulate loop reads
  // Keys per channel (src/channel-keys.ts): groups below quantized_end are quantized; the residual (position p at row
  // p mod key_residual_rows) holds the newest positions, and a causal query reads its own group from it while that
  // group is not full at the query's position. Tiles start at multiples of kTile = 32 (begin is one): a tile is one
  // group.
  const bool channel_keys = p.key_residual != nullptr;
  const int64_t quantized_end = p.kv_length / 32 * 32;
  const int64_t query_position = p.causal ? p.start_position + token : INT64_MAX;
  const int64_t channel_block_bytes = p.dtype == Q8_0 ? (int64_t)sizeof(BlockQ8_0) : (int64_t)sizeof(BlockQ4_0);
  for (int64_t tile = begin; tile < end; tile += kTile) {
    const int64_t length = std::min(kTile, end - tile);
    gather_tile_rows(p, row_bytes, tile, length, kTile, end, key_rows, value_rows);
    // Read from the quantized group (key_rows[0] is then its first byte), or from the residual.
    const bool channel_group = channel_keys && tile < quantized_end && tile + 31 <= query_position;
    for (int64_t kv_head = 0; kv_head < p.kv_heads; kv_head++) {
      if (channel_keys) {
        if (!channel_group) {
          for (int64_t j = 0; j < length; j++) keys[j] = p.key_residual + ((tile + j) % p.key_residual_rows * p.kv_heads + kv_head) * dim;
        }
      } else if (decode) {
        Ops::decode_heads(p.dtype, key_rows, kv_head, dim, length, key_tile);
        for (int64_t j = 0; j < length; j++) keys[j] = key_tile + j * dim;
      } else {
        for (int64_t j = 0; j < length; j++) keys[j] = reinterpret_cast<const float*>(key_rows[j]) + kv_head * dim;
      }
      // A full per-channel key group: the scores of all the group's query heads at once (each channel read once).
      if (channel_group) {
        Ops::channel_scores(p.dtype, p.query + (token * p.heads + kv_head * group) * dim, group, key_rows[0] + kv_head * dim * channel_block_bytes, dim, length, p.scale,
                            scores);
      }
      for (int64_t g = 0; g < group; g++) {
        const int64_t h = kv_head * group + g;
        const float* q = p.query + (token * p.heads + h) * dim;
        float* s = scores + g * kTile;
        if (!channel_group) Ops::tile_scores(q, keys, length, dim, p.scale, s);
        float tile_max = -INFINITY;
        for (int64_t j = 0; j < length; j++) tile_max = std::max(tile_max, s[j]);
        const float new_max = std::max(partial.maximum[h], tile_max);
        correction[g] = std::exp(partial.maximum[h] - new_max);  // 0 on the first tile
        partial.sum[h] = partial.sum[h] * correction[g] + Ops::tile_exp(s, length, new_max);
        partial.maximum[h] = new_max;
      }
      if (decode && Ops::accumulate_values(p.dtype, value_rows, kv_head, dim, length, group, partial.accumulator + kv_head * group * dim, correction, scores)) continue;
      if (decode) {
        Ops::decode_heads(p.dtype, value_rows, kv_head, dim, length, value_tile);
        for (int64_t j = 0; j < length; j++) values[j] = value_tile + j * dim;
      } else {
        for (int64_t j = 0; j < length; j++) values[j] = reinterpret_cast<const float*>(value_rows[j]) + kv_head * dim;
      }
      // Each accumulator, rescaled to its new maximum, plus this tile's weighted values.
      for (int64_t g = 0; g < group; g++) {
        Ops::tile_accumulate(partial.accumulator + (kv_head * group + g) * dim, correction[g], scores + g * kTile, values, length, dim);
      }
    }
  }
}

}  // namespace
}  // namespace kernel
