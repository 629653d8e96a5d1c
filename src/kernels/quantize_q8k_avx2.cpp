// ggml's q8_K activation quantisation (gguf_quants.h) with AVX2; same operations and bits as
// quantize_q8k_avx512.cpp and the scalar reference loop in gguf_quants_ref.cpp.
#pragma GCC optimize("fp-contract=off")
#include <immintrin.h>

#include <cstdint>

#include "kernels/quantize_q8k.h"

namespace dsv3::kernels::detail {

void quantize_q8k_avx2(const float* x, int64_t nblocks, int8_t* q, float* d, int32_t* s16) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < nblocks; ++b) {
    const float* xb = x + b * 256;
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 256; k += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + k), abs_mask), m);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float amax = _mm_cvtss_f32(h);
    float vmax = 0.0f;
    if (amax != 0.0f) {
      const __m256 am = _mm256_set1_ps(amax);
      for (int k = 0; k < 256; k += 8) {
        const int eq = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(xb + k), abs_mask), am, _CMP_EQ_OQ));
        if (eq) {
          vmax = xb[k + __builtin_ctz(unsigned(eq))];
          break;
        }
      }
    }
    const float iscale = amax != 0.0f ? -127.0f / vmax : 0.0f;
    d[b] = amax != 0.0f ? 1.0f / iscale : 0.0f;
    const __m256 is = _mm256_set1_ps(iscale), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    for (int j = 0; j < 8; ++j) {  // 32 values: four vectors of 8
      __m256i qi[4];
      for (int r = 0; r < 4; ++r) {
        __m256 v = _mm256_mul_ps(is, _mm256_loadu_ps(xb + 32 * j + 8 * r));
        v = _mm256_min_ps(v, hi);  // NaN -> 127
        v = _mm256_max_ps(v, lo);
        v = _mm256_sub_ps(_mm256_add_ps(v, magic), magic);
        qi[r] = _mm256_cvttps_epi32(v);
      }
      const __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]), p16b = _mm256_packs_epi32(qi[2], qi[3]);
      const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 256 + 32 * j), p8);
      for (int half = 0; half < 2; ++half) {
        const __m256i s = _mm256_add_epi32(qi[2 * half], qi[2 * half + 1]);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
        s16[b * 16 + 2 * j + half] = _mm_cvtsi128_si32(t);
      }
    }
  }
}

}  // namespace dsv3::kernels::detail
