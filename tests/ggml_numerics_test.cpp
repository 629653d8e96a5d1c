// ggml-matching fp32 ops for models loaded from GGUF (ModelConfig::ggml_numerics): ggml's
// vector expf, SwiGLU with it (every ISA against the scalar twin, bit for bit), RMSNorm with
// the double sum, RoPE angles by ggml's recurrence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/exp_ggml.h"
#include "kernels/gguf_quants.h"
#include "kernels/isa.h"
#include "kernels/ops.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/gguf_model.h"
#include "model/model.h"
#include "model/rope.h"
#include "runtime/kv_cache.h"
#include "test_util.h"

namespace dsv3 {
namespace {

using kernels::Isa;

int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return int64_t(std::abs(ia & 0x7fffffff)) + std::abs(ib & 0x7fffffff);
  return std::abs(int64_t(ia) - int64_t(ib));
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// The polynomial is accurate to ~1.5 ulp over the whole normal range; overflow gives inf and
// deep underflow 0, as ggml's AVX-512 path does.
TEST(GgmlNumerics, ExpGgmlIsCloseToExp) {
  int64_t worst = 0;
  for (float x = -87.0f; x < 88.5f; x += 0.0137f) {
    const float e = kernels::exp_ggml_scalar(x);
    const float r = float(std::exp(double(x)));
    worst = std::max(worst, ulp_distance(e, r));
  }
  EXPECT_LE(worst, 3);
  EXPECT_GT(worst, 0);  // it is not libm's exp (else the ggml variant would be pointless)
  EXPECT_EQ(kernels::exp_ggml_scalar(0.0f), 1.0f);
  EXPECT_TRUE(std::isinf(kernels::exp_ggml_scalar(200.0f)));
  EXPECT_EQ(kernels::exp_ggml_scalar(-200.0f), 0.0f);
}

// silu_mul_ggml on every ISA equals the scalar twin bit for bit, including row tails (n % 16
// values through std::exp), huge |gate| (exp overflow / underflow) and aliasing out = gate.
TEST(GgmlNumerics, SiluMulGgmlMatchesRefOnEveryIsa) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> big(-30.f, 30.f), unit(-2.f, 2.f);
  for (int64_t n : {1, 15, 16, 17, 48, 1536 + 5}) {
    const int64_t M = 3;
    std::vector<float> g(static_cast<size_t>(M * n)), u(static_cast<size_t>(M * n));
    for (auto& v : g) v = big(rng);
    for (auto& v : u) v = unit(rng);
    g[0] = 150.f;   // exp(-150): |n| > 126, still a number
    g[1 % g.size()] = -150.f;
    if (g.size() > 2) g[2] = 300.f;  // |n| > 192: exp(-300) = 0, silu = g
    if (g.size() > 3) g[3] = -300.f; // exp(300) = inf, silu = -0
    std::vector<float> ref(g.size());
    kernels::silu_mul_ggml_ref(g.data(), u.data(), M, n, ref.data());
    const auto isas = kernels::supported_isas();
    for (Isa isa : isas) {
      kernels::set_isa(isa);
      SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n));
      std::vector<float> out(g.size()), alias = g;
      kernels::silu_mul_ggml(g.data(), u.data(), M, n, out.data());
      kernels::silu_mul_ggml(alias.data(), u.data(), M, n, alias.data());
      for (size_t i = 0; i < g.size(); ++i) {
        ASSERT_TRUE(same_bits(out[i], ref[i])) << i << ": " << out[i] << " vs " << ref[i];
        ASSERT_TRUE(same_bits(alias[i], ref[i])) << i;
      }
    }
    kernels::set_isa(isas.back());
    // And it is SiLU: within a few ulp of the libm form.
    for (size_t i = 4; i < g.size(); ++i) {
      const float want = g[i] / (1.0f + std::exp(-g[i])) * u[i];
      EXPECT_NEAR(ref[i], want, 4e-7f * std::fabs(want) + 1e-30f) << i;
    }
  }
}

