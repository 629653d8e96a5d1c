// GGUF files of llama.cpp's deepseek2 architecture, written by llama.cpp's own converter
// (convert_hf_to_gguf.py of the llama-cpp-python 0.3.36 sdist; scripts/convert_deepseek2_gguf.py,
// tests/data/gguf-deepseek2/README.md) from the tiny HF checkpoints in tests/data:
//   * the MLA-split layout (attn_k_b / attn_v_b; what that converter writes) and the older one
//     (attn_kv_b; the same file rewritten by the script's --old-layout);
//   * BF16 (tiny-v2-lite: V2-Lite routing, no q_lora, YaRN mscale 0.707) and F32 (tiny-v3:
//     sigmoid + noaux_tc with exp_probs_b, groups, q_lora, norm_topk_prob, scaling 2.5).
// Checks: the config read from deepseek2.* metadata equals the one from config.json; every
// weight the forward pass reads is bit-identical to the HF folder's (kv_b_proj rebuilt from
// k_b/v_b included), so the logits are bit-identical too; and they match HF transformers'
// reference logits within the tolerance of tests/model_hf_test.cpp (1e-4 of the logit scale).
// Plus: truncated and corrupted copies of a GGUF model give a dsv3::Error, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "io/npy.h"
#include "kernels/ops.h"
#include "model/forward.h"
#include "model/gguf_deepseek2.h"
#include "model/model.h"
#include "test_util.h"

using namespace dsv3;

