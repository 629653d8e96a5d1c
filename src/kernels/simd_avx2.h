// AVX2 + FMA + F16C fp32 "register" ops shared by the AVX2 instantiations of the kernel
// templates (kernels_avx2.cpp, mla_attn_avx2.cpp): 8 lanes, tails through zero-padded stack
// copies (nothing read past the end), fixed-tree horizontal reductions and the same exp as
// simd_avx512.h. Each kernel file derives its own struct from Vec256 adding only its tile
// sizes. Include only from *_avx2.cpp files, after `#pragma GCC optimize("fp-contract=off")`.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/exp_ggml.h"

namespace dsv3::kernels::detail {

struct Vec256 {
  using R = __m256;
  static constexpr int L = 8;

  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float a) { return _mm256_set1_ps(a); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static R load_n(const float* p, int n) {
    alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return _mm256_load_ps(t);
  }
  static R widen_bf16(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static R load_bf16(const uint16_t* p) {
    return widen_bf16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static R load_bf16_n(const uint16_t* p, int n) {
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return load_bf16(t);
  }
  static R load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static R load_f16_n(const uint16_t* p, int n) {
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return load_f16(t);
  }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, R v, int n) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(R v) {
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_shuffle_ps(b, b, 1));
    return _mm_cvtss_f32(b);
  }
  static float hmax(R v) {
    __m128 b = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    b = _mm_max_ps(b, _mm_movehl_ps(b, b));
    b = _mm_max_ss(b, _mm_shuffle_ps(b, b, 1));
    return _mm_cvtss_f32(b);
  }
  // Same algorithm and constants as the AVX-512 exp (simd_avx512.h).
  static R exp(R x) {
    x = _mm256_min_ps(_mm256_max_ps(x, set1(-105.0f)), set1(89.0f));
    const R n = _mm256_round_ps(_mm256_mul_ps(x, set1(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm256_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    R p = set1(1.9875691500e-4f);
    p = fma(p, r, set1(1.3981999507e-3f));
    p = fma(p, r, set1(8.3334519073e-3f));
    p = fma(p, r, set1(4.1665795894e-2f));
    p = fma(p, r, set1(1.6666665459e-1f));
    p = fma(p, r, set1(5.0000001201e-1f));
    p = fma(p, mul(r, r), add(r, set1(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const R s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const R s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return mul(mul(p, s1), s2);
  }
  // ggml's vector expf (kernels/exp_ggml.h, same operations): 2^n applied as two exact halves,
  // so the one rounding matches AVX-512's scalef; |n| > 192 gives inf / 0.
  static R exp_ggml(R x) {
    using C = ExpGgmlConst;
    const R z = fma(x, set1(C::kLog2e), set1(C::kShift));
    const R n = sub(z, set1(C::kShift));
    const R b = _mm256_fnmadd_ps(n, set1(C::kLn2Lo), _mm256_fnmadd_ps(n, set1(C::kLn2Hi), x));
    const R u = mul(b, b);
    const R j = fma(fma(fma(set1(C::kC4), b, set1(C::kC3)), u, fma(set1(C::kC2), b, set1(C::kC1))), u,
                    fma(set1(C::kC0), b, set1(1.0f)));
    const R an = _mm256_andnot_ps(set1(-0.0f), n);
    const R big = _mm256_cmp_ps(an, set1(C::kOutOfRange), _CMP_GT_OQ);
    const R nc = _mm256_min_ps(_mm256_max_ps(n, set1(-C::kOutOfRange)), set1(C::kOutOfRange));
    const __m256i ni = _mm256_cvtps_epi32(nc);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const R s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const R s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    const R res = mul(mul(j, s1), s2);
    if (_mm256_testz_ps(big, big)) return res;
    const R alt = _mm256_blendv_ps(set1(INFINITY), zero(), _mm256_cmp_ps(n, zero(), _CMP_LE_OQ));
    return _mm256_blendv_ps(res, alt, big);
  }
};

}  // namespace dsv3::kernels::detail
