// FP8 matmul entry points (matmul_fp8.h): argument checks, the exact/emulate mode switch,
// DeepSeek's act_quant, ISA dispatch over the thread pool, and the scalar reference twins.
#include "kernels/matmul_fp8.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "kernels/fp8_kernel_table.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

namespace {

// -1: not read yet; else an Fp8GemmMode.
std::atomic<int> g_mode{-1};

bool parse_mode(std::string_view s, Fp8GemmMode* m) {
  for (Fp8GemmMode x : {Fp8GemmMode::kExact, Fp8GemmMode::kEmulate, Fp8GemmMode::kEmulateUe8m0})
    if (s == fp8_gemm_mode_name(x)) {
      *m = x;
      return true;
    }
  return false;
}

const detail::Fp8Table& table() {
  switch (current_isa()) {
    case Isa::Avx512:
      return detail::fp8_table_avx512();
    case Isa::Avx2:
      return detail::fp8_table_avx2();
    default:
      return detail::fp8_table_portable();
  }
}

void check_fp8(const TensorView& W, const char* what) {
  DSV3_CHECK(W.dtype == DType::F8_E4M3, what, ": weight is ", dtype_name(W.dtype), ", not F8_E4M3");
  DSV3_CHECK(W.ndim == 2, what, ": FP8 weight must be 2-D, got ", shape_string(W));
  DSV3_CHECK(W.block_scale != nullptr, what, ": F8_E4M3 weight ", shape_string(W),
             " has no block scales (weight_scale_inv)");
  DSV3_CHECK(W.data != nullptr || W.numel() == 0, what, ": weight has no data");
}

float scale_at(const TensorView& W, int64_t r, int64_t c) {
  return W.block_scale[(r / 128) * fp8_blocks(W.cols()) + c / 128];
}

constexpr int64_t kRowGrain = 16;

// Per-thread prefill scratch (kFp8Band * K floats); grows once, then is reused.
float* scratch(int64_t M, int64_t K) {
  if (M <= 3) return nullptr;
  thread_local std::vector<float> buf;
  if (int64_t(buf.size()) < detail::kFp8Band * K) buf.resize(size_t(detail::kFp8Band * K));
  return buf.data();
}

}  // namespace

std::string_view fp8_gemm_mode_name(Fp8GemmMode mode) {
  switch (mode) {
    case Fp8GemmMode::kEmulate:
      return "emulate";
    case Fp8GemmMode::kEmulateUe8m0:
      return "emulate-ue8m0";
    default:
      return "exact";
  }
}

Fp8GemmMode fp8_gemm_mode() {
  int m = g_mode.load(std::memory_order_acquire);
  if (m < 0) {
    Fp8GemmMode mode = Fp8GemmMode::kExact;
    if (const char* env = std::getenv("DSV3_FP8_GEMM"); env && *env)
      DSV3_CHECK(parse_mode(env, &mode), "DSV3_FP8_GEMM=", env,
                 " is not one of exact, emulate, emulate-ue8m0");
    int expected = -1;
    g_mode.compare_exchange_strong(expected, int(mode));
    m = g_mode.load();
  }
  return Fp8GemmMode(m);
}

void set_fp8_gemm_mode(Fp8GemmMode mode) {
  g_mode.store(int(mode), std::memory_order_release);
}

float fp8_weight_at(const TensorView& W, int64_t r, int64_t c) {
  DSV3_CHECK(W.block_scale != nullptr && W.ndim == 2, "F8_E4M3 weight ", shape_string(W),
             " read without block scales (weight_scale_inv)");
  return e4m3_to_f32(W.as<uint8_t>()[r * W.cols() + c]) * scale_at(W, r, c);
}

void act_quant(const float* x, int64_t M, int64_t K, bool ue8m0, uint8_t* q, float* s) {
  const int64_t KB = fp8_blocks(K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t kb = 0; kb < KB; ++kb) {
      const int64_t k0 = kb * 128, k1 = std::min(K, k0 + 128);
      const float* xr = x + m * K;
      float amax = 0.0f;
      for (int64_t k = k0; k < k1; ++k) amax = std::fmax(amax, std::fabs(xr[k]));
      amax = std::fmax(amax, 1e-4f);
      float sc = amax / kE4m3Max;
      if (ue8m0) sc = round_scale_ue8m0(sc);
      s[m * KB + kb] = sc;
      // |x / sc| <= 448 up to one rounding, which RNE maps to 448: saturation never triggers
      // for finite x (it only keeps the code finite if amax / sc rounds up).
      for (int64_t k = k0; k < k1; ++k) q[m * K + k] = f32_to_e4m3_sat(xr[k] / sc);
    }
}

