// ISA-generic bodies of the fast kernels, templated on a vector-traits type V that each
// kernels_<isa>.cpp defines in an anonymous namespace (so every instantiation is local to its
// TU and compiled with that TU's ISA flags). Only builtins and intrinsics are used here: no
// std:: templates, whose out-of-line copies the linker could share between ISA TUs.
//
// V provides: R (register type), L (lanes), MR x NR (prefill register tile), NR1 (rows per
// pass for M = 1), NR2 (rows per pass for M = 2, 3); zero, set1, load, load_n (first n lanes,
// rest 0), load_bf16(_n), load_f16(_n), store, store_n, add, mul, div, max, fma(a, b, c) =
// a*b+c, hsum and hmax (fixed reduction trees), exp (lane-wise).
//
// Determinism: every matmul output y[m, n] is one fp32 dot product computed as L lane-partial
// sums over k = lane (mod L) in increasing k (masked tail lanes add exact zeros), then V::hsum.
// Tiles only decide which dots run together, never the order inside one, so the result does
// not depend on the thread split. M <= 3 (direct) and M >= 4 (widened tiles) share this order
// too. (The AVX-512 packed prefill, matmul_packed_avx512.cpp, takes over from
// KernelTable::packed_min_m rows with a different, equally fixed order.)
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/kernel_table.h"
#include "kernels/vec_reduce.h"

namespace dsv3::kernels::detail {

static inline int64_t imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}

template <class V>
struct LoadF32 {
  using T = float;
  static typename V::R load(const T* p) { return V::load(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_n(p, n); }
};
template <class V>
struct LoadBF16 {
  using T = uint16_t;
  static typename V::R load(const T* p) { return V::load_bf16(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_bf16_n(p, n); }
};
template <class V>
struct LoadF16 {
  using T = uint16_t;
  static typename V::R load(const T* p) { return V::load_f16(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_f16_n(p, n); }
};

// y[i*ldy + j] = dot(x + i*K, w + j*K) for i < MR, j < NR. If `pf` is given, the same
// columns of the NR rows at pf are prefetched as the loop goes: each weight row is only one
// or a few 4 KiB pages, and hardware prefetchers stop at page boundaries.
template <class V, int MR, int NR, class WL>
inline void tile(const float* x, int64_t K, const typename WL::T* w, float* y, int64_t ldy,
                 const typename WL::T* pf = nullptr) {
  using R = typename V::R;
  R acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = V::zero();
  int64_t k = 0;
  for (; k + V::L <= K; k += V::L) {
    if (pf && (k * int64_t(sizeof(typename WL::T))) % 64 == 0) {
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) __builtin_prefetch(pf + j * K + k, 0, 0);
    }
    R wv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) wv[j] = WL::load(w + j * K + k);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const R xv = V::load(x + i * K + k);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
    }
  }
  if (k < K) {
    const int n = int(K - k);
    R wv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) wv[j] = WL::load_n(w + j * K + k, n);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const R xv = V::load_n(x + i * K + k, n);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) y[i * ldy + j] = V::hsum(acc[i][j]);
}

// tile with a run-time row count 1 <= mr <= V::MR.
template <class V, int NR, class WL>
inline void tile_mr(int mr, const float* x, int64_t K, const typename WL::T* w, float* y,
                    int64_t ldy) {
  switch (mr) {
    case 1:
      tile<V, 1, NR, WL>(x, K, w, y, ldy);
      break;
    case 2:
      if constexpr (V::MR >= 2) tile<V, 2, NR, WL>(x, K, w, y, ldy);
      break;
    case 3:
      if constexpr (V::MR >= 3) tile<V, 3, NR, WL>(x, K, w, y, ldy);
      break;
    case 4:
      if constexpr (V::MR >= 4) tile<V, 4, NR, WL>(x, K, w, y, ldy);
      break;
    case 5:
      if constexpr (V::MR >= 5) tile<V, 5, NR, WL>(x, K, w, y, ldy);
      break;
    case 6:
      if constexpr (V::MR >= 6) tile<V, 6, NR, WL>(x, K, w, y, ldy);
      break;
    default:
      break;
  }
}

// Decode-style pass (M <= 3): weights are read once in their stored dtype and widened in
// registers; NR rows stream side by side so the prefetchers see several sequential streams.
template <class V, int MR, int NR, class WL>
void matmul_direct(const float* x, const typename WL::T* W, int64_t N, int64_t K, float* y,
                   int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + NR <= n1; n += NR) {
    const bool next = n + 3 * NR <= n1;
    tile<V, MR, NR, WL>(x, K, W + n * K, y + n, N, next ? W + (n + 2 * NR) * K : nullptr);
  }
  for (; n < n1; ++n) tile<V, MR, 1, WL>(x, K, W + n * K, y + n, N);
}

