// ISA-generic bodies of the flash-style absorbed MLA decode kernel (mla_attn.h), templated on
// a vector-traits type V that each mla_attn_<isa>.cpp defines in an anonymous namespace (so
// every instantiation stays local to its TU and its ISA flags). Builtins and intrinsics only.
//
// V provides: R, L (lanes), HT x NT (score tile: heads x cache rows), HV x NJ (value tile:
// heads x vectors of latent columns), NJA (vectors per rows_axpy pass); zero, set1, load,
// load_n (first n lanes, rest 0), load_bf16(_n), load_f16(_n), store, store_n, sub, mul, fma,
// hsum (fixed tree), exp (lane-wise).
//
// One block loop (mla_partial_blocks: blocks of K::kBlock rows, online softmax, prefetch) runs
// a score/weight/value policy K: MlaFmaKernel here (fp32 FMAs, any ISA; for bf16 rows it first
// rounds the query and each block's weights to bf16, mla_attn.h's bf16 semantics) or
// MlaBf16DotKernel (mla_attn_bf16dot.h, vdpbf16ps, AVX-512 BF16 only).
//
// Order of operations (fixed, so results never depend on the thread split): in MlaFmaKernel
// every score is one dot over the width in L lane-partial sums + V::hsum; the online softmax
// advances block by block in position order (each block's weight sum in L lane-partial sums +
// V::hsum); every accumulator lane sums its rows in increasing position.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/bf16act_impl.h"
#include "kernels/mla_attn.h"
#include "kernels/mla_attn_table.h"
#include "kernels/vec_reduce.h"

namespace dsv3::kernels::detail {

template <class V>
struct MlaRowF32 {
  using T = float;
  static typename V::R load(const T* p) { return V::load(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_n(p, n); }
};
template <class V>
struct MlaRowBF16 {
  using T = uint16_t;
  static typename V::R load(const T* p) { return V::load_bf16(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_bf16_n(p, n); }
};
template <class V>
struct MlaRowF16 {
  using T = uint16_t;
  static typename V::R load(const T* p) { return V::load_f16(p); }
  static typename V::R load_n(const T* p, int n) { return V::load_f16_n(p, n); }
};

// s[h * ls + j] = scale * dot(q + h * W, c + j * W) over W values, for h < HT, j < NT.
template <class V, int HT, int NT, class RL>
inline void mla_score_tile(const float* q, const typename RL::T* c, int64_t W, float scale,
                           float* s, int64_t ls) {
  using R = typename V::R;
  R acc[HT][NT];
#pragma GCC unroll 8
  for (int h = 0; h < HT; ++h)
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) acc[h][j] = V::zero();
  int64_t k = 0;
  for (; k + V::L <= W; k += V::L) {
    R cv[NT];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) cv[j] = RL::load(c + j * W + k);
#pragma GCC unroll 8
    for (int h = 0; h < HT; ++h) {
      const R qv = V::load(q + h * W + k);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) acc[h][j] = V::fma(qv, cv[j], acc[h][j]);
    }
  }
  if (k < W) {
    const int n = int(W - k);
    R cv[NT];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) cv[j] = RL::load_n(c + j * W + k, n);
#pragma GCC unroll 8
    for (int h = 0; h < HT; ++h) {
      const R qv = V::load_n(q + h * W + k, n);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) acc[h][j] = V::fma(qv, cv[j], acc[h][j]);
    }
  }
#pragma GCC unroll 8
  for (int h = 0; h < HT; ++h)
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) s[h * ls + j] = V::hsum(acc[h][j]) * scale;
}

template <class V, int HT, class RL>
inline void mla_score_nt(int nt, const float* q, const typename RL::T* c, int64_t W, float scale,
                         float* s, int64_t ls) {
  switch (nt) {
    case 1: mla_score_tile<V, HT, 1, RL>(q, c, W, scale, s, ls); break;
    case 2: if constexpr (V::NT >= 2) mla_score_tile<V, HT, 2, RL>(q, c, W, scale, s, ls); break;
    case 3: if constexpr (V::NT >= 3) mla_score_tile<V, HT, 3, RL>(q, c, W, scale, s, ls); break;
    case 4: if constexpr (V::NT >= 4) mla_score_tile<V, HT, 4, RL>(q, c, W, scale, s, ls); break;
    case 5: if constexpr (V::NT >= 5) mla_score_tile<V, HT, 5, RL>(q, c, W, scale, s, ls); break;
    case 6: if constexpr (V::NT >= 6) mla_score_tile<V, HT, 6, RL>(q, c, W, scale, s, ls); break;
    default: break;
  }
}

