// Portable (scalar, one lane) instantiation of the FP8 matmul: codes decoded through the
// 256-entry e4m3 table (pre-divided by 2^8 to share the fast paths' folded block scale).
#pragma GCC optimize("fp-contract=off")

#include "core/fp8.h"
#include "kernels/fp8_kernels_impl.h"

namespace dsv3::kernels::detail {
namespace {

// e4m3 values times 2^-8, NaN codes as ±480 * 2^-8 like the vector paths (exact scaling).
struct ScaledTable {
  float v[256];
  ScaledTable() {
    for (int b = 0; b < 256; ++b) {
      const bool nan = (b & 0x7f) == 0x7f;
      const float x = nan ? ((b & 0x80) ? -480.0f : 480.0f) : e4m3_to_f32(uint8_t(b));
      v[b] = x * (1.0f / 256.0f);
    }
  }
};
const ScaledTable& scaled() {
  static const ScaledTable t;
  return t;
}

struct V1 {
  using R = float;
  static constexpr int L = 1;
  static constexpr int MR = 4, NR = 2;
  static constexpr int NR1 = 4;
  static R zero() { return 0.0f; }
  static R set1(float a) { return a; }
  static R load(const float* p) { return *p; }
  static R load_n(const float* p, int) { return *p; }  // never called with L = 1
  static void store(float* p, R v) { *p = v; }
  static void store_n(float* p, R v, int) { *p = v; }
  static R decode(const uint8_t* p) { return scaled().v[*p]; }
  static R decode_n(const uint8_t* p, int) { return scaled().v[*p]; }
  static constexpr int kRawExp = 0;  // decode_raw is decode
  static R decode_raw(const uint8_t* p) { return scaled().v[*p]; }
  static R decode_raw_n(const uint8_t* p, int) { return scaled().v[*p]; }
  static R mul(R a, R b) { return a * b; }
  static R fma(R a, R b, R c) { return a * b + c; }
  static float hsum(R v) { return v; }
};

}  // namespace

const Fp8Table& fp8_table_portable() {
  static const Fp8Table t{&fp8_rows<V1>, V1::kRawExp};
  return t;
}

}  // namespace dsv3::kernels::detail
