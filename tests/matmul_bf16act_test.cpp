// bf16-activation matmuls (kernels/matmul_bf16act.h) on every ISA this CPU supports.
//  * Bit-identity with the scalar twin matmul_bf16act_ref, for BF16 and F8_E4M3 weights, decode
//    (M < 8) and prefill (M >= 8) orders, odd K, partial 128-blocks, row tails of every tile
//    width, and inputs with denormals, huge values and bf16 denormal weights: the AVX-512 BF16
//    path (vdpbf16ps) and the emulation must agree exactly, which pins the emulation of the
//    instruction (odd product first, one rounding per add, DAZ/FTZ).
//  * The twin against a float64 sum of the same exact products bf16(x) * w (* s): every add
//    of the chain is one fp32 rounding of a partial sum <= S = sum |bf16(x) w s|, so
//    |ref - exact| <= (K + 4 * ceil(K/128) + 16) * 2^-24 * S + K * 2^-126 (FTZ) -- a rigorous
//    worst case; a dropped or doubled term (>= S/K typically) is far above it.
//  * Against the fp32-activation path: |diff| <= 2^-8 * sum|x w| (bf16 rounding is <= 2^-9
//    relative per activation, plus the fp32 sums), and the results do differ (the path ran).
//  * Every e4m3 code (NaN codes as +-480) in rows at any alignment, against the twin.
//  * Same bits for 1 and 2 threads; gate_up_silu == matmul + silu_mul; F32/F16 weights are a
//    no-op; bad weights are errors.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/fp8.h"
#include "kernels/isa.h"
#include "kernels/matmul_bf16act.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

// Sets bf16 activations and restores fp32 / the best ISA on exit.
struct Bf16ActScope {
  Bf16ActScope() { set_act_precision(ActPrecision::kBf16); }
  ~Bf16ActScope() {
    set_act_precision(ActPrecision::kFp32);
    set_isa(supported_isas().back());
  }
};

struct W {
  DType dt;
  int64_t N, K;
  std::vector<uint16_t> b16;
  std::vector<uint8_t> f8;
  std::vector<float> scales;
  TensorView view() const {
    TensorView v =
        dt == DType::BF16 ? make_view(dt, b16.data(), {N, K}) : make_view(dt, f8.data(), {N, K});
    if (dt == DType::F8_E4M3) v.block_scale = scales.data();
    return v;
  }
  // Exact value of element (n, k) as the kernels read it (bf16 denormals as zero).
  double at(int64_t n, int64_t k) const {
    if (dt == DType::F8_E4M3) return fp8_weight_at(view(), n, k);
    const float f = bf16_to_f32(b16[size_t(n * K + k)]);
    return std::fpclassify(f) == FP_SUBNORMAL ? 0.0 : f;
  }
};

W make_w(DType dt, int64_t N, int64_t K, unsigned seed, bool edge = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  W w{dt, N, K, {}, {}, {}};
  if (dt == DType::BF16) {
    w.b16.resize(size_t(N * K));
    for (auto& b : w.b16) {
      b = f32_to_bf16(d(rng) * 0.05f);
      if (edge && rng() % 7 == 0) b = uint16_t((rng() & 0x807f) | 1);  // bf16 denormal
    }
  } else {
    w.f8.resize(size_t(N * K));
    for (auto& c : w.f8) {
      c = uint8_t(rng() & 0xff);
      if ((c & 0x7f) == 0x7f) c ^= 1;  // no NaN codes
    }
    std::uniform_real_distribution<float> u(0.5f, 2.0f);
    w.scales.resize(size_t(fp8_blocks(N) * fp8_blocks(K)));
    for (auto& s : w.scales) s = u(rng) * 1e-2f;
  }
  return w;
}

std::vector<float> make_x(int64_t n, unsigned seed, bool edge = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) {
    f = d(rng);
    if (edge) {
      const unsigned r = rng() % 9;
      if (r == 0) f *= 1e-38f;             // fp32 denormal or tiny: flushed / FTZ products
      if (r == 1) f = std::ldexp(f, 60);   // huge: products near the fp32 top
      if (r == 2) f = std::ldexp(f, -60);  // tiny products
    }
  }
  return v;
}

