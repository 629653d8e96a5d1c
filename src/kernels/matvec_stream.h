// Decode (M <= 3) matmul and fused gate/up (M = 1) that read each thread's weight rows as ONE
// sequential stream: a row at a time, software-prefetched kStreamPrefetchBytes ahead (the
// hardware prefetchers stop at 4 KiB pages). Templated on the same vector traits V as
// kernels_impl.h; an ISA opts in by putting stream_matmul_rows / stream_gate_up_rows in its
// table (kernels_avx512.cpp).
//
// Why: the side-by-side form (kernels_impl.h, matmul_direct: NR1 rows interleaved) keeps NR1
// streams in flight; with K = 2048 bf16 the rows are exactly 4 KiB apart, so the NR1 lines of
// one step share an L1 set. Measured from DRAM on Zen 5 (one thread, CPU-time GB/s, 2026-11-22):
// 8 rows side by side 26-28 GB/s, one row at a time + 8 KiB prefetch 30-35 GB/s, a plain read
// 32-35 GB/s (same run). One accumulator per row still hides the FMA latency at that rate
// (55-62 GB/s from L2).
//
// Numerics: every y[m, n] is computed in tile<V, MR, NR, WL>'s operation order (L lane partials in
// increasing k, masked tail, V::hsum), i.e. the very order of every other small-M tile: same
// bits as matmul_rows for any M, split or thread count.
#pragma once
#include <cstdint>

#include "kernels/kernels_impl.h"

namespace dsv3::kernels::detail {

constexpr int64_t kStreamPrefetchBytes = 8192;

// y[i * ldy + j] = dot(x + i * K, w + j * K) for i < MR, j < nr, weight rows contiguous from
// w. The stream w[0, nr * K) is prefetched kStreamPrefetchBytes ahead; past its end the
// prefetch continues at `next` (the stream the caller reads next; nullptr = stop).
template <class V, int MR, class WL>
inline void stream_rows(const float* x, int64_t K, const typename WL::T* w, int64_t nr, float* y,
                        int64_t ldy, const typename WL::T* next) {
  using R = typename V::R;
  using T = typename WL::T;
  constexpr int64_t kAhead = kStreamPrefetchBytes / int64_t(sizeof(T));
  constexpr int64_t kLine = 64 / int64_t(sizeof(T));  // elements per cache line
  static_assert(kLine % V::L == 0, "a cache line holds whole vectors");
  const int64_t total = nr * K;
  for (int64_t j = 0; j < nr; ++j) {
    const T* row = w + j * K;
    R acc[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) acc[i] = V::zero();
    int64_t k = 0;
    for (; k + kLine <= K; k += kLine) {  // one prefetch per 64 bytes read
      const int64_t p = j * K + k + kAhead;
      if (p < total)
        __builtin_prefetch(w + p, 0, 3);
      else if (next)
        __builtin_prefetch(next + (p - total), 0, 3);
#pragma GCC unroll 8
      for (int64_t c = k; c < k + kLine; c += V::L) {
        const R wv = WL::load(row + c);
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) acc[i] = V::fma(V::load(x + i * K + c), wv, acc[i]);
      }
    }
    for (; k + V::L <= K; k += V::L) {
      const R wv = WL::load(row + k);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) acc[i] = V::fma(V::load(x + i * K + k), wv, acc[i]);
    }
    if (k < K) {
      const int n = int(K - k);
      const R wv = WL::load_n(row + k, n);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) acc[i] = V::fma(V::load_n(x + i * K + k, n), wv, acc[i]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) y[i * ldy + j] = V::hsum(acc[i]);
  }
}

template <class V, class WL>
void stream_matmul_t(const float* x, int64_t M, const typename WL::T* W, int64_t N, int64_t K,
                     float* y, int64_t n0, int64_t n1, float* scratch) {
  if (n1 <= n0) return;
  const typename WL::T* w = W + n0 * K;
  switch (M) {
    case 1:
      return stream_rows<V, 1, WL>(x, K, w, n1 - n0, y + n0, N, nullptr);
    case 2:
      return stream_rows<V, 2, WL>(x, K, w, n1 - n0, y + n0, N, nullptr);
    case 3:
      return stream_rows<V, 3, WL>(x, K, w, n1 - n0, y + n0, N, nullptr);
    default:
      return matmul_rows_t<V, WL>(x, M, W, N, K, y, n0, n1, scratch);
  }
}

// KernelTable::matmul_rows: M <= 3 (decode, MTP verify) streams rows; larger M is
// matmul_rows<V>.
template <class V>
void stream_matmul_rows(const float* x, int64_t M, const void* W, DType wt, int64_t N, int64_t K,
                        float* y, int64_t n0, int64_t n1, float* scratch) {
  switch (wt) {
    case DType::F32:
      return stream_matmul_t<V, LoadF32<V>>(x, M, static_cast<const float*>(W), N, K, y, n0, n1,
                                            scratch);
    case DType::BF16:
      return stream_matmul_t<V, LoadBF16<V>>(x, M, static_cast<const uint16_t*>(W), N, K, y, n0,
                                             n1, scratch);
    case DType::F16:
      return stream_matmul_t<V, LoadF16<V>>(x, M, static_cast<const uint16_t*>(W), N, K, y, n0,
                                            n1, scratch);
    default:
      return;  // ops.cpp validates the dtype before dispatching
  }
}

// Fused gate/up: runs of kStreamGateUpRows gate rows, then the same up rows (two sequential
// streams taken in turn, each prefetching into the next), then silu_mul on the run.
constexpr int64_t kStreamGateUpRows = 16;

template <class V, class WL>
void stream_gate_up_t(const float* x, const typename WL::T* Wg, const typename WL::T* Wu,
                      int64_t K, float* h, int64_t n0, int64_t n1) {
  float g[kStreamGateUpRows], u[kStreamGateUpRows];
  for (int64_t n = n0; n < n1; n += kStreamGateUpRows) {
    const int64_t nr = imin(kStreamGateUpRows, n1 - n);
    const bool more = n + nr < n1;
    stream_rows<V, 1, WL>(x, K, Wg + n * K, nr, g, 0, Wu + n * K);
    stream_rows<V, 1, WL>(x, K, Wu + n * K, nr, u, 0, more ? Wg + (n + nr) * K : nullptr);
    silu_mul<V>(g, u, nr, h + n);
  }
}

// KernelTable::gate_up_rows with streamed rows (same bits as gate_up_rows<V>).
template <class V>
void stream_gate_up_rows(const float* x, const void* Wg, const void* Wu, DType wt, int64_t K,
                         float* h, int64_t n0, int64_t n1) {
  switch (wt) {
    case DType::F32:
      return stream_gate_up_t<V, LoadF32<V>>(x, static_cast<const float*>(Wg),
                                             static_cast<const float*>(Wu), K, h, n0, n1);
    case DType::BF16:
      return stream_gate_up_t<V, LoadBF16<V>>(x, static_cast<const uint16_t*>(Wg),
                                              static_cast<const uint16_t*>(Wu), K, h, n0, n1);
    case DType::F16:
      return stream_gate_up_t<V, LoadF16<V>>(x, static_cast<const uint16_t*>(Wg),
                                             static_cast<const uint16_t*>(Wu), K, h, n0, n1);
    default:
      return;
  }
}

}  // namespace dsv3::kernels::detail
