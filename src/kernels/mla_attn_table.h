// Internal: per-ISA entry points of the absorbed MLA decode kernel (mla_attn.h), filled by
// mla_attn_<isa>.cpp from the templates in mla_attn_impl.h; mla_attn.cpp dispatches.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/mla_attn.h"

namespace dsv3::kernels::detail {

struct MlaAttnTable {
  // mla_attn_partial; sbuf holds H * kMlaAttnBlock floats.
  void (*partial)(const MlaAttnShape& s, const float* qcat, const LatentSource& src, int64_t t0,
                  int64_t t1, float* m, float* l, float* acc, float* sbuf);
  // y[j] += sum_i a[i] * w[i * ld + j] for a weight of dtype F32, BF16 or F16.
  void (*rows_axpy)(const float* a, int64_t n, const void* w, DType dt, int64_t ld, int64_t cols,
                    float* y);
};

const MlaAttnTable& mla_table_portable();
const MlaAttnTable& mla_table_avx2();
const MlaAttnTable& mla_table_avx512();

}  // namespace dsv3::kernels::detail
