// FP8 block-scaled matmul: every ISA path against the scalar reference twin and against torch.
//  * fast vs matmul_fp8_ref (both fp32, different summation order): |diff| <= 1e-5 * sum|x w s|
//    per output (fp32 reassociation error is <= K * 2^-24 * sum|x w s|; K <= 600 here -> 4e-5
//    worst case, typically 100x smaller), over shapes with partial row/column blocks and tails.
//  * exact mode vs torch float64 x @ dequant(W)^T (gemm_exact.npy): same 1e-5 bound.
//  * emulate mode vs torch act_quant + fp8_gemm (gemm_emul*.npy, bf16 output): within 1 bf16
//    ulp (2^-8 relative) -- the only differences are fp32 summation order before the final
//    bf16 rounding, which can flip one rounding.
//  * bit-identical for 1 and 2 threads; a weight without block scales is an error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "io/npy.h"
#include "kernels/isa.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"
#include "test_util.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

struct Fp8Weight {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  TensorView view;
  Fp8Weight(int64_t N, int64_t K, unsigned seed) {
    std::mt19937 rng(seed);
    codes.resize(size_t(N * K));
    for (auto& c : codes) {
      c = uint8_t(rng() & 0xff);
      if ((c & 0x7f) == 0x7f) c ^= 1;  // no NaN codes
    }
    std::uniform_real_distribution<float> u(0.5f, 2.0f);
    scales.resize(size_t(fp8_blocks(N) * fp8_blocks(K)));
    for (auto& s : scales) s = u(rng) * 1e-2f;
    view = make_view(DType::F8_E4M3, codes.data(), {N, K});
    view.block_scale = scales.data();
  }
};

std::vector<float> rand_x(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = d(rng);
  return v;
}

// sum_k |x w s| per output, for the error bound.
std::vector<double> abs_mass(const float* x, int64_t M, const TensorView& W) {
  const int64_t N = W.rows(), K = W.cols();
  std::vector<double> m(size_t(M * N), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        m[size_t(i * N + n)] += std::fabs(double(x[i * K + k]) * fp8_weight_at(W, n, k));
  return m;
}

class Fp8Isa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << "CPU lacks " << isa_name(GetParam());
    saved_ = current_isa();
    set_isa(GetParam());
    set_fp8_gemm_mode(Fp8GemmMode::kExact);
  }
  void TearDown() override {
    set_isa(saved_);
    set_fp8_gemm_mode(Fp8GemmMode::kExact);
  }
  Isa saved_ = Isa::Portable;
};

TEST_P(Fp8Isa, MatchesReferenceTwin) {
  ThreadPool pool(2);
  const int64_t shapes[][3] = {{1, 1, 128},    {1, 17, 7},    {1, 200, 320},
                               {2, 131, 192},  {3, 64, 576},  {5, 300, 130},
                               {13, 129, 256}, {1, 576, 200}, {7, 40, 129},
                               {40, 200, 300}, {33, 25, 128}};
  unsigned seed = 1;
  for (auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    Fp8Weight w(N, K, seed++);
    auto x = rand_x(M * K, seed++);
    std::vector<float> y(size_t(M * N)), r(size_t(M * N)), d(size_t(M * N));
    matmul(x.data(), M, w.view, y.data(), &pool);
    matmul_fp8_ref(x.data(), M, w.view, r.data());
    matmul_ref(x.data(), M, w.view, d.data());  // weight_at path: per-element dequantisation
    const auto mass = abs_mass(x.data(), M, w.view);
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_LE(std::fabs(y[i] - r[i]), 1e-5 * mass[i] + 1e-30)
          << "M=" << M << " N=" << N << " K=" << K << " i=" << i;
      ASSERT_LE(std::fabs(d[i] - r[i]), 1e-5 * mass[i] + 1e-30) << i;
    }
  }
}

