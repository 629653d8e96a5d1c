// Widening of stored KV cache values (f16 / bf16 bits) to fp32 for the cache's readers.
// Every path gives exactly the values of core/dtype.h's f16_to_f32 / bf16_to_f32 (widening
// is exact; quiet NaNs stay quiet NaNs, the only NaNs a cache write stores).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace dsv3 {

// Widens n stored values at src to fp32 at dst.
using KvWidenFn = void (*)(const void* src, size_t n, float* dst);

// The widening of dtype `dt` (F32: copy, BF16, F16; anything else: dsv3::Error) on the current
// kernels ISA: F16 through F16C's vcvtph2ps on AVX2/AVX-512, f16_to_f32 on the portable path.
// Resolve once per pass and call it per row (the ISA lookup takes a lock).
KvWidenFn kv_widen_fn(DType dt);

// kv_widen_fn(dt)(src, n, dst).
void kv_values_to_f32(DType dt, const void* src, size_t n, float* dst);

namespace detail {
// F16C path (kv_convert_avx2.cpp); the CPU must have F16C.
void f16_to_f32_avx2(const void* src, size_t n, float* dst);
}  // namespace detail

}  // namespace dsv3
