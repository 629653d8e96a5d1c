// Grouped-query attention of the dense architectures (qwen2, llama): q/k/v projections with
// optional biases, RoPE on q and k (RopeStyle: rotate-half or interleaved pairs), K and V of
// every kv head stored per token in the KvCache (row = [K heads | V heads], width
// 2 * num_key_value_heads * head_dim), causal softmax attention, o_proj (+ optional bias).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/mla.h"  // SeqRows
#include "model/model.h"
#include "model/rope.h"

namespace dsv3 {

// x: [R, D] normalised attention input of all sequences' rows; out: [R, D]. Projections run
// once over all R rows; RoPE, the cache write and attention run per sequence against its own
// cache (which holds seq.start tokens before the call). Every output row depends only on its
// own sequence, and no result depends on the thread count.
void gqa_forward_batch(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       int64_t layer, const float* x, int64_t R, const std::vector<SeqRows>& seqs,
                       float* out, ThreadPool* pool, const std::string& dump_prefix);

// RoPE on one head of d values with the d/2 cos/sin of its position, in `style`.
void apply_rope(RopeStyle style, float* x, int64_t d, const float* cos, const float* sin);

}  // namespace dsv3
