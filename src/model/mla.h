// Multi-head Latent Attention (architecture.md §7) over a chunk of S tokens, in both forms:
// naive (k_nope/v decompressed from the latent cache with kv_b_proj) and absorbed (W_UK folded
// into the query, W_UV applied to the attention-weighted latent). Both read the same cache.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/model.h"
#include "model/rope.h"
#include "runtime/kv_cache.h"

namespace dsv3 {

// One sequence's share of a batch of rows: rows [row0, row0 + n) of the batch are its tokens
// at positions [start, start + n) of `cache` (which holds `start` tokens before the call).
struct SeqRows {
  KvCache* cache;
  int64_t row0, n, start;
};

// x: [R, D] normalised attention input of all sequences' rows. out: [R, D]. Projections run
// once over all R rows (matrix-matrix); RoPE, the latent cache write (c_kv after
// kv_a_layernorm, k_pe after RoPE) and attention run per sequence against its own cache.
void mla_forward_batch(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       int64_t layer, const float* x, int64_t R, const std::vector<SeqRows>& seqs,
                       bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix);

// Single-sequence form: S rows at positions [start, start + S).
void mla_forward(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 int64_t layer, const float* x, int64_t S, int64_t start, KvCache& cache,
                 bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix);

}  // namespace dsv3
