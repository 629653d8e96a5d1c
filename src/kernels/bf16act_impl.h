// Internal: per-ISA table of the bf16-activation kernels (matmul_bf16act.h) and the scalar
// emulation of vdpbf16ps that the portable table and the reference twin are built from.
// Single-threaded entries; matmul_bf16act.cpp splits weight rows over the pool.
//
// Layouts: prefill x is packed per block of 32 rows as [P][32][2] bf16 (P = ceil(K/2) pairs;
// word (p, r) holds x[r, 2p] low and x[r, 2p+1] high; rows >= M and k >= K are zero), block b at
// xp + b * P * 64. Decode x is [M][2P] bf16 (zero-padded). Weights are read as stored.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace dsv3::kernels::detail {

struct Bf16ActTable {
  // Packs blocks [b0, b1) of 32 rows of x [M, K] (layout above).
  void (*pack)(const float* x, int64_t M, int64_t K, int64_t b0, int64_t b1, uint16_t* xp);
  // Rounds rows of x [M, K] to bf16 into xr [M][2P].
  void (*round_rows)(const float* x, int64_t M, int64_t K, uint16_t* xr);
  // Prefill order, y[m, n] for m < M, n0 <= n < n1 (ldy = N). packed_fp8's `scratch` holds
  // bf16act_fp8_band(K) * 2P bf16 values (weight rows widened to bf16).
  void (*packed_bf16)(const uint16_t* xp, int64_t M, const uint16_t* W, int64_t N, int64_t K,
                      float* y, int64_t n0, int64_t n1);
  void (*packed_fp8)(const uint16_t* xp, int64_t M, const uint8_t* W, const float* bs, int64_t N,
                     int64_t K, float* y, int64_t n0, int64_t n1, uint16_t* scratch);
  // Decode order, y[m * ldy + n] for m < M (<= 7), n0 <= n < n1.
  void (*vec_bf16)(const uint16_t* xr, int64_t M, const uint16_t* W, int64_t K, float* y,
                   int64_t ldy, int64_t n0, int64_t n1);
  void (*vec_fp8)(const uint16_t* xr, int64_t M, const uint8_t* W, const float* bs, int64_t N,
                  int64_t K, float* y, int64_t ldy, int64_t n0, int64_t n1);
};

const Bf16ActTable& bf16act_table_portable();
const Bf16ActTable& bf16act_table_avx512();  // requires AVX-512 BF16

// Weight rows the FP8 prefill widens to bf16 at a time (a multiple of 12, about 96 KiB).
inline int64_t bf16act_fp8_band(int64_t K) {
  const int64_t kp = K + (K & 1);
  int64_t b = (int64_t(48) * 1024 / (kp > 0 ? kp : 1)) / 12 * 12;
  return b < 12 ? 12 : b;
}

// e4m3 code -> bf16 bits of its exact value; the NaN codes 0x7f/0xff give +-480 (no quantiser
// produces them; the fp32-activation FP8 kernels decode them the same way). Built once.
const uint16_t* e4m3_bf16_table();

namespace {  // one copy per including TU (each is compiled with its own ISA flags)

inline uint32_t ba_bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
inline float ba_float(uint32_t u) {
  return std::bit_cast<float>(u);
}
// Zero exponent field -> signed zero (DAZ on inputs, FTZ on results).
inline float ba_flush(float f) {
  const uint32_t u = ba_bits(f);
  return (u & 0x7f800000u) == 0 ? ba_float(u & 0x80000000u) : f;
}
// bf16 bits -> fp32 value as vdpbf16ps reads it (denormals as zero).
inline float ba_widen(uint16_t b) {
  return ba_flush(ba_float(uint32_t(b) << 16));
}
// fp32 -> bf16 as vcvtne2ps2bf16: denormal input -> signed zero, NaN -> quiet, else RNE.
inline uint16_t ba_round(float f) {
  uint32_t u = ba_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  if ((u & 0x7f800000u) == 0) return uint16_t((u >> 16) & 0x8000);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
// One vdpbf16ps lane: the odd element first, then the even one.
inline float ba_pair(float acc, float x0, float w0, float x1, float w1) {
  acc = ba_flush(std::fma(x1, w1, acc));
  return ba_flush(std::fma(x0, w0, acc));
}
// The fixed 16-lane reduction tree of the decode order.
inline float ba_hsum16(const float* l) {
  float t[8];
  for (int i = 0; i < 8; ++i) t[i] = l[i] + l[i + 8];
  for (int i = 0; i < 4; ++i) t[i] = t[i] + t[i + 4];
  for (int i = 0; i < 2; ++i) t[i] = t[i] + t[i + 2];
  return t[0] + t[1];
}

}  // namespace

}  // namespace dsv3::kernels::detail
