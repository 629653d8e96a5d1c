// Portable (scalar) instantiation of the ggml block-type matmul (gguf_kernels_impl.h): plain
// integer dot loops and 16 fp32 lanes with std::fma, the reference order of gguf_quants.h.
#pragma GCC optimize("fp-contract=off")

#include <cmath>
#include <cstring>

#include "kernels/gguf_kernels_impl.h"

namespace dsv3::kernels::detail {
namespace {

struct VPortable : GgufCodesGeneric<VPortable> {
  static constexpr bool kPacked16 = false;
  static constexpr bool kFusedM1 = false;
  static bool fused_ok(DType) { return false; }
  static float fused_row(DType, const uint8_t*, int64_t, const Q8Row&, float*, float*, int32_t*) {
    return 0.0f;
  }
  static void packed16(const uint8_t*, const float*, const float*, bool, int, int, const Q8Acts&,
                       int64_t, int64_t, float*) {}
  static float half(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16_to_f32(h);
  }
  static void scale8(uint64_t b8, float mul, bool neg, float* out) {
    for (int j = 0; j < 8; ++j) {
      const float v = mul * float((b8 >> (8 * j)) & 0xff);
      out[j] = neg ? -v : v;
    }
  }
  static void scale16_i8(const int8_t* p, float mul, float* out) {
    for (int j = 0; j < 16; ++j) out[j] = mul * float(p[j]);
  }
  static void dots(const uint8_t* c, const int8_t* x, int64_t K, int G, bool, int32_t* out) {
    for (int64_t b = 0; b < K / G; ++b) {
      int32_t s = 0;
      for (int k = 0; k < G; ++k) s += int32_t(c[b * G + k]) * int32_t(x[b * G + k]);
      out[b] = s;
    }
  }
  static float accumulate(const int32_t* raw, const int32_t* S, int shift, const float* ws,
                          const float* wm, const float* sx, const float* dx, int64_t nb) {
    float acc[16] = {};
    for (int64_t b = 0; b < nb; ++b) {
      const int32_t I = shift ? raw[b] - S[b] * (int32_t(1) << shift) : raw[b];
      float& lane = acc[b % 16];
      lane = std::fma(ws[b] * dx[b], float(I), lane);
      if (sx)
        lane = std::fma(wm[b], sx[b], lane);
      else if (wm)
        lane = std::fma(wm[b] * dx[b], float(S[b]), lane);
    }
    float s[4];
    for (int i = 0; i < 4; ++i) s[i] = (acc[i] + acc[i + 8]) + (acc[i + 4] + acc[i + 12]);
    return (s[0] + s[2]) + (s[1] + s[3]);
  }
};

}  // namespace

const GgufTable& gguf_table_portable() {
  static const GgufTable t{&gguf_rows<VPortable>};
  return t;
}

}  // namespace dsv3::kernels::detail
