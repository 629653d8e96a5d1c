// SwiGLU and MoE forward: route every token, group tokens by expert, run each expert once
// on its tokens (matrix-matrix), combine in a fixed order.
#include "model/ffn.h"

#include <algorithm>
#include <vector>

#include "io/npy.h"
#include "kernels/ops.h"
#include "model/moe_router.h"

namespace dsv3 {

void swiglu_forward(const FfnWeights& w, const float* x, int64_t S, float* out, ThreadPool* pool) {
  const int64_t I = w.gate_proj.rows();
  std::vector<float> g(size_t(S * I));
  if (S == 1 && w.gate_proj.dtype != DType::F8_E4M3) {
    // Decode: one fused pass over gate and up (bit-identical to the unfused form below).
    kernels::gate_up_silu(x, w.gate_proj, w.up_proj, g.data(), pool);
  } else {
    std::vector<float> u(size_t(S * I));
    kernels::matmul(x, S, w.gate_proj, g.data(), pool);
    kernels::matmul(x, S, w.up_proj, u.data(), pool);
    kernels::silu_mul(g.data(), u.data(), S * I, g.data());
  }
  kernels::matmul(g.data(), S, w.down_proj, out, pool);
}

void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t S, float* out,
                 ThreadPool* pool, std::vector<int32_t>* chosen, const std::string& dump_prefix) {
  const int64_t D = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  // Router in fp32 (as HF: hidden and weight upcast).
  std::vector<float> logits(size_t(S * E));
  kernels::matmul(x, S, w.gate, logits.data(), pool);
  std::vector<float> bias;
  if (w.e_score_correction_bias.data) {
    bias.resize(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) bias[size_t(e)] = kernels::weight_at(w.e_score_correction_bias, e);
  }
  std::vector<int32_t> idx(size_t(S * K));
  std::vector<float> wt(size_t(S * K));
  for (int64_t s = 0; s < S; ++s)
    route_token(c, logits.data() + s * E, bias.empty() ? nullptr : bias.data(), idx.data() + s * K,
                wt.data() + s * K);
  if (chosen) *chosen = idx;
  if (!dump_prefix.empty()) {
    write_npy(dump_prefix + "router_logits.npy", logits.data(), {S, E});
    write_npy_i32(dump_prefix + "experts.npy", idx.data(), {S, K});
    write_npy(dump_prefix + "expert_weights.npy", wt.data(), {S, K});
  }

  // Tokens per expert, ascending token order.
  std::vector<std::vector<std::pair<int64_t, float>>> by_expert(static_cast<size_t>(E));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t k = 0; k < K; ++k) by_expert[size_t(idx[size_t(s * K + k)])].push_back({s, wt[size_t(s * K + k)]});

  std::fill(out, out + S * D, 0.f);
  std::vector<float> xin, y;
  for (int64_t e = 0; e < E; ++e) {  // ascending expert id = per-token combine order
    const auto& toks = by_expert[size_t(e)];
    if (toks.empty()) continue;
    const int64_t n = int64_t(toks.size());
    xin.resize(size_t(n * D));
    y.resize(size_t(n * D));
    for (int64_t i = 0; i < n; ++i) std::copy(x + toks[size_t(i)].first * D, x + (toks[size_t(i)].first + 1) * D, xin.begin() + i * D);
    swiglu_forward(w.experts[size_t(e)], xin.data(), n, y.data(), pool);
    for (int64_t i = 0; i < n; ++i) {
      float* o = out + toks[size_t(i)].first * D;
      const float g = toks[size_t(i)].second;
      for (int64_t d = 0; d < D; ++d) o[d] += g * y[size_t(i * D + d)];
    }
  }
  if (w.has_shared) {
    std::vector<float> sh(size_t(S * D));
    swiglu_forward(w.shared_experts, x, S, sh.data(), pool);
    for (int64_t i = 0; i < S * D; ++i) out[i] += sh[size_t(i)];
  }
}

}  // namespace dsv3