template <class V, class RL>
inline void mla_score(int ht, int nt, const float* q, const typename RL::T* c, int64_t W,
                      float scale, float* s, int64_t ls) {
  switch (ht) {
    case 1: mla_score_nt<V, 1, RL>(nt, q, c, W, scale, s, ls); break;
    case 2: if constexpr (V::HT >= 2) mla_score_nt<V, 2, RL>(nt, q, c, W, scale, s, ls); break;
    case 3: if constexpr (V::HT >= 3) mla_score_nt<V, 3, RL>(nt, q, c, W, scale, s, ls); break;
    case 4: if constexpr (V::HT >= 4) mla_score_nt<V, 4, RL>(nt, q, c, W, scale, s, ls); break;
    default: break;
  }
}

// acc[h * r + j0 + v * L + lane] += sum_{t < n} p[h * lp + t] * c[t * W + j0 + v * L + lane]
// for h < HV, v < NJ; with MASK the single vector (NJ = 1) has only `last` lanes.
template <class V, int HV, int NJ, bool MASK, class RL>
inline void mla_value_tile(const float* p, int64_t lp, const typename RL::T* c, int64_t W,
                           int64_t n, float* acc, int64_t r, int64_t j0, int last) {
  using R = typename V::R;
  R a[HV][NJ];
#pragma GCC unroll 8
  for (int h = 0; h < HV; ++h)
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v)
      a[h][v] = MASK ? V::load_n(acc + h * r + j0 + v * V::L, last)
                     : V::load(acc + h * r + j0 + v * V::L);
  for (int64_t t = 0; t < n; ++t) {
    R cv[NJ];
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v)
      cv[v] = MASK ? RL::load_n(c + t * W + j0 + v * V::L, last)
                   : RL::load(c + t * W + j0 + v * V::L);
#pragma GCC unroll 8
    for (int h = 0; h < HV; ++h) {
      const R pb = V::set1(p[h * lp + t]);
#pragma GCC unroll 8
      for (int v = 0; v < NJ; ++v) a[h][v] = V::fma(pb, cv[v], a[h][v]);
    }
  }
#pragma GCC unroll 8
  for (int h = 0; h < HV; ++h)
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      if (MASK)
        V::store_n(acc + h * r + j0 + v * V::L, a[h][v], last);
      else
        V::store(acc + h * r + j0 + v * V::L, a[h][v]);
    }
}

// All latent columns [0, r) for HV heads.
template <class V, int HV, class RL>
inline void mla_value_heads(const float* p, int64_t lp, const typename RL::T* c, int64_t W,
                            int64_t n, float* acc, int64_t r) {
  int64_t j = 0;
  for (; j + V::NJ * V::L <= r; j += V::NJ * V::L)
    mla_value_tile<V, HV, V::NJ, false, RL>(p, lp, c, W, n, acc, r, j, V::L);
  for (; j + V::L <= r; j += V::L) mla_value_tile<V, HV, 1, false, RL>(p, lp, c, W, n, acc, r, j, V::L);
  if (j < r) mla_value_tile<V, HV, 1, true, RL>(p, lp, c, W, n, acc, r, j, int(r - j));
}

template <class V, class RL>
inline void mla_value(int hv, const float* p, int64_t lp, const typename RL::T* c, int64_t W,
                      int64_t n, float* acc, int64_t r) {
  switch (hv) {
    case 1: mla_value_heads<V, 1, RL>(p, lp, c, W, n, acc, r); break;
    case 2: if constexpr (V::HV >= 2) mla_value_heads<V, 2, RL>(p, lp, c, W, n, acc, r); break;
    case 3: if constexpr (V::HV >= 3) mla_value_heads<V, 3, RL>(p, lp, c, W, n, acc, r); break;
    case 4: if constexpr (V::HV >= 4) mla_value_heads<V, 4, RL>(p, lp, c, W, n, acc, r); break;
    default: break;
  }
}

// bf16 attention semantics (any latent row of dtype BF16): the query and the softmax weights
// are rounded to bf16 (round to nearest even, denormals to zero: vcvtneps2bf16), products are
// exact and sums fp32. The FMA kernel applies them with fp32 FMAs; the AVX-512 BF16 kernel
// (mla_attn_bf16dot.h) with vdpbf16ps, in its own (fixed) order.
inline float mla_round_bf16(float f) {
  return ba_float(uint32_t(ba_round(f)) << 16);
}

