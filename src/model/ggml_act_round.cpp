// Activation roundings of llama.cpp's CPU backend (model/ggml_act_round.h).
#include "model/ggml_act_round.h"

#include <vector>

#include "core/error.h"
#include "kernels/gguf_quants.h"
#include "kernels/ops.h"

namespace dsv3 {

void ggml_round_for_weight(DType wt, float* x, int64_t n) {
  if (wt == DType::F16) return round_f16_inplace(x, n);
  if (wt == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) x[i] = round_bf16(x[i]);
    return;
  }
  if (!dtype_is_block(wt)) return;
  thread_local kernels::Q8Acts a;  // reused: no allocation once warm
  kernels::quantize_acts_q8(x, 1, n, &a, wt);
  // Per 16 values one scale (d16: the fp16-rounded q8_0 scale, or q8_K's fp32 one).
  for (int64_t i = 0; i < n; ++i) x[i] = float(a.q[size_t(i)]) * a.d16[size_t(i / 16)];
}

void matmul_as(bool ggml, const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  if (!ggml || (W.dtype != DType::BF16 && W.dtype != DType::F16)) return kernels::matmul(x, M, W, y, pool);
  thread_local std::vector<float> xr;
  const int64_t n = M * W.cols();
  xr.assign(x, x + n);
  ggml_round_for_weight(W.dtype, xr.data(), n);
  kernels::matmul(xr.data(), M, W, y, pool);
}

void round_f16_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = f16_to_f32(f32_to_f16(x[i]));
}

}  // namespace dsv3
