// ISA-generic body of the FP8 block-scaled matmul, templated on a vector-traits type V defined
// in each matmul_fp8_<isa>.cpp (anonymous namespace, compiled with that file's ISA flags).
//
// V provides: R, L (lanes), MR x NR (register tile for M > 1), NR1 (rows per pass for M = 1),
// zero, set1, load / load_n (fp32, first n lanes, rest 0), store / store_n, decode / decode_n (L
// e4m3 codes -> fp32 values times 2^-8, exact), kRawExp and decode_raw / decode_raw_n (the same
// values times a further 2^-kRawExp, exact: on AVX2/AVX-512 the code's bits are placed straight
// into an fp32 ((sign-extended b << 20) & 0x87f00000, i.e. w * 2^-120), three integer ops and no
// conversion), mul, fma(a, b, c) = a*b + c, hsum (fixed tree).
//
// Order of one output y[m, n] (independent of M, the tile, the thread split and of whether the
// weight row was decoded in registers or first widened into the scratch buffer, which holds the
// same exact values):
//   for kb: blk = lane-partial sums over k = lane (mod L) of x*w in increasing k inside the
//           block (masked tail lanes add exact zeros); [emulate: blk *= xs[m, kb]];
//           acc = fma(blk, s[n/128, kb] * cs[m], acc)  (lane-wise)
//   y = hsum(acc).
// cs[m] = 256 with decode(); with decode_raw() (decode, M <= 3) the caller passes x[m] * 2^E
// and cs[m] = 2^(8 + kRawExp - E) (matmul_fp8.cpp picks E <= kRawExp per row so x * 2^E stays
// finite): every product and partial sum is the 2^-8 one times an exact power of two, so the
// bits of y are the same as with decode() unless a partial sum leaves the normal fp32 range.
#pragma once
#include <cstdint>

#include "kernels/fp8_kernel_table.h"

namespace dsv3::kernels::detail {

static inline int64_t fp8_imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// Weight rows in e4m3, decoded in registers.
template <class V>
struct Fp8Codes {
  using T = uint8_t;
  static typename V::R load(const T* p) { return V::decode(p); }
  static typename V::R load_n(const T* p, int n) { return V::decode_n(p, n); }
};
// Weight rows in e4m3, decoded in registers as w * 2^-(8 + kRawExp).
template <class V>
struct Fp8Raw {
  using T = uint8_t;
  static typename V::R load(const T* p) { return V::decode_raw(p); }
  static typename V::R load_n(const T* p, int n) { return V::decode_raw_n(p, n); }
};
// Weight rows already widened to fp32 (w * 2^-8) in a scratch buffer.
template <class V>
struct Fp8Widened {
  using T = float;
  static typename V::R load(const T* p) { return V::load(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_n(p, n); }
};

// Rows n .. n + NR - 1 (all < N) against x rows 0 .. MR - 1. `w` holds weight rows from row
// `w0` on (row r at w + (r - w0) * K); block scales are indexed by the absolute row.
// cs[i]: block-scale multiplier of x row i (see the header). If `pf` is given (decode), the
// same columns of the NR code rows at pf are prefetched as the loop goes.
template <class V, int MR, int NR, bool kAct, class WL>
inline void fp8_tile(const float* x, const float* xs, int64_t K, const typename WL::T* w,
                     int64_t w0, const float* bs, const float* cs, int64_t n, float* y,
                     int64_t ldy, const uint8_t* pf = nullptr) {
  using R = typename V::R;
  const int64_t KB = (K + 127) / 128;
  const float* srow[NR];
  const typename WL::T* wrow[NR];
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) {
    srow[j] = bs + ((n + j) / 128) * KB;
    wrow[j] = w + (n + j - w0) * K;
  }
  R acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = V::zero();
  for (int64_t kb = 0; kb < KB; ++kb) {
    const int64_t k0 = kb * 128, k1 = fp8_imin(K, k0 + 128);
    R blk[MR][NR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) blk[i][j] = V::zero();
    int64_t k = k0;
    for (; k + V::L <= k1; k += V::L) {
      if (pf && k % 64 == 0) {
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) __builtin_prefetch(pf + j * K + k, 0, 0);
      }
      R wv[NR];
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) wv[j] = WL::load(wrow[j] + k);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const R xv = V::load(x + i * K + k);
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) blk[i][j] = V::fma(xv, wv[j], blk[i][j]);
      }
    }
    if (k < k1) {
      const int c = int(k1 - k);
      R wv[NR];
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) wv[j] = WL::load_n(wrow[j] + k, c);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const R xv = V::load_n(x + i * K + k, c);
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) blk[i][j] = V::fma(xv, wv[j], blk[i][j]);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        R b = blk[i][j];
        if constexpr (kAct) b = V::mul(b, V::set1(xs[i * KB + kb]));
        acc[i][j] = V::fma(b, V::set1(srow[j][kb] * cs[i]), acc[i][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) y[i * ldy + n + j] = V::hsum(acc[i][j]);
}

