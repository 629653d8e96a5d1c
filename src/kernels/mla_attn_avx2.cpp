// AVX2 + FMA + F16C instantiation of the absorbed MLA decode kernel (mla_attn_impl.h): 8 fp32
// lanes, tails through zero-padded stack copies (nothing read past the end). Same exp as
// kernels_avx2.cpp.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#include "kernels/mla_attn_impl.h"
#include "kernels/simd_avx2.h"

namespace dsv3::kernels::detail {
namespace {

struct M256 : Vec256 {
  static constexpr int HT = 2, NT = 4;  // 16 ymm: 8 accumulators + 4 rows + q
  static constexpr int HV = 2, NJ = 4;
  static constexpr int NJA = 4;
};

}  // namespace

const MlaAttnTable& mla_table_avx2() {
  static const MlaAttnTable t = make_mla_table<M256>();
  return t;
}

}  // namespace dsv3::kernels::detail
