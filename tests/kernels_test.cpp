// Tests of src/kernels: every ISA path this CPU supports (AVX-512, AVX2, portable) against
// the scalar reference twins in ops_ref.cpp, exactness where summation order cannot matter,
// bit-identity across thread counts, and bad-argument errors.
//
// Tolerances. A fast dot product sums the same K fp32 products as the reference in another
// order (L lane partials, then a fixed tree). Each rounding perturbs a partial sum by at most
// u = 2^-24 of its magnitude, and partials are bounded by S = sum_k |x_k w_k|; with random
// signs the accumulated error grows like u * sqrt(K) * S (K <= 2100 here: <= 3e-6 S), so
// |fast - ref| <= 1e-5 * S + 1e-30 has margin, while dropping or duplicating any term of
// typical size S/K >= 5e-4 S is caught. Integer-valued data (all partial sums exact below
// 2^24) must agree bit for bit in every order, which pins indexing and tails exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

// Runs fn once per supported ISA (with that ISA selected), then restores the best one.
template <class Fn>
void for_each_isa(Fn fn) {
  const auto isas = supported_isas();
  for (Isa isa : isas) {
    set_isa(isa);
    SCOPED_TRACE(std::string("isa=") + std::string(isa_name(isa)));
    fn(isa);
  }
  set_isa(isas.back());
}

// Weight storage in a given dtype with the exact fp32 values it holds.
struct Weight {
  DType dt;
  int64_t N, K;
  std::vector<uint8_t> bytes;
  std::vector<float> f;  // exact widened values
  TensorView view() const { return make_view(dt, bytes.data(), {N, K}); }
};