// Score/weight/value policy of mla_partial_blocks built from fp32 FMAs (every ISA). Rows of
// type RL; with BF16 rows the query and weights are rounded (mla_round_bf16) first.
template <class V, class RL>
struct MlaFmaKernel {
  using T = typename RL::T;
  static constexpr int64_t kBlock = kMlaAttnBlock;
  static constexpr bool kRound = std::is_same_v<RL, MlaRowBF16<V>>;
  int64_t H, r, W;
  float scale;
  const float* q;
  // work: H * (W + 32) floats, the rounded query when kRound.
  MlaFmaKernel(const MlaAttnShape& s, const float* qcat, float* work)
      : H(s.H), r(s.r), W(s.r + s.dr), scale(s.scale), q(qcat) {
    if constexpr (kRound) {
      for (int64_t i = 0; i < H * W; ++i) work[i] = mla_round_bf16(qcat[i]);
      q = work;
    }
  }
  int64_t score_tiles(int64_t n) const { return ((H + V::HT - 1) / V::HT) * ((n + V::NT - 1) / V::NT); }
  // Scores of n rows for every head into s[h * ls + j]; step() after every tile.
  template <class F>
  void scores(const T* c, int64_t n, float* sb, int64_t ls, F&& step) const {
    for (int64_t h0 = 0; h0 < H; h0 += V::HT) {
      const int ht = int(H - h0 < V::HT ? H - h0 : V::HT);
      for (int64_t j0 = 0; j0 < n; j0 += V::NT) {
        const int nt = int(n - j0 < V::NT ? n - j0 : V::NT);
        mla_score<V, RL>(ht, nt, q + h0 * W, c + j0 * W, W, scale, sb + h0 * ls + j0, ls);
        step();
      }
    }
  }
  // Head h's weights sh[0, n) (exp already applied) as the value pass will use them.
  void weights(int64_t /*h*/, float* sh, int64_t n) const {
    if constexpr (kRound)
      for (int64_t j = 0; j < n; ++j) sh[j] = mla_round_bf16(sh[j]);
  }
  // acc is in natural order throughout.
  void finish(float* /*acc*/) const {}
  // acc[h, :] += sum_j p[h * lp + j] * c_kv[j] for every head.
  void values(const T* c, int64_t n, const float* p, int64_t lp, float* acc) const {
    for (int64_t h0 = 0; h0 < H; h0 += V::HV) {
      const int hv = int(H - h0 < V::HV ? H - h0 : V::HV);
      mla_value<V, RL>(hv, p + h0 * lp, lp, c, W, n, acc + h0 * r, r);
    }
  }
};

// The whole partial over [t0, t1) with score/value policy K (rows of type K::T): blocks of
// kMlaAttnBlock rows, never across a page; scratch: mla_scratch_floats(H, W) floats.
template <class V, class K>
void mla_partial_blocks(const MlaAttnShape& s, const float* qcat, const LatentSource& src,
                        int64_t t0, int64_t t1, float* m, float* l, float* acc, float* scratch) {
  using R = typename V::R;
  using T = typename K::T;
  const int64_t H = s.H, r = s.r, W = s.r + s.dr, B = K::kBlock, P = src.page_tokens;
  static_assert(K::kBlock % 16 == 0 && K::kBlock <= kMlaAttnMaxBlock, "block: whole vectors, fits the scratch");
  float* sbuf = scratch;
  const K kern(s, qcat, scratch + H * B);
  const float neg_inf = -__builtin_inff();
  for (int64_t h = 0; h < H; ++h) {
    m[h] = neg_inf;
    l[h] = 0.f;
  }
  for (int64_t i = 0; i < H * r; ++i) acc[i] = 0.f;
  for (int64_t t = t0; t < t1;) {
    const int64_t page_end = (t / P + 1) * P;
    int64_t n = t1 - t;
    if (n > B) n = B;
    if (n > page_end - t) n = page_end - t;
    const T* c = static_cast<const T*>(src.row_ptr(src.self, t));
    // The next block's rows (contiguous up to its page end; after the last block, the next
    // chunk's first rows when src.rows says they exist) are prefetched while this block is
    // scored, a few lines after each score tile, so the cache streams in from DRAM ahead of
    // use instead of stalling the first tiles. Changes no value.
    const char* pf = nullptr;
    int64_t pf_lines = 0, pf_per = 0, pf_i = 0;
    const int64_t lim = src.rows > t1 ? src.rows : t1;  // rows that may be prefetched
    if (t + n < lim) {
      const int64_t tn = t + n, pn_end = (tn / P + 1) * P;
      int64_t nn = lim - tn;
      if (nn > B) nn = B;
      if (nn > pn_end - tn) nn = pn_end - tn;
      pf = static_cast<const char*>(src.row_ptr(src.self, tn));
      pf_lines = (nn * W * int64_t(sizeof(T)) + 63) / 64;
      const int64_t tiles = kern.score_tiles(n);
      pf_per = (pf_lines + tiles - 1) / tiles;
    }
    // Scores of the block for every head: sbuf[h * B + j].
    kern.scores(c, n, sbuf, B, [&] {
      for (const int64_t e = pf_i + pf_per < pf_lines ? pf_i + pf_per : pf_lines; pf_i < e; ++pf_i)
        __builtin_prefetch(pf + pf_i * 64, 0, 3);
    });
    // Online softmax: new running max, rescale the running sum and accumulator, weights p.
    for (int64_t h = 0; h < H; ++h) {
      float* sh = sbuf + h * B;
      const float bm = max_n<V>(sh, n);  // block max (exact in any order)
      const float mn = bm > m[h] ? bm : m[h];
      const float alpha = m[h] == neg_inf ? 0.f : mn == m[h] ? 1.f : __builtin_expf(m[h] - mn);
      const R mv = V::set1(mn);
      for (int64_t j = 0; j < n; j += V::L) V::store(sh + j, V::exp(V::sub(V::load(sh + j), mv)));
      kern.weights(h, sh, n);
      // Block sum of the weights as used, in L lane-partial sums (whole vectors, then the
      // masked tail) + V::hsum.
      R sv = V::zero();
      int64_t js = 0;
      for (; js + V::L <= n; js += V::L) sv = V::add(sv, V::load(sh + js));
      if (js < n) sv = V::add(sv, V::load_n(sh + js, int(n - js)));
      const float sum = V::hsum(sv);
      l[h] = l[h] * alpha + sum;
      if (alpha != 1.f) {
        float* ah = acc + h * r;
        const R av = V::set1(alpha);
        int64_t j = 0;
        for (; j + V::L <= r; j += V::L) V::store(ah + j, V::mul(V::load(ah + j), av));
        for (; j < r; ++j) ah[j] = ah[j] * alpha;
      }
      m[h] = mn;
    }
    // Weighted latent: acc[h] += p[h, j] * c_kv[j].
    kern.values(c, n, sbuf, B, acc);
    t += n;
  }
  kern.finish(acc);
}

