// ArchSpec parsing from a Hugging Face config.json (DeepSeek V2/V3, Llama, Qwen2, Qwen v1,
// Mistral/Mixtral and other Llama-like configs), with the HF defaults for absent fields.
#include "analyze/arch_spec.h"

#include <fstream>
#include <sstream>

namespace dsv3::analyze {

using nlohmann::json;

const char* attention_kind_name(AttentionKind k) {
  switch (k) {
    case AttentionKind::kMHA:
      return "MHA";
    case AttentionKind::kGQA:
      return "GQA";
    case AttentionKind::kMLA:
      return "MLA";
  }
  return "?";
}

bool ArchSpec::is_moe_layer(int64_t i) const {
  return is_moe && i >= first_k_dense && (moe_layer_freq <= 1 || i % moe_layer_freq == 0);
}

int64_t ArchSpec::moe_layer_count() const {
  int64_t n = 0;
  for (int64_t i = 0; i < num_layers.value.value_or(0); ++i) n += is_moe_layer(i) ? 1 : 0;
  return n;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

MissingFields::MissingFields(const std::string& fig, std::vector<std::string> f)
    : Error(str("config lacks field(s) needed for ", fig, ": ", join(f))),
      figure(fig),
      fields(std::move(f)) {}

int64_t Need::operator()(const Field& f) {
  if (f.value) return *f.value;
  for (const auto& m : missing_)
    if (m == f.key) return 0;
  missing_.push_back(f.key);
  return 0;
}

void Need::done() const {
  if (!missing_.empty()) throw MissingFields(figure_, missing_);
}

namespace {

// Reads a non-negative integer size; absent or null -> empty. 8.0 is accepted as 8.
std::optional<int64_t> size_of(const json& j, const std::string& key, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) return static_cast<int64_t>(it->get<uint64_t>());
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    DSV3_CHECK(v >= 0, "config ", name, ": field '", key, "' must be >= 0, got ", v);
    return v;
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    DSV3_CHECK(d >= 0 && d < 9e15 && d == static_cast<double>(static_cast<int64_t>(d)), "config ",
               name, ": field '", key, "' must be a non-negative integer, got ", it->dump());
    return static_cast<int64_t>(d);
  }
  fail("config ", name, ": field '", key, "' must be a non-negative integer, got ", it->dump());
}

Field field(const json& j, const std::string& key, const std::string& name) {
  return Field{size_of(j, key, name), key};
}

bool flag_of(const json& j, const std::string& key, bool def, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  DSV3_CHECK(it->is_boolean(), "config ", name, ": field '", key, "' must be true/false, got ",
             it->dump());
  return it->get<bool>();
}

std::string string_of(const json& j, const std::string& key, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  DSV3_CHECK(it->is_string(), "config ", name, ": field '", key, "' must be a string, got ",
             it->dump());
  return it->get<std::string>();
}

}  // namespace

