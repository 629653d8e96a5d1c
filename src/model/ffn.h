// Feed-forward blocks: dense SwiGLU and DeepSeekMoE (shared + routed experts).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/model.h"

namespace dsv3 {

// Decode fusion (S == 1, fp32-activation weights: kernels::matvec_multi_supported): a MoE layer
// runs all active experts' gate/up (routed + shared) as ONE thread-pool job and all their down
// projections plus the combine as a second one, a dense SwiGLU runs gate/up then down; the bits
// equal the per-matrix path's. On by default; DSV3_FUSED_DECODE=0 (read at first use) or
// set_fused_decode(false) selects the per-matrix path (A/B runs, tests).
bool fused_decode();
void set_fused_decode(bool on);

// out[S, D] = down(silu(gate x) * up x) for x [S, D].
void swiglu_forward(const FfnWeights& w, const float* x, int64_t S, float* out, ThreadPool* pool,
                    bool ggml = false);

// out[S, D] = sum_k w_k * Expert_{e_k}(x) + Shared(x). chosen (optional): [S * K] experts.
// Routed contributions are added per token in ascending expert id with fp32 accumulation,
// then the shared expert output is added.
void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t S, float* out,
                 ThreadPool* pool, std::vector<int32_t>* chosen, const std::string& dump_prefix);

}  // namespace dsv3
