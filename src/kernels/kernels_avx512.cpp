// AVX-512 (F, BW, VL, DQ) instantiation of the fast kernels: 16 fp32 lanes, bf16 widened by a
// 16-bit shift, f16 by vcvtph2ps, tails by masked loads/stores (no reads past the end).
// g++ contracts a*b+c into FMA by default in C++ when FMA is enabled, which would make the
// "product then sum" kernels (axpy, the exp polynomial set-up) differ from their scalar
// twins; every FMA here is written explicitly instead.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/kernels_impl.h"
#include "kernels/matvec_stream.h"
#include "kernels/simd_avx512.h"

namespace dsv3::kernels::detail {
namespace {

struct V512 : Vec512 {
  static constexpr int MR = 4, NR = 6;  // prefill tile: 24 accumulators + 6 weights + x
  static constexpr int NR1 = 8, NR2 = 4;
};

}  // namespace

const KernelTable& table_avx512() {
  static const KernelTable t = [] {
    KernelTable k = make_table<V512>();
    k.matmul_rows = &stream_matmul_rows<V512>;  // decode rows as one stream (matvec_stream.h)
    k.gate_up_rows = &stream_gate_up_rows<V512>;
    add_packed_avx512(&k);
    return k;
  }();
  return t;
}

}  // namespace dsv3::kernels::detail
