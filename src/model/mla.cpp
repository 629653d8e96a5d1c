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

void dump(const std::string& prefix, const char* name, const float* d, std::vector<int64_t> shape) {
  if (!prefix.empty()) write_npy(prefix + name + ".npy", d, shape);
}

}  // namespace

void mla_forward(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 int64_t layer, const float* x, int64_t S, int64_t start, KvCache& cache,
                 bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank, W = c.latent_cache_width();
  const float eps = float(c.rms_norm_eps);

  // Queries: q [S, H * d_qk], per head [nope | rope].
  std::vector<float> q(size_t(S * H * dqk));
  if (c.q_lora_rank > 0) {
    std::vector<float> cq(size_t(S * c.q_lora_rank));
    kernels::matmul(x, S, w.q_a_proj, cq.data(), pool);
    kernels::rmsnorm(cq.data(), S, c.q_lora_rank, w.q_a_layernorm, eps, cq.data());
    kernels::matmul(cq.data(), S, w.q_b_proj, q.data(), pool);
  } else {
    kernels::matmul(x, S, w.q_proj, q.data(), pool);
  }
  // Latent: kv [S, r + d_rope] -> c_kv = rmsnorm(kv[:r]), k_pe = rope(kv[r:]).
  std::vector<float> kv(size_t(S * W));
  kernels::matmul(x, S, w.kv_a_proj_with_mqa, kv.data(), pool);
  std::vector<float> cs(size_t(dr / 2)), sn(size_t(dr / 2));
  for (int64_t s = 0; s < S; ++s) {
    float* row = kv.data() + s * W;
    kernels::rmsnorm(row, 1, r, w.kv_a_layernorm, eps, row);
    rope.at(start + s, cs.data(), sn.data());
    kernels::rope_interleaved(row + r, dr, cs.data(), sn.data());
    for (int64_t h = 0; h < H; ++h)
      kernels::rope_interleaved(q.data() + (s * H + h) * dqk + dn, dr, cs.data(), sn.data());
    cache.write(layer, start + s, row);
  }
  dump(dump_prefix, "q", q.data(), {S, H, dqk});
  dump(dump_prefix, "c_kv_k_pe", kv.data(), {S, W});

  const int64_t T = start + S;
  std::vector<float> scratch;
  const float* lat = cache.rows_f32(layer, T, scratch);  // [T, W]: c_kv | k_pe
  const float scale = float(c.softmax_scale());
  std::vector<float> o(size_t(S * H * dv));  // attention output per head, [S, H * d_v]

  if (!absorbed) {
    // Decompress k_nope and v for every cached token: kvb [T, H * (dn + dv)].
    std::vector<float> ckv(size_t(T * r));
    for (int64_t t = 0; t < T; ++t) std::copy(lat + t * W, lat + t * W + r, ckv.begin() + t * r);
    std::vector<float> kvb(size_t(T * H * (dn + dv)));
    kernels::matmul(ckv.data(), T, w.kv_b_proj, kvb.data(), pool);
    parallel_for(pool, H, [&](int64_t h0, int64_t h1) {
      std::vector<float> p(static_cast<size_t>(T));
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t n = start + s + 1;  // causal: t <= position
          const float* qh = q.data() + (s * H + h) * dqk;
          for (int64_t t = 0; t < n; ++t) {
            const float* kh = kvb.data() + (t * H + h) * (dn + dv);
            p[size_t(t)] = (kernels::dot(qh, kh, dn) + kernels::dot(qh + dn, lat + t * W + r, dr)) * scale;
          }
          kernels::softmax(p.data(), n);
          float* oh = o.data() + (s * H + h) * dv;
          std::fill(oh, oh + dv, 0.f);
          for (int64_t t = 0; t < n; ++t) {
            const float* vh = kvb.data() + (t * H + h) * (dn + dv) + dn;
            for (int64_t j = 0; j < dv; ++j) oh[j] += p[size_t(t)] * vh[j];
          }
        }
    });
  } else {
    parallel_for(pool, H, [&](int64_t h0, int64_t h1) {
      std::vector<float> p(static_cast<size_t>(T)), q_abs(static_cast<size_t>(r)), latv(static_cast<size_t>(r)), wrow(static_cast<size_t>(r));
      for (int64_t h = h0; h < h1; ++h) {
        const TensorView w_uv = row_slice(w.kv_b_proj, h * (dn + dv) + dn, dv);
        for (int64_t s = 0; s < S; ++s) {
          const int64_t n = start + s + 1;
          const float* qh = q.data() + (s * H + h) * dqk;
          // q_abs = W_UK[h]^T q_nope[h]   ([r])
          std::fill(q_abs.begin(), q_abs.end(), 0.f);
          for (int64_t i = 0; i < dn; ++i) {
            kernels::weight_row(w.kv_b_proj, h * (dn + dv) + i, wrow.data());
            const float qi = qh[i];
            for (int64_t j = 0; j < r; ++j) q_abs[size_t(j)] += qi * wrow[size_t(j)];
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
          kernels::matmul(latv.data(), 1, w_uv, o.data() + (s * H + h) * dv, nullptr);
        }
      }
    });
  }
  dump(dump_prefix, "attn_heads", o.data(), {S, H, dv});
  kernels::matmul(o.data(), S, w.o_proj, out, pool);
}

}  // namespace dsv3
