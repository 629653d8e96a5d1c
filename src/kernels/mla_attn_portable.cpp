// Portable (plain C++) instantiation of the absorbed MLA decode kernel (mla_attn_impl.h): an
// 8-lane array "register", std::exp, no ISA flags.
#include <cmath>

#include "kernels/mla_attn_impl.h"

namespace dsv3::kernels::detail {
namespace {

struct MP {
  struct R {
    float v[8];
  };
  static constexpr int L = 8;
  static constexpr int HT = 2, NT = 2;
  static constexpr int HV = 2, NJ = 2;
  static constexpr int NJA = 2;

  static R zero() { return set1(0.0f); }
  static R set1(float a) {
    R r;
    for (int i = 0; i < L; ++i) r.v[i] = a;
    return r;
  }
  static R load(const float* p) { return load_n(p, L); }
  static R load_n(const float* p, int n) {
    R r = zero();
    for (int i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static R load_bf16(const uint16_t* p) { return load_bf16_n(p, L); }
  static R load_bf16_n(const uint16_t* p, int n) {
    R r = zero();
    for (int i = 0; i < n; ++i) r.v[i] = bf16_to_f32(p[i]);
    return r;
  }
  static R load_f16(const uint16_t* p) { return load_f16_n(p, L); }
  static R load_f16_n(const uint16_t* p, int n) {
    R r = zero();
    for (int i = 0; i < n; ++i) r.v[i] = f16_to_f32(p[i]);
    return r;
  }
  static void store(float* p, R v) { store_n(p, v, L); }
  static void store_n(float* p, R v, int n) {
    for (int i = 0; i < n; ++i) p[i] = v.v[i];
  }
  static R add(R a, R b) {
    for (int i = 0; i < L; ++i) a.v[i] = a.v[i] + b.v[i];
    return a;
  }
  static R sub(R a, R b) {
    for (int i = 0; i < L; ++i) a.v[i] = a.v[i] - b.v[i];
    return a;
  }
  static R mul(R a, R b) {
    for (int i = 0; i < L; ++i) a.v[i] = a.v[i] * b.v[i];
    return a;
  }
  static R fma(R a, R b, R c) {
    for (int i = 0; i < L; ++i) c.v[i] = a.v[i] * b.v[i] + c.v[i];
    return c;
  }
  static float hsum(R a) {
    return ((a.v[0] + a.v[4]) + (a.v[2] + a.v[6])) + ((a.v[1] + a.v[5]) + (a.v[3] + a.v[7]));
  }
  static R exp(R a) {
    for (int i = 0; i < L; ++i) a.v[i] = std::exp(a.v[i]);
    return a;
  }
};

}  // namespace

const MlaAttnTable& mla_table_portable() {
  static const MlaAttnTable t = make_mla_table<MP>();
  return t;
}

}  // namespace dsv3::kernels::detail
