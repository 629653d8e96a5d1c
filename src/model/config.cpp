// ModelConfig::from_json: reads every architecture field of a DeepSeek-V2/V3 config.json,
// fills HF's class defaults for optional fields, and rejects out-of-range or inconsistent
// values with the field's name.
#include "model/config.h"

#include <cmath>

#include "core/error.h"

namespace dsv3 {

namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& src;

  bool present(const char* k) const { return j.contains(k) && !j[k].is_null(); }

  int64_t get_int(const char* k, int64_t def, bool required = false) const {
    if (!present(k)) {
      DSV3_CHECK(!required, src, ": missing required field '", k, "'");
      return def;
    }
    const json& v = j[k];
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      DSV3_CHECK(std::floor(d) == d && std::fabs(d) < 9e15, src, ": field '", k,
                 "' must be an integer, got ", v.dump());
      return int64_t(d);
    }
    fail(src, ": field '", k, "' must be an integer, got ", v.dump());
  }
  double get_double(const char* k, double def) const {
    if (!present(k)) return def;
    const json& v = j[k];
    DSV3_CHECK(v.is_number(), src, ": field '", k, "' must be a number, got ", v.dump());
    double d = v.get<double>();
    DSV3_CHECK(std::isfinite(d), src, ": field '", k, "' must be finite");
    return d;
  }
  bool get_bool(const char* k, bool def) const {
    if (!present(k)) return def;
    DSV3_CHECK(j[k].is_boolean(), src, ": field '", k, "' must be true or false, got ", j[k].dump());
    return j[k].get<bool>();
  }
  std::string get_string(const char* k, const std::string& def) const {
    if (!present(k)) return def;
    DSV3_CHECK(j[k].is_string(), src, ": field '", k, "' must be a string, got ", j[k].dump());
    return j[k].get<std::string>();
  }
};

void check_positive(const std::string& src, const char* field, int64_t v) {
  DSV3_CHECK(v > 0, src, ": field '", field, "' must be > 0, got ", v);
}

}  // namespace