bool same_bits(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

void expect_bits(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  int bad = 0;
  for (size_t i = 0; i < a.size() && bad < 5; ++i)
    if (!same_bits(a[i], b[i])) {
      ADD_FAILURE() << what << " differs at " << i << ": " << a[i] << " vs " << b[i];
      ++bad;
    }
}

struct Shape {
  int64_t M, N, K;
};

const Shape kShapes[] = {{1, 1, 1},    {1, 9, 31},   {1, 13, 64},   {2, 5, 129},  {3, 17, 300},
                         {4, 9, 33},   {5, 8, 257},  {7, 21, 128},  {8, 12, 2},   {8, 13, 127},
                         {16, 25, 65}, {17, 7, 256}, {33, 37, 131}, {40, 50, 384}};

TEST(Bf16Act, RoundingIsNearestEvenWithDenormalsFlushed) {
  EXPECT_EQ(bf16act_round(1.0f), 0x3f80);
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x00400000u)), 0x0000);  // denormal -> +0
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x80400000u)), 0x8000);  // -> -0
  EXPECT_EQ(bf16act_round(std::bit_cast<float>(0x7f7fffffu)), 0x7f80);  // FLT_MAX -> inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(bf16act_round(std::nanf("")))));
}

TEST(Bf16Act, EveryIsaMatchesTheTwinBitForBit) {
  Bf16ActScope scope;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    SCOPED_TRACE(std::string("isa=") + std::string(isa_name(isa)) +
                 (isa == Isa::Avx512 && bf16act_native() ? " (vdpbf16ps)" : " (emulation)"));
    for (DType dt : {DType::BF16, DType::F8_E4M3})
      for (bool edge : {false, true})
        for (const Shape& s : kShapes) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " M=" + std::to_string(s.M) + " N=" +
                       std::to_string(s.N) + " K=" + std::to_string(s.K) + (edge ? " edge" : ""));
          const W w = make_w(dt, s.N, s.K, unsigned(s.N * 7 + s.K), edge);
          const auto x = make_x(s.M * s.K, unsigned(s.M + s.K), edge);
          std::vector<float> y(static_cast<size_t>(s.M * s.N)), r(y.size());
          matmul(x.data(), s.M, w.view(), y.data(), nullptr);
          matmul_bf16act_ref(x.data(), s.M, w.view(), r.data());
          expect_bits(y, r, "fast vs twin");
        }
  }
}

// Every e4m3 code, the NaN codes 0x7f / 0xff included (read as +-480 by kernels and twin alike),
// in weight rows that start at every offset within a cache line (the decode loads 64 codes at a
// time; rows of real checkpoints are not 64-byte aligned), decode and prefill orders.
TEST(Bf16Act, EveryFp8CodeAtAnyRowAlignment) {
  Bf16ActScope scope;
  const int64_t N = 19, K = 384;
  std::vector<uint8_t> buf(size_t(N * K + 64));
  std::vector<float> scales(size_t(fp8_blocks(N) * fp8_blocks(K)), 0.01f);
  for (int64_t off : {0, 1, 16, 37}) {
    uint8_t* base = buf.data() + off;
    for (int64_t i = 0; i < N * K; ++i) base[i] = uint8_t((i * 37 + off) & 0xff);
    TensorView v = make_view(DType::F8_E4M3, base, {N, K});
    v.block_scale = scales.data();
    for (int64_t M : {1, 2, 5, 9}) {
      SCOPED_TRACE("offset " + std::to_string(off) + " M=" + std::to_string(M));
      const auto x = make_x(M * K, unsigned(M + off));
      std::vector<float> y(static_cast<size_t>(M * N)), r(y.size());
      matmul(x.data(), M, v, y.data(), nullptr);
      matmul_bf16act_ref(x.data(), M, v, r.data());
      expect_bits(y, r, "fast vs twin");
    }
  }
}

TEST(Bf16Act, TwinIsTheExactSumUpToFp32Rounding) {
  for (DType dt : {DType::BF16, DType::F8_E4M3})
    for (const Shape& s : kShapes) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " M=" + std::to_string(s.M) +
                   " K=" + std::to_string(s.K));
      const W w = make_w(dt, s.N, s.K, unsigned(s.N + 3 * s.K));
      const auto x = make_x(s.M * s.K, unsigned(5 * s.M + s.K));
      std::vector<float> r(static_cast<size_t>(s.M * s.N));
      matmul_bf16act_ref(x.data(), s.M, w.view(), r.data());
      const double u = std::ldexp(1.0, -24);
      const double slack = double(s.K + 4 * fp8_blocks(s.K) + 16) * u;
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < s.N; ++n) {
          double exact = 0, mass = 0;
          for (int64_t k = 0; k < s.K; ++k) {
            const double p =
                double(bf16_to_f32(bf16act_round(x[size_t(m * s.K + k)]))) * w.at(n, k);
            exact += p;
            mass += std::fabs(p);
          }
          ASSERT_NEAR(r[size_t(m * s.N + n)], exact, slack * mass + double(s.K) * 1.2e-38)
              << "m=" << m << " n=" << n;
        }
    }
}

