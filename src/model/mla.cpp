// MLA forward: projections, latent cache write, naive and absorbed attention.
#include "model/mla.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/ops.h"

namespace dsv3 {

namespace {

// Rows [r0, r0 + n) of a 2-D weight as its own view (rows are contiguous in memory).
TensorView row_slice(const TensorView& W, int64_t r0, int64_t n) {
  TensorView v = W;
  v.shape[0] = n;
  v.data = static_cast<const uint8_t*>(W.data) + size_t(r0) * size_t(W.cols()) * dtype_size(W.dtype);
  if (W.block_scale) {  // FP8 (issue 5): slice whole 128-row scale blocks
    DSV3_CHECK(r0 % 128 == 0, "FP8 kv_b_proj: absorbed MLA needs d_nope % 128 == 0, row ", r0);
    v.block_scale = W.block_scale + (r0 / 128) * ((W.cols() + 127) / 128);
  }
  return v;
}

// y[j] = W[r0 + j, :] . x for j < n. Block-aligned (or non-FP8) row ranges use the matmul
// kernel on a slice; an FP8 range that starts inside a 128-row scale block (small models whose
// d_nope is not a multiple of 128) is read row by row with its block scales.
void rows_matvec(const TensorView& W, int64_t r0, int64_t n, const float* x, float* y,
                 std::vector<float>& row) {
  if (!W.block_scale || r0 % 128 == 0) {
    kernels::matmul(x, 1, row_slice(W, r0, n), y, nullptr);
    return;
  }
  row.resize(size_t(W.cols()));
  for (int64_t j = 0; j < n; ++j) {
    kernels::weight_row(W, r0 + j, row.data());
    y[j] = kernels::dot(row.data(), x, W.cols());
  }
}

void dump(const std::string& prefix, const char* name, const float* d, std::vector<int64_t> shape) {
  if (!prefix.empty()) write_npy(prefix + name + ".npy", d, shape);
}

}  // namespace

void mla_forward_batch(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       int64_t layer, const float* x, int64_t R, const std::vector<SeqRows>& seqs,
                       bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank, W = c.latent_cache_width();
  const float eps = float(c.rms_norm_eps);

  // Queries: q [R, H * d_qk], per head [nope | rope].
  std::vector<float> q(size_t(R * H * dqk));
  if (c.q_lora_rank > 0) {
    std::vector<float> cq(size_t(R * c.q_lora_rank));
    kernels::matmul(x, R, w.q_a_proj, cq.data(), pool);
    kernels::rmsnorm(cq.data(), R, c.q_lora_rank, w.q_a_layernorm, eps, cq.data());
    kernels::matmul(cq.data(), R, w.q_b_proj, q.data(), pool);
  } else {
    kernels::matmul(x, R, w.q_proj, q.data(), pool);
  }
  // Latent: kv [R, r + d_rope] -> c_kv = rmsnorm(kv[:r]), k_pe = rope(kv[r:]).
  std::vector<float> kv(size_t(R * W));
  kernels::matmul(x, R, w.kv_a_proj_with_mqa, kv.data(), pool);
  std::vector<float> cs(size_t(dr / 2)), sn(size_t(dr / 2));
  for (const SeqRows& sq : seqs) {
    for (int64_t i = 0; i < sq.n; ++i) {
      const int64_t s = sq.row0 + i;
      float* row = kv.data() + s * W;
      kernels::rmsnorm(row, 1, r, w.kv_a_layernorm, eps, row);
      rope.at(sq.start + i, cs.data(), sn.data());
      kernels::rope_interleaved(row + r, dr, cs.data(), sn.data());
      for (int64_t h = 0; h < H; ++h)
        kernels::rope_interleaved(q.data() + (s * H + h) * dqk + dn, dr, cs.data(), sn.data());
      sq.cache->write(layer, sq.start + i, row);
    }
  }
  dump(dump_prefix, "q", q.data(), {R, H, dqk});
  dump(dump_prefix, "c_kv_k_pe", kv.data(), {R, W});

  const float scale = float(c.softmax_scale());
  std::vector<float> o(size_t(R * H * dv));  // attention output per head, [R, H * d_v]
  // Latent rows of every sequence's cache, [T, W] each (c_kv | k_pe).
  std::vector<std::vector<float>> scratch(seqs.size());
  std::vector<const float*> lats(seqs.size());
  for (size_t q_i = 0; q_i < seqs.size(); ++q_i)
    lats[q_i] = seqs[q_i].cache->rows_f32(layer, seqs[q_i].start + seqs[q_i].n, scratch[q_i]);

  // Work items: (sequence, head) pairs, split over threads; each output row of o depends only on
  // its own item, so the split never changes results.
  const int64_t n_items = int64_t(seqs.size()) * H;
  int64_t work = 0;  // multiply-adds of the attention loops; small work runs on the caller
  for (const SeqRows& sq : seqs) work += sq.n * (sq.start + sq.n) * H * (absorbed ? 3 * r : dn + dr + dv);
  ThreadPool* attn_pool = work < (int64_t(1) << 16) ? nullptr : pool;
  if (!absorbed) {
    // Decompress k_nope and v for every cached token of every sequence: kvb [T, H * (dn + dv)].
    std::vector<std::vector<float>> kvb(seqs.size());
    for (size_t q_i = 0; q_i < seqs.size(); ++q_i) {
      const int64_t T = seqs[q_i].start + seqs[q_i].n;
      std::vector<float> ckv(size_t(T * r));
      for (int64_t t = 0; t < T; ++t)
        std::copy(lats[q_i] + t * W, lats[q_i] + t * W + r, ckv.begin() + t * r);
      kvb[q_i].resize(size_t(T * H * (dn + dv)));
      kernels::matmul(ckv.data(), T, w.kv_b_proj, kvb[q_i].data(), pool);
    }
    parallel_for(attn_pool, n_items, [&](int64_t i0, int64_t i1) {
      std::vector<float> p;
      for (int64_t item = i0; item < i1; ++item) {
        const SeqRows& sq = seqs[size_t(item / H)];
        const int64_t h = item % H;
        const float* lat = lats[size_t(item / H)];
        const float* kb = kvb[size_t(item / H)].data();
        p.resize(size_t(sq.start + sq.n));
        for (int64_t i = 0; i < sq.n; ++i) {
          const int64_t s = sq.row0 + i, n = sq.start + i + 1;  // causal: t <= position
          const float* qh = q.data() + (s * H + h) * dqk;
          for (int64_t t = 0; t < n; ++t) {
            const float* kh = kb + (t * H + h) * (dn + dv);
            p[size_t(t)] = (kernels::dot(qh, kh, dn) + kernels::dot(qh + dn, lat + t * W + r, dr)) * scale;
          }
          kernels::softmax(p.data(), n);
          float* oh = o.data() + (s * H + h) * dv;
          std::fill(oh, oh + dv, 0.f);
          for (int64_t t = 0; t < n; ++t) {
            const float* vh = kb + (t * H + h) * (dn + dv) + dn;
            for (int64_t j = 0; j < dv; ++j) oh[j] += p[size_t(t)] * vh[j];
          }
        }
      }
    });
  } else {
    parallel_for(attn_pool, n_items, [&](int64_t i0, int64_t i1) {
      std::vector<float> p, q_abs(static_cast<size_t>(r)), latv(static_cast<size_t>(r)), wrow(static_cast<size_t>(r));
      for (int64_t item = i0; item < i1; ++item) {
        const SeqRows& sq = seqs[size_t(item / H)];
        const int64_t h = item % H;
        const float* lat = lats[size_t(item / H)];
        p.resize(size_t(sq.start + sq.n));
        for (int64_t i = 0; i < sq.n; ++i) {
          const int64_t s = sq.row0 + i, n = sq.start + i + 1;
          const float* qh = q.data() + (s * H + h) * dqk;
          // q_abs = W_UK[h]^T q_nope[h]   ([r])
          std::fill(q_abs.begin(), q_abs.end(), 0.f);
          for (int64_t d = 0; d < dn; ++d) {
            kernels::weight_row(w.kv_b_proj, h * (dn + dv) + d, wrow.data());
            const float qd = qh[d];
            for (int64_t j = 0; j < r; ++j) q_abs[size_t(j)] += qd * wrow[size_t(j)];
          }
          for (int64_t t = 0; t < n; ++t)
            p[size_t(t)] = (kernels::dot(q_abs.data(), lat + t * W, r) +
                            kernels::dot(qh + dn, lat + t * W + r, dr)) * scale;
          kernels::softmax(p.data(), n);
          std::fill(latv.begin(), latv.end(), 0.f);
          for (int64_t t = 0; t < n; ++t) {
            const float* ct = lat + t * W;
            for (int64_t j = 0; j < r; ++j) latv[size_t(j)] += p[size_t(t)] * ct[j];
          }
          rows_matvec(w.kv_b_proj, h * (dn + dv) + dn, dv, latv.data(), o.data() + (s * H + h) * dv, wrow);
        }
      }
    });
  }
  dump(dump_prefix, "attn_heads", o.data(), {R, H, dv});
  kernels::matmul(o.data(), R, w.o_proj, out, pool);
}

void mla_forward(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 int64_t layer, const float* x, int64_t S, int64_t start, KvCache& cache,
                 bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix) {
  mla_forward_batch(c, w, rope, layer, x, S, {SeqRows{&cache, 0, S, start}}, absorbed, out, pool,
                    dump_prefix);
}

}  // namespace dsv3
