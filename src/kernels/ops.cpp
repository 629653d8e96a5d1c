// Fast-path entry points: validate arguments, pick the ISA table (kernels_<isa>.cpp) and
// split matmul rows over the thread pool. Also holds the ISA selection (isa.h).
#include "kernels/ops.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "kernels/isa.h"
#include "kernels/kernel_table.h"
#include "kernels/gguf_quants.h"
#include "kernels/matmul_bf16act.h"
#include "kernels/matmul_fp8.h"

namespace dsv3::kernels {

using detail::KernelTable;

const KernelTable& detail::table_for(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return table_avx512();
    case Isa::Avx2:
      return table_avx2();
    default:
      return table_portable();
  }
}

namespace {

std::mutex g_mu;
std::atomic<const KernelTable*> g_table{nullptr};
Isa g_isa = Isa::Portable;

// First use: DSV3_ISA if set (must name a supported path), else the best supported one.
const KernelTable& init_table() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (const KernelTable* t = g_table.load()) return *t;
  const Isa isa = resolve_isa(std::getenv("DSV3_ISA"));
  g_isa = isa;
  g_table.store(&detail::table_for(isa));
  return *g_table.load();
}

inline const KernelTable& table() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  return t ? *t : init_table();
}

// Per-thread fp32 buffer for widened weight rows; grows once, then is reused (the pool's
// threads are long-lived, so the decode loop does not allocate).
float* scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (int64_t(buf.size()) < n) buf.resize(size_t(n));
  return buf.data();
}

bool matmul_dtype(DType t) {
  return t == DType::F32 || t == DType::BF16 || t == DType::F16;
}

void check_weight(const TensorView& W, const char* what) {
  DSV3_CHECK(W.ndim == 2, what, ": weight must be 2-D, got ", W.ndim, "-D ", shape_string(W));
  DSV3_CHECK(matmul_dtype(W.dtype), what, ": weight dtype ", dtype_name(W.dtype),
             " is not supported (F32, BF16, F16)");
  DSV3_CHECK(W.data != nullptr || W.numel() == 0, what, ": weight has no data");
}

constexpr int64_t kRowGrain = 48;  // rows per thread chunk: a multiple of every ISA's NR and NR1

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "portable";
  }
}

bool parse_isa(std::string_view s, Isa* out) {
  for (Isa i : {Isa::Portable, Isa::Avx2, Isa::Avx512})
    if (s == isa_name(i)) {
      *out = i;
      return true;
    }
  return false;
}

bool isa_supported(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();  // idempotent; makes the checks valid even before main()
  switch (isa) {
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    default:
      return true;
  }
#else
  return isa == Isa::Portable;
#endif
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> v;
  for (Isa i : {Isa::Portable, Isa::Avx2, Isa::Avx512})
    if (isa_supported(i)) v.push_back(i);
  return v;
}

Isa resolve_isa(const char* env) {
  Isa isa = supported_isas().back();
  if (env && *env) {
    DSV3_CHECK(parse_isa(env, &isa), "DSV3_ISA=", env, " is not one of avx512, avx2, portable");
    DSV3_CHECK(isa_supported(isa), "DSV3_ISA=", env, ": this CPU does not support it");
  }
  return isa;
}

Isa current_isa() {
  table();
  std::lock_guard<std::mutex> lk(g_mu);
  return g_isa;
}

void set_isa(Isa isa) {
  DSV3_CHECK(isa_supported(isa), "set_isa: this CPU does not support ", isa_name(isa));
  std::lock_guard<std::mutex> lk(g_mu);
  g_isa = isa;
  g_table.store(&detail::table_for(isa));
}

int64_t packed_min_rows() {
  const KernelTable& t = table();
  return t.matmul_packed_rows ? t.packed_min_m : 0;
}

void matmul(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  if (act_precision() == ActPrecision::kBf16 && bf16act_applies(W.dtype))
    return matmul_bf16act(x, M, W, y, pool);  // --act-precision bf16
  matmul_fp32act(x, M, W, y, pool);
}