Weight make_weight(DType dt, int64_t N, int64_t K, const std::vector<float>& vals) {
  Weight w{dt, N, K, std::vector<uint8_t>(size_t(N * K) * dtype_size(dt)), vals};
  for (int64_t i = 0; i < N * K; ++i) {
    if (dt == DType::F32) {
      std::memcpy(w.bytes.data() + 4 * i, &vals[size_t(i)], 4);
    } else {
      const uint16_t h =
          dt == DType::BF16 ? f32_to_bf16(vals[size_t(i)]) : f32_to_f16(vals[size_t(i)]);
      std::memcpy(w.bytes.data() + 2 * i, &h, 2);
      w.f[size_t(i)] = dt == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
  }
  return w;
}

std::vector<float> uniform(int64_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<float> small_ints(int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> u(-3, 3);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(u(rng));
  return v;
}

struct Shape {
  int64_t M, N, K;
};
// Odd and tiny shapes (tails in K and N, M around the decode/prefill switch at 3/4 and the
// register tiles), plus a few model-like ones.
const Shape kShapes[] = {{1, 1, 1},      {1, 3, 8},     {1, 17, 33},   {2, 5, 31},    {3, 7, 100},
                         {4, 9, 17},     {5, 16, 64},   {6, 11, 15},   {7, 33, 129},  {9, 8, 16},
                         {1, 64, 2048},  {2, 40, 1408}, {16, 40, 300}, {33, 19, 257}, {64, 50, 200},
                         {13, 70, 2049}, {1, 1000, 24}, {70, 3, 130},  {8, 29, 45},   {10, 13, 1},
                         {20, 5, 0},     {2, 5, 0}};
const DType kDTypes[] = {DType::F32, DType::BF16, DType::F16};

TEST(Kernels, IsaNamesAndSelection) {
  for (Isa i : {Isa::Portable, Isa::Avx2, Isa::Avx512}) {
    Isa back;
    ASSERT_TRUE(parse_isa(isa_name(i), &back));
    EXPECT_EQ(back, i);
  }
  Isa dummy;
  EXPECT_FALSE(parse_isa("sse9", &dummy));
  EXPECT_TRUE(isa_supported(Isa::Portable));
  for_each_isa([](Isa isa) {
    EXPECT_EQ(current_isa(), isa);
    EXPECT_EQ(packed_min_rows() > 0, isa == Isa::Avx512);
  });
  // DSV3_ISA resolution: unset -> best supported; a name -> that path; junk -> error.
  EXPECT_EQ(resolve_isa(nullptr), supported_isas().back());
  EXPECT_EQ(resolve_isa(""), supported_isas().back());
  EXPECT_EQ(resolve_isa("portable"), Isa::Portable);
  for (Isa i : supported_isas()) EXPECT_EQ(resolve_isa(std::string(isa_name(i)).c_str()), i);
  EXPECT_THROW(resolve_isa("avx1024"), Error);
  for (Isa i : {Isa::Avx2, Isa::Avx512})
    if (!isa_supported(i)) {
      EXPECT_THROW(resolve_isa(std::string(isa_name(i)).c_str()), Error);
      EXPECT_THROW(set_isa(i), Error);
    }
}

// rope_interleaved is the complex rotation (x[2i] + i x[2i+1]) * e^{i theta_i}: compared with
// std::complex<double> (one fp32 product pair and one sum per output: 2 ulp).
TEST(Kernels, RopeInterleavedIsComplexRotation) {
  std::mt19937 rng(23);
  const int64_t d = 64;
  auto x = uniform(d, rng, -2.f, 2.f);
  std::vector<float> c(d / 2), s(d / 2);
  std::vector<std::complex<double>> want(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) {
    const double th = 0.37 * double(i + 1);
    c[size_t(i)] = float(std::cos(th));
    s[size_t(i)] = float(std::sin(th));
    want[size_t(i)] = std::complex<double>(x[size_t(2 * i)], x[size_t(2 * i + 1)]) *
                      std::complex<double>(c[size_t(i)], s[size_t(i)]);
  }
  rope_interleaved(x.data(), d, c.data(), s.data());
  for (int64_t i = 0; i < d / 2; ++i) {
    EXPECT_NEAR(x[size_t(2 * i)], want[size_t(i)].real(), 2.5e-7 * 4);
    EXPECT_NEAR(x[size_t(2 * i + 1)], want[size_t(i)].imag(), 2.5e-7 * 4);
  }
}

TEST(Kernels, MatmulMatchesReferenceRandom) {
  std::mt19937 rng(42);
  for_each_isa([&](Isa) {
    for (const Shape& s : kShapes)
      for (DType dt : kDTypes) {
        SCOPED_TRACE(str("M=", s.M, " N=", s.N, " K=", s.K, " ", dtype_name(dt)));
        const auto x = uniform(s.M * s.K, rng);
        const Weight w = make_weight(dt, s.N, s.K, uniform(s.N * s.K, rng));
        std::vector<float> y(size_t(s.M * s.N), NAN), yr(y.size());
        matmul(x.data(), s.M, w.view(), y.data(), nullptr);
        matmul_ref(x.data(), s.M, w.view(), yr.data());
        for (int64_t m = 0; m < s.M; ++m)
          for (int64_t n = 0; n < s.N; ++n) {
            double S = 0;
            for (int64_t k = 0; k < s.K; ++k)
              S += std::fabs(double(x[size_t(m * s.K + k)]) * w.f[size_t(n * s.K + k)]);
            const size_t i = size_t(m * s.N + n);
            ASSERT_LE(std::fabs(double(y[i]) - yr[i]), 1e-5 * S + 1e-30) << "m=" << m << " n=" << n;
          }
      }
  });
}

TEST(Kernels, MatmulExactOnIntegers) {
  std::mt19937 rng(7);
  for_each_isa([&](Isa) {
    for (const Shape& s : kShapes)
      for (DType dt : kDTypes) {
        SCOPED_TRACE(str("M=", s.M, " N=", s.N, " K=", s.K, " ", dtype_name(dt)));
        const auto x = small_ints(s.M * s.K, rng);
        const Weight w = make_weight(dt, s.N, s.K, small_ints(s.N * s.K, rng));
        std::vector<float> y(size_t(s.M * s.N), NAN), yr(y.size());
        matmul(x.data(), s.M, w.view(), y.data(), nullptr);
        matmul_ref(x.data(), s.M, w.view(), yr.data());
        for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], yr[i]) << "i=" << i;
      }
  });
}

// Thread count never changes a bit. Nor does batching: a row of y depends only on its row of
// x and on the summation scheme, which is "lane partials + tree" for small M (and for every M
// on AVX2/portable) and "sequential FMA over k" for the AVX-512 packed prefill.
// (On AVX-512, sub-batches of <= 32 rows take the small-M tiles that widen weights in
// 256-column chunks: M = 40, K = 700 checks them against the register-split tiles.)
bool packed_scheme(int64_t M) {
  return packed_min_rows() > 0 && M >= packed_min_rows();
}

