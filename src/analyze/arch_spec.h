// ArchSpec: a generic, size-only description of a decoder-only transformer (MLA, GQA or MHA
// attention; dense or mixture-of-experts FFN; optional MTP modules), read from a Hugging Face
// config.json or a built-in preset. It is what `dsv3 analyze` computes on. Independent of
// src/model's ModelConfig (which covers only the DeepSeek family and is needed to run a model).
//
// Every field remembers the config.json key it came from, so a figure that needs an absent
// field can say which keys are missing (MissingFields) instead of computing a wrong number.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace dsv3::analyze {

// One integer size from config.json. `value` is empty when the key is absent (or null where
// null does not mean "none"); `key` is the config.json name used in messages.
struct Field {
  std::optional<int64_t> value;
  std::string key;
};

enum class AttentionKind { kMHA, kGQA, kMLA };
const char* attention_kind_name(AttentionKind k);  // "MHA", "GQA", "MLA"

struct ArchSpec {
  std::string name;  // preset name, or the config path
  std::string
      model_type;  // config.json "model_type" ("deepseek_v3", "llama", "qwen2", "qwen", ...)

  Field vocab_size, hidden_size, num_layers, num_heads;
  Field intermediate_size;  // dense SwiGLU inner width (for "qwen" v1: config value / 2)

  AttentionKind attention = AttentionKind::kMHA;
  Field num_kv_heads;     // GQA/MHA; HF default = num_attention_heads
  Field head_dim;         // GQA/MHA; HF default = hidden_size / num_attention_heads
  bool qkv_bias = false;  // biases on q, k, v (qwen2, qwen v1, llama attention_bias)
  bool o_bias = false;    // bias on the output projection (llama attention_bias)
  bool mlp_bias = false;  // llama mlp_bias

  // MLA (attention == kMLA). q_lora_rank 0 = a single q_proj (V2-Lite).
  Field q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;

  // Mixture of experts (is_moe). Layer i is MoE iff i >= first_k_dense && i % moe_layer_freq == 0.
  bool is_moe = false;
  Field n_routed_experts, n_shared_experts, experts_per_token, moe_intermediate_size;
  int64_t first_k_dense = 0;
  int64_t moe_layer_freq = 1;
  bool router_bias = false;  // V3 e_score_correction_bias (noaux_tc): E extra params per layer

  bool tie_embeddings = false;
  int64_t num_mtp_layers = 0;  // num_nextn_predict_layers (V3: 1)

  // Assumptions made while reading (HF defaults applied, model-specific conventions).
  std::vector<std::string> notes;

  // Number of MoE / dense-FFN layers among the main layers (needs num_layers).
  int64_t moe_layer_count() const;
  bool is_moe_layer(int64_t i) const;
};

// Thrown when a figure needs config fields that are absent; `fields` are config.json keys.
struct MissingFields : Error {
  MissingFields(const std::string& figure, std::vector<std::string> fields);
  std::string figure;
  std::vector<std::string> fields;
};

// Collects the fields a figure reads; done() throws MissingFields naming every absent one.
//   Need need("KV cache");  int64_t L = need(spec.num_layers);  ...;  need.done();
// Absent fields read as 0 until done() is called, so compute nothing before done().
class Need {
 public:
  explicit Need(std::string figure) : figure_(std::move(figure)) {}
  int64_t operator()(const Field& f);
  void done() const;

 private:
  std::string figure_;
  std::vector<std::string> missing_;
};

// Parses a config.json object. `name` labels the result. Throws dsv3::Error on malformed
// values (a size that is not a non-negative integer, a non-object); absent fields are kept as
// absent and reported only by the figures that need them.
ArchSpec parse_arch_spec(const nlohmann::json& config, const std::string& name);
// Reads and parses a config.json file (errors name the path).
ArchSpec load_arch_spec_file(const std::string& path);
// Reads DIR/config.json.
ArchSpec load_arch_spec_dir(const std::string& dir);

}  // namespace dsv3::analyze
