// Activation quantization shared by the AVX-512 integer kernels (matmul_avx512.cc, matmul_avx512_interleaved.cc):
// 32 floats → int8 with d = max|x| / 127, rounded half to even, as src/formats/activation-quantization.ts does.
// Only compiled into the avx512 kernel library (it needs -mavx512f/bw/vl).
#pragma once
#include <immintrin.h>

namespace kernel {
namespace avx512 {

// Quantizes 32 floats to int8 (d = max|x|/127, round half to even); returns d and the 32 bytes as two 16-byte halves.
inline float quantize_block(const float* x, __m128i* low, __m128i* high) {
  const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
  const float d = amax / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  const __m512 scale = _mm512_set1_ps(inverse);
  *low = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(a, scale)));
  *high = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(b, scale)));
  return d;
}

}  // namespace avx512
}  // namespace kernel
