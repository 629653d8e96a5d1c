// ggml's vector expf for one value, in plain C++: the fp32 exp that llama.cpp's CPU backend
// uses inside SiLU/SwiGLU and softmax (the polynomial of Arm's optimized-routines expf, max
// error ~1.5 ulp, which ggml vectorises). dsv3 uses it only for models loaded from GGUF
// (ModelConfig::ggml_numerics), so that SiLU gives the same bits as llama.cpp's.
//
// Algorithm: n = round(x / ln2) by the 1.5 * 2^23 shifter, b = x - n ln2 in two FMA steps
// (ln2 split hi/lo), 2^b ~ 1 + c0 b + b^2 ((c1 + c2 b) + b^2 (c3 + c4 b)) by FMAs, result
// = poly * 2^n with a single rounding; |n| > 192 gives +inf (x > 0) or 0. Every operation is
// spelled out (std::fma where ggml fuses), so any compiler gives the same bits; the SIMD
// structs (simd_avx512.h, simd_avx2.h) implement exp_ggml with the same operations.
#pragma once
#include <cmath>

namespace dsv3::kernels {

struct ExpGgmlConst {
  static constexpr float kShift = 0x1.8p23f, kLog2e = 0x1.715476p+0f;
  static constexpr float kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
  static constexpr float kC0 = 0x1.ffffecp-1f, kC1 = 0x1.fffdb6p-2f, kC2 = 0x1.555e66p-3f;
  static constexpr float kC3 = 0x1.573e2ep-5f, kC4 = 0x1.0e4020p-7f;
  static constexpr float kOutOfRange = 192.0f;  // |n| above this: overflow / underflow
};

inline float exp_ggml_scalar(float x) {
  using C = ExpGgmlConst;
  const float z = std::fma(x, C::kLog2e, C::kShift);
  const float n = z - C::kShift;
  const float b = std::fma(-n, C::kLn2Lo, std::fma(-n, C::kLn2Hi, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(C::kC4, b, C::kC3), u, std::fma(C::kC2, b, C::kC1)), u,
                           std::fma(C::kC0, b, 1.0f));
  if (std::fabs(n) > C::kOutOfRange) return n <= 0.0f ? 0.0f : INFINITY;
  return std::ldexp(j, int(n));
}

}  // namespace dsv3::kernels
