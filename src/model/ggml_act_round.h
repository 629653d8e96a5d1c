// The activation roundings llama.cpp's CPU backend applies that dsv3's own kernels do not, for
// models loaded from GGUF (ModelConfig::ggml_numerics):
// - before a product with a weight of type wt, ggml converts the activation to wt's
//   vec_dot_type: q8_0 (per 32, fp16 scale) for Q8_0/Q4_0/Q4_1, q8_K (per 256, fp32 scale) for
//   the K-quants, f16 for F16, bf16 for BF16 (matmul_gguf does this itself; the MLA
//   absorptions, which dsv3 computes from fp32 copies of attn_k_b / attn_v_b, need it here);
// - its flash attention (on by default on the CPU) attends to K and V rounded to f16 (its
//   default cache type, and the type it casts an f32 cache to).
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3 {

// x[0..n) <- the values ggml's vec_dot_type of `wt` represents for x (dequantised). F32 (and
// any non-block type other than F16 / BF16): unchanged. Block types need n to be a multiple
// of the block (32 or 256; dsv3::Error otherwise).
void ggml_round_for_weight(DType wt, float* x, int64_t n);

// kernels::matmul(x, M, W, y, pool), with x first rounded to W's vec_dot_type when `ggml`
// and W is F16 / BF16 (ggml multiplies f16 / bf16 weights by f16 / bf16 activations; the block
// types are quantised inside matmul_gguf already). x itself is not modified.
void matmul_as(bool ggml, const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);

// x[0..n) <- fp32(f16(x)), round to nearest even (F16C's conversion).
void round_f16_inplace(float* x, int64_t n);

}  // namespace dsv3
