// GGUF -> Model: metadata to ModelConfig, GGUF tensor names to tensor-table names, validation.
#include "model/gguf_model.h"

#include <atomic>
#include <map>
#include <set>

#include "core/error.h"
#include "io/gguf_tensor.h"
#include "model/gguf_deepseek2.h"
#include "model/tensor_table.h"

namespace dsv3 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const std::map<std::string, std::string>& global_names() {
  static const std::map<std::string, std::string> m = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  return m;
}

const std::map<std::string, std::string>& layer_names() {
  static const std::map<std::string, std::string> m = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  return m;
}

// GGUF name -> checkpoint name for the llama/qwen2 layouts; "" if unknown.
std::string hf_name(const std::string& g) {
  if (auto it = global_names().find(g); it != global_names().end()) return it->second;
  if (g.rfind("blk.", 0) != 0) return "";
  const size_t dot = g.find('.', 4);
  if (dot == std::string::npos || dot == 4 || dot - 4 > 6) return "";
  const std::string num = g.substr(4, dot - 4);
  for (char ch : num)
    if (ch < '0' || ch > '9') return "";
  if (num.size() > 1 && num[0] == '0') return "";
  auto it = layer_names().find(g.substr(dot + 1));
  if (it == layer_names().end()) return "";
  return "model.layers." + num + "." + it->second;
}

// Checkpoint name -> GGUF name (for messages); the checkpoint name itself if unknown.
std::string gguf_name(const std::string& hf) {
  for (const auto& [g, h] : global_names())
    if (h == hf) return g;
  const std::string pre = "model.layers.";
  if (hf.rfind(pre, 0) == 0) {
    const size_t dot = hf.find('.', pre.size());
    if (dot != std::string::npos)
      for (const auto& [g, h] : layer_names())
        if (h == hf.substr(dot + 1)) return "blk." + hf.substr(pre.size(), dot - pre.size()) + "." + g;
  }
  return hf;
}

// Whether a GGUF may store a tensor of this role as `dt`: the checkpoint dtypes, plus ggml's
// block types for the matrices llama.cpp quantizes (projections, embedding, output).
bool gguf_dtype_allowed(TensorRole role, DType dt) {
  if (dtype_allowed(role, dt)) return true;
  return dtype_is_block(dt) &&
         (role == TensorRole::kLinear || role == TensorRole::kEmbedding || role == TensorRole::kHead);
}

}  // namespace

namespace {
std::atomic<bool> g_ggml_numerics{false};
}  // namespace

void set_gguf_ggml_numerics(bool on) { g_ggml_numerics = on; }
bool gguf_ggml_numerics() { return g_ggml_numerics; }

