// AVX-512 instantiation of the ggml block-type matmul (gguf_kernels_impl.h): u8 x s8 dots with
// AVX512-VNNI vpdpbusd (int32 accumulation, no saturation, so Q8_0's codes up to 255 are fine),
// per-16 / per-32 block sums by an unpack tree, 16 fp32 lanes in one register. Used only when
// the CPU has AVX512-VNNI (gguf_avx512_usable); otherwise the AVX2 table runs.
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx512vnni")

#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstring>

#include "kernels/gguf_f16c_ops.h"
#include "kernels/gguf_kernels_impl.h"

namespace dsv3::kernels::detail {
namespace {

struct V512 : GgufF16cOps {
  static constexpr bool kPacked16 = true;
  // 16 activation rows (lanes) x one weight row. For each G-block b: I (per lane) = sum over
  // groups of 4 codes of vpdpbusd(broadcast 4 codes, 4 values of each row), exact; then the
  // formula of gguf_quants.h with accumulator register b % 16, and the 16-register tree.
  static void packed16(const uint8_t* c, const float* ws, const float* wm, bool q81, int G,
                       int shift, const Q8Acts& xa, int64_t mb, int64_t K, float* out) {
    if (G == 32)
      packed16_g<32>(c, ws, wm, q81, shift, xa, mb, K, out);
    else
      packed16_g<16>(c, ws, wm, q81, shift, xa, mb, K, out);
  }
  template <int G>
  static void packed16_g(const uint8_t* c, const float* ws, const float* wm, bool q81, int shift,
                         const Q8Acts& xa, int64_t mb, int64_t K, float* out) {
    const float* sxt = q81 ? xa.sx32t.data() + mb * (K / 32) * 16 : nullptr;
    const int8_t* xt = xa.qt.data() + mb * K * 16;
    const float* dxt = xa.d32t.data() + mb * (K / 32) * 16;
    const int32_t* St = (G == 32 ? xa.s32t.data() + mb * (K / 32) * 16
                                 : xa.s16t.data() + mb * (K / 16) * 16);
    const __m128i sh = _mm_cvtsi32_si128(shift);
    const int64_t nb = K / G;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) {
        const int64_t b = b0 + j;
        if (b < nb) {
          const uint8_t* cb = c + b * G;
          const int8_t* xb = xt + b * G * 16;  // (b * G / 4) groups of 64 bytes
          __m512i I0 = _mm512_setzero_si512(), I1 = _mm512_setzero_si512();  // two chains
#pragma GCC unroll 8
          for (int q = 0; q < G / 4; q += 2) {
            int32_t w0, w1;
            std::memcpy(&w0, cb + 4 * q, 4);
            std::memcpy(&w1, cb + 4 * q + 4, 4);
            I0 = _mm512_dpbusd_epi32(I0, _mm512_set1_epi32(w0), _mm512_loadu_si512(xb + 64 * q));
            I1 = _mm512_dpbusd_epi32(I1, _mm512_set1_epi32(w1), _mm512_loadu_si512(xb + 64 * q + 64));
          }
          __m512i I = _mm512_add_epi32(I0, I1);  // exact
          const __m512i S = _mm512_loadu_si512(St + b * 16);
          if (shift) I = _mm512_sub_epi32(I, _mm512_sll_epi32(S, sh));
          const __m512 dx = _mm512_loadu_ps(dxt + (b * G / 32) * 16);
          acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(ws[b]), dx),
                                   _mm512_cvtepi32_ps(I), acc[j]);
          if (sxt)
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(wm[b]), _mm512_loadu_ps(sxt + b * 16), acc[j]);
          else if (wm)
            acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(wm[b]), dx),
                                     _mm512_cvtepi32_ps(S), acc[j]);
        }
      }
    }
    __m512 s8[8], s4[4];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) s8[i] = _mm512_add_ps(acc[i], acc[i + 8]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) s4[i] = _mm512_add_ps(s8[i], s8[i + 4]);
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(s4[0], s4[2]), _mm512_add_ps(s4[1], s4[3])));
  }
  // K-quant codes, 256 per super-block (layouts in gguf_quants.h), as four 64-code registers in
  // value order. Bits are moved with 16-bit shifts; the masks keep only bits that came from the
  // same byte.
  static __m512i q4k_chunk(const uint8_t* qs, int ch) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * ch));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                              _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
  }
  static void q5k_chunks(const uint8_t* qh, const uint8_t* qs, __m512i* z) {
    const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(16);
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
    // bit j of every qh byte moved to bit 4
    const __m256i hb[8] = {_mm256_slli_epi16(h, 4), _mm256_slli_epi16(h, 3), _mm256_slli_epi16(h, 2),
                           _mm256_slli_epi16(h, 1), h,                       _mm256_srli_epi16(h, 1),
                           _mm256_srli_epi16(h, 2), _mm256_srli_epi16(h, 3)};
    for (int ch = 0; ch < 4; ++ch) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * ch));
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_and_si256(hb[2 * ch], b4));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                         _mm256_and_si256(hb[2 * ch + 1], b4));
      z[ch] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
  }
  static void q6k_chunks(const uint8_t* p, __m512i* z) {
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    // per 256-bit half: values 0..31 take qh bits 0-1 (<< 4), values 32..63 bits 2-3 (<< 2);
    // values 64..95 bits 4-5 (as is), 96..127 bits 6-7 (>> 2).
    const __m512i cl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i cr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    for (int hf = 0; hf < 2; ++hf) {
      const __m512i ql = _mm512_loadu_si512(p + 64 * hf);
      const __m512i qh = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * hf)));
      z[2 * hf] = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                  _mm512_and_si512(_mm512_sllv_epi16(qh, cl), m30));
      z[2 * hf + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                      _mm512_and_si512(_mm512_srlv_epi16(qh, cr), m30));
    }
  }
  static void codes_q4k(const uint8_t* qs, uint8_t* c) {
    for (int ch = 0; ch < 4; ++ch) _mm512_storeu_si512(c + 64 * ch, q4k_chunk(qs, ch));
  }
  static void codes_q5k(const uint8_t* qh, const uint8_t* qs, uint8_t* c) {
    __m512i z[4];
    q5k_chunks(qh, qs, z);
    for (int ch = 0; ch < 4; ++ch) _mm512_storeu_si512(c + 64 * ch, z[ch]);
  }
  static void codes_q6k(const uint8_t* p, uint8_t* c) {
    __m512i z[4];
    q6k_chunks(p, z);
    for (int ch = 0; ch < 4; ++ch) _mm512_storeu_si512(c + 64 * ch, z[ch]);
  }

  // M = 1: the codes of each super-block go straight from registers into
  // the dots (no scratch row); the per-block integers, multipliers and accumulate() are those
  // of the generic path, so the result is the same.
  static constexpr bool kFusedM1 = true;
  static bool fused_ok(DType t) {  // every block type
    return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q4_K ||
           t == DType::Q5_K || t == DType::Q6_K;
  }
  // Q8_0 / Q4_0 / Q4_1, M = 1: 8 blocks (256 values) at a time as four 64-code registers
  // (two blocks each, value order) -> vpdpbusd -> tree -> the 8 block integers (raw code dots;
  // Q8_0 codes q + 128, Q4_0 nibbles: minus S << shift as in accumulate), then the fp32 formula
  // on those 8 lanes with lanes b % 16 and accumulate()'s tree. A last group of n < 8 blocks
  // takes 256-bit dots per block. Same integers and fp32 operations as the generic path.
  static __m512i q4_pair(const uint8_t* b0, const uint8_t* b1) {
    const __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0)));
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                                         _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
    return _mm512_shuffle_i64x2(z, z, 0xd8);  // [lo0, lo1, hi0, hi1] -> [lo0, hi0, lo1, hi1]
  }
  static __m512i q8_pair(const uint8_t* b0, const uint8_t* b1) {
    const __m512i z = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1)), 1);
    return _mm512_xor_si512(z, _mm512_set1_epi8(char(0x80)));
  }
  // One group of n <= 8 blocks starting at block b0 into the 8-lane accumulator A.
  template <DType T>
  __attribute__((always_inline)) static inline __m256 group_q0(const uint8_t* p, const Q8Row& xr,
                                                               int64_t b0, int64_t n, __m256 A) {
    constexpr bool q8 = T == DType::Q8_0, q41 = T == DType::Q4_1;
    constexpr size_t bb = q8 ? 34 : q41 ? 20 : 18, off = q41 ? 4 : 2;
    constexpr int shift = q8 ? 7 : q41 ? 0 : 3;
    const uint8_t* b = p + size_t(b0) * bb;
    const int8_t* x = xr.q + 32 * b0;
    // blocks i >= n (last group of a row): masked loads (no access past the row), codes and
    // activations 0, so their integers are 0 and their lanes get fma(0, 0, acc) = acc.
    const __mmask8 m = __mmask8((1u << n) - 1u);
    const __m512i even = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(4, 12, 5, 13, 6, 14, 7, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512i z[4], xv[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const uint8_t* c0 = b + (2 * c) * bb + off;
      const uint8_t* c1 = c0 + bb;
      if (n == 8) {
        z[c] = q8 ? q8_pair(c0, c1) : q4_pair(c0, c1);
        xv[c] = _mm512_loadu_si512(x + 64 * c);
      } else if (2 * c >= n) {  // no block of this pair in the row
        z[c] = xv[c] = _mm512_setzero_si512();
      } else {
        const bool v0 = true, v1 = 2 * c + 1 < n;
        if (q8) {
          const __m512i w = _mm512_inserti64x4(
              _mm512_castsi256_si512(_mm256_maskz_loadu_epi8(v0 ? ~0u : 0u, c0)),
              _mm256_maskz_loadu_epi8(v1 ? ~0u : 0u, c1), 1);
          z[c] = _mm512_xor_si512(w, _mm512_set1_epi8(char(0x80)));
        } else {
          const __m256i q = _mm256_set_m128i(_mm_maskz_loadu_epi8(v1 ? 0xffff : 0, c1),
                                             _mm_maskz_loadu_epi8(v0 ? 0xffff : 0, c0));
          const __m256i m4 = _mm256_set1_epi8(15);
          const __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                                               _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
          z[c] = _mm512_shuffle_i64x2(t, t, 0xd8);
        }
        const __mmask64 xm = (v0 ? 0xffffffffull : 0ull) | (v1 ? 0xffffffff00000000ull : 0ull);
        xv[c] = _mm512_maskz_loadu_epi8(xm, x + 64 * c);
      }
    }
    const __m512i u = tree(_mm512_dpbusd_epi32(_mm512_setzero_si512(), z[0], xv[0]),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), z[1], xv[1]),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), z[2], xv[2]),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), z[3], xv[3]));
    __m256i I = _mm512_castsi512_si256(_mm512_add_epi32(_mm512_permutexvar_epi32(even, u),
                                                        _mm512_permutexvar_epi32(odd, u)));
    // the 8 f16 scales (and Q4_1 mins): the first 4 bytes of each block (0 past the row)
    // (built with inserts from the weight bytes: a stack array read back as a vector stalls on
    // store forwarding)
    auto ld = [&](int i) {
      int32_t v = 0;
      if (i < n) std::memcpy(&v, b + size_t(i) * bb, 4);
      return v;
    };
    __m128i g0 = _mm_cvtsi32_si128(ld(0)), g1 = _mm_cvtsi32_si128(ld(4));
    g0 = _mm_insert_epi32(g0, ld(1), 1);
    g1 = _mm_insert_epi32(g1, ld(5), 1);
    g0 = _mm_insert_epi32(g0, ld(2), 2);
    g1 = _mm_insert_epi32(g1, ld(6), 2);
    g0 = _mm_insert_epi32(g0, ld(3), 3);
    g1 = _mm_insert_epi32(g1, ld(7), 3);
    const __m256i g = _mm256_set_m128i(g1, g0);
    const __m128i hd = _mm256_cvtepi32_epi16(_mm256_and_si256(g, _mm256_set1_epi32(0xffff)));
    const __m128i hm = q41 ? _mm256_cvtepi32_epi16(_mm256_srli_epi32(g, 16)) : _mm_setzero_si128();
    if (shift)
      I = _mm256_sub_epi32(I, _mm256_slli_epi32(_mm256_maskz_loadu_epi32(m, xr.s32 + b0), shift));
    const __m256 d = _mm256_maskz_loadu_ps(m, xr.d32 + b0);
    A = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtph_ps(hd), d), _mm256_cvtepi32_ps(I), A);
    if (q41) A = _mm256_fmadd_ps(_mm256_cvtph_ps(hm), _mm256_maskz_loadu_ps(m, xr.sx32 + b0), A);
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
    const __m256 a = _mm256_add_ps(acc0, acc1);  // accumulate()'s tree
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }
  // Two rows at once (independent chains interleaved, activation loads shared): each row's
  // operations are exactly fused_q0's.
  template <DType T>
  static void fused_q0_2(const uint8_t* p0, const uint8_t* p1, int64_t K, const Q8Row& xr, float* y) {
    const int64_t nb = K / 32;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
    int64_t b0 = 0;
    for (; b0 + 16 <= nb; b0 += 16) {
      a0 = group_q0<T>(p0, xr, b0, 8, a0);
      a1 = group_q0<T>(p0, xr, b0 + 8, 8, a1);
      c0 = group_q0<T>(p1, xr, b0, 8, c0);
      c1 = group_q0<T>(p1, xr, b0 + 8, 8, c1);
    }
    if (b0 < nb) {
      const int64_t n = nb - b0 < 8 ? nb - b0 : 8;
      a0 = group_q0<T>(p0, xr, b0, n, a0);
      c0 = group_q0<T>(p1, xr, b0, n, c0);
      if (nb - b0 > 8) {
        a1 = group_q0<T>(p0, xr, b0 + 8, nb - b0 - 8, a1);
        c1 = group_q0<T>(p1, xr, b0 + 8, nb - b0 - 8, c1);
      }
    }
    y[0] = reduce8x2(a0, a1);
    y[1] = reduce8x2(c0, c1);
  }
  static float reduce8x2(__m256 acc0, __m256 acc1) {  // accumulate()'s tree
    const __m256 a = _mm256_add_ps(acc0, acc1);
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }
  // Off: on this Zen 5 host two rows at once are slower than one (SmolLM2-135M decode 175 vs
  // 208 tok/s; a DRAM-streamed [1408, 2048] matvec 2.5-3.5x slower, bench/gguf_quant_bench.cpp).
  static constexpr bool kFused2 = false;
  static bool fused2_ok(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1; }
  static void fused_row2(DType wt, const uint8_t* p0, const uint8_t* p1, int64_t K, const Q8Row& xr,
                         float* y) {
    if (wt == DType::Q8_0) return fused_q0_2<DType::Q8_0>(p0, p1, K, xr, y);
    if (wt == DType::Q4_0) return fused_q0_2<DType::Q4_0>(p0, p1, K, xr, y);
    return fused_q0_2<DType::Q4_1>(p0, p1, K, xr, y);
  }
  static float fused_row(DType wt, const uint8_t* p, int64_t K, const Q8Row& xr, float* ws,
                         float* wm, int32_t* raw) {
    if (wt == DType::Q8_0) return fused_q0<DType::Q8_0>(p, K, xr);
    if (wt == DType::Q4_0) return fused_q0<DType::Q4_0>(p, K, xr);
    if (wt == DType::Q4_1) return fused_q0<DType::Q4_1>(p, K, xr);
    const int64_t nsb = K / 256;
    const __m512i idx16 = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i even = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(4, 12, 5, 13, 6, 14, 7, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512i z[4];
    if (wt == DType::Q6_K) {
      for (int64_t i = 0; i < nsb; ++i) {
        const uint8_t* b = p + 210 * i;
        const int8_t* x = xr.q + 256 * i;
        scale16_i8(reinterpret_cast<const int8_t*>(b + 192), half(b + 208), ws + 16 * i);
        q6k_chunks(b, z);
        const __m512i u = tree(dpz(z[0], x), dpz(z[1], x + 64), dpz(z[2], x + 128), dpz(z[3], x + 192));
        _mm512_storeu_si512(raw + 16 * i, _mm512_permutexvar_epi32(idx16, u));
      }
      return accumulate(raw, xr.s16, 5, ws, nullptr, nullptr, xr.d16, K / 16);
    }
    const bool five = wt == DType::Q5_K;
    const int64_t bb = five ? 176 : 144;
    for (int64_t i = 0; i < nsb; ++i) {
      const uint8_t* b = p + bb * i;
      const int8_t* x = xr.q + 256 * i;
      GgufDecode<V512>::scales_k4(b + 4, half(b), half(b + 2), ws + 8 * i, wm + 8 * i);
      if (five) {
        q5k_chunks(b + 16, b + 48, z);
      } else {
        for (int ch = 0; ch < 4; ++ch) z[ch] = q4k_chunk(b + 16, ch);
      }
      const __m512i u = tree(dpz(z[0], x), dpz(z[1], x + 64), dpz(z[2], x + 128), dpz(z[3], x + 192));
      const __m512i s = _mm512_add_epi32(_mm512_permutexvar_epi32(even, u),
                                         _mm512_permutexvar_epi32(odd, u));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(raw + 8 * i), _mm512_castsi512_si256(s));
    }
    return accumulate(raw, xr.s32, 0, ws, wm, nullptr, xr.d32, K / 32);
  }
  static __m512i dpz(__m512i c, const int8_t* x) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), c, _mm512_loadu_si512(x));
  }
  static __m512i dp(const uint8_t* c, const int8_t* x) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(c),
                               _mm512_loadu_si512(x));
  }
  // a0..a3: lane sums of 4 bytes over 256 values -> lane 4c + t = total of the 16 values at
  // 64t + 16c (16-block 4t + c).
  static __m512i tree(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i t01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i t23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t01, t23), _mm512_unpackhi_epi64(t01, t23));
  }
  static void dots(const uint8_t* c, const int8_t* x, int64_t K, int G, bool, int32_t* out) {
    // 16-block j sits at lane 4 (j % 4) + j / 4.
    const __m512i idx16 = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i even = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(4, 12, 5, 13, 6, 14, 7, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    int64_t k = 0;
    for (; k + 256 <= K; k += 256) {
      const __m512i u = tree(dp(c + k, x + k), dp(c + k + 64, x + k + 64),
                             dp(c + k + 128, x + k + 128), dp(c + k + 192, x + k + 192));
      if (G == 16) {
        _mm512_storeu_si512(out + k / 16, _mm512_permutexvar_epi32(idx16, u));
      } else {  // 32-block b = 16-blocks 2b and 2b + 1
        const __m512i s = _mm512_add_epi32(_mm512_permutexvar_epi32(even, u),
                                           _mm512_permutexvar_epi32(odd, u));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k / 32), _mm512_castsi512_si256(s));
      }
    }
    for (; k < K; k += 32) {  // G = 32 types only (K-quant rows are whole 256-blocks)
      const __m256i a = _mm256_dpbusd_epi32(
          _mm256_setzero_si256(), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + k)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k)));
      __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
      out[k / 32] = _mm_cvtsi128_si32(s);
    }
  }
  static float accumulate(const int32_t* raw, const int32_t* S, int shift, const float* ws,
                          const float* wm, const float* sx, const float* dx, int64_t nb) {
    __m512 acc = _mm512_setzero_ps();
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (int64_t b = 0; b < nb; b += 16) {
      const int64_t n = nb - b;
      const __mmask16 m = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
      __m512i I = _mm512_maskz_loadu_epi32(m, raw + b);
      const __m512i s = _mm512_maskz_loadu_epi32(m, S + b);
      if (shift) I = _mm512_sub_epi32(I, _mm512_sll_epi32(s, sh));
      const __m512 d = _mm512_maskz_loadu_ps(m, dx + b);
      acc = _mm512_mask3_fmadd_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, ws + b), d),
                                  _mm512_cvtepi32_ps(I), acc, m);
      if (sx)
        acc = _mm512_mask3_fmadd_ps(_mm512_maskz_loadu_ps(m, wm + b), _mm512_maskz_loadu_ps(m, sx + b),
                                    acc, m);
      else if (wm)
        acc = _mm512_mask3_fmadd_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, wm + b), d),
                                    _mm512_cvtepi32_ps(s), acc, m);
    }
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }
};

}  // namespace

const GgufTable& gguf_table_avx512() {
  static const GgufTable t{&gguf_rows<V512>, 16};
  return t;
}

}  // namespace dsv3::kernels::detail