// RMSNorm with ggml's double-precision sum: equals the formula written out here, and differs
// from the fp32-sum rmsnorm on inputs whose fp32 sum rounds (one large value, many small).
TEST(GgmlNumerics, RmsnormGgmlSumsInDouble) {
  const int64_t n = 576;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = dist(rng) + 1.5f;
  const TensorView wv = make_view(DType::F32, w.data(), {n});
  int differs = 0;
  for (int row = 0; row < 64; ++row) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = dist(rng) * 0.01f;
    x[size_t(row)] = 40.f + float(row);
    std::vector<float> y(x.size()), yf(x.size());
    kernels::rmsnorm_ggml(x.data(), 1, n, wv, 1e-5f, y.data());
    kernels::rmsnorm_ref(x.data(), 1, n, wv, 1e-5f, yf.data());
    long double sum = 0;  // exact for these magnitudes (products are fp32, < 2^-40 apart)
    for (float v : x) sum += (long double)(v * v);
    const float scale = 1.0f / std::sqrt(float(double(sum) / double(n)) + 1e-5f);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_TRUE(same_bits(y[size_t(i)], x[size_t(i)] * scale * w[size_t(i)])) << row << " " << i;
    differs += std::memcmp(y.data(), yf.data(), y.size() * 4) != 0;
  }
  EXPECT_GT(differs, 0);
  // In place.
  std::vector<float> x(static_cast<size_t>(n), 0.5f), y(x.size());
  kernels::rmsnorm_ggml(x.data(), 1, n, wv, 1e-5f, y.data());
  kernels::rmsnorm_ggml(x.data(), 1, n, wv, 1e-5f, x.data());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * 4), 0);
}

// RoPE angles by ggml's recurrence theta_{i+1} = theta_i * powf(base, -2/d), with rope_freqs
// divisors; the torch form (pos * inv_freq) gives different angles at large positions.
TEST(GgmlNumerics, RopeGgmlRecurrence) {
  ModelConfig c;
  c.qk_rope_head_dim = 64;
  c.rope_theta = 100000.0;
  RopeTable torch_form(c), ggml(c);
  ggml.use_ggml_recurrence(c);
  const int64_t h = 32;
  std::vector<float> cs(h), sn(h), ct(h), st(h);
  int differs = 0;
  for (int64_t pos : {0, 1, 7, 999, 4095}) {
    ggml.at(pos, cs.data(), sn.data());
    torch_form.at(pos, ct.data(), st.data());
    const float ts = std::pow(100000.0f, -2.0f / 64.0f);
    float theta = float(pos);
    for (int64_t i = 0; i < h; ++i) {
      ASSERT_TRUE(same_bits(cs[size_t(i)], std::cos(theta))) << pos << " " << i;
      ASSERT_TRUE(same_bits(sn[size_t(i)], std::sin(theta))) << pos << " " << i;
      EXPECT_NEAR(cs[size_t(i)], ct[size_t(i)], 2e-3f);
      differs += !same_bits(cs[size_t(i)], ct[size_t(i)]);
      theta *= ts;
    }
  }
  EXPECT_GT(differs, 0);
  // rope_freqs divisors apply to the angle, not to the recurrence.
  std::vector<float> ff(static_cast<size_t>(h), 1.0f);
  ff[31] = 8.0f;
  ggml.divide_by(ff);
  ggml.at(4095, cs.data(), sn.data());
  float theta = 4095.0f;
  for (int i = 0; i < 31; ++i) theta *= std::pow(100000.0f, -2.0f / 64.0f);
  EXPECT_TRUE(same_bits(cs[31], std::cos(theta / 8.0f)));
  // YaRN is not emulated: asking for it is an error, not silently different numbers.
  ModelConfig y = c;
  y.rope.yarn = true;
  y.rope.factor = 4.0;
  RopeTable yr(y);
  EXPECT_THROW(yr.use_ggml_recurrence(y), Error);
}