template <class V>
void mla_partial_impl(const MlaAttnShape& s, const float* qcat, const LatentSource& src,
                      int64_t t0, int64_t t1, float* m, float* l, float* acc, float* scratch) {
  if (src.dtype == DType::BF16)
    mla_partial_blocks<V, MlaFmaKernel<V, MlaRowBF16<V>>>(s, qcat, src, t0, t1, m, l, acc, scratch);
  else if (src.dtype == DType::F16)
    mla_partial_blocks<V, MlaFmaKernel<V, MlaRowF16<V>>>(s, qcat, src, t0, t1, m, l, acc, scratch);
  else
    mla_partial_blocks<V, MlaFmaKernel<V, MlaRowF32<V>>>(s, qcat, src, t0, t1, m, l, acc, scratch);
}

// y[j] += sum_{i < n} a[i] * w[i * ld + j], j < cols, increasing i for every j.
template <class V, class RL>
void mla_rows_axpy_t(const float* a, int64_t n, const typename RL::T* w, int64_t ld, int64_t cols,
                     float* y) {
  using R = typename V::R;
  int64_t j = 0;
  for (; j + V::NJA * V::L <= cols; j += V::NJA * V::L) {
    R acc[V::NJA];
#pragma GCC unroll 8
    for (int v = 0; v < V::NJA; ++v) acc[v] = V::load(y + j + v * V::L);
    for (int64_t i = 0; i < n; ++i) {
      const R ai = V::set1(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < V::NJA; ++v) acc[v] = V::fma(ai, RL::load(w + i * ld + j + v * V::L), acc[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < V::NJA; ++v) V::store(y + j + v * V::L, acc[v]);
  }
  for (; j < cols; j += V::L) {
    const int k = int(cols - j < V::L ? cols - j : V::L);
    R acc = V::load_n(y + j, k);
    for (int64_t i = 0; i < n; ++i) acc = V::fma(V::set1(a[i]), RL::load_n(w + i * ld + j, k), acc);
    V::store_n(y + j, acc, k);
  }
}

template <class V>
void mla_rows_axpy_impl(const float* a, int64_t n, const void* w, DType dt, int64_t ld,
                        int64_t cols, float* y) {
  if (dt == DType::BF16)
    mla_rows_axpy_t<V, MlaRowBF16<V>>(a, n, static_cast<const uint16_t*>(w), ld, cols, y);
  else if (dt == DType::F16)
    mla_rows_axpy_t<V, MlaRowF16<V>>(a, n, static_cast<const uint16_t*>(w), ld, cols, y);
  else
    mla_rows_axpy_t<V, MlaRowF32<V>>(a, n, static_cast<const float*>(w), ld, cols, y);
}

template <class V>
MlaAttnTable make_mla_table() {
  MlaAttnTable t;
  t.partial = &mla_partial_impl<V>;
  t.rows_axpy = &mla_rows_axpy_impl<V>;
  return t;
}

}  // namespace dsv3::kernels::detail
