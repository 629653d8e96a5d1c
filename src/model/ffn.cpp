// SwiGLU and MoE forward: route every token, group tokens by expert, run each expert once
// on its tokens (matrix-matrix), combine in a fixed order.
#include "model/ffn.h"

#include <algorithm>
#include <vector>

#include "io/npy.h"
#include "kernels/ops.h"
#include "model/ggml_act_round.h"
#include "model/moe_router.h"
#include "model/scratch.h"

namespace dsv3 {

void swiglu_forward(const FfnWeights& w, const float* x, int64_t S, float* out, ThreadPool* pool,
                    bool ggml) {
  const int64_t I = w.gate_proj.rows();
  float* g = scratch_floats(Scratch::kFfnG, size_t(S * I));
  if (ggml) {  // llama.cpp's SwiGLU numerics (ModelConfig::ggml_numerics)
    float* u = scratch_floats(Scratch::kFfnU, size_t(S * I));
    matmul_as(true, x, S, w.gate_proj, g, pool);
    matmul_as(true, x, S, w.up_proj, u, pool);
    kernels::silu_mul_ggml(g, u, S, I, g);
  } else if (S == 1 && w.gate_proj.dtype != DType::F8_E4M3) {
    // Decode: one fused pass over gate and up (bit-identical to the unfused form below).
    kernels::gate_up_silu(x, w.gate_proj, w.up_proj, g, pool);
  } else {
    float* u = scratch_floats(Scratch::kFfnU, size_t(S * I));
    kernels::matmul(x, S, w.gate_proj, g, pool);
    kernels::matmul(x, S, w.up_proj, u, pool);
    kernels::silu_mul(g, u, S * I, g);
  }
  matmul_as(ggml, g, S, w.down_proj, out, pool);
}

void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t S, float* out,
                 ThreadPool* pool, std::vector<int32_t>* chosen, const std::string& dump_prefix) {
  const int64_t D = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  // Router in fp32 (as HF: hidden and weight upcast).
  // Buffers are per-thread slots (model/scratch.h): no allocation once a decode loop is warm.
  float* logits = scratch_floats(Scratch::kMoeLogits, size_t(S * E));
  kernels::matmul_fp32act(x, S, w.gate, logits, pool);
  float* bias = nullptr;
  if (w.e_score_correction_bias.data) {
    bias = scratch_floats(Scratch::kMoeBias, size_t(E));
    for (int64_t e = 0; e < E; ++e) bias[e] = kernels::weight_at(w.e_score_correction_bias, e);
  }
  thread_local std::vector<int32_t> idx_buf;
  idx_buf.resize(size_t(S * K));
  int32_t* idx = idx_buf.data();
  float* wt = scratch_floats(Scratch::kMoeWt, size_t(S * K));
  for (int64_t s = 0; s < S; ++s) route_token(c, logits + s * E, bias, idx + s * K, wt + s * K);
  if (chosen) chosen->assign(idx, idx + S * K);
  if (!dump_prefix.empty()) {
    write_npy(dump_prefix + "router_logits.npy", logits, {S, E});
    write_npy_i32(dump_prefix + "experts.npy", idx, {S, K});
    write_npy(dump_prefix + "expert_weights.npy", wt, {S, K});
  }

  // Tokens per expert in ascending token order (counting sort): expert e's (token, weight)
  // pairs are tok/tokw[off[e], off[e + 1]).
  int64_t* off = scratch_i64(Scratch::kMoeBias, size_t(E + 1));
  int64_t* fill = scratch_i64(Scratch::kMoeLogits, size_t(E));
  int64_t* tok = scratch_i64(Scratch::kMoeTokW, size_t(S * K));
  float* tokw = scratch_floats(Scratch::kMoeTokW, size_t(S * K));
  std::fill(off, off + E + 1, 0);
  for (int64_t i = 0; i < S * K; ++i) ++off[idx[i] + 1];
  for (int64_t e = 0; e < E; ++e) off[e + 1] += off[e];
  std::copy(off, off + E, fill);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t pos = fill[idx[s * K + k]]++;
      tok[pos] = s;
      tokw[pos] = wt[s * K + k];
    }

  std::fill(out, out + S * D, 0.f);
  for (int64_t e = 0; e < E; ++e) {  // ascending expert id = per-token combine order
    const int64_t b = off[e], n = off[e + 1] - off[e];
    if (n == 0) continue;
    float* xin = scratch_floats(Scratch::kMoeXin, size_t(n * D));
    float* y = scratch_floats(Scratch::kMoeY, size_t(n * D));
    for (int64_t i = 0; i < n; ++i) std::copy(x + tok[b + i] * D, x + (tok[b + i] + 1) * D, xin + i * D);
    swiglu_forward(w.experts[size_t(e)], xin, n, y, pool, c.ggml_numerics);
    for (int64_t i = 0; i < n; ++i) {
      float* o = out + tok[b + i] * D;
      const float g = tokw[b + i];
      for (int64_t d = 0; d < D; ++d) o[d] += g * y[i * D + d];
    }
  }
  if (w.has_shared) {
    float* sh = scratch_floats(Scratch::kMoeSh, size_t(S * D));
    swiglu_forward(w.shared_experts, x, S, sh, pool, c.ggml_numerics);
    for (int64_t i = 0; i < S * D; ++i) out[i] += sh[i];
  }
}

}  // namespace dsv3
