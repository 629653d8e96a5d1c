// Scalar reference kernels: the plain loops that the fast kernels are tested against.
// Written for clarity, not speed; fp32 accumulation in natural index order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "kernels/exp_ggml.h"
#include "kernels/gguf_quants.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

float weight_at(const TensorView& w, int64_t i) {
  switch (w.dtype) {
    case DType::F32:
      return w.as<float>()[i];
    case DType::BF16:
      return bf16_to_f32(w.as<uint16_t>()[i]);
    case DType::F16:
      return f16_to_f32(w.as<uint16_t>()[i]);
    case DType::F8_E4M3:
      return fp8_weight_at(w, i / w.cols(), i % w.cols());  // FP8 issue
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: {  // GGUF block types: decode the block holding element i
      const int64_t be = dtype_block_elems(w.dtype), K = w.ndim >= 2 ? w.cols() : w.numel();
      DSV3_CHECK(K % be == 0, "weight_at: ", dtype_name(w.dtype), " tensor ", shape_string(w),
                 " row length is not a multiple of the block size ", be);
      const int64_t r = i / K, c = i % K;
      float blk[256];
      dequantize_row_ref(w.dtype,
                         w.as<uint8_t>() + size_t(r) * dtype_row_bytes(w.dtype, K) +
                             size_t(c / be) * size_t(dtype_block_bytes(w.dtype)),
                         be, blk);
      return blk[c % be];
    }
    default:
      fail("weight_at: unsupported dtype ", dtype_name(w.dtype));
  }
}

void weight_row(const TensorView& W, int64_t r, float* out) {
  // Same values as weight_at element by element, without its per-element dispatch (this runs
  // for every embedding lookup and, in absorbed MLA, for every W_UK row of every head).
  const int64_t K = W.cols();
  switch (W.dtype) {
    case DType::F32:
      std::memcpy(out, W.as<float>() + r * K, size_t(K) * sizeof(float));
      return;
    case DType::BF16: {
      const uint16_t* w = W.as<uint16_t>() + r * K;
      for (int64_t k = 0; k < K; ++k) out[k] = bf16_to_f32(w[k]);
      return;
    }
    case DType::F8_E4M3: {
      DSV3_CHECK(W.block_scale != nullptr && W.ndim == 2, "F8_E4M3 weight ", shape_string(W),
                 " read without block scales (weight_scale_inv)");
      const float* table = e4m3_table();
      const uint8_t* w = W.as<uint8_t>() + r * K;
      const float* srow = W.block_scale + (r / 128) * ((K + 127) / 128);
      for (int64_t k0 = 0; k0 < K; k0 += 128) {
        const float s = srow[k0 / 128];
        const int64_t k1 = std::min<int64_t>(K, k0 + 128);
        for (int64_t k = k0; k < k1; ++k) out[k] = table[w[k]] * s;
      }
      return;
    }
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return gguf_weight_row(W, r, out);  // GGUF block types, one row of blocks
    default:
      for (int64_t k = 0; k < K; ++k) out[k] = weight_at(W, r * K + k);
  }
}

void matmul_ref(const float* x, int64_t M, const TensorView& W, float* y) {
  if (dtype_is_block(W.dtype)) return matmul_gguf_ref(x, M, W, y);  // Q8 activations, see ops.h
  const int64_t N = W.rows(), K = W.cols();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; ++k) acc += x[m * K + k] * weight_at(W, n * K + k);
      y[m * N + n] = acc;
    }
}

void rmsnorm_ref(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y) {
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * n;
    float* yr = y + m * n;
    float ss = 0.f;
    for (int64_t i = 0; i < n; ++i) ss += xr[i] * xr[i];
    const float inv = 1.0f / std::sqrt(ss / float(n) + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv * weight_at(w, i);
  }
}

void silu_mul_ref(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void silu_mul_ggml_ref(const float* gate, const float* up, int64_t M, int64_t n, float* out) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = m * n + i;
      const float g = gate[k];
      const float e = i < n - n % 16 ? exp_ggml_scalar(0.0f - g) : std::exp(-g);
      out[k] = g / (1.0f + e) * up[k];
    }
}

void softmax_ref(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::fmax(mx, x[i]);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope_interleaved(float* x, int64_t d, const float* cos, const float* sin) {
  for (int64_t i = 0; i < d / 2; ++i) {
    const float a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * cos[i] - b * sin[i];
    x[2 * i + 1] = a * sin[i] + b * cos[i];
  }
}

}  // namespace dsv3::kernels

namespace dsv3::kernels {

float dot_ref(const float* a, const float* b, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void add_inplace_ref(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] + x[i];
}

void axpy_ref(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float p = a * x[i];
    y[i] = y[i] + p;
  }
}

void gate_up_silu_ref(const float* x, const TensorView& Wg, const TensorView& Wu, float* h) {
  const int64_t N = Wg.rows();
  std::vector<float> g(static_cast<size_t>(N)), u(static_cast<size_t>(N));
  matmul_ref(x, 1, Wg, g.data());
  matmul_ref(x, 1, Wu, u.data());
  silu_mul_ref(g.data(), u.data(), N, h);
}

}  // namespace dsv3::kernels
