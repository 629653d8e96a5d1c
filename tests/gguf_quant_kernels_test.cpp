// Fused ggml block-type kernels (matmul_gguf via kernels::matmul, gate_up_silu, weight_row)
// against their scalar reference twin matmul_gguf_ref, on every ISA path this CPU has, M = 1
// and M > 1 (M >= 16 takes the AVX-512 packed path, with a zero-padded last group of 16 rows),
// odd N, K with and without a partial group of blocks, 1-3 threads.
//
// Tolerances: the fast paths and the reference do the same integer dots and the same fp32
// operations in the same order (gguf_quants.h), so they must agree bit for bit. Against the
// exact product with the dequantised weights (double accumulation) the reference may differ by
// the activation rounding, |x_k - dx * xq_k| <= dx / 2 per value (x * (1/dx) is within 2^-16
// relative of x / dx, hence the 1.001), plus fp32 rounding of the sums (1e-5 relative to the
// sum of magnitudes, far above the ~K * 2^-24 it can reach).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/gguf_quants.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

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

// Offsets of the f16 scale fields inside a block.
std::vector<int> scale_fields(DType t) {
  switch (t) {
    case DType::Q4_1:
    case DType::Q4_K:
    case DType::Q5_K:
      return {0, 2};
    case DType::Q6_K:
      return {208};
    default:
      return {0};
  }
}

// Random blocks: random bytes (every code), f16 scales ~ N(0, 0.02) (finite).
std::vector<uint8_t> random_weight(DType t, int64_t N, int64_t K, std::mt19937& rng) {
  const int64_t be = dtype_block_elems(t), bb = dtype_block_bytes(t);
  std::vector<uint8_t> w(static_cast<size_t>(N * K / be * bb));
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  for (auto& b : w) b = uint8_t(byte(rng));
  for (size_t blk = 0; blk < w.size() / size_t(bb); ++blk)
    for (int off : scale_fields(t)) {
      const uint16_t h = f32_to_f16(nd(rng));
      std::memcpy(&w[blk * size_t(bb) + size_t(off)], &h, 2);
    }
  return w;
}

std::vector<float> random_x(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  for (int64_t i = 0; i < n; i += 97) x[size_t(i)] *= 8.0f;  // some outliers
  if (n >= 64) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block
  return x;
}

const DType kTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<int64_t> ks_for(DType t) {
  // 32-blocks: one full group of 8 and a 3-block tail; 33 blocks (> 16 lanes, tail). K-quants:
  // 2 and 5 super-blocks.
  if (dtype_block_elems(t) == 32) return {352, 1056};
  return {512, 1280};
}

bool same_bits(float a, float b) {
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

}  // namespace

TEST(GgufQuantKernels, MatmulMatchesReferenceBitForBitOnEveryIsa) {
  std::mt19937 rng(7);
  ThreadPool pool2(2), pool3(3);
  for (DType t : kTypes)
    for (int64_t K : ks_for(t)) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " K=" + std::to_string(K));
      const int64_t N = 67;  // odd; M * N * K >= 2^16 in most cases, so the pool is used
      const auto wb = random_weight(t, N, K, rng);
      const TensorView W = make_view(t, wb.data(), {N, K});
      for (int64_t M : {1, 2, 5, 17, 35}) {  // >= 16: the AVX-512 packed path (padded group)
        SCOPED_TRACE("M=" + std::to_string(M));
        const auto x = random_x(M * K, rng);
        std::vector<float> want(static_cast<size_t>(M * N));
        matmul_ref(x.data(), M, W, want.data());
        for_each_isa([&](Isa) {
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
            std::vector<float> got(static_cast<size_t>(M * N), NAN);
            matmul(x.data(), M, W, got.data(), p);
            int bad = 0;
            for (size_t i = 0; i < got.size(); ++i)
              if (!same_bits(got[i], want[i]) && bad++ < 3)
                ADD_FAILURE() << "y[" << i << "] = " << got[i] << ", ref " << want[i]
                              << " threads=" << (p ? p->size() : 1);
            EXPECT_EQ(bad, 0);
          }
        });
      }
    }
}

