// Tensor table: name patterns with shapes as functions of ModelConfig, expanded per layer.
#include "model/tensor_table.h"

#include <functional>

namespace dsv3 {

namespace {

using ShapeFn = std::function<std::vector<int64_t>(const ModelConfig&)>;
enum class Scope { kGlobal, kLayer, kDenseFfn, kMoe, kExpert, kMtp };

struct Pattern {
  const char* suffix;  // after "model.layers.{L}." for layer scopes; full name for kGlobal
  Scope scope;
  TensorRole role;
  ShapeFn shape;
  bool (*when)(const ModelConfig&) = nullptr;  // extra condition (e.g. q_lora_rank > 0)
  bool optional = false;
};

bool has_q_lora(const ModelConfig& c) { return c.q_lora_rank > 0; }
bool no_q_lora(const ModelConfig& c) { return c.q_lora_rank == 0; }
bool has_shared(const ModelConfig& c) { return c.n_shared_experts > 0; }
bool has_bias(const ModelConfig& c) { return c.topk_method == TopkMethod::kNoauxTc; }
bool is_mla(const ModelConfig& c) { return !c.is_gqa(); }
bool is_gqa(const ModelConfig& c) { return c.is_gqa(); }
bool has_qkv_bias(const ModelConfig& c) { return c.is_gqa() && c.qkv_bias; }
bool has_o_bias(const ModelConfig& c) { return c.is_gqa() && c.o_bias; }

const std::vector<Pattern>& patterns() {
  using C = const ModelConfig&;
  static const std::vector<Pattern> p = {
      {"model.embed_tokens.weight", Scope::kGlobal, TensorRole::kEmbedding,
       [](C c) { return std::vector<int64_t>{c.vocab_size, c.hidden_size}; }},
      {"model.norm.weight", Scope::kGlobal, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"lm_head.weight", Scope::kGlobal, TensorRole::kHead,
       [](C c) { return std::vector<int64_t>{c.vocab_size, c.hidden_size}; }},
      // Per decoder layer (main layers and MTP layers alike).
      {"input_layernorm.weight", Scope::kLayer, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"post_attention_layernorm.weight", Scope::kLayer, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"self_attn.q_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.num_attention_heads * c.qk_head_dim(), c.hidden_size}; },
       no_q_lora},
      {"self_attn.q_a_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.q_lora_rank, c.hidden_size}; }, has_q_lora},
      {"self_attn.q_a_layernorm.weight", Scope::kLayer, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.q_lora_rank}; }, has_q_lora},
      {"self_attn.q_b_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.num_attention_heads * c.qk_head_dim(), c.q_lora_rank}; },
       has_q_lora},
      {"self_attn.kv_a_proj_with_mqa.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.kv_lora_rank + c.qk_rope_head_dim, c.hidden_size}; },
       is_mla},
      {"self_attn.kv_a_layernorm.weight", Scope::kLayer, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.kv_lora_rank}; }, is_mla},
      {"self_attn.kv_b_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) {
         return std::vector<int64_t>{c.num_attention_heads * (c.qk_nope_head_dim + c.v_head_dim),
                                     c.kv_lora_rank};
       },
       is_mla},
      // GQA (qwen2, llama): q_proj and o_proj above (qk_head_dim = v_head_dim = head_dim).
      {"self_attn.k_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.num_key_value_heads * c.head_dim, c.hidden_size}; },
       is_gqa},
      {"self_attn.v_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.num_key_value_heads * c.head_dim, c.hidden_size}; },
       is_gqa},
      {"self_attn.q_proj.bias", Scope::kLayer, TensorRole::kBias,
       [](C c) { return std::vector<int64_t>{c.num_attention_heads * c.head_dim}; }, has_qkv_bias},
      {"self_attn.k_proj.bias", Scope::kLayer, TensorRole::kBias,
       [](C c) { return std::vector<int64_t>{c.num_key_value_heads * c.head_dim}; }, has_qkv_bias},
      {"self_attn.v_proj.bias", Scope::kLayer, TensorRole::kBias,
       [](C c) { return std::vector<int64_t>{c.num_key_value_heads * c.head_dim}; }, has_qkv_bias},
      {"self_attn.o_proj.bias", Scope::kLayer, TensorRole::kBias,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }, has_o_bias},
      {"self_attn.o_proj.weight", Scope::kLayer, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.hidden_size, c.num_attention_heads * c.v_head_dim}; }},
      // Dense FFN layers.
      {"mlp.gate_proj.weight", Scope::kDenseFfn, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.intermediate_size, c.hidden_size}; }},
      {"mlp.up_proj.weight", Scope::kDenseFfn, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.intermediate_size, c.hidden_size}; }},
      {"mlp.down_proj.weight", Scope::kDenseFfn, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.hidden_size, c.intermediate_size}; }},
      // MoE layers.
      {"mlp.gate.weight", Scope::kMoe, TensorRole::kRouter,
       [](C c) { return std::vector<int64_t>{c.n_routed_experts, c.hidden_size}; }},
      {"mlp.gate.e_score_correction_bias", Scope::kMoe, TensorRole::kRouterBias,
       [](C c) { return std::vector<int64_t>{c.n_routed_experts}; }, has_bias},
      {"mlp.shared_experts.gate_proj.weight", Scope::kMoe, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.n_shared_experts * c.moe_intermediate_size, c.hidden_size}; },
       has_shared},
      {"mlp.shared_experts.up_proj.weight", Scope::kMoe, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.n_shared_experts * c.moe_intermediate_size, c.hidden_size}; },
       has_shared},
      {"mlp.shared_experts.down_proj.weight", Scope::kMoe, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.hidden_size, c.n_shared_experts * c.moe_intermediate_size}; },
       has_shared},
      {"gate_proj.weight", Scope::kExpert, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.moe_intermediate_size, c.hidden_size}; }},
      {"up_proj.weight", Scope::kExpert, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.moe_intermediate_size, c.hidden_size}; }},
      {"down_proj.weight", Scope::kExpert, TensorRole::kLinear,
       [](C c) { return std::vector<int64_t>{c.hidden_size, c.moe_intermediate_size}; }},
      // MTP extras (layer index num_hidden_layers + k).
      {"enorm.weight", Scope::kMtp, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"hnorm.weight", Scope::kMtp, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"eh_proj.weight", Scope::kMtp, TensorRole::kMtpProj,
       [](C c) { return std::vector<int64_t>{c.hidden_size, 2 * c.hidden_size}; }},
      {"shared_head.norm.weight", Scope::kMtp, TensorRole::kNorm,
       [](C c) { return std::vector<int64_t>{c.hidden_size}; }},
      {"embed_tokens.weight", Scope::kMtp, TensorRole::kEmbedding,
       [](C c) { return std::vector<int64_t>{c.vocab_size, c.hidden_size}; }, nullptr, true},
      {"shared_head.head.weight", Scope::kMtp, TensorRole::kHead,
       [](C c) { return std::vector<int64_t>{c.vocab_size, c.hidden_size}; }, nullptr, true},
  };
  return p;
}

}  // namespace

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  const int64_t n_layers = c.num_hidden_layers + c.num_nextn_predict_layers;
  for (const Pattern& p : patterns()) {
    if (p.when && !p.when(c)) continue;
    if (p.scope == Scope::kGlobal) {
      if (c.tie_word_embeddings && std::string(p.suffix) == "lm_head.weight") continue;
      out.push_back({p.suffix, p.shape(c), p.role, -1, false, p.optional});
      continue;
    }
    for (int64_t L = 0; L < n_layers; ++L) {
      const bool mtp = L >= c.num_hidden_layers;
      const bool moe = c.is_moe_layer(L) || (mtp && c.n_routed_experts > 0);
      const std::string prefix = "model.layers." + std::to_string(L) + ".";
      switch (p.scope) {
        case Scope::kLayer: break;
        case Scope::kDenseFfn: if (moe) continue; break;
        case Scope::kMoe: if (!moe) continue; break;
        case Scope::kExpert:
          if (!moe) continue;
          for (int64_t e = 0; e < c.n_routed_experts; ++e)
            out.push_back({prefix + "mlp.experts." + std::to_string(e) + "." + p.suffix, p.shape(c),
                           p.role, L, mtp, false});
          continue;
        case Scope::kMtp: if (!mtp) continue; break;
        case Scope::kGlobal: break;
      }
      out.push_back({prefix + p.suffix, p.shape(c), p.role, L, mtp, p.optional});
    }
  }
  return out;
}

bool dtype_allowed(TensorRole role, DType dt) {
  const bool float_type = dt == DType::F32 || dt == DType::BF16 || dt == DType::F16;
  switch (role) {
    case TensorRole::kRouterBias: return dt == DType::F32 || dt == DType::BF16;
    case TensorRole::kLinear: return float_type || dt == DType::F8_E4M3;
    case TensorRole::kHead: return float_type || dt == DType::F8_E4M3;  // quantize --lm-head
    default: return float_type;
  }
}

}  // namespace dsv3
