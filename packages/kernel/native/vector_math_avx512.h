// Vectorized float math shared by the AVX-512 translation units (attention_avx512.cc, full_attention_avx512.cc),
// which are compiled with the AVX-512 flags of the kernels_avx512 library. Internal linkage: each unit keeps its copy.
#pragma once
#include <immintrin.h>

namespace kernel {
namespace {

// e^x for x ≤ 0, 16 at a time: the same Cody–Waite reduction and Cephes polynomial as exp_negative_avx2
// (vector_math.h), so both instruction sets round alike. NaN stays NaN: vmaxps returns its second operand when either
// is NaN, so x goes second (max(x, −87) would turn a NaN score into e^−87 and hide it).
inline __m512 exp_negative_avx512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
  const __m512 k = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i exponent = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(exponent));
}

}  // namespace
}  // namespace kernel
