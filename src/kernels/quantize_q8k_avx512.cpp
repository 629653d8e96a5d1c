// ggml's q8_K activation quantisation (gguf_quants.h) with AVX-512: per 256-block the first
// value of largest |x|, iscale = -127 / v, q = round_half_even(min(127, iscale * x)) clamped to
// [-127, 127], d = 1 / iscale, and the 16 sums of 16 codes. Bit-identical to the scalar loop in
// gguf_quants_ref.cpp (tests/gguf_quant_kernels_test.cpp), which is its reference twin.
#pragma GCC optimize("fp-contract=off")
#include <immintrin.h>

#include <cstdint>

#include "kernels/quantize_q8k.h"

namespace dsv3::kernels::detail {

void quantize_q8k_avx512(const float* x, int64_t nblocks, int8_t* q, float* d, int32_t* s16) {
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < nblocks; ++b) {
    const float* xb = x + b * 256;
    // max |x|: NaN lanes lose every comparison (max(v, acc) keeps acc), as in the scalar loop.
    __m512 m = _mm512_setzero_ps();
    for (int k = 0; k < 256; k += 16) m = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(xb + k), abs_mask), m);
    const float amax = _mm512_reduce_max_ps(m);
    float vmax = 0.0f;
    if (amax != 0.0f) {
      const __m512 am = _mm512_set1_ps(amax);
      for (int k = 0; k < 256; k += 16) {  // the first index with |x| == amax
        const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_and_ps(_mm512_loadu_ps(xb + k), abs_mask), am, _CMP_EQ_OQ);
        if (eq) {
          vmax = xb[k + __builtin_ctz(unsigned(eq))];
          break;
        }
      }
    }
    const float iscale = amax != 0.0f ? -127.0f / vmax : 0.0f;
    d[b] = amax != 0.0f ? 1.0f / iscale : 0.0f;
    const __m512 is = _mm512_set1_ps(iscale), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    for (int j = 0; j < 16; ++j) {
      __m512 v = _mm512_mul_ps(is, _mm512_loadu_ps(xb + 16 * j));
      v = _mm512_min_ps(v, hi);  // NaN -> 127 (min returns the second operand)
      v = _mm512_max_ps(v, lo);
      v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
      const __m512i qi = _mm512_cvttps_epi32(v);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 256 + 16 * j), _mm512_cvtepi32_epi8(qi));
      s16[b * 16 + j] = _mm512_reduce_add_epi32(qi);
    }
  }
}

}  // namespace dsv3::kernels::detail