TEST(Kernels, MatmulBitIdenticalAcrossThreadsAndBatches) {
  std::mt19937 rng(3);
  ThreadPool p1(1, false), p2(2, false), p3(3, false);
  for_each_isa([&](Isa) {
    for (const Shape& s : {Shape{1, 100, 2049}, Shape{5, 37, 300}, Shape{64, 203, 130},
                           Shape{3, 1000, 64}, Shape{2, 3, 8}, Shape{70, 50, 33}, Shape{17, 13, 7},
                           Shape{40, 29, 700}})
      for (DType dt : kDTypes) {
        SCOPED_TRACE(str("M=", s.M, " N=", s.N, " K=", s.K, " ", dtype_name(dt)));
        const auto x = uniform(s.M * s.K, rng);
        const Weight w = make_weight(dt, s.N, s.K, uniform(s.N * s.K, rng));
        std::vector<float> y0(size_t(s.M * s.N)), y1(y0.size()), y2(y0.size()), y3(y0.size());
        matmul(x.data(), s.M, w.view(), y0.data(), nullptr);
        matmul(x.data(), s.M, w.view(), y1.data(), &p1);
        matmul(x.data(), s.M, w.view(), y2.data(), &p2);
        matmul(x.data(), s.M, w.view(), y3.data(), &p3);
        EXPECT_EQ(0, std::memcmp(y0.data(), y1.data(), y0.size() * 4));
        EXPECT_EQ(0, std::memcmp(y0.data(), y2.data(), y0.size() * 4));
        EXPECT_EQ(0, std::memcmp(y0.data(), y3.data(), y0.size() * 4));
        // Sub-batches [m0, m0 + Ms) under the same scheme give the same rows.
        for (int64_t Ms : {1, 2, 4, 5, 8, 9, 16, 23, 40}) {
          if (Ms > s.M || packed_scheme(Ms) != packed_scheme(s.M)) continue;
          const int64_t m0 = (s.M - Ms) / 2;
          std::vector<float> ys(size_t(Ms * s.N));
          matmul(x.data() + m0 * s.K, Ms, w.view(), ys.data(), &p2);
          ASSERT_EQ(0, std::memcmp(ys.data(), y0.data() + m0 * s.N, ys.size() * 4)) << "Ms=" << Ms;
        }
      }
  });
}

// Widening of F16 (every finite code, subnormals included) and BF16 weights is exact in every
// path: y = I * W^T gives W back, both with M = 1 (matvec) and M = K = 19 (prefill: packed
// on AVX-512, widened tiles elsewhere), and M = 7 (below the packed threshold: widened tiles).
TEST(Kernels, HalfWeightWideningExact) {
  for (DType dt : {DType::F16, DType::BF16}) {
    std::vector<uint16_t> codes;
    for (uint32_t c = 0; c < 65536; ++c) {
      const float f = dt == DType::F16 ? f16_to_f32(uint16_t(c)) : bf16_to_f32(uint16_t(c));
      if (std::isfinite(f)) codes.push_back(uint16_t(c));
    }
    const int64_t K = 19, N = int64_t(codes.size() + K - 1) / K;
    codes.resize(size_t(N * K), 0);
    const TensorView W = make_view(dt, codes.data(), {N, K});
    std::vector<float> eye(size_t(K * K), 0.f);
    for (int64_t k = 0; k < K; ++k) eye[size_t(k * K + k)] = 1.f;
    for_each_isa([&](Isa) {
      ASSERT_TRUE(packed_min_rows() == 0 || packed_min_rows() > 7);
      std::vector<float> y(static_cast<size_t>(K * N)), y7(static_cast<size_t>(7 * N)),
          y1(static_cast<size_t>(N));
      matmul(eye.data(), K, W, y.data(), nullptr);
      matmul(eye.data(), 7, W, y7.data(), nullptr);
      for (int64_t k = 0; k < K; ++k) {
        matmul(eye.data() + k * K, 1, W, y1.data(), nullptr);
        for (int64_t n = 0; n < N; ++n) {
          const uint16_t c = codes[size_t(n * K + k)];
          const float want = dt == DType::F16 ? f16_to_f32(c) : bf16_to_f32(c);
          ASSERT_EQ(y[size_t(k * N + n)], want) << dtype_name(dt) << " code " << c;
          ASSERT_EQ(y1[size_t(n)], want) << dtype_name(dt) << " code " << c;
          if (k < 7) {
            ASSERT_EQ(y7[size_t(k * N + n)], want) << dtype_name(dt) << " code " << c;
          }
        }
      }
    });
  }
}

