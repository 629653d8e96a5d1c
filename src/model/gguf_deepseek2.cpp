// llama.cpp deepseek2 GGUF -> DeepSeek tensor table: metadata as config.json, tensor names and
// layouts as the HF checkpoint's (see gguf_deepseek2.h).
#include "model/gguf_deepseek2.h"

#include <cmath>
#include <cstring>
#include <regex>

#include "core/error.h"
#include "io/gguf_tensor.h"
#include "kernels/ops.h"
#include "model/gguf_model.h"
#include "model/tensor_table.h"

namespace dsv3 {

namespace {

using nlohmann::json;

std::string key(const char* k) { return std::string("deepseek2.") + k; }

int64_t req_int(const GgufFile& g, const char* k) {
  DSV3_CHECK(g.find(key(k)), g.name(), ": deepseek2 GGUF lacks the key '", key(k), "'");
  return g.get_int(key(k));
}

// Row-major 2-D view over the same bytes (a 3-D [A, B, C] tensor as [A*B, C]).
TensorView as_rows(TensorView v) {
  if (v.ndim <= 2) return v;
  int64_t rows = 1;
  for (int i = 0; i + 1 < v.ndim; ++i) rows *= v.shape[size_t(i)];
  const int64_t cols = v.shape[size_t(v.ndim - 1)];
  v.ndim = 2;
  v.shape = {rows, cols, 0, 0};
  return v;
}

// Slice e of a [E, N, K] tensor as its own [N, K] view (rows whole blocks, so contiguous).
TensorView expert_slice(const TensorView& v, int64_t e) {
  TensorView s = v;
  s.ndim = 2;
  s.shape = {v.shape[1], v.shape[2], 0, 0};
  s.data = static_cast<const uint8_t*>(v.data) + size_t(e) * s.nbytes();
  return s;
}

std::string shape_of(const TensorView& v) { return shape_string(v); }

std::string vec_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// kv_b_proj [H*(dn+dv), r] from the split layout k_b [H, r, dn] and v_b [H, dv, r].
TensorView assemble_kv_b(const TensorView& kb, const TensorView& vb, int64_t H, int64_t dn, int64_t dv,
                         int64_t r, const std::string& name, std::vector<std::vector<uint8_t>>* owned) {
  DSV3_CHECK(kb.ndim == 3 && kb.shape[0] == H && kb.shape[1] == r && kb.shape[2] == dn, name,
             ": attn_k_b has shape ", shape_of(kb), ", expected [", H, ", ", r, ", ", dn, "]");
  DSV3_CHECK(vb.ndim == 3 && vb.shape[0] == H && vb.shape[1] == dv && vb.shape[2] == r, name,
             ": attn_v_b has shape ", shape_of(vb), ", expected [", H, ", ", dv, ", ", r, "]");
  const bool same_float = kb.dtype == vb.dtype &&
                          (kb.dtype == DType::F32 || kb.dtype == DType::F16 || kb.dtype == DType::BF16);
  const DType out_dt = same_float ? kb.dtype : DType::F32;
  const size_t es = dtype_size(out_dt);
  const int64_t rows = H * (dn + dv);
  owned->emplace_back(size_t(rows * r) * es);
  uint8_t* out = owned->back().data();
  if (same_float) {  // exact: move the stored elements
    const uint8_t* k = static_cast<const uint8_t*>(kb.data);
    const uint8_t* v = static_cast<const uint8_t*>(vb.data);
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < dn; ++i)      // W_UK[h][i][j] = k_b[h][j][i]
        for (int64_t j = 0; j < r; ++j)
          std::memcpy(out + size_t((h * (dn + dv) + i) * r + j) * es, k + size_t((h * r + j) * dn + i) * es, es);
      std::memcpy(out + size_t((h * (dn + dv) + dn) * r) * es, v + size_t(h * dv * r) * es, size_t(dv * r) * es);
    }
  } else {  // block types: dequantise rows (exact values), store F32
    float* o = reinterpret_cast<float*>(out);
    const TensorView k2 = as_rows(kb), v2 = as_rows(vb);
    std::vector<float> row(size_t(std::max(dn, r)));
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t j = 0; j < r; ++j) {
        kernels::weight_row(k2, h * r + j, row.data());
        for (int64_t i = 0; i < dn; ++i) o[(h * (dn + dv) + i) * r + j] = row[size_t(i)];
      }
      for (int64_t i = 0; i < dv; ++i) kernels::weight_row(v2, h * dv + i, o + (h * (dn + dv) + dn + i) * r);
    }
  }
  TensorView t;
  t.dtype = out_dt;
  t.ndim = 2;
  t.shape = {rows, r, 0, 0};
  t.data = out;
  return t;
}

}  // namespace