double ModelConfig::softmax_scale() const {
  double scale = 1.0 / std::sqrt(double(qk_head_dim()));
  if (rope.yarn && rope.factor > 1.0 && rope.mscale_all_dim != 0.0) {
    double m = 0.1 * rope.mscale_all_dim * std::log(rope.factor) + 1.0;
    scale *= m * m;
  }
  return scale;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& src) {
  DSV3_CHECK(j.is_object(), src, ": config must be a JSON object");
  Reader r{j, src};
  ModelConfig c;
  c.model_type = r.get_string("model_type", "");
  DSV3_CHECK(!c.model_type.empty(), src, ": missing required field 'model_type'");
  if (c.model_type == "qwen2" || c.model_type == "llama") return dense_config_from_json(j, src);
  const bool v3_like = c.model_type == "deepseek_v3" || c.model_type == "kimi_k2";
  const bool v2_like = c.model_type == "deepseek_v2";
  DSV3_CHECK(v3_like || v2_like, src, ": model_type '", c.model_type,
             "' is not supported (expected deepseek_v2, deepseek_v3, kimi_k2, qwen2 or llama)");

  c.vocab_size = r.get_int("vocab_size", 0, true);
  c.hidden_size = r.get_int("hidden_size", 0, true);
  c.intermediate_size = r.get_int("intermediate_size", 0, true);
  c.num_hidden_layers = r.get_int("num_hidden_layers", 0, true);
  c.num_attention_heads = r.get_int("num_attention_heads", 0, true);
  c.q_lora_rank = r.get_int("q_lora_rank", 0);  // null -> 0 (no q LoRA)
  c.kv_lora_rank = r.get_int("kv_lora_rank", 0, true);
  c.qk_nope_head_dim = r.get_int("qk_nope_head_dim", 0, true);
  c.qk_rope_head_dim = r.get_int("qk_rope_head_dim", 0, true);
  c.v_head_dim = r.get_int("v_head_dim", 0, true);
  c.n_routed_experts = r.get_int("n_routed_experts", 0);
  c.moe_intermediate_size = r.get_int("moe_intermediate_size", 0);
  c.n_shared_experts = r.get_int("n_shared_experts", 0);
  c.num_experts_per_tok = r.get_int("num_experts_per_tok", 0);
  c.n_group = r.get_int("n_group", 1);
  c.topk_group = r.get_int("topk_group", 1);
  c.first_k_dense_replace = r.get_int("first_k_dense_replace", 0);
  c.moe_layer_freq = r.get_int("moe_layer_freq", 1);
  c.norm_topk_prob = r.get_bool("norm_topk_prob", v3_like);
  c.routed_scaling_factor = r.get_double("routed_scaling_factor", 1.0);
  c.rms_norm_eps = r.get_double("rms_norm_eps", 1e-6);
  c.max_position_embeddings = r.get_int("max_position_embeddings", 4096);
  c.num_nextn_predict_layers = r.get_int("num_nextn_predict_layers", 0);
  c.bos_token_id = r.get_int("bos_token_id", -1);
  c.eos_token_id = j.contains("eos_token_id") && j["eos_token_id"].is_array()
                       ? (j["eos_token_id"].empty() ? -1 : j["eos_token_id"][0].get<int64_t>())
                       : r.get_int("eos_token_id", -1);
  c.tie_word_embeddings = r.get_bool("tie_word_embeddings", false);

  const std::string method = r.get_string("topk_method", v3_like ? "noaux_tc" : "greedy");
  if (method == "greedy" || method == "gready")  // "gready": typo default of V2 remote code
    c.topk_method = TopkMethod::kGreedy;
  else if (method == "group_limited_greedy")
    c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (method == "noaux_tc")
    c.topk_method = TopkMethod::kNoauxTc;
  else
    fail(src, ": field 'topk_method' has unknown value '", method,
         "' (expected greedy, group_limited_greedy or noaux_tc)");
  const std::string scoring = r.get_string("scoring_func", v3_like ? "sigmoid" : "softmax");
  if (scoring == "softmax")
    c.scoring_func = ScoringFunc::kSoftmax;
  else if (scoring == "sigmoid")
    c.scoring_func = ScoringFunc::kSigmoid;
  else
    fail(src, ": field 'scoring_func' has unknown value '", scoring, "' (expected softmax or sigmoid)");

  // RoPE: `rope_scaling` (HF v4) or `rope_parameters` (HF v5, may also hold rope_theta).
  c.rope_theta = r.get_double("rope_theta", 10000.0);
  const char* rope_key = r.present("rope_scaling") ? "rope_scaling"
                         : r.present("rope_parameters") ? "rope_parameters" : nullptr;
  if (rope_key) {
    const json& rs = j[rope_key];
    DSV3_CHECK(rs.is_object(), src, ": field '", rope_key, "' must be an object");
    Reader rr{rs, src};
    std::string type = rr.get_string("type", rr.get_string("rope_type", "default"));
    if (rs.contains("rope_theta")) c.rope_theta = rr.get_double("rope_theta", c.rope_theta);
    if (type == "yarn") {
      c.rope.yarn = true;
      c.rope.factor = rr.get_double("factor", 1.0);
      c.rope.original_max_position_embeddings =
          rr.get_int("original_max_position_embeddings", c.max_position_embeddings);
      c.rope.beta_fast = rr.get_double("beta_fast", 32.0);
      c.rope.beta_slow = rr.get_double("beta_slow", 1.0);
      c.rope.mscale = rr.get_double("mscale", 1.0);
      c.rope.mscale_all_dim = rr.get_double("mscale_all_dim", 0.0);
      DSV3_CHECK(c.rope.factor >= 1.0, src, ": field '", rope_key, ".factor' must be >= 1, got ",
                 c.rope.factor);
      DSV3_CHECK(c.rope.original_max_position_embeddings > 0, src, ": field '", rope_key,
                 ".original_max_position_embeddings' must be > 0");
      DSV3_CHECK(c.rope.beta_fast > 0 && c.rope.beta_slow > 0, src, ": field '", rope_key,
                 ".beta_fast/beta_slow' must be > 0");
    } else if (type != "default") {
      fail(src, ": field '", rope_key, ".type' = '", type, "' is not supported (yarn or default)");
    }
  }
  DSV3_CHECK(c.rope_theta > 0, src, ": field 'rope_theta' must be > 0");

  if (r.present("quantization_config")) {
    const json& q = j["quantization_config"];
    DSV3_CHECK(q.is_object(), src, ": field 'quantization_config' must be an object");
    Reader qr{q, src};
    std::string qm = qr.get_string("quant_method", "");
    DSV3_CHECK(qm == "fp8", src, ": quantization_config.quant_method '", qm, "' is not supported (fp8)");
    std::string fmt = qr.get_string("fmt", "e4m3");
    DSV3_CHECK(fmt == "e4m3", src, ": quantization_config.fmt '", fmt, "' is not supported (e4m3)");
    c.fp8 = true;
    if (q.contains("weight_block_size")) {
      const json& b = q["weight_block_size"];
      DSV3_CHECK(b.is_array() && b.size() == 2 && b[0].is_number_integer() && b[1].is_number_integer(),
                 src, ": quantization_config.weight_block_size must be [rows, cols]");
      c.fp8_block_rows = b[0].get<int64_t>();
      c.fp8_block_cols = b[1].get<int64_t>();
      DSV3_CHECK(c.fp8_block_rows > 0 && c.fp8_block_cols > 0, src,
                 ": quantization_config.weight_block_size must be positive");
    }
    c.scale_ue8m0 = qr.get_string("scale_fmt", "") == "ue8m0";
  }
  if (r.get_string("scale_fmt", "") == "ue8m0") c.scale_ue8m0 = true;

  // Ranges and consistency.
  check_positive(src, "vocab_size", c.vocab_size);
  check_positive(src, "hidden_size", c.hidden_size);
  check_positive(src, "intermediate_size", c.intermediate_size);
  check_positive(src, "num_hidden_layers", c.num_hidden_layers);
  check_positive(src, "num_attention_heads", c.num_attention_heads);
  check_positive(src, "kv_lora_rank", c.kv_lora_rank);
  check_positive(src, "qk_nope_head_dim", c.qk_nope_head_dim);
  check_positive(src, "qk_rope_head_dim", c.qk_rope_head_dim);
  check_positive(src, "v_head_dim", c.v_head_dim);
  DSV3_CHECK(c.q_lora_rank >= 0, src, ": field 'q_lora_rank' must be >= 0 or null");
  DSV3_CHECK(c.qk_rope_head_dim % 2 == 0, src, ": field 'qk_rope_head_dim' must be even, got ",
             c.qk_rope_head_dim);
  DSV3_CHECK(c.rms_norm_eps > 0, src, ": field 'rms_norm_eps' must be > 0");
  DSV3_CHECK(c.num_nextn_predict_layers >= 0, src, ": field 'num_nextn_predict_layers' must be >= 0");
  DSV3_CHECK(c.first_k_dense_replace >= 0 && c.first_k_dense_replace <= c.num_hidden_layers, src,
             ": field 'first_k_dense_replace' must be in [0, num_hidden_layers]");
  check_positive(src, "moe_layer_freq", c.moe_layer_freq);
  DSV3_CHECK(c.n_routed_experts >= 0, src, ": field 'n_routed_experts' must be >= 0");
  if (c.n_routed_experts > 0) {
    check_positive(src, "moe_intermediate_size", c.moe_intermediate_size);
    check_positive(src, "num_experts_per_tok", c.num_experts_per_tok);
    DSV3_CHECK(c.n_shared_experts >= 0, src, ": field 'n_shared_experts' must be >= 0");
    DSV3_CHECK(c.num_experts_per_tok <= c.n_routed_experts, src,
               ": field 'num_experts_per_tok' (", c.num_experts_per_tok,
               ") exceeds 'n_routed_experts' (", c.n_routed_experts, ")");
    check_positive(src, "n_group", c.n_group);
    check_positive(src, "topk_group", c.topk_group);
    DSV3_CHECK(c.n_routed_experts % c.n_group == 0, src, ": field 'n_routed_experts' (",
               c.n_routed_experts, ") must be divisible by 'n_group' (", c.n_group, ")");
    DSV3_CHECK(c.topk_group <= c.n_group, src, ": field 'topk_group' (", c.topk_group,
               ") exceeds 'n_group' (", c.n_group, ")");
    if (c.topk_method != TopkMethod::kGreedy)
      DSV3_CHECK(c.topk_group * (c.n_routed_experts / c.n_group) >= c.num_experts_per_tok, src,
                 ": 'topk_group' groups of ", c.n_routed_experts / c.n_group,
                 " experts cannot hold 'num_experts_per_tok' = ", c.num_experts_per_tok);
    if (c.topk_method == TopkMethod::kNoauxTc)
      DSV3_CHECK(c.n_routed_experts / c.n_group >= 2, src,
                 ": topk_method noaux_tc needs >= 2 experts per group (group score = sum of top 2)");
  }
  DSV3_CHECK(c.routed_scaling_factor > 0, src, ": field 'routed_scaling_factor' must be > 0");
  DSV3_CHECK(c.bos_token_id < c.vocab_size && c.eos_token_id < c.vocab_size, src,
             ": bos/eos token id outside vocab_size");
  return c;
}

}  // namespace dsv3
