// Element-type names, sizes and IEEE half-precision conversions.
#include "core/dtype.h"

#include <cmath>

#include "core/error.h"

namespace dsv3 {

namespace {
struct DTypeInfo {
  DType t;
  std::string_view name;
  size_t size;         // bytes per block
  int64_t block = 1;   // elements per block
};
constexpr DTypeInfo kInfo[] = {
    {DType::F32, "F32", 4},     {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1}, {DType::I8, "I8", 1},
    {DType::I16, "I16", 2},     {DType::I32, "I32", 4},         {DType::I64, "I64", 8},
    {DType::U8, "U8", 1},       {DType::BOOL, "BOOL", 1},       {DType::F64, "F64", 8},
    // ggml block types: {bytes per block, elements per block} as in ggml's type traits.
    {DType::Q8_0, "Q8_0", 34, 32},  {DType::Q4_0, "Q4_0", 18, 32},  {DType::Q4_1, "Q4_1", 20, 32},
    {DType::Q4_K, "Q4_K", 144, 256}, {DType::Q5_K, "Q5_K", 176, 256}, {DType::Q6_K, "Q6_K", 210, 256},
};

const DTypeInfo* info(DType t) {
  for (const auto& i : kInfo)
    if (i.t == t) return &i;
  return nullptr;
}
}  // namespace

size_t dtype_size(DType t) {
  const DTypeInfo* i = info(t);
  if (!i) return 0;
  DSV3_CHECK(i->block == 1, "dtype_size: ", i->name, " is a block type (", i->block,
             " values in ", i->size, " bytes) with no per-element size");
  return i->size;
}

bool dtype_is_block(DType t) {
  const DTypeInfo* i = info(t);
  return i && i->block > 1;
}

int64_t dtype_block_elems(DType t) {
  const DTypeInfo* i = info(t);
  return i ? i->block : 0;
}

int64_t dtype_block_bytes(DType t) {
  const DTypeInfo* i = info(t);
  return i ? int64_t(i->size) : 0;
}

size_t dtype_row_bytes(DType t, int64_t n) {
  const DTypeInfo* i = info(t);
  DSV3_CHECK(i != nullptr, "dtype_row_bytes: unknown dtype ", int(t));
  DSV3_CHECK(n >= 0, "dtype_row_bytes: negative length ", n);
  DSV3_CHECK(n % i->block == 0, "a row of ", n, " ", i->name,
             " values is not a multiple of the block size ", i->block);
  return size_t(n / i->block) * i->size;
}

std::string_view dtype_name(DType t) {
  for (const auto& i : kInfo)
    if (i.t == t) return i.name;
  return "?";
}

bool parse_dtype(std::string_view s, DType* out) {
  for (const auto& i : kInfo)
    if (i.block == 1 && i.name == s) {
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