TEST(Kernels, MatmulRejectsBadWeights) {
  std::vector<uint8_t> buf(64);
  float x[4] = {1, 2, 3, 4}, y[16];
  const TensorView i32 = make_view(DType::I32, buf.data(), {4, 4});
  try {
    matmul(x, 1, i32, y, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("I32"), std::string::npos) << e.what();
  }
  const TensorView w3 = make_view(DType::F32, buf.data(), {2, 2, 2});
  EXPECT_THROW(matmul(x, 1, w3, y, nullptr), Error);
  const TensorView g = make_view(DType::F32, buf.data(), {2, 4}),
                   u = make_view(DType::BF16, buf.data(), {2, 4});
  EXPECT_THROW(gate_up_silu(x, g, u, y, nullptr), Error);
}

TEST(Kernels, DotMatchesReference) {
  std::mt19937 rng(5);
  for_each_isa([&](Isa) {
    for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 1000, 4097}) {
      const auto a = uniform(n, rng), b = uniform(n, rng);
      double S = 0;
      for (int64_t i = 0; i < n; ++i) S += std::fabs(double(a[size_t(i)]) * b[size_t(i)]);
      EXPECT_LE(std::fabs(double(dot(a.data(), b.data(), n)) - dot_ref(a.data(), b.data(), n)),
                1e-5 * S + 1e-30)
          << "n=" << n;
      const auto ai = small_ints(n, rng), bi = small_ints(n, rng);
      EXPECT_EQ(dot(ai.data(), bi.data(), n), dot_ref(ai.data(), bi.data(), n)) << "n=" << n;
    }
  });
}

// rmsnorm: the sum of squares differs from the reference only in order (positive terms:
// relative error ~ u sqrt(n) statistically), then identical scalar math; 2e-5 relative.
TEST(Kernels, RmsnormMatchesReference) {
  std::mt19937 rng(9);
  for_each_isa([&](Isa) {
    for (int64_t n : {1, 5, 16, 17, 64, 100, 512, 2048, 7168})
      for (DType dt : kDTypes) {
        const int64_t M = 3;
        const auto x = uniform(M * n, rng, -4.f, 4.f);
        const Weight w = make_weight(dt, 1, n, uniform(n, rng, 0.5f, 1.5f));
        const TensorView wv = make_view(dt, w.bytes.data(), {n});
        std::vector<float> y(static_cast<size_t>(M * n)), yr(y.size()), z = x;
        rmsnorm(x.data(), M, n, wv, 1e-6f, y.data());
        rmsnorm_ref(x.data(), M, n, wv, 1e-6f, yr.data());
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_LE(std::fabs(y[i] - yr[i]), 2e-5 * std::fabs(yr[i]) + 1e-30)
              << "n=" << n << " " << dtype_name(dt) << " i=" << i;
        rmsnorm(z.data(), M, n, wv, 1e-6f, z.data());  // in place
        EXPECT_EQ(0, std::memcmp(z.data(), y.data(), y.size() * 4));
      }
  });
}

// silu_mul: the vector exp is within a few ulp of std::exp; the quotient and product add
// one rounding each, so 1e-6 relative. Inputs span the saturated tails (|g| up to 120,
// where exp(-g) overflows to inf or underflows to 0 in the reference).
TEST(Kernels, SiluMulMatchesReference) {
  std::mt19937 rng(11);
  for_each_isa([&](Isa) {
    for (int64_t n : {1, 7, 16, 17, 100, 1408, 10944}) {
      auto g = uniform(n, rng, -12.f, 12.f);
      const auto u = uniform(n, rng, -3.f, 3.f);
      for (int64_t i = 0; i < n; i += 13) g[size_t(i)] = (i % 2 ? 1.f : -1.f) * float(80 + i % 41);
      std::vector<float> y(static_cast<size_t>(n)), yr(y.size());
      silu_mul(g.data(), u.data(), n, y.data());
      silu_mul_ref(g.data(), u.data(), n, yr.data());
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_LE(std::fabs(y[i] - yr[i]), 1e-6 * std::fabs(yr[i]) + 1e-37)
            << "n=" << n << " g=" << g[i];
    }
  });
}

