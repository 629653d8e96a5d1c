// AVX-512 widening of one F8_E4M3 row with block scales (fp8_row.h): 16 codes zero-extended to
// int32 indices, a gather from the 256-entry value table (exact values), one vmulps by the
// block's scale; scalar tail. No FMA anywhere, so the bits equal weight_row's scalar loop.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/fp8_row.h"

namespace dsv3::kernels {

void fp8_widen_row_avx512(const uint8_t* w, const float* srow, int64_t K, const float* table,
                          float* out) {
  for (int64_t k0 = 0; k0 < K; k0 += 128) {
    const float s = srow[k0 / 128];
    const __m512 vs = _mm512_set1_ps(s);
    const int64_t k1 = K < k0 + 128 ? K : k0 + 128;
    int64_t k = k0;
    for (; k + 16 <= k1; k += 16) {
      const __m512i idx =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + k)));
      _mm512_storeu_ps(out + k, _mm512_mul_ps(_mm512_i32gather_ps(idx, table, 4), vs));
    }
    for (; k < k1; ++k) out[k] = table[w[k]] * s;
  }
}

}  // namespace dsv3::kernels
