// SwiGLU and MoE forward: route every token, group tokens by expert, run each expert once
// on its tokens (matrix-matrix), combine in a fixed order. Decode (one token) runs the experts'
// matrices in two thread-pool jobs per layer (kernels/matvec_multi.h), same bits.
#include "model/ffn.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "io/npy.h"
#include "kernels/matvec_multi.h"
#include "kernels/ops.h"
#include "model/ggml_act_round.h"
#include "model/moe_router.h"
#include "model/scratch.h"

namespace dsv3 {

namespace {

// -1: DSV3_FUSED_DECODE not read yet; else 0 / 1.
std::atomic<int> g_fused{-1};

bool supported(const FfnWeights& w) {
  return kernels::matvec_multi_supported(w.gate_proj) && kernels::matvec_multi_supported(w.up_proj) &&
         kernels::matvec_multi_supported(w.down_proj);
}

}  // namespace

bool fused_decode() {
  int f = g_fused.load(std::memory_order_acquire);
  if (f < 0) {
    const char* e = std::getenv("DSV3_FUSED_DECODE");
    f = (e && std::strcmp(e, "0") == 0) ? 0 : 1;
    int expected = -1;
    g_fused.compare_exchange_strong(expected, f);
    f = g_fused.load();
  }
  return f != 0;
}

void set_fused_decode(bool on) {
  g_fused.store(on ? 1 : 0, std::memory_order_release);
}

void swiglu_forward(const FfnWeights& w, const float* x, int64_t S, float* out, ThreadPool* pool,
                    bool ggml) {
  const int64_t I = w.gate_proj.rows();
  float* g = scratch_floats(Scratch::kFfnG, size_t(S * I));
  if (S == 1 && !ggml && fused_decode() && supported(w)) {
    // Decode: gate/up (silu fused) then down, each one pool job (FP8 included).
    const kernels::Matvec gu{x, &w.gate_proj, &w.up_proj, g};
    kernels::matvec_multi(&gu, 1, pool);
    const kernels::Matvec dn{g, &w.down_proj, nullptr, out};
    kernels::matvec_multi(&dn, 1, pool);
    return;
  }
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

namespace {

// One token: the active experts' (ascending id) and the shared expert's gate/up as one
// matvec_multi job, then their down projections as one matvec_multi_rows job whose per-thread
// rows are combined right away: out[d] = sum over experts in ascending id of g_e * y_e[d], then
// + shared[d], each element with the same operations in the same order as the per-expert loop
// of moe_forward. off/tokw: moe_forward's counting sort. False (nothing written) if a weight is
// not matvec_multi_supported or there are too many experts.
bool moe_decode_fused(const ModelConfig& c, const MoeWeights& w, const float* x, const int64_t* off,
                      const float* tokw, float* out, ThreadPool* pool) {
  const int64_t D = c.hidden_size, E = c.n_routed_experts;
  int ids[kernels::kMatvecMultiMax];
  float gw[kernels::kMatvecMultiMax];
  int n = 0;
  int64_t hrows = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (off[e + 1] == off[e]) continue;
    if (n + 1 >= kernels::kMatvecMultiMax || !supported(w.experts[size_t(e)])) return false;
    ids[n] = int(e);
    gw[n] = tokw[off[e]];  // one token: each chosen expert holds exactly that token
    hrows += w.experts[size_t(e)].gate_proj.rows();
    ++n;
  }
  const bool sh = w.has_shared;
  if (sh) {
    if (!supported(w.shared_experts)) return false;
    hrows += w.shared_experts.gate_proj.rows();
  }
  const int np = n + (sh ? 1 : 0);
  const FfnWeights* fw[kernels::kMatvecMultiMax];
  for (int i = 0; i < n; ++i) fw[i] = &w.experts[size_t(ids[i])];
  if (sh) fw[n] = &w.shared_experts;
  for (int i = 0; i < np; ++i)
    if (fw[i]->down_proj.rows() != D || fw[i]->gate_proj.cols() != D ||
        fw[i]->down_proj.dtype != fw[0]->down_proj.dtype)
      return false;
  float* h = scratch_floats(Scratch::kMoeXin, size_t(hrows));
  float* y = scratch_floats(Scratch::kMoeY, size_t(np * D));
  kernels::Matvec gu[kernels::kMatvecMultiMax], dn[kernels::kMatvecMultiMax];
  float* hp = h;
  for (int i = 0; i < np; ++i) {
    gu[i] = {x, &fw[i]->gate_proj, &fw[i]->up_proj, hp};
    dn[i] = {hp, &fw[i]->down_proj, nullptr, y + i * D};
    hp += fw[i]->gate_proj.rows();
  }
  kernels::matvec_multi(gu, np, pool);
  kernels::matvec_multi_rows(dn, np, pool, [&](int64_t d0, int64_t d1) {
    std::fill(out + d0, out + d1, 0.f);
    for (int i = 0; i < n; ++i) {
      const float g = gw[i];
      const float* yi = y + i * D;
      for (int64_t d = d0; d < d1; ++d) out[d] += g * yi[d];
    }
    if (sh) {
      const float* ys = y + n * D;
      for (int64_t d = d0; d < d1; ++d) out[d] += ys[d];
    }
  });
  return true;
}

}  // namespace

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

  if (S == 1 && !c.ggml_numerics && fused_decode() &&
      moe_decode_fused(c, w, x, off, tokw, out, pool))
    return;
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