TEST_P(Fp8Isa, BitIdenticalForOneAndTwoThreads) {
  ThreadPool one(1), two(2);
  Fp8Weight w(300, 320, 9);
  for (int64_t M : {1, 2, 6, 8, 40}) {  // 8, 40: the packed prefill path on AVX-512
    auto x = rand_x(M * 320, 10);
    std::vector<float> a(size_t(M * 300)), b(size_t(M * 300)), c(size_t(M * 300));
    matmul(x.data(), M, w.view, a.data(), &one);
    matmul(x.data(), M, w.view, b.data(), &two);
    matmul(x.data(), M, w.view, c.data(), nullptr);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << M;
    EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * 4)) << M;
  }
  // One row of a 6-row product equals the same row computed alone (M-independent order).
  auto x = rand_x(6 * 320, 11);
  std::vector<float> all(6 * 300), row(300);
  matmul(x.data(), 6, w.view, all.data(), &two);
  matmul(x.data() + 4 * 320, 1, w.view, row.data(), &two);
  EXPECT_EQ(0, std::memcmp(all.data() + 4 * 300, row.data(), 300 * 4));
}

// Decode (M <= 3) reads codes as w * 2^-120 and pre-scales x by 2^E per row (E = 112 unless
// the row's amax needs less, see fp8_kernels_impl.h): with activations up to 3e5 (E = 107) and
// down to 1e-20 the result still matches the reference twin, and (no partial sum leaves the
// normal range here) is bit-identical to the same row inside a 6-row product, which widens the
// codes as w * 2^-8 instead.
TEST_P(Fp8Isa, DecodeScalingForLargeAndSmallActivations) {
  ThreadPool pool(2);
  Fp8Weight w(200, 384, 41);
  for (float mag : {3e5f, 1.0f, 1e-20f}) {
    auto x = rand_x(6 * 384, 42);
    for (auto& v : x) v *= mag;
    std::vector<float> all(6 * 200), one(200), r(200);
    matmul(x.data(), 6, w.view, all.data(), &pool);
    for (int64_t m : {0, 5}) {
      matmul(x.data() + m * 384, 1, w.view, one.data(), &pool);
      matmul_fp8_ref(x.data() + m * 384, 1, w.view, r.data());
      const auto mass = abs_mass(x.data() + m * 384, 1, w.view);
      for (size_t i = 0; i < 200; ++i)
        ASSERT_LE(std::fabs(one[i] - r[i]), 1e-5 * mass[i] + 1e-37) << mag << " " << i;
      EXPECT_EQ(0, std::memcmp(all.data() + m * 200, one.data(), 200 * 4)) << mag;
    }
  }
}

struct TorchGemm {
  int64_t M, N, K;
  std::vector<float> x, scales;
  std::vector<uint8_t> codes;
  TensorView w;
  TorchGemm() {
    auto xa = read_npy(test::data_path("fp8/gemm_x.npy"));
    auto wa = read_npy(test::data_path("fp8/gemm_w_codes.npy"));
    M = xa.shape[0], K = xa.shape[1], N = wa.shape[0];
    x = xa.as_f32();
    for (int64_t c : wa.as_i64()) codes.push_back(uint8_t(c));
    scales = read_npy(test::data_path("fp8/gemm_w_scales.npy")).as_f32();
    w = make_view(DType::F8_E4M3, codes.data(), {N, K});
    w.block_scale = scales.data();
  }
};

TEST_P(Fp8Isa, ExactModeMatchesTorchDequantisedMatmul) {
  TorchGemm g;
  auto ref = read_npy(test::data_path("fp8/gemm_exact.npy")).as_f32();
  std::vector<float> y(size_t(g.M * g.N));
  matmul(g.x.data(), g.M, g.w, y.data(), nullptr);
  const auto mass = abs_mass(g.x.data(), g.M, g.w);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_LE(std::fabs(y[i] - ref[i]), 1e-5 * mass[i]) << i;
}

