// CPU compute kernels used by the model. Every kernel has a plain scalar reference twin
// (suffix _ref, in ops_ref.cpp) that anyone can check against the paper; the fast versions
// dispatch at run time to AVX-512, AVX2 or portable code and are tested against the twins.
//
// ISA selection (AVX-512 / AVX2 / portable, DSV3_ISA to force one) is in kernels/isa.h.
//
// Conventions: activations are fp32, row-major, contiguous. Weights are TensorViews in their
// stored dtype (F32, BF16, F16; FP8 with block scales once the FP8 issue lands) in PyTorch
// Linear layout [N, K]. Every output element is computed with an operation order that does
// not depend on the thread count, so results are bit-identical for any number of threads.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3::kernels {

// y[m, n] = sum_k x[m, k] * W[n, k] for m < M, n < N (N = W.rows(), K = W.cols()).
// x: [M, K] fp32, y: [M, N] fp32. Accumulates in fp32. Threads split the N rows of W.
// Each y[m, n] depends only on row m of x, row n of W and the summation scheme, never on the
// thread count or on the other rows: lane partial sums + a fixed tree for small M (decode:
// weights streamed once, widened in registers), and on AVX-512 for M >= packed_min_rows() a
// sequential FMA chain over k (prefill: x packed once, 32x12 register tiles). Error vs
// matmul_ref is within 1e-5 * sum_k |x w| (tests/kernels_test.cpp). F8_E4M3 goes to
// matmul_fp8.h. The ggml block types (Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) go to matmul_gguf
// (kernels/gguf_quants.h): activations quantised to 8 bits per 32-block and integer dot products,
// like llama.cpp; for them matmul_ref / gate_up_silu_ref do that same math (matmul_gguf_ref),
// and the fast paths match them bit for bit (tests/gguf_quant_kernels_test.cpp).
// Under --act-precision bf16 (kernels/matmul_bf16act.h: act_precision()), BF16 and exact-mode
// F8_E4M3 weights go to matmul_bf16act instead (x rounded to bf16, vdpbf16ps), as does
// gate_up_silu.
void matmul(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);
// matmul with fp32 activations whatever act_precision() says (the MoE router: HF runs it in fp32).
void matmul_fp32act(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);
// The M from which matmul uses the packed (sequential-FMA) scheme on the current ISA; 0 if
// the ISA has no packed path.
int64_t packed_min_rows();
void matmul_ref(const float* x, int64_t M, const TensorView& W, float* y);

// Reads row `r` of a 2-D weight (any supported dtype) into fp32 `out` (W.cols() values).
// Used for embedding lookups.
void weight_row(const TensorView& W, int64_t r, float* out);

// Reads element i of a 1-D tensor (norm weights, biases) as fp32.
float weight_at(const TensorView& w, int64_t i);

// RMSNorm over each of M rows of length n: y = x / sqrt(mean(x^2) + eps) * w.
// y may alias x.
void rmsnorm(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y);
void rmsnorm_ref(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y);

// out[i] = silu(gate[i]) * up[i], silu(z) = z / (1 + exp(-z)). out may alias gate or up.
void silu_mul(const float* gate, const float* up, int64_t n, float* out);
void silu_mul_ref(const float* gate, const float* up, int64_t n, float* out);

// The same two ops as llama.cpp's CPU backend computes them, for models loaded from GGUF
// (ModelConfig::ggml_numerics), so that dsv3's activations match llama.cpp's bit for bit where
// the matmuls do:
// rmsnorm_ggml: per row, the fp32 squares x*x summed in double in index order, mean =
// fp32(sum / n), scale = 1 / sqrtf(mean + eps), y = (x * scale) * w. y may alias x. (Plain
// scalar code: it is its own reference.)
void rmsnorm_ggml(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y);
// silu_mul_ggml: M rows of n: out = silu(gate) * up with ggml's vector expf
// (kernels/exp_ggml.h) for the first n - n % 16 values of each row and std::exp for the rest,
// as ggml's SwiGLU does on AVX-512. out may alias gate or up. Bit-identical to the _ref twin.
void silu_mul_ggml(const float* gate, const float* up, int64_t M, int64_t n, float* out);
// rmsnorm_ggml if `ggml` (ModelConfig::ggml_numerics), else rmsnorm.
inline void rmsnorm_as(bool ggml, const float* x, int64_t M, int64_t n, const TensorView& w, float eps,
                       float* y) {
  if (ggml)
    rmsnorm_ggml(x, M, n, w, eps, y);
  else
    rmsnorm(x, M, n, w, eps, y);
}
void silu_mul_ggml_ref(const float* gate, const float* up, int64_t M, int64_t n, float* out);

// In-place softmax of x[0..n) in fp32 (max-subtracted).
void softmax(float* x, int64_t n);
void softmax_ref(float* x, int64_t n);

// Rotary embedding on interleaved pairs (x[2i], x[2i+1]) of a d-dim vector:
//   x'[2i] = x[2i] cos_i - x[2i+1] sin_i,  x'[2i+1] = x[2i] sin_i + x[2i+1] cos_i,
// with cos_i/sin_i precomputed for the token's position (d/2 values each).
void rope_interleaved(float* x, int64_t d, const float* cos, const float* sin);

// Dot product of two fp32 vectors with a fixed summation order.
float dot(const float* a, const float* b, int64_t n);
float dot_ref(const float* a, const float* b, int64_t n);

// y[i] += x[i]. Bit-identical to the reference on every ISA.
void add_inplace(float* y, const float* x, int64_t n);
void add_inplace_ref(float* y, const float* x, int64_t n);

// y[i] += a * x[i], computed as a rounded product then a rounded sum (no FMA), so it is
// bit-identical to the reference on every ISA.
void axpy(float a, const float* x, float* y, int64_t n);
void axpy_ref(float a, const float* x, float* y, int64_t n);

// Fused expert gate/up for one token (decode): h[n] = silu(x . Wg[n]) * (x . Wu[n]) for
// n < N, with Wg, Wu: [N, K] of the same dtype and shape, x: [K], h: [N]. Bit-identical to
// matmul(x, 1, Wg) and matmul(x, 1, Wu) followed by silu_mul, but with no [N] temporaries.
void gate_up_silu(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                  ThreadPool* pool);
void gate_up_silu_ref(const float* x, const TensorView& Wg, const TensorView& Wu, float* h);

}  // namespace dsv3::kernels
