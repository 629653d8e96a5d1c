// Scalar reference code for the ggml block types (gguf_quants.h): dequantisation written from
// the block formats, activation quantisation to 8 bits per 32-block, and matmul_gguf_ref.
#pragma GCC optimize("fp-contract=off")

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/gguf_quants.h"
#include "kernels/isa.h"
#include "kernels/quantize_q8k.h"

namespace dsv3::kernels {

namespace {

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// One block unpacked: integer value q[k] (for k < block size) and per sub-block multipliers:
// w_k = ws[k / sub] * q[k] (+ wm[k / sub] when has_min).
struct Unpacked {
  int sub = 32;         // values per sub-block
  bool has_min = false;
  int32_t q[256];
  float ws[16];
  float wm[16];
};

// 6-bit scale and min of Q4_K/Q5_K sub-block j from the 12 packed bytes.
void scale_min_k4(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void unpack(DType t, const uint8_t* b, Unpacked* u) {
  switch (t) {
    case DType::Q8_0:
      u->ws[0] = half(b);
      for (int k = 0; k < 32; ++k) u->q[k] = int8_t(b[2 + k]);
      return;
    case DType::Q4_0:
      u->ws[0] = half(b);
      for (int l = 0; l < 16; ++l) {
        u->q[l] = (b[2 + l] & 15) - 8;
        u->q[l + 16] = (b[2 + l] >> 4) - 8;
      }
      return;
    case DType::Q4_1:
      u->has_min = true;
      u->ws[0] = half(b);
      u->wm[0] = half(b + 2);
      for (int l = 0; l < 16; ++l) {
        u->q[l] = b[4 + l] & 15;
        u->q[l + 16] = b[4 + l] >> 4;
      }
      return;
    case DType::Q4_K:
    case DType::Q5_K: {
      u->has_min = true;
      const float d = half(b), dmin = half(b + 2);
      const uint8_t* sc = b + 4;
      const bool five = t == DType::Q5_K;
      const uint8_t* qh = b + 16;
      const uint8_t* qs = five ? b + 48 : b + 16;
      for (int j = 0; j < 8; ++j) {
        int s, m;
        scale_min_k4(sc, j, &s, &m);
        u->ws[j] = d * float(s);
        u->wm[j] = -(dmin * float(m));
      }
      for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
          int lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
          if (five) {
            lo += 16 * ((qh[l] >> (2 * c)) & 1);
            hi += 16 * ((qh[l] >> (2 * c + 1)) & 1);
          }
          u->q[64 * c + l] = lo;
          u->q[64 * c + 32 + l] = hi;
        }
      return;
    }
    case DType::Q6_K: {
      u->sub = 16;
      const uint8_t* ql = b;
      const uint8_t* qh = b + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
      const float d = half(b + 208);
      for (int j = 0; j < 16; ++j) u->ws[j] = d * float(sc[j]);
      for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g)
          for (int l = 0; l < 32; ++l) {
            const uint8_t lq = ql[64 * h + 32 * (g & 1) + l];
            const int low = g < 2 ? (lq & 15) : (lq >> 4);
            const int high = (qh[32 * h + l] >> (2 * g)) & 3;
            u->q[128 * h + 32 * g + l] = (low | (high << 4)) - 32;
          }
      return;
    }
    default:
      fail("not a ggml block type: ", dtype_name(t));
  }
}

}  // namespace

void dequantize_row_ref(DType t, const void* src, int64_t n, float* out) {
  DSV3_CHECK(dtype_is_block(t), "dequantize_row_ref: ", dtype_name(t), " is not a ggml block type");
  const int64_t be = dtype_block_elems(t), bb = dtype_block_bytes(t);
  DSV3_CHECK(n >= 0 && n % be == 0, "dequantize_row_ref: ", n, " ", dtype_name(t),
             " values is not a multiple of the block size ", be);
  const uint8_t* p = static_cast<const uint8_t*>(src);
  Unpacked u;
  for (int64_t b = 0; b < n / be; ++b) {
    unpack(t, p + b * bb, &u);
    float* o = out + b * be;
    for (int64_t k = 0; k < be; ++k) {
      const float v = u.ws[k / u.sub] * float(u.q[k]);
      o[k] = u.has_min ? v + u.wm[k / u.sub] : v;
    }
  }
}

