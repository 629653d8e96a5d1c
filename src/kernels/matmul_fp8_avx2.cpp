// AVX2 + F16C instantiation of the FP8 matmul: decode (M <= 3) places 8 sign-extended codes'
// bits in fp32 ((b << 20) & 0x87f00000); prefill widening: 8 e4m3 codes -> 8 int16 (sign-
// extended) -> half bits ((b << 7) & 0xbf80) -> vcvtph2ps; tails copy the last codes into a zeroed 8-byte
// word and x through Vec256's zeroed copy (no reads past the end of a row).
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#include "kernels/fp8_kernels_impl.h"
#include "kernels/simd_avx2.h"

namespace dsv3::kernels::detail {
namespace {

// Generic register ops (load/store/fma/hsum) from Vec256; only the FP8 decoders here.
struct V256 : Vec256 {
  static constexpr int MR = 3, NR = 2;  // 6 block + 6 total accumulators, 2 weights, x
  static constexpr int NR1 = 4;

  static R half_bits(__m128i b) {
    const __m128i h = _mm_slli_epi16(_mm_cvtepi8_epi16(b), 7);
    return _mm256_cvtph_ps(_mm_and_si128(h, _mm_set1_epi16(short(0xbf80))));
  }
  static R decode(const uint8_t* p) {
    return half_bits(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static R decode_n(const uint8_t* p, int n) {
    unsigned long long u = 0;
    __builtin_memcpy(&u, p, size_t(n));
    return half_bits(_mm_cvtsi64_si128(static_cast<long long>(u)));
  }
  // w * 2^-120 by placing the code's bits in an fp32 (see matmul_fp8_avx512.cpp).
  static constexpr int kRawExp = 112;
  static R raw_bits(__m128i b) {
    const __m256i v = _mm256_slli_epi32(_mm256_cvtepi8_epi32(b), 20);
    return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0x87f00000u))));
  }
  static R decode_raw(const uint8_t* p) {
    return raw_bits(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static R decode_raw_n(const uint8_t* p, int n) {
    unsigned long long u = 0;
    __builtin_memcpy(&u, p, size_t(n));
    return raw_bits(_mm_cvtsi64_si128(static_cast<long long>(u)));
  }
};

}  // namespace

const Fp8Table& fp8_table_avx2() {
  static const Fp8Table t{&fp8_rows<V256>, V256::kRawExp};
  return t;
}

}  // namespace dsv3::kernels::detail
