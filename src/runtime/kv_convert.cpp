// Widening of stored KV cache values to fp32: the portable reference and the ISA dispatch.
#include "runtime/kv_convert.h"

#include <cstring>

#include "core/error.h"
#include "kernels/isa.h"

namespace dsv3 {

void kv_values_to_f32(DType dt, const void* src, size_t n, float* dst) {
  switch (dt) {
    case DType::F32:
      std::memcpy(dst, src, n * 4);
      return;
    case DType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      if (kernels::current_isa() != kernels::Isa::Portable)
        return detail::f16_to_f32_avx2(s, n, dst);
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    default:
      fail("KV cache values of dtype ", dtype_name(dt), " cannot be read");
  }
}

}  // namespace dsv3
