// Dense GQA architectures (qwen2, llama: the DeepSeek-R1 distills) as ModelConfig data: the
// config.json branch of ModelConfig::from_json, with HF's class defaults, and the checks shared
// with GGUF metadata (model/gguf_model.cpp).
#include <cmath>

#include "core/error.h"
#include "model/config.h"

namespace dsv3 {

namespace {

using nlohmann::json;

bool present(const json& j, const char* k) { return j.contains(k) && !j[k].is_null(); }

int64_t get_int(const json& j, const char* k, int64_t def, const std::string& src, bool required = false) {
  if (!present(j, k)) {
    DSV3_CHECK(!required, src, ": missing required field '", k, "'");
    return def;
  }
  const json& v = j[k];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    DSV3_CHECK(std::floor(d) == d && std::fabs(d) < 9e15, src, ": field '", k,
               "' must be an integer, got ", v.dump());
    return int64_t(d);
  }
  fail(src, ": field '", k, "' must be an integer, got ", v.dump());
}

double get_double(const json& j, const char* k, double def, const std::string& src) {
  if (!present(j, k)) return def;
  DSV3_CHECK(j[k].is_number(), src, ": field '", k, "' must be a number, got ", j[k].dump());
  const double d = j[k].get<double>();
  DSV3_CHECK(std::isfinite(d), src, ": field '", k, "' must be finite");
  return d;
}

bool get_bool(const json& j, const char* k, bool def, const std::string& src) {
  if (!present(j, k)) return def;
  DSV3_CHECK(j[k].is_boolean(), src, ": field '", k, "' must be true or false, got ", j[k].dump());
  return j[k].get<bool>();
}

std::string get_string(const json& j, const char* k, const std::string& def, const std::string& src) {
  if (!present(j, k)) return def;
  DSV3_CHECK(j[k].is_string(), src, ": field '", k, "' must be a string, got ", j[k].dump());
  return j[k].get<std::string>();
}

int64_t first_id(const json& j, const char* k, const std::string& src) {
  if (present(j, k) && j[k].is_array()) {
    if (j[k].empty()) return -1;
    DSV3_CHECK(j[k][0].is_number_integer(), src, ": field '", k, "' must hold integers");
    return j[k][0].get<int64_t>();
  }
  return get_int(j, k, -1, src);
}

}  // namespace

void validate_dense_config(const ModelConfig& c, const std::string& src) {
  auto positive = [&](const char* f, int64_t v) {
    DSV3_CHECK(v > 0, src, ": field '", f, "' must be > 0, got ", v);
  };
  positive("vocab_size", c.vocab_size);
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("num_key_value_heads", c.num_key_value_heads);
  positive("head_dim", c.head_dim);
  DSV3_CHECK(c.num_attention_heads % c.num_key_value_heads == 0, src, ": num_attention_heads (",
             c.num_attention_heads, ") must be a multiple of num_key_value_heads (",
             c.num_key_value_heads, ")");
  DSV3_CHECK(c.head_dim % 2 == 0, src, ": head_dim must be even (RoPE pairs), got ", c.head_dim);
  DSV3_CHECK(c.head_dim <= 4096 && c.num_attention_heads <= 4096 && c.hidden_size <= (1 << 20) &&
                 c.intermediate_size <= (1 << 22) && c.vocab_size <= (1 << 24) &&
                 c.num_hidden_layers <= 4096,
             src, ": implausibly large dimensions");
  DSV3_CHECK(c.rms_norm_eps > 0, src, ": field 'rms_norm_eps' must be > 0");
  DSV3_CHECK(c.rope_theta > 0, src, ": field 'rope_theta' must be > 0");
  DSV3_CHECK(c.max_position_embeddings > 0, src, ": field 'max_position_embeddings' must be > 0");
  if (c.rope.llama3) {
    DSV3_CHECK(c.rope.factor > 0 && c.rope.low_freq_factor > 0 &&
                   c.rope.high_freq_factor > c.rope.low_freq_factor &&
                   c.rope.original_max_position_embeddings > 0,
               src, ": llama3 rope scaling needs factor > 0, high_freq_factor > low_freq_factor > 0 "
                    "and original_max_position_embeddings > 0");
  }
  DSV3_CHECK(c.bos_token_id < c.vocab_size && c.eos_token_id < c.vocab_size, src,
             ": bos/eos token id outside vocab_size");
}

ModelConfig dense_config_from_json(const json& j, const std::string& src) {
  ModelConfig c;
  c.model_type = get_string(j, "model_type", "", src);
  const bool qwen2 = c.model_type == "qwen2";
  c.attention = AttentionKind::kGqa;
  c.rope_style = RopeStyle::kHalf;  // HF rotate_half
  c.vocab_size = get_int(j, "vocab_size", 0, src, true);
  c.hidden_size = get_int(j, "hidden_size", 0, src, true);
  c.intermediate_size = get_int(j, "intermediate_size", 0, src, true);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", 0, src, true);
  c.num_attention_heads = get_int(j, "num_attention_heads", 0, src, true);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, src);
  DSV3_CHECK(c.num_attention_heads > 0, src, ": field 'num_attention_heads' must be > 0");
  c.head_dim = get_int(j, "head_dim", c.hidden_size / c.num_attention_heads, src);
  c.qk_nope_head_dim = 0;
  c.qk_rope_head_dim = c.v_head_dim = c.head_dim;
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, src);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", qwen2 ? 32768 : 2048, src);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, src);
  c.bos_token_id = first_id(j, "bos_token_id", src);
  c.eos_token_id = first_id(j, "eos_token_id", src);
  if (qwen2) {
    c.qkv_bias = true;  // Qwen2Attention: q/k/v_proj have biases, o_proj none
    DSV3_CHECK(!get_bool(j, "use_sliding_window", false, src), src,
               ": use_sliding_window = true is not supported (sliding-window attention)");
  } else {
    c.qkv_bias = c.o_bias = get_bool(j, "attention_bias", false, src);
    DSV3_CHECK(!get_bool(j, "mlp_bias", false, src), src, ": mlp_bias = true is not supported");
  }
  const std::string act = get_string(j, "hidden_act", "silu", src);
  DSV3_CHECK(act == "silu", src, ": hidden_act '", act, "' is not supported (silu)");

  // RoPE: rope_theta at top level (HF v4) or inside rope_parameters (v5); rope_scaling (v4).
  c.rope_theta = get_double(j, "rope_theta", 10000.0, src);
  const char* key = present(j, "rope_scaling") ? "rope_scaling"
                    : present(j, "rope_parameters") ? "rope_parameters" : nullptr;
  if (key) {
    const json& rs = j[key];
    DSV3_CHECK(rs.is_object(), src, ": field '", key, "' must be an object");
    const std::string type = get_string(rs, "rope_type", get_string(rs, "type", "default", src), src);
    c.rope_theta = get_double(rs, "rope_theta", c.rope_theta, src);
    if (type == "llama3") {
      c.rope.llama3 = true;
      c.rope.factor = get_double(rs, "factor", 8.0, src);
      c.rope.low_freq_factor = get_double(rs, "low_freq_factor", 1.0, src);
      c.rope.high_freq_factor = get_double(rs, "high_freq_factor", 4.0, src);
      c.rope.original_max_position_embeddings =
          get_int(rs, "original_max_position_embeddings", 8192, src);
    } else if (type != "default") {
      fail(src, ": field '", key, "' rope_type '", type,
           "' is not supported for ", c.model_type, " (default or llama3)");
    }
  }
  validate_dense_config(c, src);
  return c;
}

}  // namespace dsv3
