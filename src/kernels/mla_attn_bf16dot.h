// AVX-512 BF16 score/weight/value policy of the absorbed MLA decode kernel
// (mla_partial_blocks in mla_attn_impl.h) for a bf16 latent cache: vdpbf16ps on the cache rows
// as stored, with the query and the softmax weights rounded to bf16 (the semantics stated at
// mla_round_bf16; same values as the FMA kernel, its own fixed summation order). Included
// only by mla_attn_avx512.cpp (compiled with -mavx512bf16).
//
// Scores: a tile of 4 heads x 4 rows keeps 16 accumulators of 16 lanes, 32 bf16 of the width
// per instruction (the query is copied zero-padded to a multiple of 32; row tails are masked
// loads), and the 16 accumulators are reduced together by a transposing add tree (45 shuffles
// and adds instead of 16 horizontal sums); one lane permute puts the 16 scores in
// (head, row) order. Rows outer, heads inner: the 4 rows stay in L1 while the whole query
// (H x W bf16) is re-read.
// Values: the weights of rows t and t+1 form one bf16 pair (broadcast as a dword) and
// vpunpck{l,h}wd interleave the same 32 columns of rows t and t+1 into pairs, so each
// vdpbf16ps adds two rows' contributions to 16 columns; the accumulators hold the columns in
// the unpack's lane order {0-3, 8-11, 16-19, 24-27} / {4-7, ...} for the whole partial and are
// permuted to the natural order once at its end (finish). An odd last row is paired with zeros.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/mla_attn.h"

namespace dsv3::kernels::detail {

struct MlaBf16DotKernel {
  using T = uint16_t;
  static constexpr int kHt = 4, kNt = 4;  // score tile (heads x rows)
  static constexpr int kHv = 4;           // heads per value tile (2 x 32 columns each)
  static constexpr int64_t kBlock = 128;  // rows per online-softmax block
  int64_t H, r, W, Wp, lp;
  float scale;
  uint16_t* qb;  // [H][Wp] rounded query, zero-padded
  uint16_t* pb;  // [H][lp] rounded weights of the current block, pb[h][n] = 0

  static __mmask32 mask32(int64_t n) {
    return n >= 32 ? __mmask32(0xffffffffu) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1u);
  }
  static __mmask16 mask16(int64_t n) {
    return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1u);
  }
  // Lane order of the accumulators <-> natural column order (see finish).
  static __m512i kLoIdx() {
    return _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  }
  static __m512i kHiIdx() {
    return _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  }
  static __m512i kNat0Idx() {
    return _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  }
  static __m512i kNat1Idx() {
    return _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  }
  static __m512 dp(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
  }
  // 32 floats -> 32 bf16 (RNE, denormals to zero), lanes [0, 16) from lo.
  static __m512i round32(__m512 lo, __m512 hi) {
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
  }

  // work: H * (W + 32) + H * (kMlaAttnBlock + 2) floats (mla_scratch_floats less the scores).
  MlaBf16DotKernel(const MlaAttnShape& s, const float* qcat, float* work)
      : H(s.H),
        r(s.r),
        W(s.r + s.dr),
        Wp((s.r + s.dr + 31) / 32 * 32),
        lp(kBlock + 2),
        scale(s.scale) {
    // 64-byte aligned (work has H * 32 floats of slack): no load of the query splits a line.
    qb = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(work) + 63) / 64 * 64);
    pb = qb + H * Wp;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t k = 0; k < Wp; k += 32) {
        const float* q = qcat + h * W + k;
        const __m512 lo = _mm512_maskz_loadu_ps(mask16(W - k), q);
        const __m512 hi = _mm512_maskz_loadu_ps(mask16(W - k - 16), q + 16);
        _mm512_storeu_si512(qb + h * Wp + k, round32(lo, hi));
      }
  }

  int64_t score_tiles(int64_t n) const { return ((H + kHt - 1) / kHt) * ((n + kNt - 1) / kNt); }

  // Horizontal sums of v[0..16) (v[4 * i + j]: head i, row j), 128-bit lane L holding head
  // {0, 2, 1, 3}[L]'s four rows in order.
  __attribute__((always_inline)) static __m512 reduce16(const __m512* v) {
    __m512 t[8], u[4], w[2];
#pragma GCC unroll 16
    for (int i = 0; i < 8; ++i)  // 256-bit halves: t[i] = [v[i] partials | v[i+8] partials]
      t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[i], v[i + 8], 0x44),
                           _mm512_shuffle_f32x4(v[i], v[i + 8], 0xee));
#pragma GCC unroll 16
    for (int i = 0; i < 4; ++i)  // 128-bit lanes: [v[i] | v[i+8] | v[i+4] | v[i+12]]
      u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(t[i], t[i + 4], 0x88),
                           _mm512_shuffle_f32x4(t[i], t[i + 4], 0xdd));
