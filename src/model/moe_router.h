// DeepSeekMoE routing for one token, exactly as architecture.md §10:
//  V2 (softmax): s = softmax(logits); greedy top-K, or group-limited (group score = max of s,
//     keep topk_group groups); w = s[idx]; normalise iff norm_topk_prob (K > 1), else * rsf.
//  V3 (sigmoid, noaux_tc): s = sigmoid(logits); choice = s + bias (selection only); group
//     score = sum of the top-2 choice values; keep topk_group groups (others -inf); top-K of
//     choice; w = s[idx] (no bias); normalise iff norm_topk_prob; then * rsf.
// Ties break deterministically towards the lower expert (and group) index. Output experts are
// sorted ascending with their weights, which is also the combine order.
#pragma once
#include <cstdint>

#include "model/config.h"

namespace dsv3 {

// logits: [E] router logits (fp32). bias: [E] e_score_correction_bias or nullptr.
// experts/weights: [K] outputs. scratch-free; allocates nothing for E <= 1024.
void route_token(const ModelConfig& c, const float* logits, const float* bias, int32_t* experts,
                 float* weights);

}  // namespace dsv3