// Widens rows [n, n + nr) of W into `dst` (nr x K fp32). Exact.
template <class V, class WL>
void widen_rows(const typename WL::T* W, int64_t K, int64_t n, int64_t nr, float* dst) {
  const typename WL::T* src = W + n * K;
  const int64_t total = nr * K;
  int64_t i = 0;
  for (; i + V::L <= total; i += V::L) V::store(dst + i, WL::load(src + i));
  if (i < total) V::store_n(dst + i, WL::load_n(src + i, int(total - i)), int(total - i));
}

// One K-block [k0, k1) of an MR x NR tile. Lane partial sums are carried between blocks in
// `part` (MR * NR * L floats, exact copies), so blocking does not change any bit: the result
// equals tile<V, MR, NR>. `last` (k1 == K) adds the masked tail and writes y.
template <class V, int MR, int NR>
inline void tile_part(const float* x, int64_t K, const float* w, int64_t k0, int64_t k1, bool first,
                      bool last, float* part, float* y, int64_t ldy) {
  using R = typename V::R;
  R acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
      acc[i][j] = first ? V::zero() : V::load(part + (i * NR + j) * V::L);
  int64_t k = k0;
  for (; k + V::L <= k1; k += V::L) {
    R wv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) wv[j] = V::load(w + j * K + k);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const R xv = V::load(x + i * K + k);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
    }
  }
  if (!last) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) V::store(part + (i * NR + j) * V::L, acc[i][j]);
    return;
  }
  if (k < K) {
    const int n = int(K - k);
    R wv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) wv[j] = V::load_n(w + j * K + k, n);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const R xv = V::load_n(x + i * K + k, n);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) y[i * ldy + j] = V::hsum(acc[i][j]);
}

template <class V, int NR>
inline void tile_part_mr(int mr, const float* x, int64_t K, const float* w, int64_t k0, int64_t k1,
                         bool first, bool last, float* part, float* y, int64_t ldy) {
  switch (mr) {
    case 1:
      tile_part<V, 1, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    case 2:
      if constexpr (V::MR >= 2) tile_part<V, 2, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    case 3:
      if constexpr (V::MR >= 3) tile_part<V, 3, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    case 4:
      if constexpr (V::MR >= 4) tile_part<V, 4, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    case 5:
      if constexpr (V::MR >= 5) tile_part<V, 5, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    case 6:
      if constexpr (V::MR >= 6) tile_part<V, 6, NR>(x, K, w, k0, k1, first, last, part, y, ldy);
      break;
    default:
      break;
  }
}

// Small-batch / fallback prefill blocking (M >= 4): kMc rows of x at a time (kept in L2), NR weight
// rows at a time (widened once per row block into scratch unless already fp32), K in blocks of kKc
// so the weight slice stays in L1 while every MR-row tile of the block passes over it.
constexpr int64_t kMc = 48;   // multiple of every V::MR; kMc * NR * L <= kPartFloats
constexpr int64_t kKc = 512;  // multiple of every V::L

template <class V, class WL>
void matmul_rows_t(const float* x, int64_t M, const typename WL::T* W, int64_t N, int64_t K,
                   float* y, int64_t n0, int64_t n1, float* scratch) {
  if (M == 1) return matmul_direct<V, 1, V::NR1, WL>(x, W, N, K, y, n0, n1);
  if (M == 2) return matmul_direct<V, 2, V::NR2, WL>(x, W, N, K, y, n0, n1);
  if (M == 3) return matmul_direct<V, 3, V::NR2, WL>(x, W, N, K, y, n0, n1);
  constexpr bool kF32 = sizeof(typename WL::T) == 4;
  float* part = scratch;                // kPartFloats
  float* wbuf = scratch + kPartFloats;  // kScratchRows * K
  for (int64_t mb = 0; mb < M; mb += kMc) {
    const int64_t me = imin(M, mb + kMc);
    for (int64_t nb = n0; nb < n1; nb += V::NR) {
      const int64_t nr = imin(V::NR, n1 - nb);
      const float* wp;
      if constexpr (kF32) {
        wp = reinterpret_cast<const float*>(W) + nb * K;
      } else {
        widen_rows<V, WL>(W, K, nb, nr, wbuf);
        wp = wbuf;
      }
      if (nr == V::NR) {
        for (int64_t k0 = 0; k0 < K || k0 == 0; k0 += kKc) {
          const int64_t k1 = imin(K, k0 + kKc);
          const bool first = k0 == 0, last = k1 == K;
          for (int64_t m = mb; m < me; m += V::MR) {
            const int mr = int(imin(V::MR, me - m));
            tile_part_mr<V, V::NR>(mr, x + m * K, K, wp, k0, k1, first, last,
                                   part + (m - mb) * V::NR * V::L, y + m * N + nb, N);
          }
          if (last) break;
        }
      } else {
        for (int64_t m = mb; m < me; m += V::MR)
          for (int64_t j = 0; j < nr; ++j)
            tile_mr<V, 1, LoadF32<V>>(int(imin(V::MR, me - m)), x + m * K, K, wp + j * K,
                                      y + m * N + nb + j, N);
      }
    }
  }
}

