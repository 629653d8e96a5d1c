// Element-type names, sizes and IEEE half-precision conversions.
#include "core/dtype.h"

#include <cmath>

namespace dsv3 {

namespace {
struct DTypeInfo {
  DType t;
  std::string_view name;
  size_t size;
};
constexpr DTypeInfo kInfo[] = {
    {DType::F32, "F32", 4},     {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1}, {DType::I8, "I8", 1},
    {DType::I16, "I16", 2},     {DType::I32, "I32", 4},         {DType::I64, "I64", 8},
    {DType::U8, "U8", 1},       {DType::BOOL, "BOOL", 1},       {DType::F64, "F64", 8},
};
}  // namespace

size_t dtype_size(DType t) {
  for (const auto& i : kInfo)
    if (i.t == t) return i.size;
  return 0;
}

std::string_view dtype_name(DType t) {
  for (const auto& i : kInfo)
    if (i.t == t) return i.name;
  return "?";
}

bool parse_dtype(std::string_view s, DType* out) {
  for (const auto& i : kInfo)
    if (i.name == s) {
      *out = i.t;
      return true;
    }
  return false;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: value = man * 2^-24
      float f = std::ldexp(float(man), -24);
      std::memcpy(&u, &f, 4);
      u |= sign;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00);  // NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // overflow (>= 65520) -> inf
  if (a < 0x38800000u) {  // below min normal 2^-14: subnormal or zero, RNE on 2^-24 grid
    float af;
    std::memcpy(&af, &a, 4);
    float scaled = af * 16777216.0f;  // exact: multiply by 2^24
    float r = std::nearbyint(scaled);  // default rounding mode is nearest-even
    return uint16_t(sign | uint16_t(r));
  }
  uint32_t mant_rounded = a + 0xfffu + ((a >> 13) & 1u);
  return uint16_t(sign | uint16_t((mant_rounded >> 13) - (112u << 10)));
}

}  // namespace dsv3