namespace {

struct Case {
  const char* gguf;  // under tests/data/gguf-deepseek2/
  const char* hf;    // HF folder under tests/data/ with ref/
};
const Case kCases[] = {
    {"tiny-v2-lite-bf16.gguf", "tiny-v2-lite"},
    {"tiny-v2-lite-bf16-old-layout.gguf", "tiny-v2-lite"},
    {"tiny-v3-f32.gguf", "tiny-v3"},
};

std::string gguf_path(const char* f) { return test::data_path(std::string("gguf-deepseek2/") + f); }

std::vector<std::vector<int32_t>> load_prompts(const std::string& dir) {
  std::ifstream f(dir + "/ref/prompts.json");
  nlohmann::json j = nlohmann::json::parse(f);
  std::vector<std::vector<int32_t>> out;
  for (auto& p : j["prompts"]) out.push_back(p.get<std::vector<int32_t>>());
  return out;
}

std::vector<float> logits_of(const Model& m, const std::vector<int32_t>& toks) {
  KvCache cache(m.config, m.config.num_hidden_layers, int64_t(toks.size()) + 1, DType::F32);
  std::vector<float> out(toks.size() * size_t(m.config.vocab_size));
  ForwardOptions opt;
  opt.all_logits = true;
  opt.mla = MlaMode::kNaive;
  forward(m, cache, toks.data(), int64_t(toks.size()), 0, out.data(), nullptr, opt);
  return out;
}

// Every row of two views as floats, compared exactly (and the shapes).
void expect_same_weights(const TensorView& a, const TensorView& b, const std::string& what) {
  ASSERT_EQ(a.data == nullptr, b.data == nullptr) << what;
  if (!a.data) return;
  ASSERT_EQ(shape_string(a), shape_string(b)) << what;
  const int64_t rows = a.ndim == 1 ? 1 : a.rows(), cols = a.ndim == 1 ? a.shape[0] : a.cols();
  TensorView a2 = a, b2 = b;
  if (a.ndim == 1) {
    a2.ndim = b2.ndim = 2;
    a2.shape = b2.shape = {1, cols, 0, 0};
  }
  std::vector<float> ra(static_cast<size_t>(cols)), rb(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    kernels::weight_row(a2, r, ra.data());
    kernels::weight_row(b2, r, rb.data());
    ASSERT_EQ(0, std::memcmp(ra.data(), rb.data(), ra.size() * sizeof(float))) << what << " row " << r;
  }
}

class GgufDeepseek2 : public ::testing::TestWithParam<Case> {};

TEST_P(GgufDeepseek2, ConfigMatchesConfigJson) {
  auto g = GgufFile::open(gguf_path(GetParam().gguf));
  ASSERT_TRUE(gguf_is_deepseek2(*g));
  const ModelConfig a = ModelConfig::from_json(deepseek2_gguf_config_json(*g), g->name());
  std::ifstream f(test::data_path(std::string(GetParam().hf) + "/config.json"));
  const ModelConfig b = ModelConfig::from_json(nlohmann::json::parse(f));
  EXPECT_EQ(a.model_type, b.model_type);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.moe_intermediate_size, b.moe_intermediate_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
  EXPECT_EQ(a.q_lora_rank, b.q_lora_rank);
  EXPECT_EQ(a.kv_lora_rank, b.kv_lora_rank);
  EXPECT_EQ(a.qk_nope_head_dim, b.qk_nope_head_dim);
  EXPECT_EQ(a.qk_rope_head_dim, b.qk_rope_head_dim);
  EXPECT_EQ(a.v_head_dim, b.v_head_dim);
  EXPECT_EQ(a.n_routed_experts, b.n_routed_experts);
  EXPECT_EQ(a.n_shared_experts, b.n_shared_experts);
  EXPECT_EQ(a.num_experts_per_tok, b.num_experts_per_tok);
  EXPECT_EQ(a.n_group, b.n_group);
  EXPECT_EQ(a.topk_group, b.topk_group);
  EXPECT_EQ(a.topk_method, b.topk_method);
  EXPECT_EQ(a.scoring_func, b.scoring_func);
  EXPECT_EQ(a.norm_topk_prob, b.norm_topk_prob);
  EXPECT_FLOAT_EQ(float(a.routed_scaling_factor), float(b.routed_scaling_factor));
  EXPECT_EQ(a.first_k_dense_replace, b.first_k_dense_replace);
  EXPECT_FLOAT_EQ(float(a.rms_norm_eps), float(b.rms_norm_eps));
  EXPECT_EQ(a.rope.yarn, b.rope.yarn);
  EXPECT_DOUBLE_EQ(a.rope.factor, b.rope.factor);
  EXPECT_EQ(a.rope.original_max_position_embeddings, b.rope.original_max_position_embeddings);
  EXPECT_DOUBLE_EQ(a.rope.mscale, b.rope.mscale);
  EXPECT_DOUBLE_EQ(a.rope.mscale_all_dim, b.rope.mscale_all_dim);
  // f32 metadata (rope_theta, factor) round-trips exactly for these values; the softmax scale
  // follows from them.
  EXPECT_NEAR(a.softmax_scale(), b.softmax_scale(), 1e-7);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
}

TEST_P(GgufDeepseek2, WeightsAndLogitsBitIdenticalToHfFolder) {
  auto mg = Model::load(gguf_path(GetParam().gguf));
  const std::string dir = test::data_path(GetParam().hf);
  auto mh = Model::load(dir);
  ASSERT_EQ(mg->layers.size(), mh->layers.size());
  expect_same_weights(mg->embed_tokens, mh->embed_tokens, "embed_tokens");
  expect_same_weights(mg->norm, mh->norm, "norm");
  expect_same_weights(mg->lm_head, mh->lm_head, "lm_head");
  for (size_t L = 0; L < mh->layers.size(); ++L) {
    const LayerWeights &a = mg->layers[L], &b = mh->layers[L];
    const std::string p = "layer " + std::to_string(L) + " ";
    expect_same_weights(a.input_layernorm, b.input_layernorm, p + "input_layernorm");
    expect_same_weights(a.post_attention_layernorm, b.post_attention_layernorm, p + "post_attention_layernorm");
    expect_same_weights(a.attn.q_proj, b.attn.q_proj, p + "q_proj");
    expect_same_weights(a.attn.q_a_proj, b.attn.q_a_proj, p + "q_a_proj");
    expect_same_weights(a.attn.q_a_layernorm, b.attn.q_a_layernorm, p + "q_a_layernorm");
    expect_same_weights(a.attn.q_b_proj, b.attn.q_b_proj, p + "q_b_proj");
    expect_same_weights(a.attn.kv_a_proj_with_mqa, b.attn.kv_a_proj_with_mqa, p + "kv_a_proj_with_mqa");
    expect_same_weights(a.attn.kv_a_layernorm, b.attn.kv_a_layernorm, p + "kv_a_layernorm");
    expect_same_weights(a.attn.kv_b_proj, b.attn.kv_b_proj, p + "kv_b_proj");
    expect_same_weights(a.attn.o_proj, b.attn.o_proj, p + "o_proj");
    ASSERT_EQ(a.is_moe, b.is_moe) << p;
    if (!b.is_moe) {
      expect_same_weights(a.mlp.gate_proj, b.mlp.gate_proj, p + "gate_proj");
      expect_same_weights(a.mlp.up_proj, b.mlp.up_proj, p + "up_proj");
      expect_same_weights(a.mlp.down_proj, b.mlp.down_proj, p + "down_proj");
      continue;
    }
    expect_same_weights(a.moe.gate, b.moe.gate, p + "router");
    expect_same_weights(a.moe.e_score_correction_bias, b.moe.e_score_correction_bias, p + "router bias");
    ASSERT_EQ(a.moe.experts.size(), b.moe.experts.size());
    for (size_t e = 0; e < b.moe.experts.size(); ++e) {
      const std::string q = p + "expert " + std::to_string(e) + " ";
      expect_same_weights(a.moe.experts[e].gate_proj, b.moe.experts[e].gate_proj, q + "gate");
      expect_same_weights(a.moe.experts[e].up_proj, b.moe.experts[e].up_proj, q + "up");
      expect_same_weights(a.moe.experts[e].down_proj, b.moe.experts[e].down_proj, q + "down");
    }
    expect_same_weights(a.moe.shared_experts.gate_proj, b.moe.shared_experts.gate_proj, p + "shared gate");
    expect_same_weights(a.moe.shared_experts.up_proj, b.moe.shared_experts.up_proj, p + "shared up");
    expect_same_weights(a.moe.shared_experts.down_proj, b.moe.shared_experts.down_proj, p + "shared down");
  }
  // Same weights (as floats) and the same kernels: the logits agree exactly when the stored
  // dtypes agree too (BF16 and F32 files of BF16 and F32 checkpoints).
  for (const auto& p : load_prompts(dir)) {
    const auto a = logits_of(*mg, p), b = logits_of(*mh, p);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "T=" << p.size();
  }
}

TEST_P(GgufDeepseek2, LogitsMatchHfTransformers) {
  auto m = Model::load(gguf_path(GetParam().gguf));
  const std::string dir = test::data_path(GetParam().hf);
  const auto prompts = load_prompts(dir);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto ref = read_npy(dir + "/ref/logits_" + std::to_string(i) + ".npy").as_f32();
    const auto got = logits_of(*m, prompts[i]);
    ASSERT_EQ(got.size(), ref.size());
    double scale = 1, diff = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      scale = std::max(scale, double(std::fabs(ref[k])));
      diff = std::max(diff, double(std::fabs(got[k] - ref[k])));
    }
    EXPECT_LE(diff, 1e-4 * scale) << "prompt " << i;  // same bound as model_hf_test.cpp
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufDeepseek2, ::testing::ValuesIn(kCases),
                         [](const auto& info) {
                           std::string n = info.param.gguf;
                           n = n.substr(0, n.find(".gguf"));
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Q8_0 (a block type): kv_b_proj is rebuilt by dequantising attn_k_b / attn_v_b into F32.
// Against the HF folder's BF16 kv_b_proj (the converter quantised exactly those values) each
// element may differ by the Q8_0 rounding only: x' = q * fp16(d), d = amax/127 of its 32-block,
// so |x' - x| <= d/2 + 127 * d * 2^-11 < 0.57 d. k_b's blocks run along d_nope (a column of
// W_UK here: d_nope = 32 = one block), v_b's along r_kv (32-wide pieces of a W_UV row). A wrong
// transpose or head order moves elements by O(amax), far outside the bound.
TEST(GgufDeepseek2Q8, KvBFromQuantizedSplitWithinRoundingOfHf) {
  auto mg = Model::load(gguf_path("builtin-q8_0.gguf"));
  // If models/builtin is retrained, regenerate the GGUF (tests/data/gguf-deepseek2/README.md).
  auto mh = Model::load(DSV3_BUILTIN_MODEL_DIR);
  const ModelConfig& c = mh->config;
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dv = c.v_head_dim, r = c.kv_lora_rank;
  ASSERT_EQ(dn, 32);
  ASSERT_EQ(r % 32, 0);
  for (size_t L = 0; L < mh->layers.size(); ++L) {
    const TensorView &a = mg->layers[L].attn.kv_b_proj, &b = mh->layers[L].attn.kv_b_proj;
    ASSERT_EQ(a.dtype, DType::F32);
    ASSERT_EQ(shape_string(a), shape_string(b));
    std::vector<float> wa(static_cast<size_t>(H * (dn + dv) * r)), wb(wa.size());
    for (int64_t row = 0; row < H * (dn + dv); ++row) {
      kernels::weight_row(a, row, wa.data() + row * r);
      kernels::weight_row(b, row, wb.data() + row * r);
    }
    auto at = [&](const std::vector<float>& w, int64_t h, int64_t i, int64_t j) { return w[size_t((h * (dn + dv) + i) * r + j)]; };
    int64_t checked = 0;
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t j = 0; j < r; ++j) {  // W_UK column j = one k_b row of dn values = one block
        float amax = 0;
        for (int64_t i = 0; i < dn; ++i) amax = std::max(amax, std::fabs(at(wb, h, i, j)));
        for (int64_t i = 0; i < dn; ++i, ++checked)
          ASSERT_LE(std::fabs(at(wa, h, i, j) - at(wb, h, i, j)), 0.57f * amax / 127.f + 1e-7f)
              << "layer " << L << " head " << h << " W_UK[" << i << "][" << j << "]";
      }
      for (int64_t i = 0; i < dv; ++i)
        for (int64_t j0 = 0; j0 < r; j0 += 32) {  // W_UV row i, 32-wide blocks
          float amax = 0;
          for (int64_t j = j0; j < j0 + 32; ++j) amax = std::max(amax, std::fabs(at(wb, h, dn + i, j)));
          for (int64_t j = j0; j < j0 + 32; ++j, ++checked)
            ASSERT_LE(std::fabs(at(wa, h, dn + i, j) - at(wb, h, dn + i, j)), 0.57f * amax / 127.f + 1e-7f)
                << "layer " << L << " head " << h << " W_UV[" << i << "][" << j << "]";
        }
    }
    EXPECT_EQ(checked, H * (dn + dv) * r);
  }
}