bool gguf_is_deepseek2(const GgufFile& g) {
  return g.find("general.architecture") && g.get_string("general.architecture") == "deepseek2";
}

json deepseek2_gguf_config_json(const GgufFile& g) {
  DSV3_CHECK(gguf_is_deepseek2(g), g.name(), ": general.architecture is not deepseek2");
  json j;
  const int64_t n_layer = req_int(g, "block_count");
  const int64_t H = req_int(g, "attention.head_count");
  const int64_t d_rope = req_int(g, "rope.dimension_count");
  const int64_t r_kv = req_int(g, "attention.kv_lora_rank");
  // MLA-split files state the per-head dims in *_mla keys (key_length is then r_kv + d_rope);
  // older files state them in key_length / value_length.
  const bool mla_keys = g.find(key("attention.key_length_mla")) != nullptr;
  const int64_t d_qk = mla_keys ? req_int(g, "attention.key_length_mla") : req_int(g, "attention.key_length");
  const int64_t d_v = mla_keys ? req_int(g, "attention.value_length_mla") : req_int(g, "attention.value_length");
  DSV3_CHECK(d_qk > d_rope, g.name(), ": key length ", d_qk, " must exceed rope.dimension_count ", d_rope);
  const GgufTensorInfo* emb = g.find_tensor("token_embd.weight");
  DSV3_CHECK(emb && emb->dims.size() == 2, g.name(), ": missing 2-D tensor token_embd.weight");
  const int64_t vocab = g.get_int(key("vocab_size"), emb->dims[1]);

  const int64_t n_expert = g.get_int(key("expert_count"), 0);
  const int64_t gating = g.get_int(key("expert_gating_func"), 1);  // llama.cpp: absent = softmax
  DSV3_CHECK(gating == 1 || gating == 2, g.name(), ": ", key("expert_gating_func"), " = ", gating,
             " (1 softmax and 2 sigmoid are supported)");
  bool has_bias = false;
  for (const GgufTensorInfo& t : g.tensors())
    if (t.name.find(".exp_probs_b.") != std::string::npos) has_bias = true;
  const int64_t n_group = g.get_int(key("expert_group_count"), 1);
  const int64_t topk_group = g.get_int(key("expert_group_used_count"), 1);
  const bool v3 = gating == 2 && has_bias;

  j["architectures"] = json::array({v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"});
  j["model_type"] = v3 ? "deepseek_v3" : "deepseek_v2";
  j["vocab_size"] = vocab;
  j["hidden_size"] = req_int(g, "embedding_length");
  j["intermediate_size"] = req_int(g, "feed_forward_length");
  j["num_hidden_layers"] = n_layer;
  j["num_attention_heads"] = H;
  j["num_key_value_heads"] = H;
  const int64_t q_lora = g.get_int(key("attention.q_lora_rank"), 0);
  j["q_lora_rank"] = q_lora > 0 ? json(q_lora) : json(nullptr);
  j["kv_lora_rank"] = r_kv;
  j["qk_nope_head_dim"] = d_qk - d_rope;
  j["qk_rope_head_dim"] = d_rope;
  j["v_head_dim"] = d_v;
  if (n_expert > 0) {
    j["n_routed_experts"] = n_expert;
    j["n_shared_experts"] = g.get_int(key("expert_shared_count"), 0);
    j["num_experts_per_tok"] = req_int(g, "expert_used_count");
    j["moe_intermediate_size"] = req_int(g, "expert_feed_forward_length");
    j["n_group"] = n_group;
    j["topk_group"] = topk_group;
    j["topk_method"] = has_bias ? "noaux_tc" : (n_group > 1 ? "group_limited_greedy" : "greedy");
    j["scoring_func"] = gating == 2 ? "sigmoid" : "softmax";
    j["norm_topk_prob"] = g.get_bool(key("expert_weights_norm"), false);
    const GgufValue* s = g.find(key("expert_weights_scale"));
    j["routed_scaling_factor"] = s ? g.get_float(key("expert_weights_scale")) : 1.0;
    j["first_k_dense_replace"] = g.get_int(key("leading_dense_block_count"), 0);
    j["moe_layer_freq"] = 1;
  } else {
    j["n_routed_experts"] = nullptr;
    j["moe_intermediate_size"] = g.get_int(key("expert_feed_forward_length"), 0);
  }
  j["rms_norm_eps"] = g.get_float(key("attention.layer_norm_rms_epsilon"));
  j["rope_theta"] = g.find(key("rope.freq_base")) ? g.get_float(key("rope.freq_base")) : 10000.0;
  j["max_position_embeddings"] = g.get_int(key("context_length"), 4096);
  const std::string scaling = g.get_string(key("rope.scaling.type"), "none");
  if (scaling == "yarn") {
    // llama.cpp's converter writes yarn_log_multiplier = 0.1 * mscale_all_dim.
    const double mall = g.find(key("rope.scaling.yarn_log_multiplier"))
                            ? g.get_float(key("rope.scaling.yarn_log_multiplier")) / 0.1
                            : 0.0;
    // The GGUF value is an f32: round 0.0707 / 0.1 back to the 4-digit decimal the HF config held
    // (0.707 comes back as 0.70699996...); values with more digits are kept as read.
    const double rounded = std::round(mall * 1e4) / 1e4;
    const double m = std::fabs(rounded - mall) < 1e-6 ? rounded : mall;
    j["rope_scaling"] = {
        {"type", "yarn"},
        {"factor", g.get_float(key("rope.scaling.factor"))},
        {"original_max_position_embeddings", g.get_int(key("rope.scaling.original_context_length"))},
        {"beta_fast", g.find(key("rope.scaling.yarn_beta_fast")) ? g.get_float(key("rope.scaling.yarn_beta_fast")) : 32.0},
        {"beta_slow", g.find(key("rope.scaling.yarn_beta_slow")) ? g.get_float(key("rope.scaling.yarn_beta_slow")) : 1.0},
        {"mscale", m},
        {"mscale_all_dim", m},
    };
  } else {
    DSV3_CHECK(scaling == "none", g.name(), ": ", key("rope.scaling.type"), " '", scaling,
               "' is not supported for deepseek2 (yarn or none)");
    j["rope_scaling"] = nullptr;
  }
  j["num_nextn_predict_layers"] = 0;  // llama.cpp's converter drops the MTP layers
  if (g.find("tokenizer.ggml.bos_token_id")) j["bos_token_id"] = g.get_int("tokenizer.ggml.bos_token_id");
  if (g.find("tokenizer.ggml.eos_token_id")) j["eos_token_id"] = g.get_int("tokenizer.ggml.eos_token_id");
  j["tie_word_embeddings"] = g.find_tensor("output.weight") == nullptr;
  j["hidden_act"] = "silu";
  return j;
}

std::map<std::string, TensorView> deepseek2_gguf_views(const GgufFile& g, const ModelConfig& c,
                                                       std::vector<std::vector<uint8_t>>* owned) {
  static const std::map<std::string, std::string> kGlobal = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  static const std::map<std::string, std::string> kLayer = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
      {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
      {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
      {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
      {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
      {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "mlp.gate.weight"},
      {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
      {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
      {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
      {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
  };
  static const std::map<std::string, std::string> kExperts = {
      {"ffn_gate_exps.weight", "gate_proj.weight"},
      {"ffn_up_exps.weight", "up_proj.weight"},
      {"ffn_down_exps.weight", "down_proj.weight"},
  };
  static const std::regex kBlk(R"(blk\.(\d+)\.(.+))");

  std::map<std::string, TensorView> views;
  std::map<int64_t, std::pair<TensorView, TensorView>> split;  // layer -> (k_b, v_b)
  auto put = [&](const std::string& hf, const TensorView& v, const std::string& from) {
    DSV3_CHECK(views.emplace(hf, v).second, g.name(), ": tensor '", from, "' maps to '", hf,
               "', which another tensor already provides");
  };
  for (const GgufTensorInfo& t : g.tensors()) {
    auto it = kGlobal.find(t.name);
    if (it != kGlobal.end()) {
      put(it->second, gguf_tensor_view(t), t.name);
      continue;
    }
    std::smatch m;
    DSV3_CHECK(std::regex_match(t.name, m, kBlk), g.name(), ": unexpected tensor '", t.name,
               "' (not part of llama.cpp's deepseek2 layout)");
    const int64_t L = std::stoll(m[1].str());
    const std::string rest = m[2].str();
    if (L >= c.num_hidden_layers) continue;  // MTP (nextn) layers: not loaded from GGUF
    const std::string p = "model.layers." + std::to_string(L) + ".";
    if (rest == "attn_k_b.weight") { split[L].first = gguf_tensor_view(t); continue; }
    if (rest == "attn_v_b.weight") { split[L].second = gguf_tensor_view(t); continue; }
    auto lt = kLayer.find(rest);
    if (lt != kLayer.end()) {
      put(p + lt->second, gguf_tensor_view(t), t.name);
      continue;
    }
    auto et = kExperts.find(rest);
    DSV3_CHECK(et != kExperts.end(), g.name(), ": unexpected tensor '", t.name,
               "' (not part of llama.cpp's deepseek2 layout)");
    const TensorView v = gguf_tensor_view(t);
    DSV3_CHECK(v.ndim == 3 && v.shape[0] == c.n_routed_experts, g.name(), ": tensor '", t.name, "' has shape ",
               shape_of(v), ", expected [", c.n_routed_experts, ", rows, cols] (one slice per expert)");
    for (int64_t e = 0; e < c.n_routed_experts; ++e)
      put(p + "mlp.experts." + std::to_string(e) + "." + et->second, expert_slice(v, e), t.name);
  }
  for (auto& [L, kv] : split) {
    const std::string n = "blk." + std::to_string(L);
    DSV3_CHECK(kv.first.data && kv.second.data, g.name(), ": ", n, " has only one of attn_k_b / attn_v_b");
    put("model.layers." + std::to_string(L) + ".self_attn.kv_b_proj.weight",
        assemble_kv_b(kv.first, kv.second, c.num_attention_heads, c.qk_nope_head_dim, c.v_head_dim,
                      c.kv_lora_rank, g.name() + ": " + n, owned),
        n + ".attn_k_b.weight");
  }
  return views;
}

std::unique_ptr<Model> load_gguf_deepseek2(std::unique_ptr<Model> m) {
  const GgufFile& g = *m->gguf;
  m->config = ModelConfig::from_json(deepseek2_gguf_config_json(g), g.name());
  m->config.ggml_numerics = gguf_ggml_numerics();
  const ModelConfig& c = m->config;
  m->rope = std::make_unique<RopeTable>(c);
  if (c.ggml_numerics && !c.rope.yarn) m->rope->use_ggml_recurrence(c);  // YaRN: torch angles
  std::map<std::string, TensorView> views = deepseek2_gguf_views(g, c, &m->owned_tensors);
  // Stored types of the split attn_k_b / attn_v_b per layer (ModelConfig::ggml_k_b_type).
  static const std::regex kKvB(R"(blk\.(\d+)\.attn_([kv])_b\.weight)");
  for (const GgufTensorInfo& t : g.tensors()) {
    std::smatch mm;
    if (!std::regex_match(t.name, mm, kKvB)) continue;
    const int64_t L = std::stoll(mm[1].str());
    if (L >= c.num_hidden_layers) continue;
    std::vector<DType>& types = mm[2].str() == "k" ? m->config.ggml_k_b_type : m->config.ggml_v_b_type;
    if (types.empty()) types.assign(size_t(c.num_hidden_layers), DType::F32);
    types[size_t(L)] = gguf_tensor_view(t).dtype;
  }
  std::map<std::string, TensorView> checked;
  for (const TensorSpec& spec : expected_tensors(c)) {
    if (spec.mtp) continue;  // no MTP layers in llama.cpp's deepseek2 files
    auto it = views.find(spec.name);
    if (it == views.end()) {
      if (spec.optional) continue;
      fail(g.name(), ": missing tensor for '", spec.name, "' (a deepseek2 GGUF with this metadata needs it)");
    }
    const TensorView& v = it->second;
    std::vector<int64_t> shape(v.shape.begin(), v.shape.begin() + v.ndim);
    DSV3_CHECK(shape == spec.shape, g.name(), ": tensor for '", spec.name, "' has shape ", shape_string(v),
               " (PyTorch order), expected ", vec_str(spec.shape), " from the deepseek2 metadata");
    const bool block_ok = dtype_is_block(v.dtype) && (spec.role == TensorRole::kLinear ||
                                                      spec.role == TensorRole::kEmbedding ||
                                                      spec.role == TensorRole::kHead);
    DSV3_CHECK(dtype_allowed(spec.role, v.dtype) || block_ok, g.name(), ": tensor for '", spec.name, "' has type ",
               dtype_name(v.dtype), ", not allowed for this tensor");
    checked[spec.name] = v;
  }
  for (const auto& [name, v] : views)
    DSV3_CHECK(checked.count(name), g.name(), ": unexpected tensor for '", name, "' (not part of a ",
               c.model_type, " model with this metadata)");
  m->bind_weights([&](const std::string& name) -> TensorView {
    auto it = checked.find(name);
    return it == checked.end() ? TensorView{} : it->second;
  });
  return m;
}

}  // namespace dsv3
