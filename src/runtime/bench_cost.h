// What one forward step must read and compute, from the loaded model's tensors (their stored
// dtypes, FP8 block scales included) and its config — the numerators of `dsv3 bench`'s
// effective GB/s (decode) and FLOP/s (prefill).
//
// Decode bytes per token (S = 1): every byte of every tensor the token touches is read once:
//   embedding row + per layer [2 norms + attention (q or q_a/q_a_norm/q_b, kv_a, kv_a_norm,
//   kv_b, o) + dense FFN (gate, up, down) | MoE (router + bias + shared experts + K routed
//   experts of E)] + final norm + lm_head; plus the latent KV cache rows the absorbed attention
//   scores against: rows * (kv_lora_rank + qk_rope_head_dim) * cache dtype size per layer.
// Prefill FLOPs (S tokens after `depth` cached ones, logits of the last token only):
//   2 * S * (active linear weights per token, lm_head excluded) + 2 * D * V (lm_head, one row)
//   + attention: per layer per head, causal, for each query i in [0, S) over depth + i + 1 keys:
//   2 * (qk_head_dim + v_head_dim) multiply-adds per key (scores and values).
//   Naive MLA also decompresses k_nope/v for all depth + S positions with kv_b_proj; that work
//   is counted separately (decompress_flops), since the absorbed form avoids it.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "model/model.h"

namespace dsv3::bench {

struct StepCost {
  double weight_bytes = 0;      // weights read per decode token
  double kv_bytes = 0;          // latent cache bytes read for the decode step(s) counted
  double flops = 0;             // useful FLOPs (matmuls with weights + attention)
  double decompress_flops = 0;  // naive-MLA kv_b decompression of cached positions (prefill)
};

// Bytes of a weight view as stored, FP8 block scales included.
double view_bytes(const TensorView& v);

// Weight bytes one decode token reads (K routed experts per MoE layer; expert sizes are taken
// from expert 0 of each layer, all experts of a layer having the same shapes).
double decode_weight_bytes(const Model& m);

// Decode of `n` tokens at positions [depth, depth + n): total bytes (weights n times + the
// cache rows each step reads: depth + i + 1 rows for step i) divided by n, i.e. per token.
StepCost decode_cost_per_token(const Model& m, int64_t depth, int64_t n, DType kv_dtype);

// Prefill of `s` tokens at positions [depth, depth + s), total (not per token).
StepCost prefill_cost(const Model& m, int64_t depth, int64_t s);

// Parameters (elements) a token multiplies with: the "active parameters", lm_head included.
double active_params(const Model& m);
// All parameters of the checkpoint (elements).
double total_params(const Model& m);

}  // namespace dsv3::bench
