// Internal: per-ISA entry points of the FP8 matmul (matmul_fp8_<isa>.cpp), dispatched by
// matmul_fp8.cpp. Single-threaded; the caller splits rows over the pool.
#pragma once
#include <cstdint>

#include "kernels/isa.h"

namespace dsv3::kernels::detail {

struct Fp8Table {
  // y[m, n] for m < M, n0 <= n < n1 of x[M, K] times the e4m3 weight w [N, K] with block scales
  // bs [ceil(N/128), ceil(K/128)]. If xs is not null (emulate mode) x holds the decoded e4m3
  // activations and xs [M, ceil(K/128)] their tile scales: each block dot is multiplied by
  // xs[m, kb] before the weight scale. The order of operations of one y[m, n] depends on K only.
  // `scratch` holds kFp8Band * K floats (used when M > 3).
  // For M <= 3 the codes are decoded as w * 2^-(8 + raw_exp) (fp8_kernels_impl.h): the caller
  // passes x[m] pre-scaled by 2^E[m] and cs[m] = 2^(8 + raw_exp - E[m]); cs is unused for M > 3.
  void (*rows)(const float* x, const float* xs, int64_t M, const uint8_t* w, const float* bs,
               int64_t N, int64_t K, const float* cs, float* y, int64_t n0, int64_t n1,
               float* scratch);
  int raw_exp = 0;
};

// Weight rows widened to fp32 at a time by the prefill path.
constexpr int64_t kFp8Band = 16;

// Decode (M <= 3) operands of Fp8Table::rows: returns x itself if raw_exp is 0, else x[m] * 2^E[m]
// written to `buf` (M * K floats); cs[m] = 2^(8 + raw_exp - E[m]) (matmul_fp8.cpp explains E).
const float* fp8_prescale_decode(const float* x, int64_t M, int64_t K, int raw_exp, float* cs,
                                 float* buf);

const Fp8Table& fp8_table_portable();
const Fp8Table& fp8_table_avx2();
const Fp8Table& fp8_table_avx512();

// The FP8 table of `isa` (every path is compiled in; isa_supported() says which may run
// here). Defined in matmul_fp8.cpp (a TU without ISA flags).
const Fp8Table& fp8_table_for(Isa isa);

}  // namespace dsv3::kernels::detail
