// AVX2 + FMA + F16C instantiation of the fast kernels: 8 fp32 lanes; tails go through a
// zero-padded stack copy (AVX2 has no masked 16-bit loads), so nothing is read past the end.
// g++ contracts a*b+c into FMA by default in C++ when FMA is enabled, which would make the
// "product then sum" kernels (axpy, the exp polynomial set-up) differ from their scalar
// twins; every FMA here is written explicitly instead.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#include "kernels/kernels_impl.h"
#include "kernels/simd_avx2.h"

namespace dsv3::kernels::detail {
namespace {

struct V256 : Vec256 {
  static constexpr int MR = 2, NR = 4;  // 16 ymm registers: 8 accumulators + 4 weights + x
  static constexpr int NR1 = 8, NR2 = 3;
};

}  // namespace

const KernelTable& table_avx2() {
  static const KernelTable t = make_table<V256>();
  return t;
}

}  // namespace dsv3::kernels::detail
