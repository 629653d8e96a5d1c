// The preset table: published config.json values (fields that bear on sizes; runtime-only
// fields such as auto_map or transformers_version are left out).
#include "analyze/presets.h"

namespace dsv3::analyze {

namespace {

const std::vector<Preset> kPresets = {
    {"deepseek-v3", "deepseek-ai/DeepSeek-V3", R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "attention_bias": false, "first_k_dense_replace": 3, "hidden_act": "silu",
  "hidden_size": 7168, "intermediate_size": 18432, "kv_lora_rank": 512,
  "max_position_embeddings": 163840, "moe_intermediate_size": 2048, "moe_layer_freq": 1,
  "n_group": 8, "n_routed_experts": 256, "n_shared_experts": 1, "norm_topk_prob": true,
  "num_attention_heads": 128, "num_experts_per_tok": 8, "num_hidden_layers": 61,
  "num_key_value_heads": 128, "num_nextn_predict_layers": 1, "q_lora_rank": 1536,
  "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "routed_scaling_factor": 2.5,
  "scoring_func": "sigmoid", "tie_word_embeddings": false, "topk_group": 4,
  "topk_method": "noaux_tc", "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 129280,
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                          "weight_block_size": [128, 128]}
})"},
    {"deepseek-v2", "deepseek-ai/DeepSeek-V2", R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
  "attention_bias": false, "first_k_dense_replace": 1, "hidden_act": "silu",
  "hidden_size": 5120, "intermediate_size": 12288, "kv_lora_rank": 512,
  "max_position_embeddings": 163840, "moe_intermediate_size": 1536, "moe_layer_freq": 1,
  "n_group": 8, "n_routed_experts": 160, "n_shared_experts": 2, "norm_topk_prob": false,
  "num_attention_heads": 128, "num_experts_per_tok": 6, "num_hidden_layers": 60,
  "num_key_value_heads": 128, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64, "routed_scaling_factor": 16.0, "scoring_func": "softmax",
  "tie_word_embeddings": false, "topk_group": 3, "topk_method": "group_limited_greedy",
  "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 102400
})"},
    {"deepseek-v2-lite", "deepseek-ai/DeepSeek-V2-Lite", R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
  "attention_bias": false, "first_k_dense_replace": 1, "hidden_act": "silu",
  "hidden_size": 2048, "intermediate_size": 10944, "kv_lora_rank": 512,
  "max_position_embeddings": 163840, "moe_intermediate_size": 1408, "moe_layer_freq": 1,
  "n_group": 1, "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": false,
  "num_attention_heads": 16, "num_experts_per_tok": 6, "num_hidden_layers": 27,
  "num_key_value_heads": 16, "q_lora_rank": null, "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64, "routed_scaling_factor": 1.0, "scoring_func": "softmax",
  "tie_word_embeddings": false, "topk_group": 1, "topk_method": "greedy",
  "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 102400
})"},
    {"qwen2.5-72b", "Qwen/Qwen2.5-72B", R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
  "hidden_size": 8192, "intermediate_size": 29568, "max_position_embeddings": 131072,
  "max_window_layers": 80, "num_attention_heads": 64, "num_hidden_layers": 80,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
  "sliding_window": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "use_sliding_window": false, "vocab_size": 152064
})"},
    {"llama-3.1-405b", "meta-llama/Llama-3.1-405B", R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": false,
  "hidden_act": "silu", "hidden_size": 16384, "intermediate_size": 53248,
  "max_position_embeddings": 131072, "mlp_bias": false, "num_attention_heads": 128,
  "num_hidden_layers": 126, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 128256
})"},
    {"qwen-72b", "Qwen/Qwen-72B", R"({
  "architectures": ["QWenLMHeadModel"], "model_type": "qwen", "hidden_size": 8192,
  "intermediate_size": 49152, "kv_channels": 128, "layer_norm_epsilon": 1e-06,
  "max_position_embeddings": 32768, "no_bias": true, "num_attention_heads": 64,
  "num_hidden_layers": 80, "rotary_emb_base": 1000000, "rotary_pct": 1.0,
  "seq_length": 32768, "vocab_size": 152064
})"},
    {"deepseek-llm-67b", "deepseek-ai/deepseek-llm-67b-base", R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
  "hidden_size": 8192, "intermediate_size": 22016, "max_position_embeddings": 4096,
  "num_attention_heads": 64, "num_hidden_layers": 95, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_theta": 10000, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "vocab_size": 102400
})"},
};

}  // namespace

const std::vector<Preset>& presets() {
  return kPresets;
}

ArchSpec load_preset(const std::string& name) {
  std::string known;
  for (const auto& p : kPresets) {
    if (name == p.name) return parse_arch_spec(nlohmann::json::parse(p.config), p.name);
    known += std::string(known.empty() ? "" : ", ") + p.name;
  }
  fail("unknown preset '", name, "' (known: ", known, ")");
}

}  // namespace dsv3::analyze
