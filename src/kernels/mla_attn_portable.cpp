// Portable (plain C++) instantiation of the absorbed MLA decode kernel (mla_attn_impl.h): an
// 8-lane array "register", std::exp, no ISA flags.
#include <cmath>

#include "kernels/mla_attn_impl.h"
#include "kernels/simd_portable.h"

namespace dsv3::kernels::detail {
namespace {

struct MP : VecPortable {
  static constexpr int HT = 2, NT = 2;
  static constexpr int HV = 2, NJ = 2;
  static constexpr int NJA = 2;
};

}  // namespace

const MlaAttnTable& mla_table_portable() {
  static const MlaAttnTable t = make_mla_table<MP>();
  return t;
}

}  // namespace dsv3::kernels::detail
