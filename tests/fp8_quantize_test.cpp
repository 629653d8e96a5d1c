// DeepSeek block quantization and fp8_cast_bf16 against torch (tests/data/fp8, made by
// scripts/make_fp8_refs.py): a [576, 160] weight (partial 128-blocks in both dims, one all-zero
// block, one outlier) must give torch's e4m3 codes and fp32 scales bit for bit, the bf16 cast
// torch's bits, and the dequantized values stay within the block-quantization bound
// |w - deq| <= s * 2^-4 * max(|w| / s rounded to the e4m3 grid spacing) -- checked as
// |w - deq| <= 2^-4 |w| + s * 2^-10 (half an e4m3 ulp relative, or half the subnormal step).
// Then `dsv3 quantize` end to end on the tiny checkpoints (which tensors are quantized, config,
// round trip, bit-exact --to bf16 against torch, errors).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fp8.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/fp8_weights.h"
#include "model/model.h"
#include "model/tensor_table.h"
#include "test_util.h"

using namespace dsv3;

namespace {

TEST(Fp8Quantize, BlockQuantizationMatchesTorch) {
  auto wa = read_npy(test::data_path("fp8/quant_w.npy"));
  const int64_t R = wa.shape[0], C = wa.shape[1];
  ASSERT_EQ(R, 576);
  const auto w = wa.as_f32();
  const auto codes = read_npy(test::data_path("fp8/quant_codes.npy")).as_i64();
  const auto scales = read_npy(test::data_path("fp8/quant_scales.npy")).as_f32();
  const auto bf = read_npy(test::data_path("fp8/cast_bf16.npy")).as_i64();
  std::vector<uint8_t> q(size_t(R * C));
  std::vector<float> s(size_t(5 * 2));
  quantize_fp8_blocks(w.data(), R, C, q.data(), s.data(), "quant_w");
  ASSERT_EQ(scales.size(), s.size());
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i], scales[i]) << "scale " << i;
  EXPECT_EQ(s[1 * 2 + 0], 1.0f);  // all-zero block
  int bad = 0;
  for (size_t i = 0; i < q.size(); ++i) bad += q[i] != codes[i];
  EXPECT_EQ(bad, 0);
  std::vector<uint16_t> out(size_t(R * C));
  dequant_fp8_to_bf16(q.data(), s.data(), R, C, out.data());
  bad = 0;
  for (size_t i = 0; i < out.size(); ++i) bad += int64_t(out[i]) != bf[i];
  EXPECT_EQ(bad, 0);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const float sc = s[size_t((r / 128) * 2 + c / 128)];
      const float deq = e4m3_to_f32(q[size_t(r * C + c)]) * sc;
      const float x = w[size_t(r * C + c)];
      ASSERT_LE(std::fabs(x - deq), std::ldexp(std::fabs(x), -4) + sc * std::ldexp(1.f, -10))
          << r << "," << c;
    }
}

TEST(Fp8Quantize, NonFiniteInputIsAnError) {
  std::vector<float> w(128 * 3, 1.f);
  w[7] = NAN;
  std::vector<uint8_t> q(w.size());
  std::vector<float> s(3);
  EXPECT_THROW(quantize_fp8_blocks(w.data(), 3, 128, q.data(), s.data(), "w"), Error);
}