ArchSpec parse_arch_spec(const json& j, const std::string& name) {
  DSV3_CHECK(j.is_object(), "config ", name, ": expected a JSON object at the top level");
  ArchSpec s;
  s.name = name;
  s.model_type = string_of(j, "model_type", name);
  s.vocab_size = field(j, "vocab_size", name);
  s.hidden_size = field(j, "hidden_size", name);
  s.num_layers = field(j, "num_hidden_layers", name);
  s.num_heads = field(j, "num_attention_heads", name);
  s.intermediate_size = field(j, "intermediate_size", name);
  s.tie_embeddings = flag_of(j, "tie_word_embeddings", false, name);
  s.num_mtp_layers = size_of(j, "num_nextn_predict_layers", name).value_or(0);
  const bool qwen_v1 = s.model_type == "qwen";

  if (qwen_v1) {
    // Qwen v1 (QWenLMHeadModel): MLP width is intermediate_size / 2 (w1, w2 each of that width),
    // head size is kv_channels, every head has its own K/V, c_attn carries a bias.
    if (s.intermediate_size.value) *s.intermediate_size.value /= 2;
    s.notes.push_back("qwen v1: FFN width = intermediate_size / 2, head_dim = kv_channels");
    s.head_dim = field(j, "kv_channels", name);
    s.num_kv_heads = s.num_heads;
    s.qkv_bias = true;
  }

  if (j.contains("kv_lora_rank") && !j["kv_lora_rank"].is_null()) {
    s.attention = AttentionKind::kMLA;
    s.kv_lora_rank = field(j, "kv_lora_rank", name);
    s.q_lora_rank = field(j, "q_lora_rank", name);
    if (j.contains("q_lora_rank") && j["q_lora_rank"].is_null()) s.q_lora_rank.value = 0;
    s.qk_nope_head_dim = field(j, "qk_nope_head_dim", name);
    s.qk_rope_head_dim = field(j, "qk_rope_head_dim", name);
    s.v_head_dim = field(j, "v_head_dim", name);
  } else if (!qwen_v1) {
    s.num_kv_heads = field(j, "num_key_value_heads", name);
    if (!s.num_kv_heads.value && s.num_heads.value) {
      s.num_kv_heads.value = s.num_heads.value;
      s.notes.push_back("num_key_value_heads absent: HF default = num_attention_heads (MHA)");
    }
    s.head_dim = field(j, "head_dim", name);
    if (!s.head_dim.value && s.hidden_size.value && s.num_heads.value && *s.num_heads.value > 0) {
      s.head_dim.value = *s.hidden_size.value / *s.num_heads.value;
      s.notes.push_back("head_dim absent: HF default = hidden_size / num_attention_heads");
    }
    const bool attn_bias = flag_of(j, "attention_bias", false, name);
    s.qkv_bias = attn_bias || s.model_type == "qwen2" || s.model_type == "qwen2_moe";
    s.o_bias = attn_bias;
    s.mlp_bias = flag_of(j, "mlp_bias", false, name);
  }
  if (s.attention != AttentionKind::kMLA && s.num_kv_heads.value && s.num_heads.value &&
      *s.num_kv_heads.value < *s.num_heads.value)
    s.attention = AttentionKind::kGQA;

  if (j.contains("n_routed_experts") && !j["n_routed_experts"].is_null()) {
    // DeepSeek MoE: routed + shared experts of width moe_intermediate_size.
    s.is_moe = true;
    s.n_routed_experts = field(j, "n_routed_experts", name);
    s.n_shared_experts = field(j, "n_shared_experts", name);
    if (!s.n_shared_experts.value) s.n_shared_experts.value = 0;
    s.experts_per_token = field(j, "num_experts_per_tok", name);
    s.moe_intermediate_size = field(j, "moe_intermediate_size", name);
    s.first_k_dense = size_of(j, "first_k_dense_replace", name).value_or(0);
    s.moe_layer_freq = size_of(j, "moe_layer_freq", name).value_or(1);
    s.router_bias = string_of(j, "topk_method", name) == "noaux_tc";
  } else if (j.contains("num_local_experts") && !j["num_local_experts"].is_null()) {
    // Mixtral-style MoE: every layer, experts of width intermediate_size, no shared expert.
    s.is_moe = true;
    s.n_routed_experts = field(j, "num_local_experts", name);
    s.n_shared_experts = Field{0, "n_shared_experts"};
    s.experts_per_token = field(j, "num_experts_per_tok", name);
    s.moe_intermediate_size = s.intermediate_size;
    s.notes.push_back("Mixtral-style MoE: every layer routed, expert width = intermediate_size");
  }
  return s;
}

ArchSpec load_arch_spec_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DSV3_CHECK(f.good(), "cannot open config file ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  DSV3_CHECK(!j.is_discarded(), "config ", path, ": not valid JSON");
  return parse_arch_spec(j, path);
}

ArchSpec load_arch_spec_dir(const std::string& dir) {
  return load_arch_spec_file(dir + "/config.json");
}

}  // namespace dsv3::analyze
