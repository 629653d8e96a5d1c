// Internal: per-ISA entry points of the absorbed MLA decode kernel (mla_attn.h), filled by
// mla_attn_<isa>.cpp from the templates in mla_attn_impl.h; mla_attn.cpp dispatches.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/mla_attn.h"

namespace dsv3::kernels::detail {

// Scratch floats a partial needs (scores of one block, the kernel's own copy of the query and
// its packed weights); mla_attn.cpp hands each thread this many.
inline int64_t mla_scratch_floats(int64_t H, int64_t W) {
  return H * kMlaAttnMaxBlock + H * (W + 32) + H * (kMlaAttnMaxBlock + 2);
}

struct MlaAttnTable {
  // mla_attn_partial; scratch holds mla_scratch_floats(H, r + dr) floats.
  void (*partial)(const MlaAttnShape& s, const float* qcat, const LatentSource& src, int64_t t0,
                  int64_t t1, float* m, float* l, float* acc, float* scratch);
  // The same for BF16 rows with vdpbf16ps (AVX-512 BF16 CPUs only; null elsewhere).
  void (*partial_bf16dot)(const MlaAttnShape& s, const float* qcat, const LatentSource& src,
                          int64_t t0, int64_t t1, float* m, float* l, float* acc, float* scratch) = nullptr;
  // y[j] += sum_i a[i] * w[i * ld + j] for a weight of dtype F32, BF16 or F16.
  void (*rows_axpy)(const float* a, int64_t n, const void* w, DType dt, int64_t ld, int64_t cols,
                    float* y);
};

const MlaAttnTable& mla_table_portable();
const MlaAttnTable& mla_table_avx2();
const MlaAttnTable& mla_table_avx512();

}  // namespace dsv3::kernels::detail