// q8_K activation quantisation (K-quant weights): the AVX-512 and AVX2 paths give the same
// codes, scales and sums as the scalar loop (the portable path), including ties for the largest
// |x| (the first one wins), an all-zero block, NaN and inf.
TEST(GgmlNumerics, Q8KQuantisationSameBitsOnEveryIsa) {
  const int64_t M = 3, K = 1024;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (size_t i = 0; i < x.size(); ++i) x[i] = dist(rng) * float(1 + i % 7) * (i % 512 < 256 ? 1.f : 1e-3f);
  x[5] = 9.f;  // block 0: tie between +9 and -9, the first (+9) sets the sign of the scale
  x[200] = -9.f;
  x[300] = -9.5f;  // block 1: -9.5 then +9.5
  x[400] = 9.5f;
  for (int k = 0; k < 256; ++k) x[size_t(512 + k)] = 0.f;  // block 2: zeros
  x[size_t(768 + 3)] = NAN;                                  // block 3: NaN is skipped by the max
  x[size_t(1024 + 7)] = INFINITY;                            // block 4: inf
  x[size_t(1024 + 9)] = 0.5f + 1.f / 254.f;                  // values on rounding boundaries
  kernels::set_isa(Isa::Portable);
  kernels::Q8Acts ref;
  kernels::quantize_acts_q8(x.data(), M, K, &ref, DType::Q6_K);
  const auto isas = kernels::supported_isas();
  for (Isa isa : isas) {
    kernels::set_isa(isa);
    SCOPED_TRACE(std::string(kernels::isa_name(isa)));
    kernels::Q8Acts a;
    kernels::quantize_acts_q8(x.data(), M, K, &a, DType::Q5_K);
    EXPECT_EQ(a.q, ref.q);
    EXPECT_EQ(a.s16, ref.s16);
    EXPECT_EQ(a.s32, ref.s32);
    ASSERT_EQ(a.d16.size(), ref.d16.size());
    for (size_t i = 0; i < a.d16.size(); ++i) ASSERT_TRUE(same_bits(a.d16[i], ref.d16[i])) << i;
    for (size_t i = 0; i < a.d32.size(); ++i) ASSERT_TRUE(same_bits(a.d32[i], ref.d32[i])) << i;
  }
  kernels::set_isa(isas.back());
  EXPECT_LT(ref.d32[0], 0.f);  // first of the tied maxima (+9) gives iscale < 0
  EXPECT_GT(ref.d32[8], 0.f);
  EXPECT_EQ(ref.d32[16], 0.f);
  EXPECT_EQ(ref.q[5], -127);
}

std::vector<float> all_logits(const Model& m, const std::vector<int32_t>& toks, bool kv_f16) {
  KvCache cache(m.config, m.config.num_hidden_layers, int64_t(toks.size()) + 1,
                kv_f16 ? DType::F16 : DType::F32);
  std::vector<float> out(toks.size() * size_t(m.config.vocab_size));
  ForwardOptions opt;
  opt.all_logits = true;
  forward(m, cache, toks.data(), int64_t(toks.size()), 0, out.data(), nullptr, opt);
  return out;
}

// `--numerics ggml` on GGUF files (dense llama with f16 weights, deepseek2 MLA-split with Q8_0
// k_b/v_b): the flag reaches the config (and the k_b/v_b types), the logits stay close to the
// default numerics but are not the same bits, and the default stays off (HF parity).
TEST(GgmlNumerics, GgufModelsUnderGgmlNumerics) {
  const std::vector<int32_t> toks = {1, 5, 9, 2, 7, 7, 3, 11, 4, 6, 8, 10};
  for (const char* f : {"tiny-llama/tiny-llama-f16.gguf", "gguf-deepseek2/builtin-q8_0.gguf"}) {
    SCOPED_TRACE(f);
    const std::string path = test::data_path(f);
    ASSERT_FALSE(gguf_ggml_numerics());
    auto torch_form = Model::load(path);
    set_gguf_ggml_numerics(true);
    auto ggml = Model::load(path);
    set_gguf_ggml_numerics(false);
    EXPECT_FALSE(torch_form->config.ggml_numerics);
    ASSERT_TRUE(ggml->config.ggml_numerics);
    if (!ggml->config.is_gqa()) {
      ASSERT_EQ(ggml->config.ggml_k_b_type.size(), size_t(ggml->config.num_hidden_layers));
      EXPECT_EQ(ggml->config.ggml_v_b_type[0], DType::Q8_0);
    }
    const auto a = all_logits(*torch_form, toks, false), b = all_logits(*ggml, toks, false);
    const auto c = all_logits(*ggml, toks, true);
    double scale = 0, diff = 0, diff16 = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, double(std::fabs(a[i])));
      diff = std::max(diff, double(std::fabs(a[i] - b[i])));
      diff16 = std::max(diff16, double(std::fabs(b[i] - c[i])));
    }
    EXPECT_GT(diff, 0.0);
    EXPECT_LT(diff, 0.05 * scale);
    EXPECT_GT(diff16, 0.0);  // f16-rounded K/V change the logits a little
    EXPECT_LT(diff16, 0.05 * scale);
  }
}

}  // namespace
}  // namespace dsv3
