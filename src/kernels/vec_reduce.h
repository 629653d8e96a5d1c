// Reductions over float arrays written once for any vector-traits type V (simd_*.h: R, L, load,
// max, hmax), shared by the ISA-generic kernel bodies (kernels_impl.h, mla_attn_impl.h).
#pragma once
#include <cstdint>

namespace dsv3::kernels::detail {

// max(x[0, n)) for n >= 1: whole vectors, then a scalar tail. Exact, so the order of the
// comparisons does not matter (same value on every ISA).
template <class V>
inline float max_n(const float* x, int64_t n) {
  float mx = x[0];
  int64_t i = 1;
  if (n >= V::L) {
    typename V::R m = V::load(x);
    for (i = V::L; i + V::L <= n; i += V::L) m = V::max(m, V::load(x + i));
    mx = V::hmax(m);
  }
  for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  return mx;
}

}  // namespace dsv3::kernels::detail
