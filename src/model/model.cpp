// Model::load: checkpoint validation against the tensor table and binding of weight views.
#include "model/model.h"

#include <map>
#include <set>

#include "core/error.h"
#include "model/fp8_weights.h"
#include "model/gguf_model.h"
#include "model/tensor_table.h"

namespace dsv3 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const char* role_name(TensorRole r) {
  switch (r) {
    case TensorRole::kEmbedding: return "embedding";
    case TensorRole::kNorm: return "norm";
    case TensorRole::kLinear: return "linear";
    case TensorRole::kRouter: return "router";
    case TensorRole::kRouterBias: return "router bias";
    case TensorRole::kHead: return "head";
    case TensorRole::kMtpProj: return "mtp projection";
    case TensorRole::kBias: return "bias";
  }
  return "?";
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& dir) {
  if (is_gguf_path(dir)) return load_gguf(dir);
  auto m = std::make_unique<Model>();
  m->checkpoint = Checkpoint::open(dir);
  m->config = ModelConfig::from_json(m->checkpoint->config(), dir + "/config.json");
  const ModelConfig& c = m->config;
  m->rope = std::make_unique<RopeTable>(c);
  const Checkpoint& ck = *m->checkpoint;

  const Fp8Config fp8 = parse_fp8_config(ck.config(), dir + "/config.json");  // FP8 issue
  std::map<std::string, TensorView> views;
  std::set<std::string> known;
  for (const TensorSpec& spec : expected_tensors(c)) {
    known.insert(spec.name);
    const StoredTensor* t = ck.find(spec.name);
    if (!t) {
      if (spec.optional) continue;
      fail(dir, ": missing tensor '", spec.name, "' (", role_name(spec.role), ", expected shape ",
           shape_str(spec.shape), ")");
    }
    DSV3_CHECK(t->shape == spec.shape, t->file, ": tensor '", spec.name, "' has shape ",
               shape_str(t->shape), ", expected ", shape_str(spec.shape), " from config.json");
    DSV3_CHECK(dtype_allowed(spec.role, t->dtype), t->file, ": tensor '", spec.name, "' has dtype ",
               dtype_name(t->dtype), ", not allowed for a ", role_name(spec.role), " tensor");
    TensorView v = t->view();
    if (t->dtype == DType::F8_E4M3) attach_fp8_scale(ck, *t, spec.name, fp8, &v);  // FP8 issue
    views[spec.name] = v;
  }
  for (const auto& [name, t] : ck.tensors()) {
    if (known.count(name)) continue;
    if (is_fp8_scale_of_weight(ck, name)) continue;  // paired with an F8 weight (FP8 issue)
    fail(t->file, ": unexpected tensor '", name, "' (not part of a ", c.model_type,
         " model with this config.json)");
  }

  m->bind_weights([&](const std::string& name) -> TensorView {
    auto it = views.find(name);
    return it == views.end() ? TensorView{} : it->second;
  });
  return m;
}

void Model::bind_weights(const std::function<TensorView(const std::string&)>& get) {
  const ModelConfig& c = config;
  embed_tokens = get("model.embed_tokens.weight");
  norm = get("model.norm.weight");
  lm_head = c.tie_word_embeddings ? embed_tokens : get("lm_head.weight");

  auto bind_layer = [&](int64_t L) {
    const std::string p = "model.layers." + std::to_string(L) + ".";
    LayerWeights lw;
    lw.input_layernorm = get(p + "input_layernorm.weight");
    lw.post_attention_layernorm = get(p + "post_attention_layernorm.weight");
    AttentionWeights& a = lw.attn;
    a.q_proj = get(p + "self_attn.q_proj.weight");
    a.q_a_proj = get(p + "self_attn.q_a_proj.weight");
    a.q_a_layernorm = get(p + "self_attn.q_a_layernorm.weight");
    a.q_b_proj = get(p + "self_attn.q_b_proj.weight");
    a.kv_a_proj_with_mqa = get(p + "self_attn.kv_a_proj_with_mqa.weight");
    a.kv_a_layernorm = get(p + "self_attn.kv_a_layernorm.weight");
    a.kv_b_proj = get(p + "self_attn.kv_b_proj.weight");
    a.o_proj = get(p + "self_attn.o_proj.weight");
    a.k_proj = get(p + "self_attn.k_proj.weight");
    a.v_proj = get(p + "self_attn.v_proj.weight");
    a.q_bias = get(p + "self_attn.q_proj.bias");
    a.k_bias = get(p + "self_attn.k_proj.bias");
    a.v_bias = get(p + "self_attn.v_proj.bias");
    a.o_bias = get(p + "self_attn.o_proj.bias");
    const bool mtp = L >= c.num_hidden_layers;
    lw.is_moe = c.is_moe_layer(L) || (mtp && c.n_routed_experts > 0);
    if (!lw.is_moe) {
      lw.mlp = {get(p + "mlp.gate_proj.weight"), get(p + "mlp.up_proj.weight"),
                get(p + "mlp.down_proj.weight")};
    } else {
      MoeWeights& mo = lw.moe;
      mo.gate = get(p + "mlp.gate.weight");
      mo.e_score_correction_bias = get(p + "mlp.gate.e_score_correction_bias");
      for (int64_t e = 0; e < c.n_routed_experts; ++e) {
        const std::string q = p + "mlp.experts." + std::to_string(e) + ".";
        mo.experts.push_back({get(q + "gate_proj.weight"), get(q + "up_proj.weight"),
                              get(q + "down_proj.weight")});
      }
      mo.has_shared = c.n_shared_experts > 0;
      if (mo.has_shared)
        mo.shared_experts = {get(p + "mlp.shared_experts.gate_proj.weight"),
                             get(p + "mlp.shared_experts.up_proj.weight"),
                             get(p + "mlp.shared_experts.down_proj.weight")};
    }
    return lw;
  };
  for (int64_t L = 0; L < c.num_hidden_layers; ++L) layers.push_back(bind_layer(L));
  for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
    const int64_t L = c.num_hidden_layers + k;
    const std::string p = "model.layers." + std::to_string(L) + ".";
    MtpWeights mw;
    mw.enorm = get(p + "enorm.weight");
    mw.hnorm = get(p + "hnorm.weight");
    mw.eh_proj = get(p + "eh_proj.weight");
    mw.layer = bind_layer(L);
    mw.shared_head_norm = get(p + "shared_head.norm.weight");
    mw.embed_tokens = get(p + "embed_tokens.weight");
    if (!mw.embed_tokens.data) mw.embed_tokens = embed_tokens;
    mw.head = get(p + "shared_head.head.weight");
    if (!mw.head.data) mw.head = lm_head;
    this->mtp.push_back(std::move(mw));
  }
}

size_t Model::weight_bytes() const {
  if (gguf) {
    size_t n = 0;
    for (const GgufTensorInfo& t : gguf->tensors()) n += size_t(t.n_bytes);
    return n;
  }
  return checkpoint->total_bytes();
}

}  // namespace dsv3
