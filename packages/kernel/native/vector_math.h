// Vectorized float math for the AVX2/FMA paths of the non-matmul ops (paged_attention.cc, ops.cc). Those files are
// compiled for the baseline instruction set, so these functions carry their own target attribute and are only called
// after avx2_paths_selected() (cpu_features.h) said yes.
#pragma once
#include <immintrin.h>

namespace kernel {

// e^x for x ≤ 0 (softmax arguments), 8 at a time: Cody–Waite range reduction x = k·ln2 + r and a degree-6
// polynomial for e^r (the Cephes expf coefficients); x below −87 gives about 1e-38 instead of a subnormal or 0. NaN
// stays NaN (vmaxps returns its second operand, x, when either is NaN).
__attribute__((target("avx2,fma"))) inline __m256 exp_negative_avx2(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
  const __m256 k = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
}

// x · sigmoid(x), 8 at a time. With e = e^(−|x|) ≤ 1 (never overflows): sigmoid(x) = 1 / (1 + e) for x ≥ 0 and
// e / (1 + e) for x < 0.
__attribute__((target("avx2,fma"))) inline __m256 silu_avx2(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp_negative_avx2(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));
  const __m256 numerator = _mm256_blendv_ps(one, e, x);  // by x's sign bit: e where x < 0
  return _mm256_mul_ps(x, _mm256_div_ps(numerator, _mm256_add_ps(one, e)));
}

// GELU, tanh approximation, 8 at a time: 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³) is x · sigmoid(2u),
// computed as silu_avx2 computes sigmoid, from e = e^(−|2u|) ≤ 1 (never overflows).
__attribute__((target("avx2,fma"))) inline __m256 gelu_avx2(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 cube = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  const __m256 twice_u = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, x));
  const __m256 e = exp_negative_avx2(_mm256_or_ps(twice_u, _mm256_set1_ps(-0.0f)));
  const __m256 numerator = _mm256_blendv_ps(one, e, twice_u);  // by the sign of u: e where u < 0
  return _mm256_mul_ps(x, _mm256_div_ps(numerator, _mm256_add_ps(one, e)));
}

}  // namespace kernel
