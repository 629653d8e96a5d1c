// F16C widening of f16 KV cache rows to fp32 (kv_convert.h), for AVX2 and AVX-512 CPUs.
#include <immintrin.h>

#include "runtime/kv_convert.h"

namespace dsv3::detail {

void f16_to_f32_avx2(const void* src_v, size_t n, float* dst) {
  const auto* src = static_cast<const uint16_t*>(src_v);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
  }
  for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
}

}  // namespace dsv3::detail
