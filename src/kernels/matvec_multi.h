// Several one-token (decode) matrix-vector products in ONE thread-pool job, so that a decode
// step pays one fork/join for, e.g., all active MoE experts' gate/up instead of one per matrix.
//
// Bits: every output element is computed by the same per-ISA row kernel, with the same
// operands, as kernels::matmul(x, 1, W, y) / kernels::gate_up_silu (and gate_up_silu_fp8) do
// for that product alone, so the results equal those calls bit for bit for any thread count
// (the row kernels' order of operations per output depends only on K, never on the row range).
// Reference twin: matvec_multi_ref (the per-product calls themselves); tests compare them.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3::kernels {

// One product: y[n] = x . W[n] for n < W.rows(), or, with `up` set (a gate/up pair of the same
// dtype and shape), y[n] = silu(x . W[n]) * (x . up[n]). x: [W.cols()] fp32, y: [W.rows()].
struct Matvec {
  const float* x = nullptr;
  const TensorView* W = nullptr;
  const TensorView* up = nullptr;
  float* y = nullptr;
};

// Whether matvec_multi takes weights of this dtype under the current process settings: F32,
// BF16, F16 with fp32 activations (act_precision() kFp32), F8_E4M3 with block scales in exact
// FP8 mode. Other cases (GGUF blocks, --act-precision bf16, emulated FP8) are the caller's to
// run through kernels::matmul / gate_up_silu.
bool matvec_multi_supported(const TensorView& W);

// Runs p[0..n) as one parallel_for over the row blocks of all products (each product's rows in
// blocks of its kernel grain, blocks of all products concatenated and split over the threads).
// Every product must be matvec_multi_supported with matching shapes (dsv3::Error otherwise).
// Products may share x; no y may alias any x. At most kMatvecMultiMax products.
void matvec_multi(const Matvec* p, int n, ThreadPool* pool);

// Same products, all with the same number of rows N and the same dtype: one parallel_for over
// [0, N) in which each thread computes its rows [n0, n1) of every product in order, then calls
// after(n0, n1) (e.g. a combine of the products' rows, which then reads only finished rows).
void matvec_multi_rows(const Matvec* p, int n, ThreadPool* pool, RangeFn after);

// Reference twin: the products one after another through kernels::matmul / gate_up_silu
// (gate_up_silu_fp8 for FP8 pairs).
void matvec_multi_ref(const Matvec* p, int n, ThreadPool* pool);

constexpr int kMatvecMultiMax = 32;

}  // namespace dsv3::kernels