template <class V>
void matmul_rows(const float* x, int64_t M, const void* W, DType wt, int64_t N, int64_t K, float* y,
                 int64_t n0, int64_t n1, float* scratch) {
  switch (wt) {
    case DType::F32:
      return matmul_rows_t<V, LoadF32<V>>(x, M, static_cast<const float*>(W), N, K, y, n0, n1,
                                          scratch);
    case DType::BF16:
      return matmul_rows_t<V, LoadBF16<V>>(x, M, static_cast<const uint16_t*>(W), N, K, y, n0, n1,
                                           scratch);
    case DType::F16:
      return matmul_rows_t<V, LoadF16<V>>(x, M, static_cast<const uint16_t*>(W), N, K, y, n0, n1,
                                          scratch);
    default:
      return;  // ops.cpp validates the dtype before dispatching
  }
}

// out = silu(gate) * up, lane-wise: (g / (1 + exp(-g))) * u, the reference's operation order.
template <class V>
void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  using R = typename V::R;
  const R one = V::set1(1.0f), neg = V::set1(-1.0f);
  int64_t i = 0;
  for (; i + V::L <= n; i += V::L) {
    const R g = V::load(gate + i);
    const R s = V::div(g, V::add(one, V::exp(V::mul(g, neg))));
    V::store(out + i, V::mul(s, V::load(up + i)));
  }
  if (i < n) {
    const int r = int(n - i);
    const R g = V::load_n(gate + i, r);
    const R s = V::div(g, V::add(one, V::exp(V::mul(g, neg))));
    V::store_n(out + i, V::mul(s, V::load_n(up + i, r)), r);
  }
}

