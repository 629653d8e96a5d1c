// Internal: vectorised q8_K activation quantisation (ggml's, for the K-quant weight types) used
// by quantize_acts_q8 (gguf_quants_ref.cpp) on AVX-512 / AVX2. For nblocks blocks of 256 values
// of x: q (256 codes per block), d (one scale per block), s16 (16 sums of 16 codes per block);
// bit-identical to the scalar loop there, which remains the portable path and the reference.
#pragma once
#include <cstdint>

namespace dsv3::kernels::detail {

void quantize_q8k_avx512(const float* x, int64_t nblocks, int8_t* q, float* d, int32_t* s16);
void quantize_q8k_avx2(const float* x, int64_t nblocks, int8_t* q, float* d, int32_t* s16);

}  // namespace dsv3::kernels::detail
