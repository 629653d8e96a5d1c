// The AVX-512 FP8 row widening (kernels/fp8_row.h) against weight_row, bit for bit: every
// e4m3 code (NaN codes included), block scales from tiny to large, row lengths around the
// 16-lane and 128-column block edges; and rows_axpy over an FP8 weight (which uses it on
// AVX-512) against rows_axpy over the same weight widened by weight_row.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/fp8.h"
#include "core/tensor.h"
#include "kernels/fp8_row.h"
#include "kernels/isa.h"
#include "kernels/mla_attn.h"
#include "kernels/ops.h"

namespace dsv3::kernels {
namespace {

struct Fp8Weight {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  TensorView view;
  Fp8Weight(int64_t N, int64_t K, std::mt19937& rng) {
    codes.resize(size_t(N * K));
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = uint8_t((i * 37 + rng()) & 0xff);
    const int64_t KB = (K + 127) / 128;
    scales.resize(size_t(((N + 127) / 128) * KB));
    std::uniform_real_distribution<float> e(-30.f, 30.f);
    for (float& s : scales) s = std::ldexp(1.0f + float(rng() % 1000) / 1000.f, int(e(rng)));
    view = make_view(DType::F8_E4M3, codes.data(), {N, K});
    view.block_scale = scales.data();
  }
};

TEST(Fp8Row, Avx512WideningEqualsWeightRow) {
  if (!isa_supported(Isa::Avx512)) GTEST_SKIP() << "CPU lacks AVX-512";
  std::mt19937 rng(5);
  for (int64_t K : {1, 15, 16, 17, 127, 128, 129, 256, 300, 512}) {
    Fp8Weight w(260, K, rng);
    std::vector<float> a(static_cast<size_t>(K)), b(static_cast<size_t>(K));
    for (int64_t r : {0, 1, 127, 128, 200, 259}) {
      weight_row(w.view, r, a.data());
      fp8_widen_row_avx512(w.codes.data() + r * K, w.scales.data() + (r / 128) * ((K + 127) / 128),
                           K, e4m3_table(), b.data());
      ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << "K=" << K << " r=" << r;
    }
  }
}

TEST(Fp8Row, RowsAxpyOverFp8EqualsWidenedWeight) {
  std::mt19937 rng(9);
  const int64_t N = 300, K = 520;
  Fp8Weight w(N, K, rng);
  for (uint8_t& c : w.codes) c = (c & 0x7f) == 0x7f ? uint8_t(c ^ 1) : c;  // no NaN codes here
  std::vector<float> wide(static_cast<size_t>(N * K));
  for (int64_t r = 0; r < N; ++r) weight_row(w.view, r, wide.data() + r * K);
  const TensorView wf = make_view(DType::F32, wide.data(), {N, K});
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> a(64), y0(static_cast<size_t>(K)), y1(static_cast<size_t>(K));
  for (float& v : a) v = u(rng);
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (float& v : y0) v = u(rng);
    y1 = y0;
    rows_axpy(a.data(), 64, w.view, 100, y0.data());
    rows_axpy(a.data(), 64, wf, 100, y1.data());
    EXPECT_EQ(0, std::memcmp(y0.data(), y1.data(), y0.size() * 4)) << isa_name(isa);
  }
  set_isa(supported_isas().back());
}

}  // namespace
}  // namespace dsv3::kernels
