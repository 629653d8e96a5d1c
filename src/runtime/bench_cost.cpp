// Decode bytes and prefill FLOPs of one step (see bench_cost.h for the formulas).
#include "runtime/bench_cost.h"

namespace dsv3::bench {
namespace {

double scale_bytes(const TensorView& v) {
  if (!v.block_scale || v.ndim != 2) return 0;
  const int64_t br = (v.rows() + 127) / 128, bc = (v.cols() + 127) / 128;
  return double(br * bc) * 4.0;
}

double ffn_bytes(const FfnWeights& f) {
  return view_bytes(f.gate_proj) + view_bytes(f.up_proj) + view_bytes(f.down_proj);
}
double ffn_params(const FfnWeights& f) {
  return double(f.gate_proj.numel() + f.up_proj.numel() + f.down_proj.numel());
}
double attn_bytes(const AttentionWeights& a) {
  return view_bytes(a.q_proj) + view_bytes(a.q_a_proj) + view_bytes(a.q_a_layernorm) +
         view_bytes(a.q_b_proj) + view_bytes(a.kv_a_proj_with_mqa) + view_bytes(a.kv_a_layernorm) +
         view_bytes(a.kv_b_proj) + view_bytes(a.o_proj) + view_bytes(a.k_proj) +
         view_bytes(a.v_proj) + view_bytes(a.q_bias) + view_bytes(a.k_bias) +
         view_bytes(a.v_bias) + view_bytes(a.o_bias);
}
// Linear weights a token multiplies with in attention. kv_b_proj is applied per token in both
// forms (naive: to the token's own latent; absorbed: folded into q and the output).
double attn_params(const AttentionWeights& a) {
  return double(a.q_proj.numel() + a.q_a_proj.numel() + a.q_b_proj.numel() +
                a.kv_a_proj_with_mqa.numel() + a.kv_b_proj.numel() + a.o_proj.numel() +
                a.k_proj.numel() + a.v_proj.numel());  // k/v_proj: GQA (qwen2, llama)
}

double layer_params(const ModelConfig& c, const LayerWeights& w, bool all_experts) {
  double p = attn_params(w.attn);
  if (!w.is_moe) return p + ffn_params(w.mlp);
  p += double(w.moe.gate.numel());
  if (w.moe.has_shared) p += ffn_params(w.moe.shared_experts);
  if (!w.moe.experts.empty())
    p += ffn_params(w.moe.experts[0]) *
         double(all_experts ? int64_t(w.moe.experts.size()) : c.num_experts_per_tok);
  return p;
}

}  // namespace

double view_bytes(const TensorView& v) {
  if (!v.data) return 0;
  return double(v.nbytes()) + scale_bytes(v);
}

double decode_weight_bytes(const Model& m) {
  const ModelConfig& c = m.config;
  double b = view_bytes(m.embed_tokens) / double(c.vocab_size);  // one row
  for (const LayerWeights& w : m.layers) {
    b += view_bytes(w.input_layernorm) + view_bytes(w.post_attention_layernorm);
    b += attn_bytes(w.attn);
    if (!w.is_moe) {
      b += ffn_bytes(w.mlp);
      continue;
    }
    b += view_bytes(w.moe.gate) + view_bytes(w.moe.e_score_correction_bias);
    if (w.moe.has_shared) b += ffn_bytes(w.moe.shared_experts);
    if (!w.moe.experts.empty())
      b += ffn_bytes(w.moe.experts[0]) * double(c.num_experts_per_tok);
  }
  b += view_bytes(m.norm) + view_bytes(m.lm_head);
  return b;
}

StepCost decode_cost_per_token(const Model& m, int64_t depth, int64_t n, DType kv_dtype) {
  const ModelConfig& c = m.config;
  StepCost s;
  s.weight_bytes = decode_weight_bytes(m);
  // Rows read over the n steps: sum_{i<n} (depth + i + 1) = n*depth + n(n+1)/2.
  const double rows = double(n) * double(depth) + double(n) * double(n + 1) / 2.0;
  s.kv_bytes = rows / double(n) * double(c.latent_cache_width()) * double(dtype_size(kv_dtype)) *
               double(c.num_hidden_layers);
  // Absorbed attention per key and head: r_kv + d_rope (score) + r_kv (value) multiply-adds;
  // GQA: head_dim (score) + head_dim (value).
  const int64_t per_key = c.is_gqa() ? 2 * c.head_dim : 2 * c.kv_lora_rank + c.qk_rope_head_dim;
  const double attn = rows / double(n) * double(c.num_attention_heads) * double(per_key) * 2.0 *
                      double(c.num_hidden_layers);
  s.flops = 2.0 * active_params(m) + attn;
  return s;
}

StepCost prefill_cost(const Model& m, int64_t depth, int64_t S) {
  const ModelConfig& c = m.config;
  StepCost s;
  double per_tok = 0;
  for (const LayerWeights& w : m.layers) per_tok += layer_params(c, w, false);
  s.flops = 2.0 * double(S) * per_tok + 2.0 * double(m.lm_head.numel());
  // sum_{i<S} (depth + i + 1) keys per query, per head, per layer.
  const double keys = double(S) * double(depth) + double(S) * double(S + 1) / 2.0;
  s.flops += keys * double(c.num_attention_heads) * double(c.qk_head_dim() + c.v_head_dim) * 2.0 *
             double(c.num_hidden_layers);
  for (const LayerWeights& w : m.layers)
    s.decompress_flops += 2.0 * double(depth) * double(w.attn.kv_b_proj.numel());
  return s;
}

double active_params(const Model& m) {
  double p = double(m.lm_head.numel());
  for (const LayerWeights& w : m.layers) p += layer_params(m.config, w, false);
  return p;
}

double total_params(const Model& m) {
  double p = double(m.lm_head.numel());
  if (m.lm_head.data != m.embed_tokens.data) p += double(m.embed_tokens.numel());
  for (const LayerWeights& w : m.layers) p += layer_params(m.config, w, true);
  return p;
}

}  // namespace dsv3::bench
