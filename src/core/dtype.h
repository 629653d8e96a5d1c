// Element types of stored tensors (safetensors / GGUF names) and scalar conversions.
// bf16 and f16 are kept as raw uint16_t bit patterns; conversions round to nearest even,
// exactly like torch's .to(dtype). FP8 codecs live in fp8.h (FP8 issue).
// The ggml block-quantised types (Q8_0 ... Q6_K, GGUF weights) store a row of n values as
// n / block_elems blocks of block_bytes each; their formats are in kernels/gguf_quants.h.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dsv3 {

enum class DType : uint8_t {
  F32, F16, BF16, F8_E4M3, F8_E5M2, I8, I16, I32, I64, U8, BOOL, F64,
  // ggml block types (GGUF): only as 2-D weights [N, K] with K a multiple of the block size.
  Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K,
};

// Bytes per element. A block type has no per-element size: dsv3::Error naming the type
// (use dtype_row_bytes / TensorView::nbytes, which are block-aware).
size_t dtype_size(DType t);
// Whether t is a ggml block type (Q8_0 ... Q6_K).
bool dtype_is_block(DType t);
// Elements per block (1 for element types) and bytes per block (dtype_size for element types).
int64_t dtype_block_elems(DType t);
int64_t dtype_block_bytes(DType t);
// Bytes of a row of n elements; a block type needs n % dtype_block_elems(t) == 0, else
// dsv3::Error ("row of 100 Q4_K values is not a multiple of the block size 256").
size_t dtype_row_bytes(DType t, int64_t n);
// Safetensors spelling ("F32", "BF16", "F8_E4M3", ...); block types "Q8_0", "Q4_K", ...
std::string_view dtype_name(DType t);
// Parses a safetensors dtype string; returns false if unknown (block types are not
// safetensors dtypes and are not accepted).
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
