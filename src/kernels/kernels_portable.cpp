// Portable (plain C++) instantiation of the fast kernels: an 8-lane "register" of floats,
// the same blocking and summation order as the SIMD paths, std::exp for exp. No ISA flags.
#include <cmath>

#include "kernels/kernels_impl.h"
#include "kernels/simd_portable.h"

namespace dsv3::kernels::detail {
namespace {

struct VP : VecPortable {
  static constexpr int MR = 2, NR = 2;
  static constexpr int NR1 = 4, NR2 = 2;
};

}  // namespace

const KernelTable& table_portable() {
  static const KernelTable t = make_table<VP>();
  return t;
}

}  // namespace dsv3::kernels::detail