// softmax: exp within a few ulp, the normaliser summed in another order (relative error
// ~ u sqrt(n)); 1e-5 relative per probability. Includes -inf (masked) entries -> exactly 0.
TEST(Kernels, SoftmaxMatchesReference) {
  std::mt19937 rng(13);
  for_each_isa([&](Isa) {
    for (int64_t n : {1, 2, 15, 16, 17, 64, 100, 1000, 4099}) {
      auto x = uniform(n, rng, -30.f, 30.f);
      if (n > 2) x[1] = -INFINITY;
      auto y = x, yr = x;
      softmax(y.data(), n);
      softmax_ref(yr.data(), n);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_LE(std::fabs(y[i] - yr[i]), 1e-5 * std::fabs(yr[i]) + 1e-37) << "n=" << n;
      if (n > 2) {
        EXPECT_EQ(y[1], 0.f);
      }
    }
  });
}

TEST(Kernels, AddAndAxpyBitExact) {
  std::mt19937 rng(17);
  for_each_isa([&](Isa) {
    for (int64_t n : {0, 1, 15, 16, 17, 1000, 2053}) {
      const auto x = uniform(n, rng);
      const auto y0 = uniform(n, rng);
      auto a = y0, b = y0;
      add_inplace(a.data(), x.data(), n);
      add_inplace_ref(b.data(), x.data(), n);
      EXPECT_TRUE(n == 0 || std::memcmp(a.data(), b.data(), size_t(n) * 4) == 0) << n;
      a = y0, b = y0;
      axpy(0.37f, x.data(), a.data(), n);
      axpy_ref(0.37f, x.data(), b.data(), n);
      EXPECT_TRUE(n == 0 || std::memcmp(a.data(), b.data(), size_t(n) * 4) == 0) << n;
    }
  });
}

// The fused gate/up kernel equals the unfused fast path bit for bit, and the reference
// within the matmul bound propagated through silu (|d silu/dz| <= 1.1).
TEST(Kernels, GateUpSiluMatchesUnfused) {
  std::mt19937 rng(19);
  ThreadPool p2(2, false);
  for_each_isa([&](Isa) {
    for (const Shape& s :
         {Shape{1, 1, 8}, Shape{1, 19, 33}, Shape{1, 1408 / 8, 2048}, Shape{1, 37, 1408}})
      for (DType dt : kDTypes) {
        const auto x = uniform(s.K, rng);
        const Weight g = make_weight(dt, s.N, s.K, uniform(s.N * s.K, rng));
        const Weight u = make_weight(dt, s.N, s.K, uniform(s.N * s.K, rng));
        std::vector<float> h(static_cast<size_t>(s.N)), gy(h.size()), uy(h.size()), hu(h.size()),
            hr(h.size());
        gate_up_silu(x.data(), g.view(), u.view(), h.data(), &p2);
        matmul(x.data(), 1, g.view(), gy.data(), nullptr);
        matmul(x.data(), 1, u.view(), uy.data(), nullptr);
        silu_mul(gy.data(), uy.data(), s.N, hu.data());
        EXPECT_EQ(0, std::memcmp(h.data(), hu.data(), h.size() * 4))
            << "N=" << s.N << " K=" << s.K << " " << dtype_name(dt);
        gate_up_silu_ref(x.data(), g.view(), u.view(), hr.data());
        for (int64_t n = 0; n < s.N; ++n) {
          double Sg = 0, Su = 0;
          for (int64_t k = 0; k < s.K; ++k) {
            Sg += std::fabs(double(x[size_t(k)]) * g.f[size_t(n * s.K + k)]);
            Su += std::fabs(double(x[size_t(k)]) * u.f[size_t(n * s.K + k)]);
          }
          const double tol = 1.1 * 1e-5 * Sg * std::fabs(uy[size_t(n)]) +
                             1e-5 * Su * std::fabs(gy[size_t(n)]) +
                             1e-6 * std::fabs(hr[size_t(n)]) + 1e-30;
          ASSERT_LE(std::fabs(double(h[size_t(n)]) - hr[size_t(n)]), tol) << "n=" << n;
        }
      }
  });
}

}  // namespace
