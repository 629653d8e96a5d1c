// Feed-forward blocks: dense SwiGLU and DeepSeekMoE (shared + routed experts).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/model.h"

namespace dsv3 {

// out[S, D] = down(silu(gate x) * up x) for x [S, D].
void swiglu_forward(const FfnWeights& w, const float* x, int64_t S, float* out, ThreadPool* pool,
                    bool ggml = false);

// out[S, D] = sum_k w_k * Expert_{e_k}(x) + Shared(x). chosen (optional): [S * K] experts.
// Routed contributions are added per token in ascending expert id with fp32 accumulation,
// then the shared expert output is added.
void moe_forward(const ModelConfig& c, const MoeWeights& w, const float* x, int64_t S, float* out,
                 ThreadPool* pool, std::vector<int32_t>* chosen, const std::string& dump_prefix);

}  // namespace dsv3
