// matmul_gguf (decode, M = 1, every ISA) against ggml's own CPU dot products:
// tests/data/ggml_vec_dot/<type>.bin were written by bench/ggml_vec_dot_ref.cpp through ggml's
// CPU type traits (llama-cpp-python 0.3.36's vendored llama.cpp): the activation row quantised
// by ggml (q8_0 / q8_1 / q8_K per weight type), then ggml's vec_dot.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "kernels/gguf_quants.h"
#include "kernels/isa.h"
#include "test_util.h"

namespace {

using dsv3::DType;

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <class Fn>
void each_isa(Fn fn) {
  using namespace dsv3::kernels;
  const auto isas = supported_isas();
  for (Isa isa : isas) {
    set_isa(isa);
    SCOPED_TRACE(std::string("isa=") + std::string(isa_name(isa)));
    fn();
  }
  set_isa(isas.back());
}

}  // namespace

TEST(GgufVsGgml, DecodeMatvecIsGgmlsUpToFp32SummationOrder) {
  struct Case {
    const char* file;
    DType t;
  };
  for (const Case c : {Case{"q8_0", DType::Q8_0}, Case{"q4_0", DType::Q4_0}, Case{"q4_1", DType::Q4_1},
                       Case{"q4_K", DType::Q4_K}, Case{"q5_K", DType::Q5_K}, Case{"q6_K", DType::Q6_K}}) {
    SCOPED_TRACE(c.file);
    const auto buf = read_all(dsv3::test::data_path(std::string("ggml_vec_dot/") + c.file + ".bin"));
    ASSERT_GE(buf.size(), 8u);
    int32_t hdr[2];
    std::memcpy(hdr, buf.data(), 8);
    const int64_t N = hdr[0], K = hdr[1];
    const size_t rb = dsv3::dtype_row_bytes(c.t, K);
    ASSERT_EQ(buf.size(), 8 + rb * size_t(N) + 4 * size_t(K + N));
    const uint8_t* w = buf.data() + 8;
    std::vector<float> x(static_cast<size_t>(K)), want(static_cast<size_t>(N)), wrow(static_cast<size_t>(K));
    std::memcpy(x.data(), w + rb * size_t(N), 4 * size_t(K));
    std::memcpy(want.data(), w + rb * size_t(N) + 4 * size_t(K), 4 * size_t(N));
    dsv3::TensorView W;
    W.dtype = c.t;
    W.ndim = 2;
    W.shape = {N, K, 0, 0};
    W.data = w;
    std::vector<float> ref(static_cast<size_t>(N));
    dsv3::kernels::matmul_gguf_ref(x.data(), 1, W, ref.data());
    each_isa([&] {
      std::vector<float> got(static_cast<size_t>(N));
      dsv3::kernels::matmul_gguf(x.data(), 1, W, got.data(), nullptr);
      for (int64_t n = 0; n < N; ++n) {
        // Same activation bytes and scales, same integer block dots and fp32 multipliers as
        // ggml; only the order of the fp32 sums differs (ggml: its own lanes, K-quants summed
        // as integers per super-block). Each of the <= 2 K / 16 roundings of a partial sum is
        // <= 2^-24 of sum_k |w_k x_k| (+ the activation rounding, < 2% of that), so
        // tol = 2 (K / 8) 2^-24 sum |w x| ~ 1e-5 relative. The activation rounding of the
        // earlier dsv3 (fp32 scales, no q8_1 / q8_K) moved y by ~1e-3 relative: this fails it.
        dsv3::kernels::gguf_weight_row(W, n, wrow.data());
        double mag = 0;
        for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(wrow[size_t(k)]) * x[size_t(k)]);
        const double tol = 2.0 * double(K / 8) * std::ldexp(1.0, -24) * mag;
        EXPECT_NEAR(got[size_t(n)], want[size_t(n)], tol) << "n=" << n;
        EXPECT_EQ(got[size_t(n)], ref[size_t(n)]) << "n=" << n << " (reference twin)";
      }
    });
  }
}
