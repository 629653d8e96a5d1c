// GQA forward: projections (+ biases), RoPE, K/V cache write, per-(sequence, head) attention.
#include "model/gqa.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/ops.h"

namespace dsv3 {

namespace {

// y[r, :] += b for R rows of width n (b absent: no-op).
void add_bias(const TensorView& b, float* y, int64_t R, int64_t n) {
  if (!b.data) return;
  std::vector<float> bias(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) bias[size_t(i)] = kernels::weight_at(b, i);
  for (int64_t r = 0; r < R; ++r) kernels::add_inplace(y + r * n, bias.data(), n);
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
  kernels::matmul(x, R, w.q_proj, q.data(), pool);
  kernels::matmul(x, R, w.k_proj, k.data(), pool);
  kernels::matmul(x, R, w.v_proj, v.data(), pool);
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

  // Cached rows [T, W] of every sequence (K heads then V heads per token).
  std::vector<std::vector<float>> scratch(seqs.size());
  std::vector<const float*> kv(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i)
    kv[i] = seqs[i].cache->rows_f32(layer, seqs[i].start + seqs[i].n, scratch[i]);

  // Work items: (sequence, kv head, block of kRowBlock query rows). An item handles the G query
  // heads that share its kv head, so each cached K/V row is read once per query row and kv
  // head, not once per query head. Every output element is computed by the same sequence of
  // dot/softmax/axpy calls whatever the split, so results never depend on the thread count.
  constexpr int64_t kRowBlock = 16;
  const float scale = float(1.0 / std::sqrt(double(hd)));
  std::vector<float> o(size_t(R * QW));
  struct Item {
    int64_t seq, kh, i0, i1;
  };
  std::vector<Item> items;
  int64_t work = 0;
  for (size_t si = 0; si < seqs.size(); ++si) {
    const SeqRows& sq = seqs[si];
    work += sq.n * (sq.start + sq.n) * H * 2 * hd;
    for (int64_t kh = 0; kh < Hk; ++kh)
      for (int64_t i0 = 0; i0 < sq.n; i0 += kRowBlock)
        items.push_back({int64_t(si), kh, i0, std::min(sq.n, i0 + kRowBlock)});
  }
  ThreadPool* attn_pool = work < (int64_t(1) << 16) ? nullptr : pool;
  parallel_for(attn_pool, int64_t(items.size()), [&](int64_t a, int64_t b) {
    std::vector<float> p;
    for (int64_t it = a; it < b; ++it) {
      const Item& item = items[size_t(it)];
      const SeqRows& sq = seqs[size_t(item.seq)];
      const float* cache = kv[size_t(item.seq)];
      const int64_t kh = item.kh;
      p.resize(size_t(G * (sq.start + sq.n)));
      for (int64_t i = item.i0; i < item.i1; ++i) {
        const int64_t s = sq.row0 + i, n = sq.start + i + 1;  // causal: t <= position
        const float* q0 = q.data() + s * QW + kh * G * hd;    // the G query heads of kv head kh
        for (int64_t t = 0; t < n; ++t) {
          const float* kt = cache + t * W + kh * hd;
          for (int64_t g = 0; g < G; ++g) p[size_t(g * n + t)] = kernels::dot(q0 + g * hd, kt, hd) * scale;
        }
        for (int64_t g = 0; g < G; ++g) kernels::softmax(p.data() + g * n, n);
        float* o0 = o.data() + s * QW + kh * G * hd;
        std::fill(o0, o0 + G * hd, 0.f);
        for (int64_t t = 0; t < n; ++t) {
          const float* vt = cache + t * W + KW + kh * hd;
          for (int64_t g = 0; g < G; ++g) kernels::axpy(p[size_t(g * n + t)], vt, o0 + g * hd, hd);
        }
      }
    }
  });
  if (!dump_prefix.empty()) write_npy(dump_prefix + "attn_heads.npy", o.data(), {R, H, hd});
  kernels::matmul(o.data(), R, w.o_proj, out, pool);
  add_bias(w.o_bias, out, R, c.hidden_size);
}

}  // namespace dsv3
