// AVX-512 instantiation of the absorbed MLA decode kernel (mla_attn_impl.h): 16 fp32 lanes,
// bf16 cache rows widened by a 16-bit shift, tails by masked loads/stores; on AVX-512 BF16
// CPUs bf16 rows go through vdpbf16ps instead (mla_attn_bf16dot.h). Same exp as
// kernels_avx512.cpp (Cephes polynomial, 1-2 ulp).
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/mla_attn_bf16dot.h"
#include "kernels/mla_attn_impl.h"
#include "kernels/simd_avx512.h"

namespace dsv3::kernels::detail {
namespace {

struct M512 : Vec512 {
  static constexpr int HT = 4, NT = 6;  // score tile: 24 accumulators + 6 rows + q
  static constexpr int HV = 4, NJ = 4;  // value tile: 16 accumulators + 4 row vectors + p
  static constexpr int NJA = 8;
};

}  // namespace

const MlaAttnTable& mla_table_avx512() {
  static const MlaAttnTable t = [] {
    MlaAttnTable m = make_mla_table<M512>();
    m.partial_bf16dot = &mla_partial_blocks<M512, MlaBf16DotKernel>;
    return m;
  }();
  return t;
}

}  // namespace dsv3::kernels::detail