void matmul_fp8(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  check_fp8(W, "matmul");
  DSV3_CHECK(M >= 0, "matmul: negative row count ", M);
  const int64_t N = W.rows(), K = W.cols();
  if (M == 0 || N == 0) return;
  const detail::Fp8Table& t = table();
  const uint8_t* w = W.as<uint8_t>();
  const float* bs = W.block_scale;
  const Fp8GemmMode mode = fp8_gemm_mode();
  if (mode == Fp8GemmMode::kExact) {
    parallel_for(
        pool, N,
        [&](int64_t n0, int64_t n1) {
          t.rows(x, nullptr, M, w, bs, N, K, y, n0, n1, scratch(M, K));
        },
        kRowGrain);
    return;
  }
  // Emulate: quantise activations once, decode them (exactly) to fp32 for the kernels.
  const int64_t KB = fp8_blocks(K);
  std::vector<uint8_t> q(size_t(M * K));
  std::vector<float> xd(size_t(M * K)), xs(size_t(M * KB));
  act_quant(x, M, K, mode == Fp8GemmMode::kEmulateUe8m0, q.data(), xs.data());
  for (size_t i = 0; i < q.size(); ++i) xd[i] = e4m3_to_f32(q[i]);
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        t.rows(xd.data(), xs.data(), M, w, bs, N, K, y, n0, n1, scratch(M, K));
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = n0; n < n1; ++n) y[m * N + n] = round_bf16(y[m * N + n]);
      },
      kRowGrain);
}

void gate_up_silu_fp8(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                      ThreadPool* pool) {
  check_fp8(Wg, "gate_up_silu (gate)");
  check_fp8(Wu, "gate_up_silu (up)");
  DSV3_CHECK(Wg.rows() == Wu.rows() && Wg.cols() == Wu.cols(), "gate_up_silu: gate ",
             shape_string(Wg), " and up ", shape_string(Wu), " differ");
  std::vector<float> u(static_cast<size_t>(Wu.rows()));
  matmul_fp8(x, 1, Wg, h, pool);
  matmul_fp8(x, 1, Wu, u.data(), pool);
  silu_mul(h, u.data(), Wg.rows(), h);
}

void matmul_fp8_ref(const float* x, int64_t M, const TensorView& W, float* y) {
  check_fp8(W, "matmul_fp8_ref");
  const int64_t N = W.rows(), K = W.cols(), KB = fp8_blocks(K);
  const uint8_t* w = W.as<uint8_t>();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.f;
      for (int64_t kb = 0; kb < KB; ++kb) {
        float blk = 0.f;
        for (int64_t k = kb * 128; k < std::min(K, kb * 128 + 128); ++k)
          blk += x[m * K + k] * e4m3_to_f32(w[n * K + k]);
        acc += blk * scale_at(W, n, kb * 128);
      }
      y[m * N + n] = acc;
    }
}

void matmul_fp8_emulated_ref(const float* x, int64_t M, const TensorView& W, bool ue8m0, float* y) {
  check_fp8(W, "matmul_fp8_emulated_ref");
  const int64_t N = W.rows(), K = W.cols(), KB = fp8_blocks(K);
  std::vector<uint8_t> q(size_t(M * K));
  std::vector<float> xs(size_t(M * KB));
  act_quant(x, M, K, ue8m0, q.data(), xs.data());
  const uint8_t* w = W.as<uint8_t>();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.f;
      for (int64_t kb = 0; kb < KB; ++kb) {
        float blk = 0.f;
        for (int64_t k = kb * 128; k < std::min(K, kb * 128 + 128); ++k)
          blk += e4m3_to_f32(q[size_t(m * K + k)]) * e4m3_to_f32(w[n * K + k]);
        acc += blk * xs[size_t(m * KB + kb)] * scale_at(W, n, kb * 128);
      }
      y[m * N + n] = round_bf16(acc);
    }
}

}  // namespace dsv3::kernels
