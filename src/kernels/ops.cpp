// Fast-path entry points. Until the vectorised kernels land these forward to the
// reference twins; the dispatching versions replace them without changing callers.
#include "kernels/ops.h"

namespace dsv3::kernels {

void matmul(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  const int64_t N = W.rows(), K = W.cols();
  parallel_for(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = n0; n < n1; ++n) {
        float acc = 0.f;
        for (int64_t k = 0; k < K; ++k) acc += x[m * K + k] * weight_at(W, n * K + k);
        y[m * N + n] = acc;
      }
  }, 16);
}

void rmsnorm(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y) {
  rmsnorm_ref(x, M, n, w, eps, y);
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  silu_mul_ref(gate, up, n, out);
}

void softmax(float* x, int64_t n) { softmax_ref(x, n); }

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace dsv3::kernels
