// Parameter counting from the tensor shapes each architecture implies
// (../shared/docs/architecture.md §3 for MLA/MoE; HF Llama/Qwen2/Qwen/Mixtral modules).
#include "analyze/params.h"

#include "analyze/checked.h"

namespace dsv3::analyze {

namespace {

struct AttnParams {
  int64_t proj = 0;   // matmul weights and biases
  int64_t norms = 0;  // MLA q_a_layernorm / kv_a_layernorm
};

AttnParams attention_per_layer(const ArchSpec& s, Need& need) {
  const int64_t d = need(s.hidden_size), h = need(s.num_heads);
  AttnParams a;
  if (s.attention == AttentionKind::kMLA) {
    const int64_t rq = need(s.q_lora_rank), rkv = need(s.kv_lora_rank);
    const int64_t nope = need(s.qk_nope_head_dim), rope = need(s.qk_rope_head_dim);
    const int64_t dv = need(s.v_head_dim);
    // q: q_a_proj [rq, d] + q_b_proj [h(nope+rope), rq], or q_proj [h(nope+rope), d].
    const int64_t q =
        rq > 0 ? cadd({cmul({d, rq}), cmul({rq, h, nope + rope})}) : cmul({d, h, nope + rope});
    a.proj = cadd({q, cmul({d, rkv + rope}),   // kv_a_proj_with_mqa
                   cmul({rkv, h, nope + dv}),  // kv_b_proj
                   cmul({h, dv, d})});         // o_proj
    a.norms = (rq > 0 ? rq : 0) + rkv;
  } else {
    const int64_t kv = need(s.num_kv_heads), hd = need(s.head_dim);
    a.proj = cadd({cmul({2, d, h, hd}), cmul({2, d, kv, hd})});  // q, o + k, v
    if (s.qkv_bias) a.proj = cadd({a.proj, cmul({h, hd}), cmul({2, kv, hd})});
    if (s.o_bias) a.proj = cadd({a.proj, d});
  }
  return a;
}

int64_t swiglu(int64_t d, int64_t width, bool bias) {
  return cadd({cmul({3, d, width}), bias ? cadd({cmul({2, width}), d}) : 0});
}

}  // namespace

int64_t attention_params_per_layer(const ArchSpec& s) {
  Need need("attention parameters");
  AttnParams a = attention_per_layer(s, need);
  need.done();
  return a.proj;
}

ParamCounts count_params(const ArchSpec& s) {
  Need need("parameter counts");
  const int64_t V = need(s.vocab_size), d = need(s.hidden_size), L = need(s.num_layers);
  AttnParams attn = attention_per_layer(s, need);
  ParamCounts p;
  p.moe_layers = s.moe_layer_count();
  p.dense_layers = L - p.moe_layers;
  const int64_t dense_width = p.dense_layers > 0 ? need(s.intermediate_size) : 0;
  int64_t expert = 0, E = 0, k = 0, shared = 0;
  if (s.is_moe) {
    E = need(s.n_routed_experts);
    k = need(s.experts_per_token);
    expert = swiglu(d, need(s.moe_intermediate_size), false);
  }
  need.done();
  if (s.is_moe) shared = cmul({*s.n_shared_experts.value, expert});

  const int64_t router_per_layer = cadd({cmul({E, d}), s.router_bias ? E : 0});
  p.embedding = cmul({V, d});
  p.head = s.tie_embeddings ? 0 : p.embedding;
  p.attention = cmul({L, attn.proj});
  p.norms = cadd({cmul({L, cadd({cmul({2, d}), attn.norms})}), d});
  p.dense_ffn = cmul({p.dense_layers, swiglu(d, dense_width, s.mlp_bias)});
  p.routed_experts = cmul({p.moe_layers, E, expert});
  p.routed_active = cmul({p.moe_layers, k, expert});
  p.shared_experts = cmul({p.moe_layers, shared});
  p.router = cmul({p.moe_layers, router_per_layer});
  // The sums in total() / active() must not overflow either.
  cadd({p.embedding, p.attention, p.dense_ffn, p.routed_experts, p.shared_experts, p.router,
        p.norms, p.head});

  // MTP module (V3 §2.2): one decoder layer of the last layer's kind, enorm + hnorm,
  // eh_proj [d, 2d], shared_head.norm; embed_tokens and shared_head.head are shared copies.
  if (s.num_mtp_layers > 0) {
    const bool moe = s.is_moe_layer(L > 0 ? L - 1 : 0);
    const int64_t layer_common = cadd({attn.proj, attn.norms, cmul({2, d, d}), cmul({5, d})});
    const int64_t dense = swiglu(d, dense_width, s.mlp_bias);
    const int64_t ffn_total = moe ? cadd({cmul({E, expert}), shared, router_per_layer}) : dense;
    const int64_t ffn_active = moe ? cadd({cmul({k, expert}), shared, router_per_layer}) : dense;
    p.mtp = cmul({s.num_mtp_layers, cadd({layer_common, ffn_total})});
    p.mtp_active = cmul({s.num_mtp_layers, cadd({layer_common, ffn_active})});
  }
  return p;
}

}  // namespace dsv3::analyze
