// Matmuls with bf16 activations (`--act-precision bf16`): the activation rows that enter a
// product with BF16 or F8_E4M3 weights are rounded to bf16 once per matmul and multiplied with
// AVX-512 BF16 dot products (vdpbf16ps), twice the fp32 FMA rate. This is the numeric contract
// of llama.cpp's BF16 path (ggml rounds activations to bf16 and uses the same instruction).
//
// Semantics (every ISA computes exactly this; checked bit for bit against matmul_bf16act_ref):
//   xb = bf16(x), round to nearest even, fp32 denormals flushed to signed zero, NaN kept
//        (the behaviour of vcvtne2ps2bf16);
//   w  = the weight in bf16: BF16 weights as stored (bf16 denormals read as zero), F8_E4M3
//        codes as their exact e4m3 value (every e4m3 value is a normal bf16; the NaN codes read
//        as +-480, as in the fp32-activation FP8 kernels);
//   one "pair step" (vdpbf16ps, as the Intel SDM specifies and Zen 5 was checked to do):
//        acc = ftz(fma(xb[k+1], w[k+1], acc)); acc = ftz(fma(xb[k], w[k], acc))
//        (products exact, one rounding per add, results below 2^-126 flushed to zero);
//   order of one y[m, n] (depends on M and K only, never on the thread split or the ISA):
//     M >= kBf16ActPackedMinM (prefill): one sequential chain of pair steps over k = 0, 2, 4..
//     M <  kBf16ActPackedMinM (decode):  16 lane chains, lane l taking the pairs p = k/2 with
//        p = l (mod 16) in increasing p, then a fixed tree ((l + l+8) + (.. +4)) + (.. +2)) + +1.
//   F8_E4M3: the chains restart at each 128-block of K (blk), and acc = fma(blk, s[n/128, kb],
//   acc) after each block (per lane in decode order), fp32 with no flushing.
//   A trailing odd k pairs with a zero.
// Error vs the fp32 path: the activation rounding (relative 2^-9 per value) dominates; the sum
// itself is fp32 like the fp32 path.
//
// Where it applies: BF16 weights, and F8_E4M3 weights in exact FP8 mode. For F32 and F16 weights,
// GGUF block types (which quantise activations to 8 bits like ggml already) and emulated FP8
// (activations already e4m3) the option is a no-op.
// CPUs without AVX-512 BF16 and VBMI (or DSV3_ISA=avx2|portable) run a scalar emulation with
// the same bits (much slower; it exists for correctness, not speed).
#pragma once
#include <cstdint>
#include <string_view>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3::kernels {

enum class ActPrecision { kFp32, kBf16 };

// Process-wide setting read by kernels::matmul / gate_up_silu (default kFp32, the exact path).
// Like set_fp8_gemm_mode, set it before running a model, not while kernels run.
ActPrecision act_precision();
void set_act_precision(ActPrecision p);
std::string_view act_precision_name(ActPrecision p);  // "fp32", "bf16"
bool parse_act_precision(std::string_view s, ActPrecision* out);

// Whether matmuls with weights of dtype `wt` take the bf16-activation path under kBf16
// (BF16, and F8_E4M3 while the FP8 GEMM mode is exact).
bool bf16act_applies(DType wt);
// Whether this CPU runs the bf16-activation kernels with vdpbf16ps (else: scalar emulation).
bool bf16act_native();

// The M from which the prefill order (one chain per output) is used.
constexpr int64_t kBf16ActPackedMinM = 8;

// fp32 -> bf16 bits as above (RNE, denormals to signed zero, NaN quiet).
uint16_t bf16act_round(float f);

// y[M, N] = bf16(x)[M, K] W^T for W BF16 [N, K] or F8_E4M3 [N, K] with block scales.
// Bad weights are a dsv3::Error. Bit-identical for any thread count and ISA.
void matmul_bf16act(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);
// h[n] = silu(bf16(x) . Wg[n]) * (bf16(x) . Wu[n]): bit-identical to matmul_bf16act with
// M = 1 of each, then silu_mul.
void gate_up_silu_bf16act(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                          ThreadPool* pool);

// Scalar reference twin: the semantics above written per output element.
void matmul_bf16act_ref(const float* x, int64_t M, const TensorView& W, float* y);

}  // namespace dsv3::kernels
