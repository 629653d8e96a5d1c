// FP8 codecs (see fp8.h): the e4m3fn decode table and the fp32 -> e4m3fn / e5m2 rounding,
// written from the bit layout (same arithmetic trick as torch: add a magic constant so the
// FPU does the round-to-nearest-even, for subnormals; integer rounding for normals).
#include "core/fp8.h"

#include <bit>
#include <cmath>

namespace dsv3 {

namespace {

inline uint32_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
inline float from_bits(uint32_t u) {
  return std::bit_cast<float>(u);
}

struct E4m3Table {
  float v[256];
  E4m3Table() {
    for (int b = 0; b < 256; ++b) {
      const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
      float x;
      if (e == 15 && m == 7)
        x = std::nanf("");
      else if (e == 0)
        x = std::ldexp(float(m) / 8.0f, -6);
      else
        x = std::ldexp(1.0f + float(m) / 8.0f, e - 7);
      v[b] = s ? -x : x;
    }
  }
};

}  // namespace

const float* e4m3_table() {
  static const E4m3Table t;
  return t.v;
}

uint8_t f32_to_e4m3(float f) {
  uint32_t u = bits(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint8_t r;
  if (u >= (1087u << 20)) {  // >= 480 (incl. inf) or NaN
    r = 0x7f;
  } else if (u < (121u << 23)) {  // < 2^-6: subnormal or zero; let the FPU round at 2^-9 steps
    const uint32_t denorm_mask = 141u << 23;  // 2^14: ulp of fp32 at 2^14 is 2^-9
    r = uint8_t(bits(from_bits(u) + from_bits(denorm_mask)) - denorm_mask);
  } else {
    const uint32_t mant_odd = (u >> 20) & 1u;
    u += (uint32_t(7 - 127) << 23) + 0x7ffffu + mant_odd;
    r = uint8_t(u >> 20);
  }
  return uint8_t(r | (sign >> 24));
}

uint8_t f32_to_e4m3_sat(float f) {
  if (f > kE4m3Max) f = kE4m3Max;
  if (f < -kE4m3Max) f = -kE4m3Max;
  return f32_to_e4m3(f);
}

float e5m2_to_f32(uint8_t b) {
  const int s = b >> 7, e = (b >> 2) & 31, m = b & 3;
  float x;
  if (e == 31)
    x = m ? std::nanf("") : INFINITY;
  else if (e == 0)
    x = std::ldexp(float(m) / 4.0f, -14);
  else
    x = std::ldexp(1.0f + float(m) / 4.0f, e - 15);
  return s ? -x : x;
}

uint8_t f32_to_e5m2(float f) {
  uint32_t u = bits(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint8_t r;
  if (u >= (143u << 23)) {  // >= 2^16
    r = u > (255u << 23) ? 0x7f : 0x7c;
  } else if (u < (113u << 23)) {              // < 2^-14
    const uint32_t denorm_mask = 134u << 23;  // 2^7: ulp 2^-16
    r = uint8_t(bits(from_bits(u) + from_bits(denorm_mask)) - denorm_mask);
  } else {
    const uint32_t mant_odd = (u >> 21) & 1u;
    u += (uint32_t(15 - 127) << 23) + 0xfffffu + mant_odd;
    r = uint8_t(u >> 21);
  }
  return uint8_t(r | (sign >> 24));
}

float round_scale_ue8m0(float s) {
  // frexp: s = f * 2^e with f in [0.5, 1); s is a power of two iff f == 0.5.
  int e;
  const float f = std::frexp(s, &e);
  return f == 0.5f ? s : std::ldexp(1.0f, e);
}

bool is_pow2(float s) {
  if (!(s > 0.0f) || !std::isfinite(s)) return false;
  int e;
  return std::frexp(s, &e) == 0.5f;
}

}  // namespace dsv3
