// Overflow-checked int64 arithmetic for size products built from untrusted config values.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "core/error.h"

namespace dsv3::analyze {

// Product of all factors; throws dsv3::Error instead of overflowing.
inline int64_t cmul(std::initializer_list<int64_t> factors) {
  int64_t r = 1;
  for (int64_t f : factors)
    DSV3_CHECK(!__builtin_mul_overflow(r, f, &r), "size overflow: config values are too large");
  return r;
}

// Sum of all terms; throws dsv3::Error instead of overflowing.
inline int64_t cadd(std::initializer_list<int64_t> terms) {
  int64_t r = 0;
  for (int64_t t : terms)
    DSV3_CHECK(!__builtin_add_overflow(r, t, &r), "size overflow: config values are too large");
  return r;
}

}  // namespace dsv3::analyze