namespace {
float round_f16(float f) { return f16_to_f32(f32_to_f16(f)); }
// round half even with a clamp to [-127, 127] first (NaN goes to 127), as the SIMD conversions
// in the default rounding mode.
// (v + 1.5 * 2^23) - 1.5 * 2^23 is v rounded half-even for |v| <= 2^22, as ggml's nearest_int.
int8_t q8_round(float v) {
  v = v <= 127.0f ? v : 127.0f;  // NaN -> 127, like fmin(127, v)
  v = v >= -127.0f ? v : -127.0f;
  return int8_t(int((v + 12582912.0f) - 12582912.0f));
}
}  // namespace

void quantize_acts_q8(const float* x, int64_t M, int64_t K, Q8Acts* a, DType wt) {
  DSV3_CHECK(dtype_is_block(wt), "quantize_acts_q8: ", dtype_name(wt), " is not a ggml block type");
  const bool kq = dtype_block_elems(wt) == 256;  // K-quants: ggml's q8_K
  DSV3_CHECK(K % (kq ? 256 : 32) == 0, "quantize_acts_q8: row length ", K,
             " is not a multiple of ", kq ? 256 : 32, " (", dtype_name(wt), ")");
  a->M = M;
  a->K = K;
  a->q.resize(size_t(M * K));
  a->d32.resize(size_t(M * K / 32));
  a->d16.resize(size_t(M * K / 16));
  a->s32.resize(size_t(M * K / 32));
  a->s16.resize(size_t(M * K / 16));
  a->sx32.resize(size_t(M * K / 32));
  if (kq && current_isa() != Isa::Portable) {  // vectorised, same bits as the loop below
    const int64_t nb = M * K / 256;
    thread_local std::vector<float> dblk;
    dblk.resize(size_t(nb));
    if (current_isa() == Isa::Avx512)
      detail::quantize_q8k_avx512(x, nb, a->q.data(), dblk.data(), a->s16.data());
    else
      detail::quantize_q8k_avx2(x, nb, a->q.data(), dblk.data(), a->s16.data());
    for (int64_t b = 0; b < nb; ++b) {
      const float d = dblk[size_t(b)];
      for (int j = 0; j < 16; ++j) a->d16[size_t(16 * b + j)] = d;
      for (int j = 0; j < 8; ++j) {
        a->s32[size_t(8 * b + j)] = a->s16[size_t(16 * b + 2 * j)] + a->s16[size_t(16 * b + 2 * j + 1)];
        a->d32[size_t(8 * b + j)] = d;
        a->sx32[size_t(8 * b + j)] = 0.0f;
      }
    }
    return;
  }
  if (kq) {  // the reference loop (and the portable path)
    for (int64_t b = 0; b < M * K / 256; ++b) {
      const float* xb = x + b * 256;
      float amax = 0.0f, vmax = 0.0f;
      for (int k = 0; k < 256; ++k) {
        const float ax = std::fabs(xb[k]);
        if (ax > amax) {
          amax = ax;
          vmax = xb[k];
        }
      }
      const float iscale = amax != 0.0f ? -127.0f / vmax : 0.0f;
      const float d = amax != 0.0f ? 1.0f / iscale : 0.0f;
      int8_t* q = a->q.data() + b * 256;
      for (int k = 0; k < 256; ++k) q[k] = q8_round(iscale * xb[k]);
      for (int j = 0; j < 16; ++j) {
        int32_t s = 0;
        for (int k = 0; k < 16; ++k) s += q[16 * j + k];
        a->s16[size_t(16 * b + j)] = s;
        a->d16[size_t(16 * b + j)] = d;
      }
      for (int j = 0; j < 8; ++j) {
        a->s32[size_t(8 * b + j)] = a->s16[size_t(16 * b + 2 * j)] + a->s16[size_t(16 * b + 2 * j + 1)];
        a->d32[size_t(8 * b + j)] = d;
        a->sx32[size_t(8 * b + j)] = 0.0f;
      }
    }
    return;
  }
  for (int64_t b = 0; b < M * K / 32; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(xb[k]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int32_t s[2] = {0, 0};
    for (int k = 0; k < 32; ++k) {
      const int8_t q = q8_round(xb[k] * id);
      a->q[size_t(b * 32 + k)] = q;
      s[k / 16] += q;
    }
    const float dh = round_f16(d);
    a->d32[size_t(b)] = dh;
    a->d16[size_t(2 * b)] = a->d16[size_t(2 * b + 1)] = dh;
    a->s32[size_t(b)] = s[0] + s[1];
    a->s16[size_t(2 * b)] = s[0];
    a->s16[size_t(2 * b + 1)] = s[1];
    a->sx32[size_t(b)] = round_f16(float(s[0] + s[1]) * d);
  }
}

void pack_acts16(Q8Acts* a) {
  const int64_t M = a->M, K = a->K, MB = (M + 15) / 16;
  a->M16 = MB * 16;
  a->qt.assign(size_t(MB * K * 16), 0);
  a->d32t.assign(size_t(MB * (K / 32) * 16), 0.0f);
  a->s32t.assign(size_t(MB * (K / 32) * 16), 0);
  a->s16t.assign(size_t(MB * (K / 16) * 16), 0);
  a->sx32t.assign(size_t(MB * (K / 32) * 16), 0.0f);
  for (int64_t m = 0; m < M; ++m) {
    const int64_t mb = m / 16, i = m % 16;
    for (int64_t k4 = 0; k4 < K / 4; ++k4)
      std::memcpy(&a->qt[size_t(((mb * (K / 4) + k4) * 16 + i) * 4)], &a->q[size_t(m * K + 4 * k4)], 4);
    for (int64_t b = 0; b < K / 32; ++b) {
      a->d32t[size_t((mb * (K / 32) + b) * 16 + i)] = a->d32[size_t(m * (K / 32) + b)];
      a->s32t[size_t((mb * (K / 32) + b) * 16 + i)] = a->s32[size_t(m * (K / 32) + b)];
      a->sx32t[size_t((mb * (K / 32) + b) * 16 + i)] = a->sx32[size_t(m * (K / 32) + b)];
    }
    for (int64_t b = 0; b < K / 16; ++b)
      a->s16t[size_t((mb * (K / 16) + b) * 16 + i)] = a->s16[size_t(m * (K / 16) + b)];
  }
}

void matmul_gguf_ref(const float* x, int64_t M, const TensorView& W, float* y) {
  check_gguf_weight(W, "matmul_gguf_ref");
  const int64_t N = W.rows(), K = W.cols(), be = dtype_block_elems(W.dtype);
  const size_t row_bytes = dtype_row_bytes(W.dtype, K);
  Q8Acts a;
  quantize_acts_q8(x, M, K, &a, W.dtype);
  Unpacked u;
  for (int64_t m = 0; m < M; ++m) {
    const Q8Row xr = a.row(m);
    for (int64_t n = 0; n < N; ++n) {
      const uint8_t* wrow = W.as<uint8_t>() + size_t(n) * row_bytes;
      float acc[16] = {};
      int64_t sb = 0;  // sub-block index along the row
      for (int64_t blk = 0; blk < K / be; ++blk) {
        unpack(W.dtype, wrow + blk * dtype_block_bytes(W.dtype), &u);
        for (int64_t j = 0; j < be / u.sub; ++j, ++sb) {
          const int64_t k0 = blk * be + j * u.sub;
          int32_t I = 0;
          for (int k = 0; k < u.sub; ++k) I += u.q[j * u.sub + k] * int32_t(xr.q[k0 + k]);
          const float dx = xr.d32[k0 / 32];
          float& lane = acc[sb % 16];
          lane = std::fma(u.ws[j] * dx, float(I), lane);
          if (W.dtype == DType::Q4_1)
            lane = std::fma(u.wm[j], xr.sx32[k0 / 32], lane);
          else if (u.has_min)
            lane = std::fma(u.wm[j] * dx, float(xr.s32[k0 / 32]), lane);
        }
      }
      float s[4];
      for (int i = 0; i < 4; ++i) s[i] = (acc[i] + acc[i + 8]) + (acc[i + 4] + acc[i + 12]);
      y[m * N + n] = (s[0] + s[2]) + (s[1] + s[3]);
    }
  }
}

void gguf_weight_row(const TensorView& W, int64_t r, float* out) {
  check_gguf_weight(W, "weight_row");
  DSV3_CHECK(r >= 0 && r < W.rows(), "weight_row: row ", r, " out of range for ", shape_string(W));
  const size_t rb = dtype_row_bytes(W.dtype, W.cols());
  dequantize_row_ref(W.dtype, W.as<uint8_t>() + size_t(r) * rb, W.cols(), out);
}

void check_gguf_weight(const TensorView& W, const char* what) {
  DSV3_CHECK(dtype_is_block(W.dtype), what, ": weight dtype ", dtype_name(W.dtype),
             " is not a ggml block type");
  DSV3_CHECK(W.ndim == 2, what, ": ", dtype_name(W.dtype), " weight must be 2-D, got ",
             shape_string(W));
  DSV3_CHECK(W.cols() % dtype_block_elems(W.dtype) == 0, what, ": ", dtype_name(W.dtype),
             " weight ", shape_string(W), " row length is not a multiple of the block size ",
             dtype_block_elems(W.dtype));
  DSV3_CHECK(W.data != nullptr || W.numel() == 0, what, ": weight has no data");
}

}  // namespace dsv3::kernels