std::string quantize(const std::string& in, const std::string& tag, const std::string& to,
                     const std::string& extra = "") {
  const std::string out = test::temp_dir(tag) + "/out";
  auto r = test::run_cli("quantize -m " + in + " -o " + out + " --to " + to + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

TEST(Fp8Quantize, CliToFp8KeepsDeepSeekUnquantizedSet) {
  const std::string in = test::data_path("tiny-v3");  // fp32, with an MTP layer
  const std::string out = quantize(in, "q8", "fp8", " --shard-size 400000");
  auto src = Checkpoint::open(in);
  auto dst = Checkpoint::open(out);
  EXPECT_EQ(dst->layout(), "model.safetensors.index.json");
  EXPECT_GT(dst->files().size(), 1u);
  EXPECT_EQ(dst->config()["quantization_config"]["weight_block_size"], nlohmann::json({128, 128}));
  const ModelConfig c = ModelConfig::from_json(src->config(), in);
  int quantized = 0, kept = 0;
  for (const TensorSpec& spec : expected_tensors(c)) {
    const StoredTensor* a = src->find(spec.name);
    if (!a) continue;
    const StoredTensor* b = dst->find(spec.name);
    ASSERT_NE(b, nullptr) << spec.name;
    if (spec.role == TensorRole::kLinear) {
      EXPECT_EQ(b->dtype, DType::F8_E4M3) << spec.name;
      const StoredTensor* s = dst->find(spec.name + "_scale_inv");
      ASSERT_NE(s, nullptr) << spec.name;
      EXPECT_EQ(s->shape,
                (std::vector<int64_t>{(a->shape[0] + 127) / 128, (a->shape[1] + 127) / 128}));
      ++quantized;
    } else {  // embeddings, head, norms, router, bias, eh_proj, MTP extras: unchanged bytes
      EXPECT_EQ(b->dtype, a->dtype) << spec.name;
      ASSERT_EQ(b->nbytes, a->nbytes);
      EXPECT_EQ(0, std::memcmp(a->data, b->data, a->nbytes)) << spec.name;
      ++kept;
    }
  }
  EXPECT_GT(quantized, 50);
  EXPECT_GT(kept, 10);
  // Loadable, and --to bf16 brings back bf16(deq) with no scales and no quantization_config.
  auto m = Model::load(out);
  EXPECT_NE(m->layers[1].moe.experts[0].down_proj.block_scale, nullptr);
  const std::string back = quantize(out, "q8b", "bf16");
  auto bck = Checkpoint::open(back);
  EXPECT_FALSE(bck->config().contains("quantization_config"));
  for (const auto& [name, t] : bck->tensors()) {
    EXPECT_EQ(name.find("_scale_inv"), std::string::npos) << name;
    EXPECT_NE(t->dtype, DType::F8_E4M3) << name;
  }
  Model::load(back);
}

// --lm-head: the head is quantized too (with its scale grid), embeddings stay as they were, the
// result loads with an FP8 head; the option is refused for --to bf16.
TEST(Fp8Quantize, CliLmHeadOptionQuantizesTheHead) {
  const std::string in = test::data_path("tiny-v3");
  const std::string out = quantize(in, "q8head", "fp8", " --lm-head");
  auto src = Checkpoint::open(in);
  auto dst = Checkpoint::open(out);
  const StoredTensor* h = dst->find("lm_head.weight");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->dtype, DType::F8_E4M3);
  const StoredTensor* s = dst->find("lm_head.weight_scale_inv");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->shape, (std::vector<int64_t>{(h->shape[0] + 127) / 128, (h->shape[1] + 127) / 128}));
  EXPECT_EQ(dst->find("model.embed_tokens.weight")->dtype,
            src->find("model.embed_tokens.weight")->dtype);
  auto m = Model::load(out);
  EXPECT_EQ(m->lm_head.dtype, DType::F8_E4M3);
  EXPECT_NE(m->lm_head.block_scale, nullptr);
  auto r = test::run_cli("quantize -m " + in + " -o " + test::temp_dir("q8headbf") +
                         "/out --to bf16 --lm-head");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--lm-head"), std::string::npos) << r.err;
}

TEST(Fp8Quantize, CliToBf16IsBitIdenticalToTorchCast) {
  const std::string dir = test::data_path("tiny-v3-fp8");
  const std::string out = quantize(dir, "qb", "bf16");
  auto got = Checkpoint::open(out);
  auto ref = SafetensorsFile::open(dir + "/ref/cast_bf16.safetensors");
  ASSERT_EQ(ref->tensors().size(), 2u);
  for (const auto& [name, t] : ref->tensors()) {
    const StoredTensor* g = got->find(name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->dtype, DType::BF16);
    EXPECT_EQ(g->shape, t.shape);
    ASSERT_EQ(g->nbytes, t.nbytes);
    EXPECT_EQ(0, std::memcmp(g->data, t.data, t.nbytes)) << name;
  }
}

TEST(Fp8Quantize, CliErrors) {
  const std::string dir = test::data_path("tiny-v3-fp8");
  auto r = test::run_cli("quantize -m " + dir + " -o " + test::temp_dir("qe") + "/o --to fp8");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already FP8"), std::string::npos) << r.err;
  r = test::run_cli("quantize -m " + dir + " -o " + test::temp_dir("qe2") + "/o --to int4");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--to"), std::string::npos) << r.err;
  r = test::run_cli("quantize -m " + dir + " -o " + dir + " --to bf16");
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
