// Matrix products with FP8 weights used as stored: DeepSeek's float8_e4m3fn with one fp32
// dequantisation multiplier per 128x128 block (`weight_scale_inv`, TensorView::block_scale,
// shape [ceil(N/128), ceil(K/128)], partial edge blocks allowed). No fp32/bf16 copy of a weight
// is ever made: codes are decoded in registers.
//
// Exact mode (default): y[m, n] = sum_kb s[n/128, kb] * (sum_{k in block kb} x[m, k] * w[n, k]),
// fp32 everywhere, the block scale applied once per 128-wide block of K. This is the
// dequantised-weight matmul up to fp32 rounding (|diff| <~ K * 2^-24 * sum |x w s|).
//
// Emulate mode (DSV3_FP8_GEMM=emulate or emulate-ue8m0, or set_fp8_gemm_mode): DeepSeek's
// FP8 GEMM (inference/kernel.py act_quant + fp8_gemm, docs/architecture.md §13): each row of x
// is quantised per 1x128 tile to e4m3 with a_s = max(amax, 1e-4) / 448 (UE8M0: rounded up to a
// power of two), and y[m, n] = bf16( sum_kb (dot_kb(xq, w) * a_s[m, kb]) * s[n/128, kb] ) with
// fp32 promotion every 128 elements. A partial last tile (K % 128 != 0) is quantised on its own
// amax (the same as zero-padding it to 128).
//
// Fast paths: AVX-512, AVX2 and portable, chosen with the other kernels (kernels/isa.h). e4m3 is
// decoded exactly by placing its 7 magnitude bits in an IEEE half ((b & 0x7f) << 7, sign to bit
// 15) and converting with vcvtph2ps: the half equals w * 2^-8, and the 2^8 is folded into the
// block scale. The one deviation from the reference: the NaN codes 0x7f/0xff decode as ±480
// (no quantiser produces them; torch's own quantisation maps overflow to them, ours saturates).
// Results are bit-identical for any thread count (fixed order per output element).
// Exact mode, M >= packed_min_rows() on AVX-512 (prefill): the packed outer-product path of
// kernels::matmul with each weight widened to fp32 as e4m3(w) * s (one extra rounding per
// weight, relative 2^-24) and a sequential fma chain over k; below that M (decode, MTP verify)
// the block-wise order above. Both are within 1e-5 * sum|x w s| of matmul_fp8_ref (tests), but
// a row of a prefill product is not bit-identical to the same row decoded alone.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3::kernels {

enum class Fp8GemmMode { kExact, kEmulate, kEmulateUe8m0 };

// The mode used by matmul on F8_E4M3 weights: DSV3_FP8_GEMM (exact | emulate | emulate-ue8m0)
// read at the first call (an unknown value is a dsv3::Error), then whatever set_fp8_gemm_mode set.
Fp8GemmMode fp8_gemm_mode();
void set_fp8_gemm_mode(Fp8GemmMode mode);
std::string_view fp8_gemm_mode_name(Fp8GemmMode mode);

// y[M, N] = x[M, K] W^T for an F8_E4M3 weight W [N, K] with block_scale (checked: a missing
// scale or non-2-D weight is a dsv3::Error). Uses fp8_gemm_mode().
void matmul_fp8(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);

// gate_up_silu for FP8 gate/up weights (same contract as kernels::gate_up_silu: bit-identical
// to matmul_fp8 of each followed by silu_mul), for the dispatcher in ops.cpp.
void gate_up_silu_fp8(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                      ThreadPool* pool);

// Scalar reference twins: natural index order, fp32.
void matmul_fp8_ref(const float* x, int64_t M, const TensorView& W, float* y);
void matmul_fp8_emulated_ref(const float* x, int64_t M, const TensorView& W, bool ue8m0, float* y);

// DeepSeek act_quant on each of M rows of length K: q[m, k] e4m3 codes, s[m, kb] (kb <
// ceil(K/128)) with x ~= e4m3(q) * s. Deterministic scalar code.
void act_quant(const float* x, int64_t M, int64_t K, bool ue8m0, uint8_t* q, float* s);

// Value of element (r, c) of an F8_E4M3 weight with block scales: e4m3(w[r, c]) * s[r/128, c/128].
float fp8_weight_at(const TensorView& W, int64_t r, int64_t c);

// Number of 128-blocks covering n.
inline int64_t fp8_blocks(int64_t n) {
  return (n + 127) / 128;
}

}  // namespace dsv3::kernels
