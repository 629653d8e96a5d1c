// Model-level loader checks: a checkpoint whose tensors disagree with the tensor table, or a
// config.json with bad fields, is refused with a message naming the file and tensor/field.
// Each case starts from tests/data/tiny-v3 and changes one thing in a temporary copy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"
#include "model/tensor_table.h"
#include "model/rope.h"
#include "runtime/kv_cache.h"
#include <cmath>
#include "test_util.h"

using namespace dsv3;
namespace fs = std::filesystem;

namespace {

struct Owned {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Copies tiny-v3 into a temp dir, letting `edit` change the tensor list and `edit_cfg` the config.
std::string make_variant(const std::function<void(std::vector<Owned>&)>& edit,
                         const std::function<void(nlohmann::json&)>& edit_cfg = nullptr) {
  const std::string src = test::data_path("tiny-v3");
  const std::string dir = test::temp_dir("loader");
  auto f = SafetensorsFile::open(src + "/model.safetensors");
  std::vector<Owned> ts;
  for (const auto& [name, t] : f->tensors())
    ts.push_back({name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  edit(ts);
  std::vector<TensorToWrite> w;
  for (auto& t : ts) w.push_back({t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
  write_safetensors(dir + "/model.safetensors", w);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(src + "/config.json"));
  if (edit_cfg) edit_cfg(cfg);
  std::ofstream(dir + "/config.json") << cfg.dump(2);
  return dir;
}

std::string load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Owned* find(std::vector<Owned>& ts, const std::string& name) {
  for (auto& t : ts)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

TEST(ModelLoader, UnchangedCopyLoads) {
  auto dir = make_variant([](auto&) {});
  EXPECT_EQ(load_error(dir), "");
}

TEST(ModelLoader, MissingTensorIsNamed) {
  auto dir = make_variant([](auto& ts) {
    std::erase_if(ts, [](const Owned& t) { return t.name == "model.layers.1.mlp.gate.weight"; });
  });
  auto e = load_error(dir);
  EXPECT_NE(e.find("missing tensor 'model.layers.1.mlp.gate.weight'"), std::string::npos) << e;
}

TEST(ModelLoader, WrongShapeIsNamed) {
  auto dir = make_variant([](auto& ts) {
    Owned* t = find(ts, "model.layers.0.self_attn.kv_a_layernorm.weight");
    t->shape = {t->shape[0] - 1};
    t->bytes.resize(t->bytes.size() - 4);
  });
  auto e = load_error(dir);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("'model.layers.0.self_attn.kv_a_layernorm.weight' has shape [47], expected [48]"),
            std::string::npos) << e;
}

TEST(ModelLoader, WrongDtypeIsNamed) {
  auto dir = make_variant([](auto& ts) {
    Owned* t = find(ts, "model.layers.1.mlp.gate.e_score_correction_bias");
    t->dtype = DType::I32;  // same byte size, wrong type
  });
  auto e = load_error(dir);
  EXPECT_NE(e.find("'model.layers.1.mlp.gate.e_score_correction_bias' has dtype I32"), std::string::npos) << e;
}

TEST(ModelLoader, UnexpectedTensorIsNamed) {
  auto dir = make_variant([](auto& ts) {
    ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", DType::F32, {4}, std::vector<uint8_t>(16)});
  });
  auto e = load_error(dir);
  EXPECT_NE(e.find("unexpected tensor 'model.layers.0.self_attn.rotary_emb.inv_freq'"), std::string::npos) << e;
}

TEST(ModelLoader, Fp8WeightWithoutScaleIsNamed) {
  auto dir = make_variant([](auto& ts) {
    Owned* t = find(ts, "model.layers.0.self_attn.o_proj.weight");
    t->dtype = DType::F8_E4M3;
    t->bytes.resize(t->bytes.size() / 4);
  });
  auto e = load_error(dir);
  EXPECT_NE(e.find("model.layers.0.self_attn.o_proj.weight"), std::string::npos) << e;
}

TEST(ModelLoader, MtpLayerCountMustMatchConfig) {
  // Claiming no MTP layer while the file holds layer 3 (the MTP module) leaves its tensors
  // unexpected instead of silently building a 4th main layer (pitfall 8).
  auto dir = make_variant([](auto&) {}, [](nlohmann::json& c) { c["num_nextn_predict_layers"] = 0; });
  auto e = load_error(dir);
  EXPECT_NE(e.find("unexpected tensor 'model.layers.3."), std::string::npos) << e;
}

TEST(ModelLoader, TruncatedShardIsNamed) {
  auto dir = make_variant([](auto&) {});
  const auto path = dir + "/model.safetensors";
  fs::resize_file(path, fs::file_size(path) - 100);
  auto e = load_error(dir);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

// ---- config.json validation ----

std::string config_error(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(test::data_path("tiny-v3/config.json")));
  edit(cfg);
  try {
    ModelConfig::from_json(cfg, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigLoader, ValidConfigsParse) {
  for (const char* m : {"tiny-v2-lite", "tiny-v2", "tiny-v3", "tiny-v3-sharded"}) {
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(test::data_path(std::string(m) + "/config.json")));
    EXPECT_NO_THROW(ModelConfig::from_json(cfg)) << m;
  }
}

TEST(ConfigLoader, RejectsBadFieldsByName) {
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    const char* expect;
  } cases[] = {
      {[](auto& c) { c.erase("kv_lora_rank"); }, "missing required field 'kv_lora_rank'"},
      {[](auto& c) { c["hidden_size"] = "80"; }, "'hidden_size' must be an integer"},
      {[](auto& c) { c["hidden_size"] = -8; }, "'hidden_size' must be > 0"},
      {[](auto& c) { c["topk_group"] = 5; }, "'topk_group' (5) exceeds 'n_group' (4)"},
      {[](auto& c) { c["n_group"] = 5; }, "must be divisible by 'n_group'"},
      {[](auto& c) { c["num_experts_per_tok"] = 13; }, "'num_experts_per_tok' (13) exceeds 'n_routed_experts'"},
      {[](auto& c) { c["topk_method"] = "best"; }, "'topk_method' has unknown value 'best'"},
      {[](auto& c) { c["scoring_func"] = "relu"; }, "'scoring_func' has unknown value 'relu'"},
      {[](auto& c) { c["qk_rope_head_dim"] = 7; }, "'qk_rope_head_dim' must be even"},
      {[](auto& c) { c["first_k_dense_replace"] = 9; }, "'first_k_dense_replace' must be in"},
      {[](auto& c) { c["rope_scaling"]["factor"] = 0.5; }, "rope_scaling.factor' must be >= 1"},
      {[](auto& c) { c["rope_scaling"]["type"] = "dynamic"; }, "is not supported"},
      {[](auto& c) { c["model_type"] = "mistral"; }, "model_type 'mistral' is not supported"},
      {[](auto& c) { c["norm_topk_prob"] = 1; }, "'norm_topk_prob' must be true or false"},
      {[](auto& c) { c["eos_token_id"] = 100000; }, "bos/eos token id outside vocab_size"},
  };
  for (auto& k : cases) {
    auto e = config_error(k.edit);
    EXPECT_NE(e.find(k.expect), std::string::npos) << "expected '" << k.expect << "', got '" << e << "'";
  }
}

TEST(ConfigLoader, SoftmaxScaleMatchesSpec) {
  // architecture.md §7.4: V3 0.1352337789, V2/V2-Lite 0.1147213868.
  ModelConfig c;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.rope.yarn = true;
  c.rope.factor = 40;
  c.rope.mscale_all_dim = 1.0;
  EXPECT_NEAR(c.softmax_scale(), 0.1352337789, 1e-9);
  c.rope.mscale_all_dim = 0.707;
  EXPECT_NEAR(c.softmax_scale(), 0.1147213868, 1e-9);
  c.rope.yarn = false;
  EXPECT_NEAR(c.softmax_scale(), 0.0721687836, 1e-9);
}

TEST(ConfigLoader, V3LatentCacheIs70272BytesPerTokenInBf16) {
  ModelConfig c;
  c.kv_lora_rank = 512;
  c.qk_rope_head_dim = 64;
  c.num_hidden_layers = 61;
  EXPECT_EQ(c.latent_cache_width(), 576);
  EXPECT_EQ(KvCache::bytes_per_token(c, c.num_hidden_layers, DType::BF16), 70272u);
}

TEST(ConfigLoader, YarnInverseFrequenciesMatchSpecTable) {
  // architecture.md §8.3: DeepSeek-V3/V2 (d = 64, theta 1e4, s = 40, L0 = 4096, beta 32/1).
  ModelConfig c;
  c.qk_rope_head_dim = 64;
  c.rope_theta = 10000;
  c.rope.yarn = true;
  c.rope.factor = 40;
  c.rope.mscale = c.rope.mscale_all_dim = 1.0;
  RopeTable r(c);
  const std::pair<int, double> table[] = {{11, 3.900693e-2}, {12, 2.687936e-2}, {13, 1.837815e-2},
                                          {14, 1.244796e-2}, {15, 8.334509e-3}, {16, 5.500000e-3},
                                          {17, 3.561997e-3}, {18, 2.249365e-3}, {19, 1.370514e-3},
                                          {20, 7.905694e-4}, {21, 4.149904e-4}, {22, 1.778279e-4},
                                          {23, 3.333804e-5}, {31, 3.333804e-6}};
  for (auto [i, v] : table) EXPECT_NEAR(r.inv_freq[size_t(i)], v, v * 2e-6) << i;
  for (int i = 0; i <= 10; ++i) EXPECT_NEAR(r.inv_freq[size_t(i)], std::pow(10000.0, -i / 32.0), 1e-6) << i;
  EXPECT_EQ(r.attention_factor, 1.0f);
}
