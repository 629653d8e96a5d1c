// The built-in model (models/builtin, trained by scripts/train_reference.py) against its
// PyTorch reference: main-head and MTP-head logits of two held-out problems
// (tests/data/builtin_ref, written by scripts/check_reference_vs_hf.py; the reference itself
// matches HF's DeepseekV3ForCausalLM to 7e-7 relative). Both sides compute in fp32 on the same
// bf16 weights, so the bound is the fp32 one: 1e-4 of the logit scale.
#include <gtest/gtest.h>

#include <cmath>

#include "io/npy.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/mtp.h"
#include "runtime/generator.h"
#include "test_util.h"

using namespace dsv3;

namespace {
double rel_diff(const std::vector<float>& a, const std::vector<float>& ref) {
  double mx = 1, d = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    mx = std::max(mx, double(std::fabs(ref[i])));
    d = std::max(d, double(std::fabs(ref[i] - a[i])));
  }
  return d / mx;
}
}  // namespace

TEST(BuiltinModel, MainAndMtpLogitsMatchPytorchReference) {
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  ASSERT_EQ(m->mtp.size(), 1u);
  const ModelConfig& c = m->config;
  const int64_t V = c.vocab_size, D = c.hidden_size;
  for (int p = 0; p < 2; ++p) {
    const std::string base = test::data_path("builtin_ref/prompt" + std::to_string(p));
    auto ids64 = read_npy(base + "_ids.npy").as_i64();
    std::vector<int32_t> ids(ids64.begin(), ids64.end());
    const int64_t T = int64_t(ids.size());
    KvCache cache(c, c.num_hidden_layers, T, DType::F32), mcache(c, 1, T, DType::F32);
    std::vector<float> logits(static_cast<size_t>(T * V)), hidden(static_cast<size_t>(T * D));
    ForwardOptions opt;
    opt.all_logits = true;
    forward(*m, cache, ids.data(), T, 0, logits.data(), nullptr, opt, nullptr, hidden.data());
    auto ref = read_npy(base + "_logits.npy").as_f32();
    ASSERT_EQ(ref.size(), logits.size());
    EXPECT_LE(rel_diff(logits, ref), 1e-4) << "main head, prompt " << p;
    std::vector<float> mlog(static_cast<size_t>((T - 1) * V));
    mtp_forward(*m, 0, mcache, hidden.data(), ids.data() + 1, T - 1, 0, mlog.data(), nullptr, opt);
    auto mref = read_npy(base + "_mtp_logits.npy").as_f32();
    ASSERT_EQ(mref.size(), mlog.size());
    EXPECT_LE(rel_diff(mlog, mref), 1e-4) << "MTP head, prompt " << p;
  }
}

TEST(BuiltinModel, GreedyAnswerMatchesPytorchGeneration) {
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  for (int p = 0; p < 2; ++p) {
    const std::string base = test::data_path("builtin_ref/prompt" + std::to_string(p));
    auto ids64 = read_npy(base + "_ids.npy").as_i64();
    auto want64 = read_npy(base + "_greedy_ids.npy").as_i64();
    std::vector<int32_t> prompt(ids64.begin(), ids64.begin() + 14);  // meta.json prompt_len
    for (int64_t mtp : {0, 1}) {
      GenerateOptions go;
      go.mtp_depth = mtp;
      Generator g(*m, nullptr, 128, DType::F32, {}, go);
      std::vector<int64_t> got;
      g.generate(prompt, int64_t(want64.size()) + 8, [&](int32_t t) { got.push_back(t); return true; });
      // The reference continuation stops before EOS; ours includes it.
      ASSERT_GE(got.size(), want64.size());
      EXPECT_EQ(std::vector<int64_t>(got.begin(), got.begin() + int64_t(want64.size())), want64)
          << "prompt " << p << " mtp " << mtp;
    }
  }
}
