// ISA-generic body of the ggml block-type matmul (gguf_quants.h), templated on a traits type V
// defined in each matmul_gguf_<isa>.cpp (anonymous namespace, compiled with that file's flags).
//
// Per band of kGgufBand weight rows: each row is decoded once into unsigned byte codes in value
// order (Q8_0: q + 128, Q4_0: nib, Q4_1/Q4_K: nib, Q5_K: 5-bit, Q6_K: 6-bit) and fp32
// multipliers per sub-block of G values (ws = d or d * sc; wm = m or -(dmin * m)). Then for each
// activation row: V::dots gives the raw integer sums sum(code * xq) per G-block, and
// V::accumulate applies the offset (raw - (S << shift) = the format's signed integer dot) and
// the fp32 formula with 16 lanes (lane = block % 16) and the fixed tree of gguf_quants.h.
//
// V provides:
//   half(p): the f16 at p as fp32 (exact);
//   scale8(b8, mul, neg, out): out[j] = mul * float(byte j of b8) for j < 8, negated if neg;
//   scale16_i8(p, mul, out): out[j] = mul * float(int8 p[j]) for j < 16;
//   codes_q4k / codes_q5k / codes_q6k: one super-block's 256 codes (GgufCodesGeneric has loops);
//   dots(codes, xq, K, G, wide, out): out[b] = sum_{k < G} codes[bG + k] * xq[bG + k] (exact
//     int32; `wide`: codes may exceed 63, as for Q8_0).
//   accumulate(raw, S, shift, ws, wm, sx, dx, nb) -> y (sx: Q4_1's q8_1 sums, the min term is
//     then fma(wm, sx) instead of fma(wm * dx, float(S))).
//   kFused2 / fused2_ok(t) / fused_row2(t, row0, row1, K, xr, y[2]): the same for two rows;
//   kFusedM1 / fused_ok(t) / fused_row(t, row, K, xr, ws, wm, raw): M = 1 row product that
//     decodes in registers, with the same integers and accumulate() (same result);
//   kPacked16: whether packed16(codes, ws, wm, q81, G, shift, xa, mb, K, out[16]) exists: the same
//     outputs for the 16 activation rows of group mb of xa's transposed copy, one row per lane
//     (integer block sums with 4-byte broadcasts of the codes; the 16 block-lane accumulators
//     of the formula are 16 registers, reduced by the same tree).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/gguf_kernel_table.h"

namespace dsv3::kernels::detail {

struct GgufLayout {
  int G;         // values per multiplier (sub-block)
  int shift;     // integer offset of the codes is (1 << shift) (0: none)
  bool has_min;  // adds wm * dx * S per sub-block
  bool wide;     // codes up to 255
};

inline GgufLayout gguf_layout(DType t) {
  switch (t) {
    case DType::Q8_0:
      return {32, 7, false, true};
    case DType::Q4_0:
      return {32, 3, false, false};
    case DType::Q6_K:
      return {16, 5, false, false};
    default:  // Q4_1, Q4_K, Q5_K
      return {32, 0, true, false};
  }
}

// Plain-loop code unpacking of one K-quant super-block (256 codes), for traits without their own.
template <class V>
struct GgufCodesGeneric {
  static void codes_q4k(const uint8_t* __restrict qs, uint8_t* __restrict c) {
    for (int ch = 0; ch < 4; ++ch)
      for (int l = 0; l < 32; ++l) {
        c[64 * ch + l] = qs[32 * ch + l] & 15;
        c[64 * ch + 32 + l] = qs[32 * ch + l] >> 4;
      }
  }
  static void codes_q5k(const uint8_t* __restrict qh, const uint8_t* __restrict qs,
                        uint8_t* __restrict c) {
    for (int ch = 0; ch < 4; ++ch)
      for (int l = 0; l < 32; ++l) {
        c[64 * ch + l] = uint8_t((qs[32 * ch + l] & 15) | (((qh[l] >> (2 * ch)) & 1) << 4));
        c[64 * ch + 32 + l] = uint8_t((qs[32 * ch + l] >> 4) | (((qh[l] >> (2 * ch + 1)) & 1) << 4));
      }
  }
  static void codes_q6k(const uint8_t* __restrict p, uint8_t* __restrict c) {
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = p + 64 * h;
      const uint8_t* qh = p + 128 + 32 * h;
      uint8_t* o = c + 128 * h;
      for (int l = 0; l < 32; ++l) {
        o[l] = uint8_t((ql[l] & 15) | ((qh[l] & 3) << 4));
        o[32 + l] = uint8_t((ql[32 + l] & 15) | (((qh[l] >> 2) & 3) << 4));
        o[64 + l] = uint8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        o[96 + l] = uint8_t((ql[32 + l] >> 4) | ((qh[l] >> 6) << 4));
      }
    }
  }
};

