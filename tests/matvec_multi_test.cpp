// matvec_multi / matvec_multi_rows (kernels/matvec_multi.h) against their reference twin, the
// per-product kernels::matmul / gate_up_silu / gate_up_silu_fp8 calls: bit-identical on every
// ISA, for 1 and 2 threads, for F32 / BF16 / F16 / FP8 weights, plain and gate/up products,
// row counts that are not multiples of the row grains, shared and distinct x (FP8 pre-scaling,
// including an x large enough to need a smaller pre-scale), and an unsupported weight is an error.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "kernels/isa.h"
#include "kernels/matmul_fp8.h"
#include "kernels/matvec_multi.h"
#include "kernels/ops.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

// A random weight of any supported dtype (FP8 with block scales).
struct Weight {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  TensorView view;
  Weight(DType dt, int64_t N, int64_t K, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 0.05f);
    const size_t n = size_t(N * K);
    switch (dt) {
      case DType::F8_E4M3: {
        bytes.resize(n);
        for (auto& c : bytes) {
          c = uint8_t(rng() & 0xff);
          if ((c & 0x7f) == 0x7f) c ^= 1;  // no NaN codes
        }
        std::uniform_real_distribution<float> u(0.5f, 2.0f);
        scales.resize(size_t(fp8_blocks(N) * fp8_blocks(K)));
        for (auto& s : scales) s = u(rng) * 1e-3f;
        break;
      }
      case DType::F32: {
        bytes.resize(n * 4);
        auto* p = reinterpret_cast<float*>(bytes.data());
        for (size_t i = 0; i < n; ++i) p[i] = nd(rng);
        break;
      }
      default: {  // BF16 / F16: random finite 16-bit patterns of small magnitude
        bytes.resize(n * 2);
        auto* p = reinterpret_cast<uint16_t*>(bytes.data());
        for (size_t i = 0; i < n; ++i) {
          const float f = nd(rng);
          uint32_t b;
          std::memcpy(&b, &f, 4);
          p[i] = dt == DType::BF16 ? uint16_t(b >> 16) : uint16_t((rng() & 0x83ff) | 0x2000);
        }
      }
    }
    view = make_view(dt, bytes.data(), {N, K});
    if (dt == DType::F8_E4M3) view.block_scale = scales.data();
  }
};

std::vector<float> rand_x(int64_t n, unsigned seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = d(rng) * scale;
  return v;
}

class MatvecMulti : public ::testing::TestWithParam<std::tuple<Isa, DType>> {
 protected:
  void SetUp() override {
    if (!isa_supported(std::get<0>(GetParam()))) GTEST_SKIP() << "CPU lacks this ISA";
    saved_ = current_isa();
    set_isa(std::get<0>(GetParam()));
    set_fp8_gemm_mode(Fp8GemmMode::kExact);
  }
  void TearDown() override { set_isa(saved_); }
  Isa saved_ = Isa::Portable;
};

TEST_P(MatvecMulti, SameBitsAsOneCallPerProduct) {
  const DType dt = std::get<1>(GetParam());
  const int64_t K = 320, K2 = 200;  // partial 128-blocks of K for FP8
  // Gate/up pairs of 100, 200 and 37 rows (not multiples of 16 or 48), plain products of 130
  // and 48 rows; two share x, one reads a large-magnitude x, one a different K.
  Weight g0(dt, 100, K, 1), u0(dt, 100, K, 2), g1(dt, 200, K, 3), u1(dt, 200, K, 4);
  Weight g2(dt, 37, K2, 5), u2(dt, 37, K2, 6), p0(dt, 130, K, 7), p1(dt, 48, K, 8);
  auto xa = rand_x(K, 11), xb = rand_x(K, 12, 1e30f), xc = rand_x(K2, 13);
  const int64_t rows[] = {100, 200, 37, 130, 48};
  ThreadPool one(1), two(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &one, &two}) {
    std::vector<std::vector<float>> got(5), ref(5);
    for (int i = 0; i < 5; ++i) {
      got[size_t(i)].assign(size_t(rows[i]), -1.f);
      ref[size_t(i)].assign(size_t(rows[i]), -2.f);
    }
    auto products = [&](std::vector<std::vector<float>>& y) {
      return std::vector<Matvec>{{xa.data(), &g0.view, &u0.view, y[0].data()},
                                 {xa.data(), &g1.view, &u1.view, y[1].data()},
                                 {xc.data(), &g2.view, &u2.view, y[2].data()},
                                 {xb.data(), &p0.view, nullptr, y[3].data()},
                                 {xa.data(), &p1.view, nullptr, y[4].data()}};
    };
    auto pg = products(got), pr = products(ref);
    matvec_multi(pg.data(), 5, pool);
    matvec_multi_ref(pr.data(), 5, nullptr);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(0, std::memcmp(got[size_t(i)].data(), ref[size_t(i)].data(), size_t(rows[i]) * 4))
          << "product " << i;
  }
  // The gate/up reference itself equals separate matmuls then silu_mul (the unfused MoE path).
  std::vector<float> h(100), a(100), b(100);
  const Matvec q{xa.data(), &g0.view, &u0.view, h.data()};
  matvec_multi(&q, 1, &two);
  matmul(xa.data(), 1, g0.view, a.data(), nullptr);
  matmul(xa.data(), 1, u0.view, b.data(), nullptr);
  silu_mul(a.data(), b.data(), 100, a.data());
  EXPECT_EQ(0, std::memcmp(h.data(), a.data(), 100 * 4));
}

