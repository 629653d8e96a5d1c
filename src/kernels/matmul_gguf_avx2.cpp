// AVX2 instantiation of the ggml block-type matmul (gguf_kernels_impl.h): u8 x s8 dots with
// vpmaddubsw + vpmaddwd (codes <= 63, so the int16 pair sums cannot saturate; Q8_0's codes up
// to 255 are widened to int16 first), per-block sums by an hadd tree, 16 fp32 lanes in two
// registers. FMAs are explicit; contraction is off so the code is what is written.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#include <cstring>

#include "kernels/gguf_f16c_ops.h"
#include "kernels/gguf_kernels_impl.h"

namespace dsv3::kernels::detail {
namespace {

struct VAvx2 : GgufCodesGeneric<VAvx2>, GgufF16cOps {
  static constexpr bool kPacked16 = false;
  static void packed16(const uint8_t*, const float*, const float*, bool, int, int, const Q8Acts&,
                       int64_t, int64_t, float*) {}
  // 8 int32 lanes whose total is the dot of 32 codes with 32 activations; each 128-bit half
  // holds the total of its 16 values.
  static __m256i dot32(const uint8_t* c, const int8_t* x, bool wide) {
    if (!wide) {
      const __m256i p = _mm256_maddubs_epi16(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
      return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
    }
    // wide (G = 32 only): the split into halves does not matter, only the total.
    const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
    const __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + 16)));
    const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
    const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16)));
    return _mm256_add_epi32(_mm256_madd_epi16(c0, x0), _mm256_madd_epi16(c1, x1));
  }
  // 4 dot32 results -> per 128-bit half h: [a0 half h, a1 half h, a2 half h, a3 half h] totals.
  static __m256i tree4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    return _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  }
  static int32_t hsum(__m256i a) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
  }

  static void dots(const uint8_t* c, const int8_t* x, int64_t K, int G, bool wide, int32_t* out) {
    int64_t k = 0;
    for (; k + 256 <= K; k += 256) {
      __m256i a[8];
      for (int i = 0; i < 8; ++i) a[i] = dot32(c + k + 32 * i, x + k + 32 * i, wide);
      const __m256i lo = tree4(a[0], a[1], a[2], a[3]), hi = tree4(a[4], a[5], a[6], a[7]);
      if (G == 32) {
        const __m256i s = _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20),
                                           _mm256_permute2x128_si256(lo, hi, 0x31));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k / 32), s);
      } else {  // 16-value halves in order: [a0h0, a0h1, a1h0, a1h1, ...]
        const __m256i idx = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k / 16),
                            _mm256_permutevar8x32_epi32(lo, idx));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k / 16 + 8),
                            _mm256_permutevar8x32_epi32(hi, idx));
      }
    }
    for (; k < K; k += 32) {  // G = 32 types only (K-quant rows are whole 256-blocks)
      out[k / 32] = hsum(dot32(c + k, x + k, wide));
    }
  }

  static __m256i lane_mask(int64_t n) {  // first n (0..8) lanes set
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), i);
  }
  // One group of 8 blocks into acc (masked loads give zeros past nb: fma(0, 0, acc) = acc,
  // since a lane that starts at +0 can never become -0).
  static __m256 group(__m256 acc, const int32_t* raw, const int32_t* S, int shift,
                      const float* ws, const float* wm, const float* sx, const float* dx,
                      int64_t n) {
    const __m256i m = lane_mask(n);
    __m256i I = _mm256_maskload_epi32(raw, m);
    const __m256i s = _mm256_maskload_epi32(S, m);
    if (shift) I = _mm256_sub_epi32(I, _mm256_sll_epi32(s, _mm_cvtsi32_si128(shift)));
    const __m256 d = _mm256_maskload_ps(dx, m);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_maskload_ps(ws, m), d), _mm256_cvtepi32_ps(I), acc);
    if (sx)
      acc = _mm256_fmadd_ps(_mm256_maskload_ps(wm, m), _mm256_maskload_ps(sx, m), acc);
    else if (wm)
      acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_maskload_ps(wm, m), d), _mm256_cvtepi32_ps(s), acc);
    return acc;
  }
  static float accumulate(const int32_t* raw, const int32_t* S, int shift, const float* ws,
                          const float* wm, const float* sx, const float* dx, int64_t nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b += 16) {
      const int64_t n = nb - b;
      acc0 = group(acc0, raw + b, S + b, shift, ws + b, wm ? wm + b : nullptr,
                   sx ? sx + b : nullptr, dx + b, n < 8 ? n : 8);
      if (n > 8)
        acc1 = group(acc1, raw + b + 8, S + b + 8, shift, ws + b + 8, wm ? wm + b + 8 : nullptr,
                     sx ? sx + b + 8 : nullptr, dx + b + 8, n - 8 < 8 ? n - 8 : 8);
    }
    return reduce16(acc0, acc1);
  }
  // tree16 of gguf_quants.h: acc0 holds lanes 0..7, acc1 lanes 8..15.
  static float reduce16(__m256 acc0, __m256 acc1) {
    const __m256 a = _mm256_add_ps(acc0, acc1);  // lanes i + (i + 8)
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }

  // M = 1 with a Q8_0 / Q4_0 / Q4_1 weight (decode): each block's codes go from the weight
  // bytes straight into the dots (no scratch row, no separate accumulate pass), 8 blocks at a
  // time: 8 dot registers -> the 8 block integers by the hadd tree of dots(), then the fp32
  // formula on those 8 lanes. Same integers, same multipliers, same lanes (b % 16) and tree
  // as accumulate(), so the same result.
  static constexpr bool kFusedM1 = true;
  static constexpr bool kFused2 = false;
  static bool fused2_ok(DType) { return false; }
  static void fused_row2(DType, const uint8_t*, const uint8_t*, int64_t, const Q8Row&, float*) {}
  static bool fused_ok(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1; }
  // Signed integer dot of one block (Q8_0: int8 weights by |w| x sign(x, w), pair sums
  // <= 2 * 128 * 127, no saturation) or raw code dot (Q4_x: nibbles), 8 int32 lanes.
  static __m256i block_dot(DType t, const uint8_t* b, const int8_t* x) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    if (t == DType::Q8_0) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
      return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w)),
                               _mm256_set1_epi16(1));
    }
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + (t == DType::Q4_1 ? 4 : 2)));
    const __m128i m4 = _mm_set1_epi8(15);
    const __m256i c = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(c, xv), _mm256_set1_epi16(1));
  }
  // One group of n <= 8 blocks from block b0 into the 8-lane accumulator A.
  template <DType T>
  __attribute__((always_inline)) static inline __m256 group_q0(const uint8_t* p, const Q8Row& xr,
                                                               int64_t b0, int64_t n, __m256 A) {
    constexpr size_t bb = T == DType::Q8_0 ? 34 : T == DType::Q4_0 ? 18 : 20;
    constexpr bool q41 = T == DType::Q4_1, q40 = T == DType::Q4_0;
    __m256i a[8];
    for (int i = 0; i < 8; ++i)
      a[i] = i < n ? block_dot(T, p + size_t(b0 + i) * bb, xr.q + 32 * (b0 + i)) : _mm256_setzero_si256();
    // first 4 bytes of each block (f16 d, Q4_1's f16 m), 0 past the row; built with inserts from
    // the weight bytes (a stack array read back as a vector stalls on store forwarding)
    auto ld = [&](int i) {
      int32_t v = 0;
      if (i < n) std::memcpy(&v, p + size_t(b0 + i) * bb, 4);
      return v;
    };
    __m128i g0 = _mm_cvtsi32_si128(ld(0)), g1 = _mm_cvtsi32_si128(ld(4));
    g0 = _mm_insert_epi32(g0, ld(1), 1);
    g1 = _mm_insert_epi32(g1, ld(5), 1);
    g0 = _mm_insert_epi32(g0, ld(2), 2);
    g1 = _mm_insert_epi32(g1, ld(6), 2);
    g0 = _mm_insert_epi32(g0, ld(3), 3);
    g1 = _mm_insert_epi32(g1, ld(7), 3);
    const __m128i lo16 = _mm_set1_epi32(0xffff);
    const __m128i hd = _mm_packus_epi32(_mm_and_si128(g0, lo16), _mm_and_si128(g1, lo16));
    const __m256i lo = tree4(a[0], a[1], a[2], a[3]), hi = tree4(a[4], a[5], a[6], a[7]);
    __m256i I = _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20),
                                 _mm256_permute2x128_si256(lo, hi, 0x31));
    const __m256i m = lane_mask(n);
    if (q40) I = _mm256_sub_epi32(I, _mm256_slli_epi32(_mm256_maskload_epi32(xr.s32 + b0, m), 3));
    const __m256 d = _mm256_maskload_ps(xr.d32 + b0, m);
    const __m256 w = _mm256_cvtph_ps(hd);
    A = _mm256_fmadd_ps(_mm256_mul_ps(w, d), _mm256_cvtepi32_ps(I), A);
    if (q41) {
      const __m128i hm = _mm_packus_epi32(_mm_srli_epi32(g0, 16), _mm_srli_epi32(g1, 16));
      A = _mm256_fmadd_ps(_mm256_cvtph_ps(hm), _mm256_maskload_ps(xr.sx32 + b0, m), A);
    }
    return A;
  }
  template <DType T>
  static float fused_q0(const uint8_t* p, int64_t K, const Q8Row& xr) {
    const int64_t nb = K / 32;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // lanes 0-7, 8-15
    int64_t b0 = 0;
    for (; b0 + 16 <= nb; b0 += 16) {
      acc0 = group_q0<T>(p, xr, b0, 8, acc0);
      acc1 = group_q0<T>(p, xr, b0 + 8, 8, acc1);
    }
    if (b0 < nb) {
      acc0 = group_q0<T>(p, xr, b0, nb - b0 < 8 ? nb - b0 : 8, acc0);
      if (nb - b0 > 8) acc1 = group_q0<T>(p, xr, b0 + 8, nb - b0 - 8, acc1);
    }
    return reduce16(acc0, acc1);
  }
  static float fused_row(DType wt, const uint8_t* p, int64_t K, const Q8Row& xr, float*, float*,
                         int32_t*) {
    if (wt == DType::Q8_0) return fused_q0<DType::Q8_0>(p, K, xr);
    if (wt == DType::Q4_0) return fused_q0<DType::Q4_0>(p, K, xr);
    return fused_q0<DType::Q4_1>(p, K, xr);
  }
};

}  // namespace

const GgufTable& gguf_table_avx2() {
  static const GgufTable t{&gguf_rows<VAvx2>};
  return t;
}

}  // namespace dsv3::kernels::detail
