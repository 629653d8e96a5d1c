// AVX-512 (F, BW, VL) instantiation of the FP8 matmul. Decode (M <= 3): 16 e4m3 codes -> 16
// int32 (sign-extended) -> fp32 bits ((b << 20) & 0x87f00000 = w * 2^-120), no conversion.
// Prefill widening: 16 codes -> 16 int16 -> half bits ((b << 7) & 0xbf80) -> vcvtph2ps. Tails by
// masked loads (no reads past the end of a row). FMAs are explicit; contraction is off so the code is what is written.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/fp8_kernels_impl.h"
#include "kernels/simd_avx512.h"

namespace dsv3::kernels::detail {
namespace {

// Generic register ops (load/store/fma/hsum, masks) from Vec512; only the FP8 decoders here.
struct V512 : Vec512 {
  static constexpr int MR = 4, NR = 2;  // 8 block + 8 total accumulators, 2 weights, x
  // M = 1: 8 + 8 accumulators, 8 weight streams. 8 rather than 4: the row chains (8 FMAs
  // per 128-code block) bound the rate, not the streams; DRAM matvec 2048 wide, 1 thread,
  // per CPU-second: 4 rows 31-32 GB/s, 8 rows 34-38, plain read 34-36 (2026-11-22).
  static constexpr int NR1 = 8;

  static R half_bits(__m128i b) {
    const __m256i h = _mm256_slli_epi16(_mm256_cvtepi8_epi16(b), 7);
    return _mm512_cvtph_ps(_mm256_and_si256(h, _mm256_set1_epi16(short(0xbf80))));
  }
  static R decode(const uint8_t* p) {
    return half_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static R decode_n(const uint8_t* p, int n) { return half_bits(_mm_maskz_loadu_epi8(mask(n), p)); }
  // w * 2^-120: sign-extended code << 20 puts the sign at bit 31 and the 7 magnitude bits at
  // 26..20 (exponent 26..23, mantissa 22..20); the mask clears the sign copies in 30..27.
  // Exact for every code (subnormal e4m3 become fp32 denormals).
  static constexpr int kRawExp = 112;
  static R raw_bits(__m128i b) {
    const __m512i v = _mm512_slli_epi32(_mm512_cvtepi8_epi32(b), 20);
    return _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(int(0x87f00000u))));
  }
  static R decode_raw(const uint8_t* p) {
    return raw_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static R decode_raw_n(const uint8_t* p, int n) {
    return raw_bits(_mm_maskz_loadu_epi8(mask(n), p));
  }
};

}  // namespace

const Fp8Table& fp8_table_avx512() {
  static const Fp8Table t{&fp8_rows<V512>, V512::kRawExp};
  return t;
}

}  // namespace dsv3::kernels::detail