TEST(GgufQuantKernels, ReferenceIsTheDequantisedProductUpToActivationRounding) {
  std::mt19937 rng(11);
  for (DType t : kTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const int64_t N = 9, K = ks_for(t)[1], M = 3;
    const auto wb = random_weight(t, N, K, rng);
    const TensorView W = make_view(t, wb.data(), {N, K});
    const auto x = random_x(M * K, rng);
    std::vector<float> y(static_cast<size_t>(M * N)), wrow(static_cast<size_t>(K));
    matmul_ref(x.data(), M, W, y.data());
    double worst = 0;
    for (int64_t n = 0; n < N; ++n) {
      weight_row(W, n, wrow.data());  // == dequantize_row_ref of the row (checked below)
      for (int64_t m = 0; m < M; ++m) {
        const float* xr = x.data() + m * K;
        // Activation rounding as gguf_quants.h describes it (ggml's q8_0 / q8_1 per 32-block
        // with an fp16 scale, q8_K per 256-block with an fp32 scale): per value |x - xq dx| <=
        // dx / 2, plus 127 dx 2^-11 for the fp16 scale; a Q4_1 block adds |m| |sx - dx S| <=
        // |m| |S| dx 2^-10 <= |m| 32 * 127 dx 2^-10 (sx, dx each fp16-rounded).
        const bool kq = dtype_block_elems(t) == 256;
        const int64_t qb = kq ? 256 : 32;
        const uint8_t* wr = wb.data() + size_t(n) * dtype_row_bytes(t, K);
        double exact = 0, bound = 0, mag = 0;
        for (int64_t b = 0; b < K / qb; ++b) {
          float amax = 0;
          for (int k = 0; k < qb; ++k) amax = std::max(amax, std::fabs(xr[b * qb + k]));
          const double dx = amax / 127.0;
          const double per = dx / 2 + (kq ? 0.0 : 127.0 * dx / 2048.0);
          for (int64_t k = b * qb; k < b * qb + qb; ++k) {
            exact += double(xr[k]) * wrow[size_t(k)];
            bound += per * std::fabs(wrow[size_t(k)]);
            mag += std::fabs(wrow[size_t(k)]) * (std::fabs(xr[k]) + dx);
          }
          if (t == DType::Q4_1) {
            uint16_t mh;
            std::memcpy(&mh, wr + 20 * b + 2, 2);
            bound += std::fabs(f16_to_f32(mh)) * 32 * 127 * dx / 1024.0;
          }
        }
        const double err = std::fabs(y[size_t(m * N + n)] - exact);
        const double tol = 1.001 * bound + 1e-5 * mag;
        EXPECT_LE(err, tol) << "n=" << n << " m=" << m;
        worst = std::max(worst, err / tol);
      }
    }
    EXPECT_GT(worst, 0.0);  // the activation rounding is really there (not a trivial test)
  }
}

TEST(GgufQuantKernels, GateUpSiluAndWeightRow) {
  std::mt19937 rng(3);
  ThreadPool pool2(2);
  for (DType t : kTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const int64_t N = 29, K = ks_for(t)[0];
    const auto gb = random_weight(t, N, K, rng), ub = random_weight(t, N, K, rng);
    const TensorView Wg = make_view(t, gb.data(), {N, K}), Wu = make_view(t, ub.data(), {N, K});
    const auto x = random_x(K, rng);
    for_each_isa([&](Isa) {
      std::vector<float> g(static_cast<size_t>(N)), u(static_cast<size_t>(N)), want(static_cast<size_t>(N)), h(static_cast<size_t>(N));
      matmul(x.data(), 1, Wg, g.data(), nullptr);
      matmul(x.data(), 1, Wu, u.data(), nullptr);
      silu_mul(g.data(), u.data(), N, want.data());
      gate_up_silu(x.data(), Wg, Wu, h.data(), &pool2);
      for (int64_t n = 0; n < N; ++n) EXPECT_TRUE(same_bits(h[size_t(n)], want[size_t(n)])) << n;
    });
    // weight_row and weight_at decode exactly what dequantize_row_ref decodes.
    std::vector<float> row(static_cast<size_t>(K)), deq(static_cast<size_t>(K));
    for (int64_t r : {int64_t(0), N / 2, N - 1}) {
      weight_row(Wg, r, row.data());
      dequantize_row_ref(t, gb.data() + size_t(r) * dtype_row_bytes(t, K), K, deq.data());
      for (int64_t k = 0; k < K; ++k) ASSERT_TRUE(same_bits(row[size_t(k)], deq[size_t(k)]));
      for (int64_t k : {int64_t(0), K / 3, K - 1})
        EXPECT_TRUE(same_bits(weight_at(Wg, r * K + k), deq[size_t(k)]));
    }
  }
}

TEST(GgufQuantKernels, BadShapesAreErrors) {
  std::vector<uint8_t> buf(4096);
  std::vector<float> x(512), y(64);
  // Row length not a whole number of blocks.
  EXPECT_THROW(matmul(x.data(), 1, make_view(DType::Q4_K, buf.data(), {2, 100}), y.data(), nullptr),
               Error);
  EXPECT_THROW(matmul(x.data(), 1, make_view(DType::Q8_0, buf.data(), {2, 48}), y.data(), nullptr),
               Error);
  // Not 2-D.
  EXPECT_THROW(matmul(x.data(), 1, make_view(DType::Q4_0, buf.data(), {64}), y.data(), nullptr),
               Error);
  // Gate and up of different types.
  EXPECT_THROW(gate_up_silu(x.data(), make_view(DType::Q4_0, buf.data(), {2, 64}),
                            make_view(DType::Q8_0, buf.data(), {2, 64}), y.data(), nullptr),
               Error);
}