TEST(GgufDeepseek2Meta, MissingKeyIsNamed) {
  // A v3 GGUF header with only general.architecture: the first required key is named.
  std::vector<uint8_t> b;
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i))); };
  auto u64 = [&](uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i))); };
  auto str = [&](const std::string& s) { u64(s.size()); b.insert(b.end(), s.begin(), s.end()); };
  b.insert(b.end(), {'G', 'G', 'U', 'F'});
  u32(3);
  u64(0);  // tensors
  u64(1);  // kv
  str("general.architecture");
  u32(8);
  str("deepseek2");
  auto g = GgufFile::parse(b.data(), b.size(), "mini.gguf");
  try {
    deepseek2_gguf_config_json(*g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("deepseek2.block_count"), std::string::npos) << e.what();
  }
}

// Truncated and corrupted copies of a real converter-made file: loading as a model must throw
// dsv3::Error (or, for a byte flip that leaves a valid file, load), never crash. Run under the
// ASan build in CI, where an out-of-bounds read would abort.
TEST(GgufDeepseek2Fuzz, TruncatedAndCorruptedCopiesFailCleanly) {
  const std::string src = gguf_path("tiny-v2-lite-bf16.gguf");
  std::ifstream f(src, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 4096u);
  const std::string dir = test::temp_dir("gguf_ds2_fuzz");
  const std::string path = dir + "/m.gguf";
  auto write = [&](const std::vector<char>& v) {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o.write(v.data(), std::streamsize(v.size()));
  };
  int errors = 0, loads = 0;
  auto try_load = [&](const std::string& what) {
    try {
      auto m = Model::load(path);
      std::vector<int32_t> toks = {1, 2, 3};
      (void)logits_of(*m, toks);
      ++loads;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()), "") << what;
      ++errors;
    }
  };
  // Truncations: every length class (header, metadata, tensor infos, data).
  const size_t n = bytes.size();
  for (size_t len : {size_t(0), size_t(3), size_t(4), size_t(8), size_t(23), size_t(24), size_t(100), size_t(1000),
                     size_t(5000), n / 4, n / 2, n - 4096, n - 1}) {
    write(std::vector<char>(bytes.begin(), bytes.begin() + std::ptrdiff_t(len)));
    try_load("truncated to " + std::to_string(len));
  }
  EXPECT_EQ(loads, 0) << "a truncated file loaded";
  // Corruptions: deterministic byte patterns at deterministic offsets in the header region
  // (counts, lengths, type ids, dims, offsets) and a few in the data.
  uint32_t x = 12345;
  auto rnd = [&] { x = x * 1664525u + 1013904223u; return x; };
  for (int k = 0; k < 150; ++k) {
    std::vector<char> v = bytes;
    const size_t header_end = std::min<size_t>(n, 16384);
    const size_t pos = k < 120 ? rnd() % header_end : rnd() % n;
    const uint8_t pat[] = {0xff, 0x00, 0x7f, 0x80};
    v[pos] = char(pat[k % 4]);
    if (k % 3 == 0 && pos + 1 < n) v[pos + 1] = char(0xff);
    write(v);
    try_load("byte " + std::to_string(pos));
  }
  std::fprintf(stderr, "fuzz: %d copies refused with dsv3::Error, %d loaded and ran\n", errors, loads);
  EXPECT_GT(errors, 13);
}

}  // namespace

namespace {

// `dsv3 gguf-info`: metadata of a converter-made file; a truncated copy is a clear error.
TEST(GgufInfoCli, PrintsMetadataAndRejectsTruncated) {
  const std::string src = gguf_path("tiny-v3-f32.gguf");
  auto r = test::run_cli("gguf-info " + src + " --tensors");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("general.architecture (string) = \"deepseek2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("deepseek2.expert_gating_func (u32) = 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blk.1.attn_k_b.weight"), std::string::npos) << r.out;
  std::ifstream f(src, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::string cut = test::temp_dir("gguf_info_cli") + "/cut.gguf";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  r = test::run_cli("gguf-info " + cut);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("outside the file"), std::string::npos) << r.err;
}

}  // namespace