TEST_P(MatvecMulti, RowsModeRunsAfterOnFinishedRows) {
  const DType dt = std::get<1>(GetParam());
  const int64_t N = 200, K = 300;
  Weight w0(dt, N, K, 21), w1(dt, N, K, 22), w2(dt, N, K, 23);
  auto x0 = rand_x(K, 24), x1 = rand_x(K, 25), x2 = rand_x(K, 26, 1e-20f);
  std::vector<float> ref(static_cast<size_t>(3 * N)), got(static_cast<size_t>(3 * N));
  std::vector<float> sum_ref(static_cast<size_t>(N)), sum(static_cast<size_t>(N));
  const Matvec pr[] = {{x0.data(), &w0.view, nullptr, ref.data()},
                       {x1.data(), &w1.view, nullptr, ref.data() + N},
                       {x2.data(), &w2.view, nullptr, ref.data() + 2 * N}};
  matvec_multi_ref(pr, 3, nullptr);
  for (int64_t d = 0; d < N; ++d)
    sum_ref[size_t(d)] = ref[size_t(d)] + 0.5f * ref[size_t(N + d)] + ref[size_t(2 * N + d)];
  ThreadPool one(1), two(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &one, &two}) {
    std::fill(got.begin(), got.end(), -1.f);
    std::fill(sum.begin(), sum.end(), -1.f);
    const Matvec pg[] = {{x0.data(), &w0.view, nullptr, got.data()},
                         {x1.data(), &w1.view, nullptr, got.data() + N},
                         {x2.data(), &w2.view, nullptr, got.data() + 2 * N}};
    int64_t covered = 0;
    matvec_multi_rows(pg, 3, pool, [&](int64_t d0, int64_t d1) {
      for (int64_t d = d0; d < d1; ++d)
        sum[size_t(d)] = got[size_t(d)] + 0.5f * got[size_t(N + d)] + got[size_t(2 * N + d)];
      __atomic_add_fetch(&covered, d1 - d0, __ATOMIC_RELAXED);
    });
    EXPECT_EQ(covered, N);
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), got.size() * 4));
    EXPECT_EQ(0, std::memcmp(sum.data(), sum_ref.data(), sum.size() * 4));
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, MatvecMulti,
    ::testing::Combine(::testing::Values(Isa::Portable, Isa::Avx2, Isa::Avx512),
                       ::testing::Values(DType::F32, DType::BF16, DType::F16, DType::F8_E4M3)),
    [](const auto& info) {
      return std::string(isa_name(std::get<0>(info.param))) + "_" +
             std::string(dtype_name(std::get<1>(info.param)));
    });

TEST(MatvecMultiErrors, UnsupportedOrMismatchedWeightsAreErrors) {
  std::vector<float> w(64 * 64, 0.f), x(64, 1.f), y(64);
  TensorView a = make_view(DType::F32, w.data(), {64, 64});
  TensorView b = make_view(DType::F32, w.data(), {32, 64});
  TensorView q = make_view(DType::Q8_0, w.data(), {64, 64});
  TensorView f8 = make_view(DType::F8_E4M3, w.data(), {64, 64});  // no block scales
  EXPECT_FALSE(matvec_multi_supported(q));
  EXPECT_FALSE(matvec_multi_supported(f8));
  EXPECT_TRUE(matvec_multi_supported(a));
  const Matvec bad_q{x.data(), &q, nullptr, y.data()};
  EXPECT_THROW(matvec_multi(&bad_q, 1, nullptr), Error);
  const Matvec bad_pair{x.data(), &a, &b, y.data()};
  EXPECT_THROW(matvec_multi(&bad_pair, 1, nullptr), Error);
  const Matvec rows[] = {{x.data(), &a, nullptr, y.data()}, {x.data(), &b, nullptr, y.data()}};
  EXPECT_THROW(matvec_multi_rows(rows, 2, nullptr, [](int64_t, int64_t) {}), Error);
}

}  // namespace
