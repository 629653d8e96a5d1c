// Internal: the table of per-ISA kernel entry points that ops.cpp dispatches through.
// Each kernels_<isa>.cpp fills one table from the templates in kernels_impl.h.
// The entries are single-threaded; ops.cpp splits work across the thread pool.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/isa.h"

namespace dsv3::kernels::detail {

struct KernelTable {
  // y[m, n] = sum_k x[m, k] * W[n, k] for m < M and n0 <= n < n1 only. W: [N, K] of dtype
  // `wt` (F32, BF16 or F16), x: [M, K], y: [M, N].
  // `scratch` holds kPartFloats + kScratchRows * K floats. The summation order of each
  // y[m, n] depends only on K, never on M, n0 or n1.
  void (*matmul_rows)(const float* x, int64_t M, const void* W, DType wt, int64_t N, int64_t K,
                      float* y, int64_t n0, int64_t n1, float* scratch);
  // Fused expert gate/up matvec: h[n] = silu(x.Wg[n]) * (x.Wu[n]) for n0 <= n < n1,
  // each dot computed exactly like matmul_rows with M = 1.
  void (*gate_up_rows)(const float* x, const void* Wg, const void* Wu, DType wt, int64_t K,
                       float* h, int64_t n0, int64_t n1);
  float (*dot)(const float* a, const float* b, int64_t n);
  // One row: y = x / sqrt(mean(x^2) + eps) * w, w given as fp32 or bf16/f16 bits.
  void (*rmsnorm_row)(const float* x, int64_t n, const void* w, DType wt, float eps, float* y);
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* out);
  // One row of ggml's SwiGLU numerics (ops.h, silu_mul_ggml).
  void (*silu_mul_ggml)(const float* gate, const float* up, int64_t n, float* out);
  void (*softmax)(float* x, int64_t n);
  void (*add_inplace)(float* y, const float* x, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);

  // Optional packed prefill path (null where absent), used for M >= packed_min_m instead of
  // matmul_rows: pack_xt writes blocks [b0, b1) of packed_block_rows rows of x, transposed
  // ([K][rows], zero-padded past M), into xT; matmul_packed_rows then computes rows
  // [n0, n1) of y from xT. Per element: sequential fma over k, independent of the split.
  int64_t packed_min_m = 0;
  int64_t packed_block_rows = 0;
  void (*pack_xt)(const float* x, int64_t M, int64_t K, int64_t b0, int64_t b1,
                  float* xT) = nullptr;
  void (*matmul_packed_rows)(const float* xT, int64_t M, const void* W, DType wt, int64_t N,
                             int64_t K, float* y, int64_t n0, int64_t n1) = nullptr;
  // The same for F8_E4M3 weights with block scales bs (exact FP8 mode, matmul_fp8.cpp): weight
  // rows widened as fp32 e4m3 * scale (one rounding each) into `scratch`, which holds
  // packed_fp8_scratch_rows(K) * K floats.
  void (*matmul_packed_fp8_rows)(const float* xT, int64_t M, const uint8_t* W, const float* bs,
                                 int64_t N, int64_t K, float* y, int64_t n0, int64_t n1,
                                 float* scratch) = nullptr;
  int64_t (*packed_fp8_scratch_rows)(int64_t K) = nullptr;
};

// Fills the packed-prefill entries of the AVX-512 table (matmul_packed_avx512.cpp).
void add_packed_avx512(KernelTable* t);

// Prefill scratch: lane partials of one row block (<= 48 rows x 8 weight rows x 16 lanes),
// then kScratchRows weight rows widened to fp32.
constexpr int64_t kPartFloats = 48 * 8 * 16;
constexpr int64_t kScratchRows = 8;

const KernelTable& table_portable();
const KernelTable& table_avx2();
const KernelTable& table_avx512();

// The table of `isa` (every path is compiled in; isa_supported() says which may run here).
// Defined in ops.cpp (a TU without ISA flags).
const KernelTable& table_for(Isa isa);

}  // namespace dsv3::kernels::detail
