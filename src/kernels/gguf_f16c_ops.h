// Scale helpers of the ggml block-type kernels written once for the x86 paths (AVX2 + F16C
// instructions, which the AVX-512 builds also have): an fp16 scale to fp32, and 8 or 16 small
// integer codes times a scale into fp32. matmul_gguf_avx2.cpp and matmul_gguf_avx512.cpp
// derive their register structs from GgufF16cOps. Include only from those ISA-flagged files.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace dsv3::kernels::detail {

struct GgufF16cOps {
  static float half(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);  // F16C: exact, subnormals included
  }
  // out[i] = mul * byte i of b8 (unsigned), negated when `neg`.
  static void scale8(uint64_t b8, float mul, bool neg, float* out) {
    __m256 v = _mm256_mul_ps(_mm256_set1_ps(mul),
                             _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(b8)))));
    if (neg) v = _mm256_xor_ps(v, _mm256_set1_ps(-0.0f));
    _mm256_storeu_ps(out, v);
  }
  // out[i] = mul * p[i] for 16 signed bytes.
  static void scale16_i8(const int8_t* p, float mul, float* out) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256 m = _mm256_set1_ps(mul);
    _mm256_storeu_ps(out, _mm256_mul_ps(m, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b))));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(m, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)))));
  }
};

}  // namespace dsv3::kernels::detail