#pragma GCC unroll 16
    for (int i = 0; i < 2; ++i)  // within 128-bit lanes: 2 partials of u[i]'s and u[i+2]'s
      w[i] = _mm512_add_ps(_mm512_shuffle_ps(u[i], u[i + 2], 0x44),
                           _mm512_shuffle_ps(u[i], u[i + 2], 0xee));
    const __m512 z =
        _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xdd));
    // z lane 4L + e holds v[{0, 2, 1, 3}[e] + {0, 8, 4, 12}[L]]; an in-lane permute puts e in
    // order: 128-bit lane L then holds v[4 * {0, 2, 1, 3}[L] + (0, 1, 2, 3)].
    return _mm512_permute_ps(z, 0xd8);
  }

  // Scores of rows [j0, j0 + nt) for heads [h0, h0 + ht) (missing rows/heads repeat the last
  // valid one and are not stored).
  __attribute__((always_inline)) void score_tile(const uint16_t* c, int64_t h0, int ht, int64_t j0,
                                                 int nt, float* sb, int64_t ls) const {
    const uint16_t* q[kHt];
    const uint16_t* row[kNt];
#pragma GCC unroll 16
    for (int i = 0; i < kHt; ++i) q[i] = qb + (h0 + (i < ht ? i : ht - 1)) * Wp;
#pragma GCC unroll 16
    for (int j = 0; j < kNt; ++j) row[j] = c + (j0 + (j < nt ? j : nt - 1)) * W;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= W; k += 32) {
      __m512i cv[kNt];
#pragma GCC unroll 16
      for (int j = 0; j < kNt; ++j) cv[j] = _mm512_loadu_si512(row[j] + k);
#pragma GCC unroll 16
      for (int i = 0; i < kHt; ++i) {
        const __m512i qv = _mm512_loadu_si512(q[i] + k);
#pragma GCC unroll 16
        for (int j = 0; j < kNt; ++j) acc[i * kNt + j] = dp(acc[i * kNt + j], qv, cv[j]);
      }
    }
    if (k < W) {
      const __mmask32 mk = mask32(W - k);
      __m512i cv[kNt];
#pragma GCC unroll 16
      for (int j = 0; j < kNt; ++j) cv[j] = _mm512_maskz_loadu_epi16(mk, row[j] + k);
#pragma GCC unroll 16
      for (int i = 0; i < kHt; ++i) {
        const __m512i qv = _mm512_loadu_si512(q[i] + k);  // zero-padded to Wp
#pragma GCC unroll 16
        for (int j = 0; j < kNt; ++j) acc[i * kNt + j] = dp(acc[i * kNt + j], qv, cv[j]);
      }
    }
    const __m512 sc = _mm512_mul_ps(reduce16(acc), _mm512_set1_ps(scale));
    const __mmask8 mr = __mmask8((1u << nt) - 1u);
    float* o = sb + h0 * ls + j0;
    _mm_mask_storeu_ps(o, mr, _mm512_castps512_ps128(sc));
    if (ht > 2) _mm_mask_storeu_ps(o + 2 * ls, mr, _mm512_extractf32x4_ps(sc, 1));
    if (ht > 1) _mm_mask_storeu_ps(o + ls, mr, _mm512_extractf32x4_ps(sc, 2));
    if (ht > 3) _mm_mask_storeu_ps(o + 3 * ls, mr, _mm512_extractf32x4_ps(sc, 3));
  }

  template <class F>
  void scores(const uint16_t* c, int64_t n, float* sb, int64_t ls, F&& step) const {
    for (int64_t j0 = 0; j0 < n; j0 += kNt) {
      const int nt = int(n - j0 < kNt ? n - j0 : kNt);
      for (int64_t h0 = 0; h0 < H; h0 += kHt) {
        score_tile(c, h0, int(H - h0 < kHt ? H - h0 : kHt), j0, nt, sb, ls);
        step();
      }
    }
  }

  // Rounds head h's weights to bf16 in place (as floats) and packs them into pb[h].
  void weights(int64_t h, float* sh, int64_t n) const {
    uint16_t* p = pb + h * lp;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 mk = mask16(n - j);
      const __m256i b =
          reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, sh + j)));
      _mm256_mask_storeu_epi16(p + j, mk, b);
      const __m512 wv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
      _mm512_mask_storeu_ps(sh + j, mk, wv);
    }
    p[n] = 0;
  }

  // acc[h, j0 + [0, 32 * NJ)] += pairs of rows, heads [h0, h0 + HV); cols = valid columns.
  template <int HV, int NJ, bool NAT>
  __attribute__((always_inline)) void value_tile(const uint16_t* c, int64_t n, int64_t h0,
                                                 int64_t j0, int64_t cols, float* acc) const {
    __mmask32 mc[NJ];
    __mmask16 ma[NJ][2];
#pragma GCC unroll 16
    for (int v = 0; v < NJ; ++v) {
      const int64_t left = cols - 32 * v;
      mc[v] = mask32(left);
      ma[v][0] = mask16(left);
      ma[v][1] = mask16(left - 16);
    }
    __m512 a[HV][NJ][2];
#pragma GCC unroll 16
    for (int h = 0; h < HV; ++h)
#pragma GCC unroll 16
      for (int v = 0; v < NJ; ++v) {
        float* p = acc + (h0 + h) * r + j0 + 32 * v;
        const __m512 x0 = _mm512_maskz_loadu_ps(ma[v][0], p),
                     x1 = _mm512_maskz_loadu_ps(ma[v][1], p + 16);
        a[h][v][0] = NAT ? _mm512_permutex2var_ps(x0, kLoIdx(), x1) : x0;
        a[h][v][1] = NAT ? _mm512_permutex2var_ps(x0, kHiIdx(), x1) : x1;
      }
    // One row pair (t, t + 1), or row t with zeros when TWO is false; whole groups (!NAT)
    // load plainly, the masked tail group with its column mask.
    auto pair_step = [&](int64_t t, auto two) __attribute__((always_inline)) {
      constexpr bool kTwo = decltype(two)::value;
      const uint16_t* r0 = c + t * W + j0;
      __m512i lo[NJ], hi[NJ];
#pragma GCC unroll 16
      for (int v = 0; v < NJ; ++v) {
        const __m512i x =
            NAT ? _mm512_maskz_loadu_epi16(mc[v], r0 + 32 * v) : _mm512_loadu_si512(r0 + 32 * v);
        __m512i y = _mm512_setzero_si512();
        if constexpr (kTwo)
          y = NAT ? _mm512_maskz_loadu_epi16(mc[v], r0 + W + 32 * v)
                  : _mm512_loadu_si512(r0 + W + 32 * v);
        lo[v] = _mm512_unpacklo_epi16(x, y);
        hi[v] = _mm512_unpackhi_epi16(x, y);
      }
#pragma GCC unroll 16
      for (int h = 0; h < HV; ++h) {
        uint32_t pair;
        __builtin_memcpy(&pair, pb + (h0 + h) * lp + t, 4);
        const __m512i pp = _mm512_set1_epi32(int(pair));
#pragma GCC unroll 16
        for (int v = 0; v < NJ; ++v) {
          a[h][v][0] = dp(a[h][v][0], lo[v], pp);
          a[h][v][1] = dp(a[h][v][1], hi[v], pp);
        }
      }
    };
    int64_t t = 0;
    for (; t + 1 < n; t += 2) pair_step(t, std::true_type{});
    if (t < n) pair_step(t, std::false_type{});
#pragma GCC unroll 16
    for (int h = 0; h < HV; ++h)
#pragma GCC unroll 16
      for (int v = 0; v < NJ; ++v) {
        float* p = acc + (h0 + h) * r + j0 + 32 * v;
        const __m512 y0 =
            NAT ? _mm512_permutex2var_ps(a[h][v][0], kNat0Idx(), a[h][v][1]) : a[h][v][0];
        const __m512 y1 =
            NAT ? _mm512_permutex2var_ps(a[h][v][0], kNat1Idx(), a[h][v][1]) : a[h][v][1];
        _mm512_mask_storeu_ps(p, ma[v][0], y0);
        _mm512_mask_storeu_ps(p + 16, ma[v][1], y1);
      }
  }

  // acc[h, 32-column group] stays in the unpack's lane order while the partial runs
  // ({0-3, 8-11, 16-19, 24-27} then {4-7, 12-15, 20-23, 28-31}; the online-softmax rescales
  // are lane-wise, so the order does not matter to them); finish() puts every head's columns
  // back in natural order once, at the end of the partial. A last group of fewer than 32
  // columns stays in natural order (value_tile NAT: permuted in registers per block).
  void finish(float* acc) const {
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j + 32 <= r; j += 32) {
        float* p = acc + h * r + j;
        const __m512 lo = _mm512_loadu_ps(p), hi = _mm512_loadu_ps(p + 16);
        _mm512_storeu_ps(p, _mm512_permutex2var_ps(lo, kNat0Idx(), hi));
        _mm512_storeu_ps(p + 16, _mm512_permutex2var_ps(lo, kNat1Idx(), hi));
      }
  }

  // All heads for columns [j0, j0 + 32 * NJ) (cols valid): the rows' slice stays in L1 while
  // every head group adds to it.
  template <int NJ, bool NAT>
  void value_cols(const uint16_t* c, int64_t n, int64_t j0, int64_t cols, float* acc) const {
    for (int64_t h0 = 0; h0 < H; h0 += kHv) {
      switch (H - h0 < kHv ? H - h0 : kHv) {
        case 1:
          value_tile<1, NJ, NAT>(c, n, h0, j0, cols, acc);
          break;
        case 2:
          value_tile<2, NJ, NAT>(c, n, h0, j0, cols, acc);
          break;
        case 3:
          value_tile<3, NJ, NAT>(c, n, h0, j0, cols, acc);
          break;
        default:
          value_tile<4, NJ, NAT>(c, n, h0, j0, cols, acc);
          break;
      }
    }
  }

  void values(const uint16_t* c, int64_t n, const float* /*p*/, int64_t /*lp*/, float* acc) const {
    int64_t j = 0;
    for (; j + 64 <= r; j += 64) value_cols<2, false>(c, n, j, 64, acc);
    for (; j + 32 <= r; j += 32) value_cols<1, false>(c, n, j, 32, acc);
    if (j < r) value_cols<1, true>(c, n, j, r - j, acc);
  }
};

}  // namespace dsv3::kernels::detail