bool is_gguf_path(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

ModelConfig gguf_model_config(const GgufFile& f) {
  const std::string& src = f.name();
  const std::string arch = f.get_string("general.architecture");
  DSV3_CHECK(arch == "llama" || arch == "qwen2", src, ": general.architecture '", arch,
             "' is not supported by the GGUF model loader (llama, qwen2)");
  const std::string A = arch + ".";
  auto key = [&](const char* k) { return A + k; };
  auto scalar_int = [&](const char* k, int64_t def, bool required) -> int64_t {
    const GgufValue* v = f.find(key(k));
    if (!v) {
      DSV3_CHECK(!required, src, ": missing GGUF metadata key '", key(k), "'");
      return def;
    }
    DSV3_CHECK(v->type != GgufType::ARRAY, src, ": GGUF key '", key(k),
               "' is an array (per-layer values are not supported)");
    return f.get_int(key(k));
  };
  ModelConfig c;
  c.model_type = arch;
  c.attention = AttentionKind::kGqa;
  c.rope_style = arch == "llama" ? RopeStyle::kInterleaved : RopeStyle::kHalf;
  c.num_hidden_layers = scalar_int("block_count", 0, true);
  c.hidden_size = scalar_int("embedding_length", 0, true);
  c.intermediate_size = scalar_int("feed_forward_length", 0, true);
  c.num_attention_heads = scalar_int("attention.head_count", 0, true);
  c.num_key_value_heads = scalar_int("attention.head_count_kv", c.num_attention_heads, false);
  DSV3_CHECK(c.num_attention_heads > 0, src, ": ", key("attention.head_count"), " must be > 0");
  c.head_dim = scalar_int("attention.key_length", c.hidden_size / c.num_attention_heads, false);
  const int64_t vlen = scalar_int("attention.value_length", c.head_dim, false);
  DSV3_CHECK(vlen == c.head_dim, src, ": ", key("attention.value_length"), " (", vlen,
             ") != key_length (", c.head_dim, ") is not supported");
  const int64_t rot = scalar_int("rope.dimension_count", c.head_dim, false);
  DSV3_CHECK(rot == c.head_dim, src, ": ", key("rope.dimension_count"), " = ", rot,
             " (partial rotary) is not supported; expected head_dim ", c.head_dim);
  c.qk_nope_head_dim = 0;
  c.qk_rope_head_dim = c.v_head_dim = c.head_dim;
  c.max_position_embeddings = scalar_int("context_length", 4096, false);
  c.rope_theta = f.find(key("rope.freq_base")) ? f.get_float(key("rope.freq_base")) : 10000.0;
  DSV3_CHECK(f.find(key("attention.layer_norm_rms_epsilon")), src, ": missing GGUF metadata key '",
             key("attention.layer_norm_rms_epsilon"), "'");
  c.rms_norm_eps = f.get_float(key("attention.layer_norm_rms_epsilon"));
  const std::string scaling = f.get_string(key("rope.scaling.type"), "none");
  DSV3_CHECK(scaling == "none", src, ": ", key("rope.scaling.type"), " '", scaling,
             "' is not supported (none; Llama-3 scaling comes as the rope_freqs tensor)");
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  DSV3_CHECK(emb && emb->dims.size() == 2, src, ": missing 2-D tensor 'token_embd.weight'");
  c.vocab_size = scalar_int("vocab_size", emb->dims[1], false);
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  c.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id", -1);
  c.eos_token_id = f.get_int("tokenizer.ggml.eos_token_id", -1);
  validate_dense_config(c, src);
  return c;
}

std::unique_ptr<Model> load_gguf(const std::string& path) {
  auto m = std::make_unique<Model>();
  m->gguf = GgufFile::open(path);
  if (gguf_is_deepseek2(*m->gguf)) return load_gguf_deepseek2(std::move(m));  // model/gguf_deepseek2.h
  const GgufFile& f = *m->gguf;
  m->config = gguf_model_config(f);
  m->config.ggml_numerics = gguf_ggml_numerics();
  const ModelConfig& c = m->config;
  m->rope = std::make_unique<RopeTable>(c);
  if (c.ggml_numerics) m->rope->use_ggml_recurrence(c);  // plain RoPE only (scaling types: error above)

  std::map<std::string, const GgufTensorInfo*> by_hf;
  for (const GgufTensorInfo& t : f.tensors()) {
    if (t.name == "rope_freqs.weight") {
      DSV3_CHECK(t.type == 0 && t.dims.size() == 1 && t.dims[0] == c.head_dim / 2, path,
                 ": tensor 'rope_freqs.weight' must be F32 [", c.head_dim / 2, "]");
      const TensorView v = gguf_tensor_view(t);
      std::vector<float> factors(static_cast<size_t>(t.dims[0]));
      for (size_t i = 0; i < factors.size(); ++i) factors[i] = v.as<float>()[i];
      m->rope->divide_by(factors);
      continue;
    }
    const std::string hf = hf_name(t.name);
    DSV3_CHECK(!hf.empty(), path, ": unexpected tensor '", t.name, "' (not part of a ",
               c.model_type, " model)");
    by_hf[hf] = &t;
  }
  std::map<std::string, TensorView> views;
  std::set<std::string> known;
  for (const TensorSpec& spec : expected_tensors(c)) {
    known.insert(spec.name);
    auto it = by_hf.find(spec.name);
    if (it == by_hf.end()) {
      if (spec.optional) continue;
      fail(path, ": missing tensor '", gguf_name(spec.name), "' (", spec.name, ", expected shape ",
           shape_str(spec.shape),
           " from the GGUF metadata)");
    }
    const GgufTensorInfo& t = *it->second;
    const TensorView v = gguf_tensor_view(t);
    std::vector<int64_t> shape(v.shape.begin(), v.shape.begin() + v.ndim);
    DSV3_CHECK(shape == spec.shape, path, ": tensor '", t.name, "' has shape ", shape_str(shape),
               " (PyTorch order), expected ", shape_str(spec.shape), " from the GGUF metadata");
    DSV3_CHECK(gguf_dtype_allowed(spec.role, v.dtype), path, ": tensor '", t.name, "' has type ",
               dtype_name(v.dtype), ", not allowed for this tensor");
    views[spec.name] = v;
  }
  for (const auto& [hf, t] : by_hf)
    DSV3_CHECK(known.count(hf), path, ": unexpected tensor '", t->name, "' (layer beyond ",
               c.model_type, ".block_count = ", c.num_hidden_layers, "?)");
  m->bind_weights([&](const std::string& name) -> TensorView {
    auto it = views.find(name);
    return it == views.end() ? TensorView{} : it->second;
  });
  return m;
}

}  // namespace dsv3
