// Widening of stored KV cache values (f16 / bf16 bits) to fp32 for the cache's readers.
// Every path gives exactly the values of core/dtype.h's f16_to_f32 / bf16_to_f32 (widening
// is exact; quiet NaNs stay quiet NaNs, the only NaNs a cache write stores).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace dsv3 {

// n values of dtype `dt` (F32, BF16 or F16) at src -> fp32 at dst. F16 goes through F16C's
// vcvtph2ps when kernels::current_isa() is AVX2 or AVX-512, else f16_to_f32.
void kv_values_to_f32(DType dt, const void* src, size_t n, float* dst);

namespace detail {
// F16C path (kv_convert_avx2.cpp); the CPU must have F16C.
void f16_to_f32_avx2(const uint16_t* src, size_t n, float* dst);
}  // namespace detail

}  // namespace dsv3