template <class V, int MR, int NR, bool kAct, class WL>
inline void fp8_rows_mr(const float* x, const float* xs, int64_t K, const typename WL::T* w,
                        int64_t w0, const float* bs, const float* cs, float* y, int64_t ldy,
                        int64_t n0, int64_t n1, bool prefetch = false) {
  int64_t n = n0;
  for (; n + NR <= n1; n += NR) {
    const uint8_t* pf = nullptr;
    if constexpr (sizeof(typename WL::T) == 1)
      if (prefetch && n + 3 * NR <= n1) pf = w + (n + 2 * NR - w0) * K;
    fp8_tile<V, MR, NR, kAct, WL>(x, xs, K, w, w0, bs, cs, n, y, ldy, pf);
  }
  for (; n < n1; ++n) fp8_tile<V, MR, 1, kAct, WL>(x, xs, K, w, w0, bs, cs, n, y, ldy);
}

// Run-time row count 1 <= mr <= V::MR.
template <class V, bool kAct, class WL>
inline void fp8_rows_any(int mr, const float* x, const float* xs, int64_t K,
                         const typename WL::T* w, int64_t w0, const float* bs, const float* cs,
                         float* y, int64_t ldy, int64_t n0, int64_t n1) {
  constexpr int NR = V::NR;
  switch (mr) {
    case 1:
      fp8_rows_mr<V, 1, NR, kAct, WL>(x, xs, K, w, w0, bs, cs, y, ldy, n0, n1);
      break;
    case 2:
      if constexpr (V::MR >= 2)
        fp8_rows_mr<V, 2, NR, kAct, WL>(x, xs, K, w, w0, bs, cs, y, ldy, n0, n1);
      break;
    case 3:
      if constexpr (V::MR >= 3)
        fp8_rows_mr<V, 3, NR, kAct, WL>(x, xs, K, w, w0, bs, cs, y, ldy, n0, n1);
      break;
    case 4:
      if constexpr (V::MR >= 4)
        fp8_rows_mr<V, 4, NR, kAct, WL>(x, xs, K, w, w0, bs, cs, y, ldy, n0, n1);
      break;
    default:
      break;
  }
}

template <class V, bool kAct>
void fp8_rows_t(const float* x, const float* xs, int64_t M, const uint8_t* w, const float* bs,
                int64_t N, int64_t K, const float* cs, float* y, int64_t n0, int64_t n1,
                float* scratch) {
  const int64_t KB = (K + 127) / 128;
  if (M <= 3) {  // decode: every weight byte read once, decoded in registers
    using WL = Fp8Raw<V>;
    if (M == 1)
      return fp8_rows_mr<V, 1, V::NR1, kAct, WL>(x, xs, K, w, 0, bs, cs, y, N, n0, n1, true);
    for (int64_t m = 0; m < M; m += V::MR) {
      const int mr = int(fp8_imin(V::MR, M - m));
      fp8_rows_any<V, kAct, WL>(mr, x + m * K, kAct ? xs + m * KB : nullptr, K, w, 0, bs, cs + m,
                                y + m * N, N, n0, n1);
    }
    return;
  }
  // Prefill: bands of kFp8Band weight rows are widened once into scratch (exact), then every
  // block of mc rows of x (<= 256 KiB, stays in L2) streams past them.
  const float c256[4] = {256.0f, 256.0f, 256.0f, 256.0f};
  int64_t mc = (int64_t(256) * 1024 / 4) / (K > 0 ? K : 1);
  mc = mc < V::MR ? V::MR : mc - mc % V::MR;
  for (int64_t nb = n0; nb < n1; nb += kFp8Band) {
    const int64_t ne = fp8_imin(n1, nb + kFp8Band);
    const int64_t total = (ne - nb) * K;
    const uint8_t* src = w + nb * K;
    int64_t i = 0;
    for (; i + V::L <= total; i += V::L) V::store(scratch + i, V::decode(src + i));
    if (i < total) V::store_n(scratch + i, V::decode_n(src + i, int(total - i)), int(total - i));
    for (int64_t mb = 0; mb < M; mb += mc) {
      const int64_t me = fp8_imin(M, mb + mc);
      for (int64_t m = mb; m < me; m += V::MR) {
        const int mr = int(fp8_imin(V::MR, me - m));
        fp8_rows_any<V, kAct, Fp8Widened<V>>(mr, x + m * K, kAct ? xs + m * KB : nullptr, K,
                                             scratch, nb, bs, c256, y + m * N, N, nb, ne);
      }
    }
  }
}

template <class V>
void fp8_rows(const float* x, const float* xs, int64_t M, const uint8_t* w, const float* bs,
              int64_t N, int64_t K, const float* cs, float* y, int64_t n0, int64_t n1,
              float* scratch) {
  if (xs)
    fp8_rows_t<V, true>(x, xs, M, w, bs, N, K, cs, y, n0, n1, scratch);
  else
    fp8_rows_t<V, false>(x, xs, M, w, bs, N, K, cs, y, n0, n1, scratch);
}

}  // namespace dsv3::kernels::detail
