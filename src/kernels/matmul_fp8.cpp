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
#include "kernels/kernel_table.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

const detail::Fp8Table& detail::fp8_table_for(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return fp8_table_avx512();
    case Isa::Avx2:
      return fp8_table_avx2();
    default:
      return fp8_table_portable();
  }
}

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
  return detail::fp8_table_for(current_isa());
}

// The bf16/f32 kernel table of the current ISA (for its packed prefill entries).
const detail::KernelTable& kernel_table() {
  return detail::table_for(current_isa());
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

// Decode (M <= 3) operands for Fp8Table::rows: x[m] * 2^E[m] into `xs_out` and the block-scale
// multipliers cs[m] = 2^(8 + raw_exp - E[m]), with E[m] = raw_exp unless the row's amax needs a
// smaller power so that x * 2^E stays below 2^126 (then the products are 2^(E - raw_exp) times
// smaller than the reference's 2^-8 ones, which only matters for terms ~2^-100 below the
// largest). Returns the x the kernel reads.
const float* prescale_decode(const float* x, int64_t M, int64_t K, int raw_exp, float* cs) {
  if (raw_exp == 0) return detail::fp8_prescale_decode(x, M, K, raw_exp, cs, nullptr);
  thread_local std::vector<float> buf;
  if (int64_t(buf.size()) < M * K) buf.resize(size_t(M * K));
  return detail::fp8_prescale_decode(x, M, K, raw_exp, cs, buf.data());
}

// rows() over [n0, n1) for x [M, K] (M <= 3 gets the pre-scaled decode operands).
struct Fp8Call {
  const detail::Fp8Table& t;
  const float* x;
  const float* xs;
  int64_t M;
  const TensorView& W;
  float cs[3] = {256.0f, 256.0f, 256.0f};
  Fp8Call(const detail::Fp8Table& tab, const float* x_in, const float* xs_in, int64_t m,
          const TensorView& w)
      : t(tab), x(x_in), xs(xs_in), M(m), W(w) {
    if (M <= 3) x = prescale_decode(x_in, M, W.cols(), t.raw_exp, cs);
  }
  void operator()(float* y, int64_t n0, int64_t n1) const {
    t.rows(x, xs, M, W.as<uint8_t>(), W.block_scale, W.rows(), W.cols(), cs, y, n0, n1,
           scratch(M, W.cols()));
  }
};

}  // namespace

namespace detail {

const float* fp8_prescale_decode(const float* x, int64_t M, int64_t K, int raw_exp, float* cs,
                                 float* buf) {
  if (raw_exp == 0) {
    for (int64_t m = 0; m < M; ++m) cs[m] = 256.0f;
    return x;
  }
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * K;
    float amax = 0.0f;
    for (int64_t k = 0; k < K; ++k) {  // = fmax(amax, |x|) (NaN skipped) without a libm call
      const float a = std::fabs(xr[k]);
      amax = a > amax ? a : amax;
    }
    int e = 0;
    int E = raw_exp;
    if (amax > 0.0f && std::isfinite(amax)) {
      std::frexp(amax, &e);  // amax < 2^e
      E = std::min(raw_exp, 126 - e);
    }
    const float sx = std::ldexp(1.0f, E);
    cs[m] = std::ldexp(1.0f, 8 + raw_exp - E);
    float* d = buf + m * K;
    for (int64_t k = 0; k < K; ++k) d[k] = xr[k] * sx;
  }
  return buf;
}

}  // namespace detail

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
  const Fp8GemmMode mode = fp8_gemm_mode();
  if (mode == Fp8GemmMode::kExact) {
    const detail::KernelTable& kt = kernel_table();
    if (kt.matmul_packed_fp8_rows && M >= kt.packed_min_m) {
      // Prefill: x packed once (as kernels::matmul does), weights widened with their scale.
      const int64_t B = kt.packed_block_rows, nblocks = (M + B - 1) / B;
      thread_local std::vector<float> xT_buf;
      if (int64_t(xT_buf.size()) < nblocks * B * K) xT_buf.resize(size_t(nblocks * B * K));
      float* xT = xT_buf.data();
      parallel_for(pool, nblocks, [&](int64_t b0, int64_t b1) { kt.pack_xt(x, M, K, b0, b1, xT); });
      const uint8_t* w = W.as<uint8_t>();
      parallel_for(
          pool, N,
          [&](int64_t n0, int64_t n1) {
            thread_local std::vector<float> band;
            const size_t need = size_t(kt.packed_fp8_scratch_rows(K) * K);
            if (band.size() < need) band.resize(need);
            kt.matmul_packed_fp8_rows(xT, M, w, W.block_scale, N, K, y, n0, n1, band.data());
          },
          kRowGrain);
      return;
    }
    const Fp8Call call(t, x, nullptr, M, W);
    parallel_for(
        pool, N, [&](int64_t n0, int64_t n1) { call(y, n0, n1); }, kRowGrain);
    return;
  }
  // Emulate: quantise activations once, decode them (exactly) to fp32 for the kernels.
  const int64_t KB = fp8_blocks(K);
  std::vector<uint8_t> q(size_t(M * K));
  std::vector<float> xd(size_t(M * K)), xs(size_t(M * KB));
  act_quant(x, M, K, mode == Fp8GemmMode::kEmulateUe8m0, q.data(), xs.data());
  for (size_t i = 0; i < q.size(); ++i) xd[i] = e4m3_to_f32(q[i]);
  const Fp8Call call(t, xd.data(), xs.data(), M, W);
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        call(y, n0, n1);
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
  if (fp8_gemm_mode() != Fp8GemmMode::kExact) {
    std::vector<float> u(static_cast<size_t>(Wu.rows()));
    matmul_fp8(x, 1, Wg, h, pool);
    matmul_fp8(x, 1, Wu, u.data(), pool);
    silu_mul(h, u.data(), Wg.rows(), h);
    return;
  }
  // One hand-off for both matrices: each thread computes its rows of gate and up (the same
  // kernel calls as matmul_fp8, so the same bits) and applies silu_mul to them.
  const int64_t N = Wg.rows();
  if (N == 0) return;
  const detail::Fp8Table& t = table();
  const Fp8Call gate(t, x, nullptr, 1, Wg);
  thread_local std::vector<float> ubuf;
  if (int64_t(ubuf.size()) < N) ubuf.resize(size_t(N));
  float* u = ubuf.data();
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        gate(h, n0, n1);
        t.rows(gate.x, nullptr, 1, Wu.as<uint8_t>(), Wu.block_scale, N, Wu.cols(), gate.cs, u,
               n0, n1, nullptr);
        silu_mul(h + n0, u + n0, n1 - n0, h + n0);
      },
      kRowGrain);
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
