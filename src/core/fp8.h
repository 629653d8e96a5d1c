// FP8 codecs: float8_e4m3fn (DeepSeek-V3 weights and activations) and float8_e5m2, plus the
// UE8M0 (power-of-two) scale rounding of DeepSeek-V3.1. All conversions are bit-exact with
// PyTorch 2.9 (c10/util/Float8_e4m3fn.h, Float8_e5m2.h), checked against torch-made tables in
// tests/fp8_codec_test.cpp:
//   e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; NaN = S.1111.111
//           (0x7f, 0xff); max finite ±448; min normal 2^-6; subnormals m/8 * 2^-6.
//   e5m2:   the top byte of an IEEE binary16 (infinities 0x7c/0xfc, NaN 0x7d..0x7f, ...).
// fp32 -> fp8 rounds to nearest, ties to even. Like torch's .to(float8_e4m3fn) it does NOT
// saturate: |x| >= 480 (the first value that would round above 448), +-inf and NaN become NaN
// (0x7f with the input's sign bit). f32_to_e4m3_sat clamps to ±448 first (for quantizers).
#pragma once
#include <cstdint>
#include <cstring>

namespace dsv3 {

constexpr float kE4m3Max = 448.0f;

// Value of every e4m3fn code (NaN for 0x7f and 0xff).
const float* e4m3_table();

inline float e4m3_to_f32(uint8_t b) {
  return e4m3_table()[b];
}

// Round-to-nearest-even, torch semantics (|x| >= 480, inf, NaN -> NaN code with x's sign).
uint8_t f32_to_e4m3(float f);

// Same, after clamping finite values to [-448, 448] (NaN still becomes NaN).
uint8_t f32_to_e4m3_sat(float f);

float e5m2_to_f32(uint8_t b);
// Round-to-nearest-even, torch semantics (|x| >= 2^16 -> ±inf code, NaN -> 0x7f/0xff).
uint8_t f32_to_e5m2(float f);

// UE8M0 scale rounding (DeepSeek-V3.1 `scale_fmt = "ue8m0"`): the smallest power of two >= s,
// 2^ceil(log2 s), computed exactly from the bits. Requires s finite and > 0 (normal or not).
float round_scale_ue8m0(float s);

// Whether s is an exact power of two (a UE8M0-representable scale).
bool is_pow2(float s);

}  // namespace dsv3