void matmul_fp32act(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  if (W.dtype == DType::F8_E4M3) return matmul_fp8(x, M, W, y, pool);  // FP8 issue
  if (dtype_is_block(W.dtype)) return matmul_gguf(x, M, W, y, pool);   // GGUF Q8_0 ... Q6_K
  check_weight(W, "matmul");
  DSV3_CHECK(M >= 0, "matmul: negative row count ", M);
  const int64_t N = W.rows(), K = W.cols();
  if (M == 0 || N == 0) return;
  // Below ~64K multiply-adds a thread hand-off costs more than it saves (results do not depend
  // on the split, so this only changes speed).
  if (M * N * K < (int64_t(1) << 16)) pool = nullptr;
  const KernelTable& t = table();
  const DType wt = W.dtype;
  const void* w = W.data;
  if (t.matmul_packed_rows && M >= t.packed_min_m) {
    const int64_t B = t.packed_block_rows, nblocks = (M + B - 1) / B;
    thread_local std::vector<float> xT_buf;  // grows to the largest prefill chunk, then reused
    if (int64_t(xT_buf.size()) < nblocks * B * K) xT_buf.resize(size_t(nblocks * B * K));
    float* xT = xT_buf.data();
    parallel_for(pool, nblocks, [&](int64_t b0, int64_t b1) { t.pack_xt(x, M, K, b0, b1, xT); });
    parallel_for(
        pool, N,
        [&](int64_t n0, int64_t n1) { t.matmul_packed_rows(xT, M, w, wt, N, K, y, n0, n1); },
        kRowGrain);
    return;
  }
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        float* s = M > 3 ? scratch(detail::kPartFloats + detail::kScratchRows * K) : nullptr;
        t.matmul_rows(x, M, w, wt, N, K, y, n0, n1, s);
      },
      kRowGrain);
}

void gate_up_silu(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                  ThreadPool* pool) {
  if (dtype_is_block(Wg.dtype)) return gate_up_silu_gguf(x, Wg, Wu, h, pool);  // GGUF types
  if (act_precision() == ActPrecision::kBf16 && bf16act_applies(Wg.dtype))
    return gate_up_silu_bf16act(x, Wg, Wu, h, pool);  // --act-precision bf16
  check_weight(Wg, "gate_up_silu (gate)");
  check_weight(Wu, "gate_up_silu (up)");
  DSV3_CHECK(Wg.dtype == Wu.dtype && Wg.rows() == Wu.rows() && Wg.cols() == Wu.cols(),
             "gate_up_silu: gate ", dtype_name(Wg.dtype), shape_string(Wg), " and up ",
             dtype_name(Wu.dtype), shape_string(Wu), " differ");
  const int64_t N = Wg.rows(), K = Wg.cols();
  if (2 * N * K < (int64_t(1) << 16)) pool = nullptr;  // too small to be worth a hand-off
  const KernelTable& t = table();
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) { t.gate_up_rows(x, Wg.data, Wu.data, Wg.dtype, K, h, n0, n1); },
      kRowGrain);
}

void rmsnorm(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y) {
  DSV3_CHECK(matmul_dtype(w.dtype), "rmsnorm: weight dtype ", dtype_name(w.dtype),
             " is not supported");
  DSV3_CHECK(w.numel() >= n, "rmsnorm: weight has ", w.numel(), " values, need ", n);
  const KernelTable& t = table();
  for (int64_t m = 0; m < M; ++m) t.rmsnorm_row(x + m * n, n, w.data, w.dtype, eps, y + m * n);
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  table().silu_mul(gate, up, n, out);
}

void rmsnorm_ggml(const float* x, int64_t M, int64_t n, const TensorView& w, float eps, float* y) {
  DSV3_CHECK(matmul_dtype(w.dtype), "rmsnorm: weight dtype ", dtype_name(w.dtype),
             " is not supported");
  DSV3_CHECK(w.numel() >= n, "rmsnorm: weight has ", w.numel(), " values, need ", n);
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * n;
    float* yr = y + m * n;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += double(xr[i] * xr[i]);
    const float mean = float(sum / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * weight_at(w, i);
  }
}

void silu_mul_ggml(const float* gate, const float* up, int64_t M, int64_t n, float* out) {
  const auto& t = table();
  for (int64_t m = 0; m < M; ++m) t.silu_mul_ggml(gate + m * n, up + m * n, n, out + m * n);
}

void softmax(float* x, int64_t n) {
  table().softmax(x, n);
}

float dot(const float* a, const float* b, int64_t n) {
  return table().dot(a, b, n);
}

void add_inplace(float* y, const float* x, int64_t n) {
  table().add_inplace(y, x, n);
}

void axpy(float a, const float* x, float* y, int64_t n) {
  table().axpy(a, x, y, n);
}

}  // namespace dsv3::kernels
