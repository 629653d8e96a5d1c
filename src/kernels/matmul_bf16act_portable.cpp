// Portable bf16-activation kernels: a scalar emulation of vdpbf16ps (bf16act_impl.h) in the
// orders matmul_bf16act.h defines, bit-identical to the AVX-512 BF16 kernels. Used on CPUs
// without AVX-512 BF16 and under DSV3_ISA=avx2|portable; slow, exact.
#include <vector>

#include "kernels/bf16act_impl.h"

namespace dsv3::kernels::detail {
namespace {

constexpr int64_t kB = 32;

inline int64_t pairs(int64_t K) {
  return (K + 1) / 2;
}

void pack(const float* x, int64_t M, int64_t K, int64_t b0, int64_t b1, uint16_t* xp) {
  const int64_t P = pairs(K);
  for (int64_t b = b0; b < b1; ++b) {
    uint16_t* dst = xp + b * P * 2 * kB;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t r = 0; r < kB; ++r)
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t m = b * kB + r, k = 2 * p + e;
          dst[(p * kB + r) * 2 + e] = m < M && k < K ? ba_round(x[m * K + k]) : uint16_t(0);
        }
  }
}

void round_rows(const float* x, int64_t M, int64_t K, uint16_t* xr) {
  const int64_t Kp = 2 * pairs(K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < Kp; ++k) xr[m * Kp + k] = k < K ? ba_round(x[m * K + k]) : uint16_t(0);
}

// Weight row n widened to fp32 (2P values, zero past K).
template <class Widen>
void widen_row(int64_t K, std::vector<float>& w, Widen f) {
  const int64_t Kp = 2 * pairs(K);
  w.assign(size_t(Kp), 0.0f);
  for (int64_t k = 0; k < K; ++k) w[size_t(k)] = f(k);
}

// Prefill order for one weight row: y[m, n] for every m, chains restarting every `blk_pairs`
// pairs and folded with scale(kb) (FP8), or one chain (blk_pairs = 0).
template <class Scale>
void packed_row(const uint16_t* xp, int64_t M, int64_t K, const float* w, int64_t blk_pairs,
                Scale scale, float* y, int64_t ldy) {
  const int64_t P = pairs(K);
  for (int64_t m = 0; m < M; ++m) {
    const uint16_t* xb = xp + (m / kB) * P * 2 * kB + (m % kB) * 2;
    float acc = 0.0f, blk = 0.0f;
    for (int64_t p = 0; p < P; ++p) {
      blk = ba_pair(blk, ba_widen(xb[p * 2 * kB]), w[2 * p], ba_widen(xb[p * 2 * kB + 1]),
                    w[2 * p + 1]);
      if (blk_pairs && ((p + 1) % blk_pairs == 0 || p + 1 == P)) {
        acc = std::fma(blk, scale(p / blk_pairs), acc);
        blk = 0.0f;
      }
    }
    y[m * ldy] = blk_pairs ? acc : blk;
  }
}

void packed_bf16(const uint16_t* xp, int64_t M, const uint16_t* W, int64_t N, int64_t K, float* y,
                 int64_t n0, int64_t n1) {
  std::vector<float> w;
  for (int64_t n = n0; n < n1; ++n) {
    widen_row(K, w, [&](int64_t k) { return ba_widen(W[n * K + k]); });
    packed_row(
        xp, M, K, w.data(), 0, [](int64_t) { return 1.0f; }, y + n, N);
  }
}

void packed_fp8(const uint16_t* xp, int64_t M, const uint8_t* W, const float* bs, int64_t N,
                int64_t K, float* y, int64_t n0, int64_t n1, uint16_t*) {
  const uint16_t* lut = e4m3_bf16_table();
  const int64_t KB = (K + 127) / 128;
  std::vector<float> w;
  for (int64_t n = n0; n < n1; ++n) {
    widen_row(K, w, [&](int64_t k) { return ba_widen(lut[W[n * K + k]]); });
    const float* srow = bs + (n / 128) * KB;
    packed_row(
        xp, M, K, w.data(), 64, [&](int64_t kb) { return srow[kb]; }, y + n, N);
  }
}

// Decode order for one (x row, weight row).
template <class Scale>
float vec_one(const uint16_t* xr, int64_t K, const float* w, int64_t blk_pairs, Scale scale) {
  const int64_t P = pairs(K);
  float acc[16] = {}, blk[16] = {};
  for (int64_t p = 0; p < P; ++p) {
    const int l = int(p % 16);
    blk[l] = ba_pair(blk[l], ba_widen(xr[2 * p]), w[2 * p], ba_widen(xr[2 * p + 1]), w[2 * p + 1]);
    if (blk_pairs && ((p + 1) % blk_pairs == 0 || p + 1 == P)) {
      const float s = scale(p / blk_pairs);
      for (int i = 0; i < 16; ++i) {
        acc[i] = std::fma(blk[i], s, acc[i]);
        blk[i] = 0.0f;
      }
    }
  }
  return ba_hsum16(blk_pairs ? acc : blk);
}

void vec_bf16(const uint16_t* xr, int64_t M, const uint16_t* W, int64_t K, float* y, int64_t ldy,
              int64_t n0, int64_t n1) {
  const int64_t Kp = 2 * pairs(K);
  std::vector<float> w;
  for (int64_t n = n0; n < n1; ++n) {
    widen_row(K, w, [&](int64_t k) { return ba_widen(W[n * K + k]); });
    for (int64_t m = 0; m < M; ++m)
      y[m * ldy + n] = vec_one(xr + m * Kp, K, w.data(), 0, [](int64_t) { return 1.0f; });
  }
}

void vec_fp8(const uint16_t* xr, int64_t M, const uint8_t* W, const float* bs, int64_t, int64_t K,
             float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const uint16_t* lut = e4m3_bf16_table();
  const int64_t Kp = 2 * pairs(K), KB = (K + 127) / 128;
  std::vector<float> w;
  for (int64_t n = n0; n < n1; ++n) {
    widen_row(K, w, [&](int64_t k) { return ba_widen(lut[W[n * K + k]]); });
    const float* srow = bs + (n / 128) * KB;
    for (int64_t m = 0; m < M; ++m)
      y[m * ldy + n] = vec_one(xr + m * Kp, K, w.data(), 64, [&](int64_t kb) { return srow[kb]; });
  }
}

}  // namespace

const Bf16ActTable& bf16act_table_portable() {
  static const Bf16ActTable t{&pack, &round_rows, &packed_bf16, &packed_fp8, &vec_bf16, &vec_fp8};
  return t;
}

}  // namespace dsv3::kernels::detail