TEST_P(Fp8Isa, EmulateModeMatchesTorchFp8Gemm) {
  TorchGemm g;
  for (bool ue : {false, true}) {
    auto ref =
        read_npy(test::data_path(ue ? "fp8/gemm_emul_ue8m0.npy" : "fp8/gemm_emul.npy")).as_f32();
    set_fp8_gemm_mode(ue ? Fp8GemmMode::kEmulateUe8m0 : Fp8GemmMode::kEmulate);
    std::vector<float> y(size_t(g.M * g.N)), r(size_t(g.M * g.N)), exact(size_t(g.M * g.N));
    ThreadPool pool(2);
    matmul(g.x.data(), g.M, g.w, y.data(), &pool);
    matmul_fp8_emulated_ref(g.x.data(), g.M, g.w, ue, r.data());
    set_fp8_gemm_mode(Fp8GemmMode::kExact);
    matmul(g.x.data(), g.M, g.w, exact.data(), &pool);
    int64_t differ = 0;
    double max_rel_vs_exact = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      const float tol = std::ldexp(std::fabs(ref[i]), -8) + 1e-30f;
      ASSERT_LE(std::fabs(y[i] - ref[i]), tol) << (ue ? "ue8m0 " : "") << i;
      ASSERT_LE(std::fabs(r[i] - ref[i]), tol) << "ref twin " << i;
      differ += y[i] != ref[i];
      max_rel_vs_exact = std::max(
          max_rel_vs_exact, double(std::fabs(y[i] - exact[i]) / (std::fabs(exact[i]) + 1e-3)));
    }
    EXPECT_LE(differ, int64_t(y.size()) / 20) << "too many 1-ulp bf16 flips";
    // Emulation really quantises activations: it must differ from the exact product.
    EXPECT_GT(max_rel_vs_exact, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Fp8Isa, ::testing::Values(Isa::Portable, Isa::Avx2, Isa::Avx512),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(Fp8Matmul, WeightWithoutScaleIsAnError) {
  std::vector<uint8_t> codes(256 * 4, 0x38);
  TensorView w = make_view(DType::F8_E4M3, codes.data(), {4, 256});
  std::vector<float> x(256, 1.f), y(4);
  EXPECT_THROW(matmul(x.data(), 1, w, y.data(), nullptr), Error);
  EXPECT_THROW(kernels::weight_at(w, 3), Error);
}

TEST(Fp8Matmul, WeightRowDequantisesWithBlockScale) {
  Fp8Weight w(200, 300, 21);
  std::vector<float> row(300);
  for (int64_t r : {0, 127, 128, 199}) {
    kernels::weight_row(w.view, r, row.data());
    for (int64_t c = 0; c < 300; ++c)
      ASSERT_EQ(row[size_t(c)], e4m3_to_f32(w.codes[size_t(r * 300 + c)]) *
                                    w.scales[size_t((r / 128) * 3 + c / 128)]);
  }
}

TEST(Fp8Matmul, ActQuantScalesAndClamp) {
  std::vector<float> x(256, 0.f);
  x[3] = -896.f;  // amax 896 -> s = 2, code of -448
  std::vector<uint8_t> q(256);
  std::vector<float> s(2);
  act_quant(x.data(), 1, 256, false, q.data(), s.data());
  EXPECT_EQ(s[0], 2.0f);
  EXPECT_EQ(q[3], 0xfe);
  EXPECT_EQ(s[1], 1e-4f / 448.0f);  // all-zero tile: amax clamped to 1e-4, no NaN
  EXPECT_EQ(q[200], 0);
  act_quant(x.data(), 1, 256, true, q.data(), s.data());
  EXPECT_EQ(s[0], 2.0f);
  EXPECT_TRUE(is_pow2(s[1]));
}

}  // namespace

namespace {

TEST(Fp8Matmul, GateUpSiluIsMatmulThenSiluMul) {
  Fp8Weight g(300, 256, 31), u(300, 256, 32);
  auto x = rand_x(256, 33);
  std::vector<float> h(300), a(300), b(300);
  ThreadPool pool(2);
  gate_up_silu_fp8(x.data(), g.view, u.view, h.data(), &pool);
  matmul(x.data(), 1, g.view, a.data(), nullptr);
  matmul(x.data(), 1, u.view, b.data(), nullptr);
  silu_mul(a.data(), b.data(), 300, a.data());
  EXPECT_EQ(0, std::memcmp(h.data(), a.data(), 300 * 4));
}

}  // namespace