template <class V>
struct GgufDecode {
  static float half(const uint8_t* p) { return V::half(p); }

  static void q8_0(const uint8_t* __restrict p, int64_t nblk, uint8_t* __restrict c,
                   float* __restrict ws) {
    for (int64_t b = 0; b < nblk; ++b, p += 34, c += 32) {
      ws[b] = half(p);
      for (int k = 0; k < 32; ++k) c[k] = uint8_t(p[2 + k] ^ 0x80);
    }
  }
  static void q4_0(const uint8_t* __restrict p, int64_t nblk, uint8_t* __restrict c,
                   float* __restrict ws) {
    for (int64_t b = 0; b < nblk; ++b, p += 18, c += 32) {
      ws[b] = half(p);
      for (int l = 0; l < 16; ++l) {
        c[l] = p[2 + l] & 15;
        c[16 + l] = p[2 + l] >> 4;
      }
    }
  }
  static void q4_1(const uint8_t* __restrict p, int64_t nblk, uint8_t* __restrict c,
                   float* __restrict ws, float* __restrict wm) {
    for (int64_t b = 0; b < nblk; ++b, p += 20, c += 32) {
      ws[b] = half(p);
      wm[b] = half(p + 2);
      for (int l = 0; l < 16; ++l) {
        c[l] = p[4 + l] & 15;
        c[16 + l] = p[4 + l] >> 4;
      }
    }
  }
  // Q4_K / Q5_K scales: 6-bit sc_j, m_j from 12 bytes (see gguf_quants.h), four bytes at a
  // time: (s >> 6) << 4 of each byte is (word >> 2) & 0x30 of its 32-bit word.
  static void scales_k4(const uint8_t* p, float d, float dmin, float* ws, float* wm) {
    uint32_t w[3];
    std::memcpy(w, p, 12);
    const uint32_t sc_lo = w[0] & 0x3f3f3f3fu, m_lo = w[1] & 0x3f3f3f3fu;
    const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
    const uint32_t m_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
    V::scale8(uint64_t(sc_lo) | (uint64_t(sc_hi) << 32), d, false, ws);
    V::scale8(uint64_t(m_lo) | (uint64_t(m_hi) << 32), dmin, true, wm);
  }
  static void q4_k(const uint8_t* __restrict p, int64_t nsb, uint8_t* __restrict c,
                   float* __restrict ws, float* __restrict wm) {
    for (int64_t i = 0; i < nsb; ++i, p += 144, c += 256, ws += 8, wm += 8) {
      scales_k4(p + 4, half(p), half(p + 2), ws, wm);
      V::codes_q4k(p + 16, c);
    }
  }
  static void q5_k(const uint8_t* __restrict p, int64_t nsb, uint8_t* __restrict c,
                   float* __restrict ws, float* __restrict wm) {
    for (int64_t i = 0; i < nsb; ++i, p += 176, c += 256, ws += 8, wm += 8) {
      scales_k4(p + 4, half(p), half(p + 2), ws, wm);
      V::codes_q5k(p + 16, p + 48, c);
    }
  }
  static void q6_k(const uint8_t* __restrict p, int64_t nsb, uint8_t* __restrict c,
                   float* __restrict ws) {
    for (int64_t i = 0; i < nsb; ++i, p += 210, c += 256, ws += 16) {
      V::scale16_i8(reinterpret_cast<const int8_t*>(p + 192), half(p + 208), ws);
      V::codes_q6k(p, c);
    }
  }

