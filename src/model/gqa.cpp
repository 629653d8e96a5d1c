// GQA forward: projections (+ biases), RoPE, K/V cache write, per-(sequence, head) attention.
#include "model/gqa.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/ops.h"
#include "model/ggml_act_round.h"
#include "runtime/kv_convert.h"

namespace dsv3 {

namespace {

// y[r, :] += b for R rows of width n (b absent: no-op).
void add_bias(const TensorView& b, float* y, int64_t R, int64_t n) {
  if (!b.data) return;
  std::vector<float> bias(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) bias[size_t(i)] = kernels::weight_at(b, i);
  for (int64_t r = 0; r < R; ++r) kernels::add_inplace(y + r * n, bias.data(), n);
}

// Values [off, off + n) of the cached rows [0, T) of `layer`, widened to fp32 into dst[T, n]
// (any cache dtype, contiguous or paged: read row by row through row_ptr; widen =
// kv_widen_fn(kc.dtype())).
void gather_cached(const KvCache& kc, KvWidenFn widen, int64_t layer, int64_t T, int64_t off,
                   int64_t n, float* dst) {
  const size_t skip = size_t(off) * dtype_size(kc.dtype());
  for (int64_t t = 0; t < T; ++t)
    widen(static_cast<const uint8_t*>(kc.row_ptr(layer, t)) + skip, size_t(n), dst + t * n);
}

}  // namespace

void apply_rope(RopeStyle style, float* x, int64_t d, const float* cos, const float* sin) {
  if (style == RopeStyle::kInterleaved) {
    kernels::rope_interleaved(x, d, cos, sin);
    return;
  }
  // HF rotate_half: x' = x * cat(cos, cos) + cat(-x2, x1) * cat(sin, sin), products and sums
  // rounded separately as torch computes them.
  const int64_t h = d / 2;
  for (int64_t i = 0; i < h; ++i) {
    const float a = x[i], b = x[i + h];
    const float ac = a * cos[i], bs = b * sin[i], bc = b * cos[i], as = a * sin[i];
    x[i] = ac - bs;
    x[i + h] = bc + as;
  }
}

void gqa_forward_batch(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       int64_t layer, const float* x, int64_t R, const std::vector<SeqRows>& seqs,
                       float* out, ThreadPool* pool, const std::string& dump_prefix) {
  const int64_t H = c.num_attention_heads, Hk = c.num_key_value_heads, hd = c.head_dim;
  const int64_t G = H / Hk, QW = H * hd, KW = Hk * hd, W = 2 * KW;
  DSV3_CHECK(c.latent_cache_width() == W, "GQA: cache width ", c.latent_cache_width(), " != ", W);

  std::vector<float> q(size_t(R * QW)), k(size_t(R * KW)), v(size_t(R * KW));
  matmul_as(c.ggml_numerics, x, R, w.q_proj, q.data(), pool);
  matmul_as(c.ggml_numerics, x, R, w.k_proj, k.data(), pool);
  matmul_as(c.ggml_numerics, x, R, w.v_proj, v.data(), pool);
  add_bias(w.q_bias, q.data(), R, QW);
  add_bias(w.k_bias, k.data(), R, KW);
  add_bias(w.v_bias, v.data(), R, KW);

  std::vector<float> cs(size_t(hd / 2)), sn(size_t(hd / 2)), row(static_cast<size_t>(W));
  for (const SeqRows& sq : seqs) {
    for (int64_t i = 0; i < sq.n; ++i) {
      const int64_t s = sq.row0 + i;
      rope.at(sq.start + i, cs.data(), sn.data());
      for (int64_t h = 0; h < H; ++h) apply_rope(c.rope_style, q.data() + s * QW + h * hd, hd, cs.data(), sn.data());
      for (int64_t h = 0; h < Hk; ++h) apply_rope(c.rope_style, k.data() + s * KW + h * hd, hd, cs.data(), sn.data());
      std::copy(k.begin() + s * KW, k.begin() + (s + 1) * KW, row.begin());
      std::copy(v.begin() + s * KW, v.begin() + (s + 1) * KW, row.begin() + KW);
      sq.cache->write(layer, sq.start + i, row.data());
    }
  }
  if (!dump_prefix.empty()) {
    write_npy(dump_prefix + "q.npy", q.data(), {R, H, hd});
    write_npy(dump_prefix + "k.npy", k.data(), {R, Hk, hd});
    write_npy(dump_prefix + "v.npy", v.data(), {R, Hk, hd});
  }

  // Attention as matrix products per (sequence, kv head, block of up to kRowBlock query rows):
  // the block's G * rows query vectors (the G query heads sharing the kv head) are scored
  // against the kv head's keys with one matmul, softmaxed per row over its causal prefix, and
  // multiplied by the values with a second matmul. Keys are gathered once per (sequence, kv
  // head) into a contiguous [T, hd] matrix (widened from the cache's dtype), values per block
  // transposed to [hd, Tb]. Blocks depend only on the sequence's own rows, and matmul never
  // depends on the thread count, so results are bit-identical for any thread count and any
  // batch composition.
  constexpr int64_t kRowBlock = 32;
  const float scale = float(1.0 / std::sqrt(double(hd)));
  std::vector<float> o(size_t(R * QW));
  std::vector<float> kbuf, vbuf, vt, qb, sc, ob;
  for (size_t si = 0; si < seqs.size(); ++si) {
    const SeqRows& sq = seqs[si];
    const KvCache& kc = *sq.cache;
    const int64_t T = sq.start + sq.n;
    // A one-row sequence (decode) over an f32 cache reads V straight from the cache rows (axpy
    // per key); otherwise V is gathered (widened) once per kv head: decode axpys from it, longer
    // chunks multiply block by block with its transpose.
    const bool decode = sq.n == 1, v_direct = decode && kc.dtype() == DType::F32;
    const KvWidenFn widen = kv_widen_fn(kc.dtype());
    kbuf.resize(size_t(T * hd));
    if (!v_direct) vbuf.resize(size_t(T * hd));
    for (int64_t kh = 0; kh < Hk; ++kh) {
      gather_cached(kc, widen, layer, T, kh * hd, hd, kbuf.data());
      if (!v_direct) gather_cached(kc, widen, layer, T, KW + kh * hd, hd, vbuf.data());
      for (int64_t i0 = 0; i0 < sq.n; i0 += kRowBlock) {
        const int64_t i1 = std::min(sq.n, i0 + kRowBlock), M = (i1 - i0) * G, Tb = sq.start + i1;
        qb.resize(size_t(M * hd));
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t g = 0; g < G; ++g) {
            const float* src = q.data() + (sq.row0 + i) * QW + (kh * G + g) * hd;
            std::copy(src, src + hd, qb.begin() + ((i - i0) * G + g) * hd);
          }
        sc.resize(size_t(M * Tb));
        kernels::matmul(qb.data(), M, make_view(DType::F32, kbuf.data(), {Tb, hd}), sc.data(), pool);
        parallel_for(M * Tb < (int64_t(1) << 14) ? nullptr : pool, M, [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m) {
            const int64_t n = sq.start + i0 + m / G + 1;  // causal: keys t < n
            float* row = sc.data() + m * Tb;
            for (int64_t t = 0; t < n; ++t) row[t] *= scale;
            kernels::softmax(row, n);
            std::fill(row + n, row + Tb, 0.f);
          }
        });
        ob.resize(size_t(M * hd));
        if (decode) {
          std::fill(ob.begin(), ob.end(), 0.f);
          for (int64_t t = 0; t < Tb; ++t) {
            const float* vrow = v_direct
                                    ? static_cast<const float*>(kc.row_ptr(layer, t)) + KW + kh * hd
                                    : vbuf.data() + t * hd;
            for (int64_t m = 0; m < M; ++m)
              kernels::axpy(sc[size_t(m * Tb + t)], vrow, ob.data() + m * hd, hd);
          }
        } else {
          vt.resize(size_t(hd * Tb));
          for (int64_t t = 0; t < Tb; ++t)
            for (int64_t d = 0; d < hd; ++d) vt[size_t(d * Tb + t)] = vbuf[size_t(t * hd + d)];
          kernels::matmul(sc.data(), M, make_view(DType::F32, vt.data(), {hd, Tb}), ob.data(), pool);
        }
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t g = 0; g < G; ++g) {
            const float* src = ob.data() + ((i - i0) * G + g) * hd;
            std::copy(src, src + hd, o.begin() + (sq.row0 + i) * QW + (kh * G + g) * hd);
          }
      }
    }
  }
  if (!dump_prefix.empty()) write_npy(dump_prefix + "attn_heads.npy", o.data(), {R, H, hd});
  matmul_as(c.ggml_numerics, o.data(), R, w.o_proj, out, pool);
  add_bias(w.o_bias, out, R, c.hidden_size);
}

}  // namespace dsv3
