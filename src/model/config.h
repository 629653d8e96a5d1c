// ModelConfig: one struct for every DeepSeek-V2/V3-architecture checkpoint (deepseek_v2,
// deepseek_v3, kimi_k2, ...) and for the dense GQA architectures qwen2 and llama (R1
// distills), read from a Hugging Face config.json or from GGUF metadata (model/gguf_model.h).
// Variants are data here, never subclasses. Field names follow config.json; see
// ../shared/docs/architecture.md §2.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"

namespace dsv3 {

enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };
enum class ScoringFunc { kSoftmax, kSigmoid };

// Attention of every layer: DeepSeek's MLA (latent cache) or grouped-query attention with
// per-head K/V in the cache (qwen2, llama; config_dense.cpp).
enum class AttentionKind { kMla, kGqa };
// Which elements RoPE rotates together: (2i, 2i+1) (DeepSeek MLA; llama weights from GGUF,
// whose q/k rows llama.cpp's converter permuted into this order), or (i, i + d/2) (HF
// rotate_half, "NeoX": qwen2 and llama from HF, qwen2 from GGUF).
enum class RopeStyle { kInterleaved, kHalf };

struct RopeScaling {
  bool yarn = false;           // rope_scaling / rope_parameters with type "yarn"
  bool llama3 = false;         // rope_type "llama3" (factor, low/high_freq_factor, original_max)
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double factor = 1.0;         // s
  int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mscale = 1.0, mscale_all_dim = 0.0;
};

struct ModelConfig {
  std::string model_type;      // "deepseek_v3", "deepseek_v2", "kimi_k2", "qwen2", "llama"
  AttentionKind attention = AttentionKind::kMla;
  RopeStyle rope_style = RopeStyle::kInterleaved;
  // GQA only (kGqa): K/V heads (each shared by num_attention_heads / num_key_value_heads query
  // heads) and biases. For GQA, qk_nope_head_dim = 0 and qk_rope_head_dim = v_head_dim =
  // head_dim, so the shared shape formulas (q_proj, o_proj, RoPE table) hold for both kinds.
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  bool qkv_bias = false;                // q/k/v_proj.bias (qwen2; llama attention_bias)
  bool o_bias = false;                  // o_proj.bias (llama attention_bias)
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;              // D
  int64_t intermediate_size = 0;        // dense FFN width
  int64_t moe_intermediate_size = 0;    // per-expert width
  int64_t num_hidden_layers = 0;        // main layers (MTP not counted)
  int64_t num_attention_heads = 0;      // H
  int64_t q_lora_rank = 0;              // 0 = none (config null): single q_proj (V2-Lite)
  int64_t kv_lora_rank = 0;             // latent width r_kv
  int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  int64_t n_routed_experts = 0;         // 0 = dense model
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;      // K
  int64_t n_group = 1, topk_group = 1;
  TopkMethod topk_method = TopkMethod::kGreedy;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope;
  int64_t max_position_embeddings = 4096;
  int64_t num_nextn_predict_layers = 0;  // MTP layers stored after the main layers
  int64_t bos_token_id = -1, eos_token_id = -1;
  bool tie_word_embeddings = false;
  // FP8 checkpoints (quantization_config): fmt e4m3, weight_block_size [128, 128].
  bool fp8 = false;
  int64_t fp8_block_rows = 128, fp8_block_cols = 128;
  bool scale_ue8m0 = false;             // V3.1 "scale_fmt": "ue8m0"
  // Models loaded from GGUF: the fp32 ops around the matmuls follow ggml's CPU numerics
  // (RMSNorm sum in double, SiLU with ggml's vector expf, RoPE angles by ggml's recurrence),
  // so dsv3 and llama.cpp compute the same bits where they can (issue 9). HF folders keep the
  // torch-matching ops.
  bool ggml_numerics = false;
  // deepseek2 GGUFs in the MLA-split layout, per layer: the stored types of attn_k_b / attn_v_b
  // (dsv3 multiplies by fp32 copies; under ggml_numerics the activations are first rounded to
  // what ggml's vec_dot_type of these holds, model/ggml_act_round.h). Empty otherwise.
  std::vector<DType> ggml_k_b_type, ggml_v_b_type;

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(int64_t i) const {
    return n_routed_experts > 0 && i >= first_k_dense_replace && i % moe_layer_freq == 0;
  }
  bool is_gqa() const { return attention == AttentionKind::kGqa; }
  // Values per token per layer in the KV cache: MLA's latent, kv_lora_rank + qk_rope_head_dim;
  // GQA: K then V of every kv head, 2 * num_key_value_heads * head_dim (model/gqa.h).
  int64_t latent_cache_width() const {
    return is_gqa() ? 2 * num_key_value_heads * head_dim : kv_lora_rank + qk_rope_head_dim;
  }
  // softmax scale = qk_head_dim^-1/2 * m^2 (GQA: head_dim^-1/2), m = 0.1 * mscale_all_dim * ln(factor) + 1 (YaRN).
  double softmax_scale() const;

  // Parses and validates; every missing, out-of-range or inconsistent field is a dsv3::Error
  // naming the field (and `source`, the file path, for messages).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
};

// The qwen2 / llama branch of from_json (config_dense.cpp).
ModelConfig dense_config_from_json(const nlohmann::json& j, const std::string& source);
// Range and consistency checks of a dense (GQA) config, shared by config.json and GGUF.
void validate_dense_config(const ModelConfig& c, const std::string& source);

}  // namespace dsv3