  static void row(DType t, const uint8_t* p, int64_t K, uint8_t* c, float* ws, float* wm) {
    switch (t) {
      case DType::Q8_0:
        return q8_0(p, K / 32, c, ws);
      case DType::Q4_0:
        return q4_0(p, K / 32, c, ws);
      case DType::Q4_1:
        return q4_1(p, K / 32, c, ws, wm);
      case DType::Q4_K:
        return q4_k(p, K / 256, c, ws, wm);
      case DType::Q5_K:
        return q5_k(p, K / 256, c, ws, wm);
      case DType::Q6_K:
        return q6_k(p, K / 256, c, ws);
      default:
        return;
    }
  }
};

template <class V>
void gguf_rows(const Q8Acts& xa, const uint8_t* W, DType wt, size_t row_bytes, int64_t N,
               int64_t K, float* y, int64_t n0, int64_t n1, uint8_t* scratch) {
  const GgufLayout L = gguf_layout(wt);
  const int64_t nb = K / L.G, stride16 = K / 16;
  if constexpr (V::kFusedM1) {
    if (xa.M == 1 && xa.M16 == 0 && V::fused_ok(wt)) {  // decode: codes stay in registers
      const Q8Row xr = xa.row(0);
      float* fws = reinterpret_cast<float*>(scratch);
      float* fwm = fws + stride16;
      int32_t* fraw = reinterpret_cast<int32_t*>(fwm + stride16);
      int64_t r = n0;
      if constexpr (V::kFused2) {  // two rows per pass where V has it (same per-row result)
        if (V::fused2_ok(wt))
          for (; r + 2 <= n1; r += 2)
            V::fused_row2(wt, W + size_t(r) * row_bytes, W + size_t(r + 1) * row_bytes, K, xr, y + r);
      }
      for (; r < n1; ++r)
        y[r] = V::fused_row(wt, W + size_t(r) * row_bytes, K, xr, fws, fwm, fraw);
      return;
    }
  }
  uint8_t* codes = scratch;
  float* ws = reinterpret_cast<float*>(scratch + kGgufBand * K);
  float* wm = ws + kGgufBand * stride16;
  int32_t* raw = reinterpret_cast<int32_t*>(wm + kGgufBand * stride16);
  for (int64_t r0 = n0; r0 < n1; r0 += kGgufBand) {
    const int64_t r1 = r0 + kGgufBand < n1 ? r0 + kGgufBand : n1;
    for (int64_t r = r0; r < r1; ++r)
      GgufDecode<V>::row(wt, W + size_t(r) * row_bytes, K, codes + (r - r0) * K,
                         ws + (r - r0) * stride16, wm + (r - r0) * stride16);
    if constexpr (V::kPacked16) {
      if (xa.M16 > 0) {  // packed: 16 activation rows per pass (lanes), see V::packed16
        float out[16];
        for (int64_t mb = 0; mb < xa.M16 / 16; ++mb)
          for (int64_t r = r0; r < r1; ++r) {
            V::packed16(codes + (r - r0) * K, ws + (r - r0) * stride16,
                        L.has_min ? wm + (r - r0) * stride16 : nullptr, wt == DType::Q4_1, L.G,
                        L.shift, xa, mb, K, out);
            for (int64_t i = 0; i < 16 && mb * 16 + i < xa.M; ++i) y[(mb * 16 + i) * N + r] = out[i];
          }
        continue;
      }
    }
    for (int64_t m = 0; m < xa.M; ++m) {
      const Q8Row xr = xa.row(m);
      const int32_t* S = L.G == 32 ? xr.s32 : xr.s16;
      const float* dx = L.G == 32 ? xr.d32 : xr.d16;
      for (int64_t r = r0; r < r1; ++r) {
        V::dots(codes + (r - r0) * K, xr.q, K, L.G, L.wide, raw);
        y[m * N + r] = V::accumulate(raw, S, L.shift, ws + (r - r0) * stride16,
                                     L.has_min ? wm + (r - r0) * stride16 : nullptr,
                                     wt == DType::Q4_1 ? xr.sx32 : nullptr, dx, nb);
      }
    }
  }
}

}  // namespace dsv3::kernels::detail
