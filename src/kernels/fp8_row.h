// Widening of one F8_E4M3 weight row with its 128-column block scales to fp32, as
// kernels::weight_row does (out[k] = e4m3_table()[w[k]] * s[k / 128], one fp32 product per
// value), vectorised where the ISA allows. Used by rows_axpy (absorbed MLA's W_UK^T q over an
// FP8 kv_b_proj: 16 heads x 128 rows x 512 columns per layer and token, ~8% of a 1-thread FP8
// decode step when done by the scalar loop).
#pragma once
#include <cstdint>

namespace dsv3::kernels {

// out[k] = table[w[k]] * srow[k / 128] for k < K (table: the 256 e4m3 values). AVX-512
// (integer decode of 16 codes + vmulps); same bits as the scalar loop. Call only where the CPU has
// AVX-512F (kernels::current_isa() == Isa::Avx512).
void fp8_widen_row_avx512(const uint8_t* w, const float* srow, int64_t K, const float* table,
                          float* out);

}  // namespace dsv3::kernels
