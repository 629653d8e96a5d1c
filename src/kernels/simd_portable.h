// Portable (plain C++) 8-lane fp32 "register" shared by the portable instantiations of the
// kernel templates (kernels_portable.cpp, mla_attn_portable.cpp): same blocking and summation
// order as the SIMD paths, std::exp for exp. Each kernel file derives its own struct from
// VecPortable adding only its tile sizes. No ISA flags.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/exp_ggml.h"

namespace dsv3::kernels::detail {

struct VecPortable {
  struct R {
    float v[8];
  };
  static constexpr int L = 8;

  static R zero() { return set1(0.0f); }
  static R set1(float a) {
    R r;
    for (int i = 0; i < L; ++i) r.v[i] = a;
    return r;
  }
  static R load(const float* p) {
    R r;
    for (int i = 0; i < L; ++i) r.v[i] = p[i];
    return r;
  }
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
  static R div(R a, R b) {
    for (int i = 0; i < L; ++i) a.v[i] = a.v[i] / b.v[i];
    return a;
  }
  static R max(R a, R b) {
    for (int i = 0; i < L; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return a;
  }
  // a*b+c with two roundings (no FMA contraction in ISO C++ mode).
  static R fma(R a, R b, R c) {
    for (int i = 0; i < L; ++i) c.v[i] = a.v[i] * b.v[i] + c.v[i];
    return c;
  }
  static float hsum(R a) {
    return ((a.v[0] + a.v[4]) + (a.v[2] + a.v[6])) + ((a.v[1] + a.v[5]) + (a.v[3] + a.v[7]));
  }
  static float hmax(R a) {
    float m = a.v[0];
    for (int i = 1; i < L; ++i) m = a.v[i] > m ? a.v[i] : m;
    return m;
  }
  static R exp(R a) {
    for (int i = 0; i < L; ++i) a.v[i] = std::exp(a.v[i]);
    return a;
  }
  static R exp_ggml(R a) {
    for (int i = 0; i < L; ++i) a.v[i] = exp_ggml_scalar(a.v[i]);
    return a;
  }
};

}  // namespace dsv3::kernels::detail