TEST(Bf16Act, CloseToTheFp32PathButNotEqual) {
  for (DType dt : {DType::BF16, DType::F8_E4M3}) {
    const int64_t M = 9, N = 30, K = 200;
    const W w = make_w(dt, N, K, 11);
    const auto x = make_x(M * K, 12);
    std::vector<float> y32(static_cast<size_t>(M * N)), y16(y32.size());
    for (int64_t m : {int64_t(1), M}) {  // decode and prefill orders
      matmul(x.data(), m, w.view(), y32.data(), nullptr);
      {
        Bf16ActScope scope;
        matmul(x.data(), m, w.view(), y16.data(), nullptr);
      }
      int differ = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t n = 0; n < N; ++n) {
          double mass = 0;
          for (int64_t k = 0; k < K; ++k) mass += std::fabs(x[size_t(i * K + k)] * w.at(n, k));
          const size_t o = size_t(i * N + n);
          EXPECT_NEAR(y16[o], y32[o], std::ldexp(mass, -8));
          differ += !same_bits(y16[o], y32[o]);
        }
      EXPECT_GT(differ, m * N / 2) << dtype_name(dt) << " M=" << m;
    }
  }
}

TEST(Bf16Act, SameBitsForOneAndTwoThreads) {
  Bf16ActScope scope;
  ThreadPool one(1), two(2);
  for (DType dt : {DType::BF16, DType::F8_E4M3})
    for (const Shape& s : {Shape{1, 700, 512}, Shape{3, 300, 256}, Shape{40, 301, 300}}) {
      const W w = make_w(dt, s.N, s.K, 21);
      const auto x = make_x(s.M * s.K, 22);
      std::vector<float> a(static_cast<size_t>(s.M * s.N)), b(a.size());
      matmul(x.data(), s.M, w.view(), a.data(), &one);
      matmul(x.data(), s.M, w.view(), b.data(), &two);
      expect_bits(a, b, "1 vs 2 threads");
    }
}

TEST(Bf16Act, GateUpSiluIsMatmulThenSiluMul) {
  Bf16ActScope scope;
  ThreadPool two(2);
  const int64_t N = 200, K = 320;
  const W g = make_w(DType::BF16, N, K, 31), u = make_w(DType::BF16, N, K, 32);
  const auto x = make_x(K, 33);
  std::vector<float> h(static_cast<size_t>(N)), yg(h.size()), yu(h.size());
  gate_up_silu(x.data(), g.view(), u.view(), h.data(), &two);
  matmul(x.data(), 1, g.view(), yg.data(), nullptr);
  matmul(x.data(), 1, u.view(), yu.data(), nullptr);
  silu_mul(yg.data(), yu.data(), N, yg.data());
  expect_bits(h, yg, "gate_up_silu");
}

TEST(Bf16Act, NoOpForF32AndF16Weights) {
  const int64_t M = 9, N = 20, K = 64;
  const auto x = make_x(M * K, 41), wf = make_x(N * K, 42);
  std::vector<uint16_t> wh(static_cast<size_t>(N * K));
  for (size_t i = 0; i < wh.size(); ++i) wh[i] = f32_to_f16(wf[i]);
  for (const TensorView& v :
       {make_view(DType::F32, wf.data(), {N, K}), make_view(DType::F16, wh.data(), {N, K})}) {
    EXPECT_FALSE(bf16act_applies(v.dtype));
    std::vector<float> a(static_cast<size_t>(M * N)), b(a.size());
    matmul(x.data(), M, v, a.data(), nullptr);
    {
      Bf16ActScope scope;
      matmul(x.data(), M, v, b.data(), nullptr);
    }
    expect_bits(a, b, "no-op");
    EXPECT_THROW(matmul_bf16act(x.data(), M, v, b.data(), nullptr), Error);
  }
}

TEST(Bf16Act, BadWeightsAreErrors) {
  W w = make_w(DType::F8_E4M3, 4, 8, 1);
  TensorView v = w.view();
  v.block_scale = nullptr;
  std::vector<float> x(8), y(4);
  EXPECT_THROW(matmul_bf16act(x.data(), 1, v, y.data(), nullptr), Error);
  TensorView v3 = w.view();
  v3.ndim = 1;
  EXPECT_THROW(matmul_bf16act(x.data(), 1, v3, y.data(), nullptr), Error);
  ActPrecision p;
  EXPECT_TRUE(parse_act_precision("bf16", &p));
  EXPECT_EQ(p, ActPrecision::kBf16);
  EXPECT_FALSE(parse_act_precision("fp16", &p));
}

}  // namespace
