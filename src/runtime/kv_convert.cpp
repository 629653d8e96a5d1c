// Widening of stored KV cache values to fp32: the portable reference and the ISA dispatch.
#include "runtime/kv_convert.h"

#include <cstring>

#include "core/error.h"
#include "kernels/isa.h"

namespace dsv3 {

namespace {

void copy_f32(const void* src, size_t n, float* dst) {
  std::memcpy(dst, src, n * 4);
}

void bf16_rows(const void* src, size_t n, float* dst) {
  const auto* s = static_cast<const uint16_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
}

void f16_rows_portable(const void* src, size_t n, float* dst) {
  const auto* s = static_cast<const uint16_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
}

}  // namespace

KvWidenFn kv_widen_fn(DType dt) {
  switch (dt) {
    case DType::F32:
      return &copy_f32;
    case DType::BF16:
      return &bf16_rows;
    case DType::F16:
      return kernels::current_isa() != kernels::Isa::Portable ? &detail::f16_to_f32_avx2
                                                              : &f16_rows_portable;
    default:
      fail("KV cache values of dtype ", dtype_name(dt), " cannot be read");
  }
}

void kv_values_to_f32(DType dt, const void* src, size_t n, float* dst) {
  kv_widen_fn(dt)(src, n, dst);
}

}  // namespace dsv3
