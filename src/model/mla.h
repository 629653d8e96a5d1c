// Multi-head Latent Attention (architecture.md §7) over a chunk of S tokens, in both forms:
// naive (k_nope/v decompressed from the latent cache with kv_b_proj) and absorbed (W_UK folded
// into the query, W_UV applied to the attention-weighted latent). Both read the same cache.
#pragma once
#include <cstdint>
#include <string>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/model.h"
#include "model/rope.h"
#include "runtime/kv_cache.h"

namespace dsv3 {

struct MlaDump;  // optional intermediate capture

// x: [S, D] normalised attention input. out: [S, D]. Writes the S new latent rows
// (c_kv after kv_a_layernorm, k_pe after RoPE) at positions [start, start+S) of `layer`.
void mla_forward(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 int64_t layer, const float* x, int64_t S, int64_t start, KvCache& cache,
                 bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix);

}  // namespace dsv3
