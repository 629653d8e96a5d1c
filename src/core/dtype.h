// Element types of stored tensors (safetensors / GGUF names) and scalar conversions.
// bf16 and f16 are kept as raw uint16_t bit patterns; conversions round to nearest even,
// exactly like torch's .to(dtype). FP8 codecs live in fp8.h (FP8 issue).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dsv3 {

enum class DType : uint8_t { F32, F16, BF16, F8_E4M3, F8_E5M2, I8, I16, I32, I64, U8, BOOL, F64 };

// Bytes per element.
size_t dtype_size(DType t);
// Safetensors spelling ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtype_name(DType t);
// Parses a safetensors dtype string; returns false if unknown.
bool parse_dtype(std::string_view s, DType* out);

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round-to-nearest-even; NaN stays NaN (quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Rounds a float to the nearest bf16 value and back (used to mimic bf16 reference numerics).
inline float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace dsv3
