// Multi-token prediction module (architecture.md §11): for pair i = (h_i, t_{i+1}) with h_i the
// main model's hidden state after the final norm at position i,
//   e = enorm(Emb(t_{i+1})), g = hnorm(h_i), h' = eh_proj(concat(e, g))   (embedding half first)
//   h1 = decoder layer (MLA + MoE, own latent KV cache) at RoPE position i
//   logits = head(shared_head.norm(h1))  — the prediction of token t_{i+2}.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/kv_cache.h"

namespace dsv3 {

// Runs MTP module `k` over S pairs at positions [start, start + S). `cache` is the module's own
// cache (layer index k); it must hold exactly `start` tokens and holds start + S afterwards.
// hidden: [S, D] main hidden after the final norm; next_tokens: [S] (t_{i+1}).
// logits: [S, V] if opt.all_logits else [V] (last pair). out_hidden (optional): [S, D] the
// module output after shared_head.norm (fed back as h for recurrent drafting with k > 1).
void mtp_forward(const Model& m, int64_t k, KvCache& cache, const float* hidden,
                 const int32_t* next_tokens, int64_t S, int64_t start, float* logits,
                 ThreadPool* pool, const ForwardOptions& opt = {}, ForwardTrace* trace = nullptr,
                 float* out_hidden = nullptr);

}  // namespace dsv3
