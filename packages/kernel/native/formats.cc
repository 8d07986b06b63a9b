// Scalar encode/decode of every dtype, one row at a time. These define the native side of src/formats/.
#include "formats.h"

#include <algorithm>

namespace kernel {

static void dequantize_q8_0(const BlockQ8_0* blocks, float* out, int64_t block_count) {
  for (int64_t b = 0; b < block_count; b++) {
    const float d = f16_to_f32(blocks[b].d);
    for (int i = 0; i < 32; i++) out[b * 32 + i] = d * blocks[b].qs[i];
  }
}

static void dequantize_q4_0(const BlockQ4_0* blocks, float* out, int64_t block_count) {
  for (int64_t b = 0; b < block_count; b++) {
    const float d = f16_to_f32(blocks[b].d);
    for (int j = 0; j < 16; j++) {
      out[b * 32 + j] = d * ((blocks[b].qs[j] & 0xf) - 8);
      out[b * 32 + j + 16] = d * ((blocks[b].qs[j] >> 4) - 8);
    }
  }
}

static void dequantize_q4_k(const BlockQ4_K* blocks, float* out, int64_t block_count) {
  for (int64_t b = 0; b < block_count; b++) {
    const BlockQ4_K& block = blocks[b];
    const float d = f16_to_f32(block.d), dmin = f16_to_f32(block.dmin);
    float* y = out + b * 256;
    for (int chunk = 0; chunk < 4; chunk++) {
      uint8_t scale_low, min_low, scale_high, min_high;
      q4_k_scale_min(2 * chunk, block.scales, &scale_low, &min_low);
      q4_k_scale_min(2 * chunk + 1, block.scales, &scale_high, &min_high);
      const uint8_t* q = block.qs + 32 * chunk;
      for (int i = 0; i < 32; i++) {
        y[64 * chunk + i] = d * scale_low * (q[i] & 0xf) - dmin * min_low;
        y[64 * chunk + 32 + i] = d * scale_high * (q[i] >> 4) - dmin * min_high;
      }
    }
  }
}

static void dequantize_q6_k(const BlockQ6_K* blocks, float* out, int64_t block_count) {
  for (int64_t b = 0; b < block_count; b++) {
    const BlockQ6_K& block = blocks[b];
    const float d = f16_to_f32(block.d);
    for (int half = 0; half < 2; half++) {
      const uint8_t* ql = block.ql + 64 * half;
      const uint8_t* qh = block.qh + 32 * half;
      const int8_t* scale = block.scales + 8 * half;
      float* y = out + b * 256 + 128 * half;
      for (int l = 0; l < 32; l++) {
        const int group = l / 16;
        const int q1 = (int)((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = (int)((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * scale[group + 0] * q1;
        y[l + 32] = d * scale[group + 2] * q2;
        y[l + 64] = d * scale[group + 4] * q3;
        y[l + 96] = d * scale[group + 6] * q4;
      }
    }
  }
}

void dequantize_row(int dtype, const uint8_t* input, float* out, int64_t count) {
  switch (dtype) {
    case F32: std::memcpy(out, input, (size_t)count * 4); return;
    case F16: {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(input);
      for (int64_t i = 0; i < count; i++) out[i] = f16_to_f32(h[i]);
      return;
    }
    case BF16: {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(input);
      for (int64_t i = 0; i < count; i++) out[i] = bf16_to_f32(h[i]);
      return;
    }
    case Q8_0: dequantize_q8_0(reinterpret_cast<const BlockQ8_0*>(input), out, count / 32); return;
    case Q4_0: dequantize_q4_0(reinterpret_cast<const BlockQ4_0*>(input), out, count / 32); return;
    case Q4_K: dequantize_q4_k(reinterpret_cast<const BlockQ4_K*>(input), out, count / 256); return;
    case Q6_K: dequantize_q6_k(reinterpret_cast<const BlockQ6_K*>(input), out, count / 256); return;
  }
}

bool quantize_row(int dtype, const float* input, uint8_t* out, int64_t count) {
  switch (dtype) {
    case F32: std::memcpy(out, input, (size_t)count * 4); return true;
    case F16: {
      uint16_t* h = reinterpret_cast<uint16_t*>(out);
      for (int64_t i = 0; i < count; i++) h[i] = f32_to_f16(input[i]);
      return true;
    }
    case BF16: {
      uint16_t* h = reinterpret_cast<uint16_t*>(out);
      for (int64_t i = 0; i < count; i++) h[i] = f32_to_bf16(input[i]);
      return true;
    }
    case Q8_0: {
      BlockQ8_0* blocks = reinterpret_cast<BlockQ8_0*>(out);
      for (int64_t b = 0; b < count / 32; b++) {
        const float* x = input + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(x[i]));
        const float d = amax / 127.0f;
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int i = 0; i < 32; i++) blocks[b].qs[i] = (int8_t)std::roundf(x[i] * inverse);
      }
      return true;
    }
    case Q4_0: {
      BlockQ4_0* blocks = reinterpret_cast<BlockQ4_0*>(out);
      for (int64_t b = 0; b < count / 32; b++) {
        const float* x = input + b * 32;
        float amax = 0, signed_max = 0;
        for (int i = 0; i < 32; i++) {
          if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); signed_max = x[i]; }
        }
        const float d = signed_max / -8.0f;
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
          const uint8_t low = (uint8_t)std::min(15, (int)(int8_t)(x[j] * inverse + 8.5f));
          const uint8_t high = (uint8_t)std::min(15, (int)(int8_t)(x[j + 16] * inverse + 8.5f));
          blocks[b].qs[j] = low | (uint8_t)(high << 4);
        }
      }
      return true;
    }
  }
  return false;
}

void round_to_bf16(const float* input, float* out, int64_t count) {
  for (int64_t i = 0; i < count; i++) out[i] = bf16_to_f32(f32_to_bf16(input[i]));
}

}  // namespace kernel
