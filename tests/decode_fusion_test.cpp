// Decode fusion (model/ffn.h fused_decode: all of a MoE layer's active experts in two pool jobs,
// kernels/matvec_multi.h) against the per-matrix decode path: a prompt chunk then decode steps
// must give bit-identical logits with fusion on and off, for no pool, 1 and 2 threads, on
// checkpoints with F32 (tiny-v2-lite, tiny-v3), BF16 (built-in model) and FP8 (tiny-v3-fp8,
// built-in FP8 copy) expert weights, so every dtype branch of the fused path is covered.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "model/ffn.h"
#include "model/forward.h"
#include "model/model.h"
#include "test_util.h"

using namespace dsv3;

namespace {

// Logits of a 5-token prompt chunk and of 6 decode steps after it, concatenated.
std::vector<float> prompt_then_decode(const Model& m, ThreadPool* pool) {
  const ModelConfig& c = m.config;
  const int64_t V = c.vocab_size;
  std::vector<int32_t> toks = {3, 17, 5, 42 % int32_t(V), 9};
  const int64_t steps = 6;
  KvCache cache(c, c.num_hidden_layers, int64_t(toks.size()) + steps, DType::F32);
  std::vector<float> out(static_cast<size_t>((steps + 1) * V));
  forward(m, cache, toks.data(), int64_t(toks.size()), 0, out.data(), pool);
  for (int64_t s = 0; s < steps; ++s) {
    const int32_t t = int32_t((7 + 13 * s) % V);
    forward(m, cache, &t, 1, int64_t(toks.size()) + s, out.data() + (s + 1) * V, pool);
  }
  return out;
}

class DecodeFusion : public ::testing::TestWithParam<const char*> {
 protected:
  void TearDown() override { set_fused_decode(true); }
};

TEST_P(DecodeFusion, SameLogitsAsPerMatrixPath) {
  const std::string name = GetParam();
  const std::string dir = name == "builtin" ? std::string(DSV3_BUILTIN_MODEL_DIR)
                          : name == "builtin-fp8"
                              ? std::string(DSV3_SOURCE_DIR) + "/models/builtin-fp8"
                              : test::data_path(name);
  auto m = Model::load(dir);
  ThreadPool one(1), two(2);
  set_fused_decode(false);
  const auto ref = prompt_then_decode(*m, nullptr);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &one, &two}) {
    set_fused_decode(true);
    const auto fused = prompt_then_decode(*m, pool);
    set_fused_decode(false);
    const auto plain = prompt_then_decode(*m, pool);
    ASSERT_EQ(fused.size(), ref.size());
    EXPECT_EQ(0, std::memcmp(fused.data(), ref.data(), ref.size() * 4))
        << "threads " << (pool ? pool->size() : 0);
    EXPECT_EQ(0, std::memcmp(plain.data(), ref.data(), ref.size() * 4));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeFusion,
                         ::testing::Values("tiny-v2-lite", "tiny-v3", "tiny-v3-fp8", "builtin",
                                           "builtin-fp8"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