// One row of ggml's SwiGLU (models loaded from GGUF): out = (g / (1 + exp_ggml(0 - g))) * u
// for the first n - n % 16 values (ggml's 16-lane AVX-512 loop; V::L divides 16), std::exp
// for the last n % 16 (ggml's scalar tail). Same bits as silu_mul_ggml_ref on every ISA.
template <class V>
void silu_mul_ggml(const float* gate, const float* up, int64_t n, float* out) {
  using R = typename V::R;
  const R one = V::set1(1.0f), zero = V::zero();
  const int64_t nv = n - n % 16;
  int64_t i = 0;
  for (; i < nv; i += V::L) {
    const R g = V::load(gate + i);
    const R s = V::div(g, V::add(one, V::exp_ggml(V::sub(zero, g))));
    V::store(out + i, V::mul(s, V::load(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

template <class V, class WL>
void gate_up_t(const float* x, const typename WL::T* Wg, const typename WL::T* Wu, int64_t K,
               float* h, int64_t n0, int64_t n1) {
  constexpr int NR = V::NR1;
  float g[NR], u[NR];
  for (int64_t n = n0; n < n1; n += NR) {
    const int nr = int(imin(NR, n1 - n));
    if (nr == NR) {  // each pass prefetches the rows the next one reads
      tile<V, 1, NR, WL>(x, K, Wg + n * K, g, 0, Wu + n * K);
      tile<V, 1, NR, WL>(x, K, Wu + n * K, u, 0, n + 2 * NR <= n1 ? Wg + (n + NR) * K : nullptr);
    } else {
      for (int j = 0; j < nr; ++j) {
        tile<V, 1, 1, WL>(x, K, Wg + (n + j) * K, g + j, 0);
        tile<V, 1, 1, WL>(x, K, Wu + (n + j) * K, u + j, 0);
      }
    }
    silu_mul<V>(g, u, nr, h + n);
  }
}

template <class V>
void gate_up_rows(const float* x, const void* Wg, const void* Wu, DType wt, int64_t K, float* h,
                  int64_t n0, int64_t n1) {
  switch (wt) {
    case DType::F32:
      return gate_up_t<V, LoadF32<V>>(x, static_cast<const float*>(Wg),
                                      static_cast<const float*>(Wu), K, h, n0, n1);
    case DType::BF16:
      return gate_up_t<V, LoadBF16<V>>(x, static_cast<const uint16_t*>(Wg),
                                       static_cast<const uint16_t*>(Wu), K, h, n0, n1);
    case DType::F16:
      return gate_up_t<V, LoadF16<V>>(x, static_cast<const uint16_t*>(Wg),
                                      static_cast<const uint16_t*>(Wu), K, h, n0, n1);
    default:
      return;
  }
}

template <class V>
float dot(const float* a, const float* b, int64_t n) {
  using R = typename V::R;
  R s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::L <= n; i += 2 * V::L) {
    s0 = V::fma(V::load(a + i), V::load(b + i), s0);
    s1 = V::fma(V::load(a + i + V::L), V::load(b + i + V::L), s1);
  }
  if (i + V::L <= n) {
    s0 = V::fma(V::load(a + i), V::load(b + i), s0);
    i += V::L;
  }
  if (i < n) s1 = V::fma(V::load_n(a + i, int(n - i)), V::load_n(b + i, int(n - i)), s1);
  return V::hsum(V::add(s0, s1));
}

template <class V, class WL>
void rmsnorm_row_t(const float* x, int64_t n, const typename WL::T* w, float eps, float* y) {
  using R = typename V::R;
  R s = V::zero();
  int64_t i = 0;
  for (; i + V::L <= n; i += V::L) {
    const R v = V::load(x + i);
    s = V::fma(v, v, s);
  }
  if (i < n) {
    const R v = V::load_n(x + i, int(n - i));
    s = V::fma(v, v, s);
  }
  const float ss = V::hsum(s);
  const R inv = V::set1(1.0f / __builtin_sqrtf(ss / float(n) + eps));
  for (i = 0; i + V::L <= n; i += V::L)
    V::store(y + i, V::mul(V::mul(V::load(x + i), inv), WL::load(w + i)));
  if (i < n) {
    const int r = int(n - i);
    V::store_n(y + i, V::mul(V::mul(V::load_n(x + i, r), inv), WL::load_n(w + i, r)), r);
  }
}

template <class V>
void rmsnorm_row(const float* x, int64_t n, const void* w, DType wt, float eps, float* y) {
  switch (wt) {
    case DType::F32:
      return rmsnorm_row_t<V, LoadF32<V>>(x, n, static_cast<const float*>(w), eps, y);
    case DType::BF16:
      return rmsnorm_row_t<V, LoadBF16<V>>(x, n, static_cast<const uint16_t*>(w), eps, y);
    case DType::F16:
      return rmsnorm_row_t<V, LoadF16<V>>(x, n, static_cast<const uint16_t*>(w), eps, y);
    default:
      return;
  }
}

// Max-subtracted softmax; the max is exact (order-free), the sum uses lane partials + hsum.
template <class V>
void softmax(float* x, int64_t n) {
  using R = typename V::R;
  if (n <= 0) return;
  const float mx = max_n<V>(x, n);
  int64_t i = 0;
  const R vmx = V::set1(mx);
  R s = V::zero();
  for (i = 0; i + V::L <= n; i += V::L) {
    const R e = V::exp(V::add(V::load(x + i), V::mul(vmx, V::set1(-1.0f))));
    V::store(x + i, e);
    s = V::add(s, e);
  }
  if (i < n) {
    const int r = int(n - i);
    V::store_n(x + i, V::exp(V::add(V::load_n(x + i, r), V::mul(vmx, V::set1(-1.0f)))), r);
    s = V::add(s, V::load_n(x + i, r));
  }
  const R inv = V::set1(1.0f / V::hsum(s));
  for (i = 0; i + V::L <= n; i += V::L) V::store(x + i, V::mul(V::load(x + i), inv));
  if (i < n) V::store_n(x + i, V::mul(V::load_n(x + i, int(n - i)), inv), int(n - i));
}

// y += x and y += a * x (a product then a sum, no FMA: bit-identical to the scalar twins).
template <class V>
void add_inplace(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + V::L <= n; i += V::L) V::store(y + i, V::add(V::load(y + i), V::load(x + i)));
  for (; i < n; ++i) y[i] = y[i] + x[i];
}

template <class V>
void axpy(float a, const float* x, float* y, int64_t n) {
  const typename V::R va = V::set1(a);
  int64_t i = 0;
  for (; i + V::L <= n; i += V::L)
    V::store(y + i, V::add(V::load(y + i), V::mul(va, V::load(x + i))));
  for (; i < n; ++i) {
    const float p = a * x[i];
    y[i] = y[i] + p;
  }
}

template <class V>
KernelTable make_table() {
  KernelTable t;
  t.matmul_rows = &matmul_rows<V>;
  t.gate_up_rows = &gate_up_rows<V>;
  t.dot = &dot<V>;
  t.rmsnorm_row = &rmsnorm_row<V>;
  t.silu_mul = &silu_mul<V>;
  t.silu_mul_ggml = &silu_mul_ggml<V>;
  t.softmax = &softmax<V>;
  t.add_inplace = &add_inplace<V>;
  t.axpy = &axpy<V>;
  return t;
}

}  // namespace dsv3::kernels::detail
