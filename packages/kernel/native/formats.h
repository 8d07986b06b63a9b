// GGUF/ggml block layouts and scalar conversions shared by every native kernel.
// Layouts match src/dtype.ts and ggml byte for byte; dtype codes match dtypeInfo[...].code.
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>

namespace kernel {

// The *_X16 dtypes hold the same values with 16 rows interleaved (see interleave.h): q8_0 / q4_0 / q4_k / q6_k blocks,
// or f32 / f16 / bf16 values column by column.
enum DType : int {
  F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3, Q4_0 = 4, Q4_K = 5, Q6_K = 6,
  Q8_0_X16 = 7, Q4_0_X16 = 8, Q4_K_X16 = 9, Q6_K_X16 = 10, F32_X16 = 11, F16_X16 = 12, BF16_X16 = 13,
};

constexpr int kBlock32 = 32;    // values per q8_0 / q4_0 block
constexpr int kBlock256 = 256;  // values per q4_k / q6_k block

#pragma pack(push, 1)
struct BlockQ8_0 {       // 34 bytes
  uint16_t d;            // f16 scale
  int8_t qs[32];         // values = d * qs
};
struct BlockQ4_0 {       // 18 bytes
  uint16_t d;            // f16 scale
  uint8_t qs[16];        // byte j: value j (low nibble), value j + 16 (high nibble); value = d * (nibble - 8)
};
struct BlockQ4_K {       // 144 bytes
  uint16_t d;            // f16 super-block scale of the sub-block scales
  uint16_t dmin;         // f16 super-block scale of the sub-block mins
  uint8_t scales[12];    // 8 × (6-bit scale, 6-bit min), packed
  uint8_t qs[128];       // chunk c (64 values): low nibbles = values 64c..64c+31, high = 64c+32..64c+63
};
struct BlockQ6_K {       // 210 bytes
  uint8_t ql[128];       // low 4 bits
  uint8_t qh[64];        // high 2 bits
  int8_t scales[16];     // one per 16 values
  uint16_t d;            // f16 super-block scale
};
#pragma pack(pop)
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "block sizes");
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210, "k-quant block sizes");

inline uint32_t float_bits(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
inline float bits_float(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {
    // zero or subnormal: mantissa × 2^-24
    const float magnitude = (float)mantissa * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Round to nearest even; overflow becomes infinity; NaN stays NaN.
inline uint16_t f32_to_f16(float x) {
  const uint32_t u = float_bits(x);
  const uint32_t sign = (u >> 16) & 0x8000;
  const uint32_t absolute = u & 0x7fffffff;
  if (absolute >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (absolute > 0x7f800000u ? 0x200 : 0));
  if (absolute >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to ≥ 65520 → inf
  if (absolute < 0x38800000u) {
    // result is subnormal (or zero): value / 2^-24 rounded to nearest even
    const float magnitude = bits_float(absolute);
    const float scaled = magnitude * 16777216.0f;  // exact
    return (uint16_t)(sign | (uint32_t)std::nearbyint(scaled));
  }
  const uint32_t rounded = absolute + 0xfff + ((absolute >> 13) & 1);
  return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

inline float bf16_to_f32(uint16_t h) { return bits_float((uint32_t)h << 16); }

inline uint16_t f32_to_bf16(float x) {
  const uint32_t u = float_bits(x);
  if ((u & 0x7fffffff) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
  return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a q4_k block.
inline void q4_k_scale_min(int j, const uint8_t* scales, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0xf) | ((scales[j - 4] >> 6) << 4);
    *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

// Bytes of one row of `columns` values.
inline size_t row_bytes(int dtype, int64_t columns) {
  switch (dtype) {
    case F32: case F32_X16: return (size_t)columns * 4;
    case F16: case BF16: case F16_X16: case BF16_X16: return (size_t)columns * 2;
    case Q8_0: case Q8_0_X16: return (size_t)(columns / 32) * 34;
    case Q4_0: case Q4_0_X16: return (size_t)(columns / 32) * 18;
    case Q4_K: case Q4_K_X16: return (size_t)(columns / 256) * 144;
    case Q6_K: case Q6_K_X16: return (size_t)(columns / 256) * 210;
  }
  return 0;
}

// The activations bf16 weights multiply: `count` values rounded to the nearest bf16 (ties to even), as f32.
void round_to_bf16(const float* input, float* out, int64_t count);

// Decodes `count` values (a whole number of blocks) of `dtype` into f32.
void dequantize_row(int dtype, const uint8_t* input, float* out, int64_t count);
// Encodes `count` f32 values into f16, bf16, q8_0 or q4_0 (ggml's reference rounding); returns false for other dtypes.
bool quantize_row(int dtype, const float* input, uint8_t* out, int64_t count);

}  // namespace kernel
