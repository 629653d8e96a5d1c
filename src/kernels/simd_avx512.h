// AVX-512 (F, BW, VL, DQ) fp32 "register" ops shared by the AVX-512 instantiations of the
// kernel templates (kernels_avx512.cpp, mla_attn_avx512.cpp): 16 lanes, bf16 widened by a
// 16-bit shift, f16 by vcvtph2ps, tails by masked loads/stores (no reads past the end),
// fixed-tree horizontal reductions and one exp. Each kernel file derives its own struct from
// Vec512 adding only its tile sizes. Include only from *_avx512.cpp files, after their
// `#pragma GCC optimize("fp-contract=off")`: every FMA here is explicit.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/exp_ggml.h"

namespace dsv3::kernels::detail {

struct Vec512 {
  using R = __m512;
  static constexpr int L = 16;

  static __mmask16 mask(int n) { return __mmask16((1u << n) - 1u); }
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float a) { return _mm512_set1_ps(a); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static R load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static R widen_bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static R load_bf16(const uint16_t* p) {
    return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static R load_bf16_n(const uint16_t* p, int n) {
    return widen_bf16(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  static R load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static R load_f16_n(const uint16_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, R v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  // Fixed tree: 512 -> 256 -> 128 -> 64 -> 32 bits.
  static float hsum(R v) {
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_shuffle_ps(b, b, 1));
    return _mm_cvtss_f32(b);
  }
  static float hmax(R v) {
    __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_max_ps(b, _mm_movehl_ps(b, b));
    b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
    return _mm_cvtss_f32(b);
  }
  // exp(x): Cephes expf polynomial on r = x - n ln2, |r| <= ln2/2, then 2^n applied as two
  // halves so results down to the subnormal range are right. About 1-2 ulp (tests check).
  static R exp(R x) {
    x = _mm512_min_ps(_mm512_max_ps(x, set1(-105.0f)), set1(89.0f));
    const R n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm512_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    R p = set1(1.9875691500e-4f);
    p = fma(p, r, set1(1.3981999507e-3f));
    p = fma(p, r, set1(8.3334519073e-3f));
    p = fma(p, r, set1(4.1665795894e-2f));
    p = fma(p, r, set1(1.6666665459e-1f));
    p = fma(p, r, set1(5.0000001201e-1f));
    p = fma(p, mul(r, r), add(r, set1(1.0f)));
    const __m512i ni = _mm512_cvtps_epi32(n);
    const __m512i n1 = _mm512_srai_epi32(ni, 1);
    const __m512i n2 = _mm512_sub_epi32(ni, n1);
    const __m512i bias = _mm512_set1_epi32(127);
    const R s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
    const R s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
    return mul(mul(p, s1), s2);
  }
  // ggml's vector expf (kernels/exp_ggml.h, same operations; 2^n by scalef, one rounding).
  static R exp_ggml(R x) {
    using C = ExpGgmlConst;
    const R z = _mm512_fmadd_ps(x, set1(C::kLog2e), set1(C::kShift));
    const R n = _mm512_sub_ps(z, set1(C::kShift));
    const R b = _mm512_fnmadd_ps(n, set1(C::kLn2Lo), _mm512_fnmadd_ps(n, set1(C::kLn2Hi), x));
    const R u = _mm512_mul_ps(b, b);
    const R j = fma(fma(fma(set1(C::kC4), b, set1(C::kC3)), u, fma(set1(C::kC2), b, set1(C::kC1))), u,
                    fma(set1(C::kC0), b, set1(1.0f)));
    const R res = _mm512_scalef_ps(j, n);
    const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), set1(C::kOutOfRange), _CMP_GT_OQ);
    if (!big) return res;
    const R alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, zero(), _CMP_LE_OQ), set1(INFINITY), zero());
    return _mm512_mask_blend_ps(big, res, alt);
  }
};

}  // namespace dsv3::kernels::detail
