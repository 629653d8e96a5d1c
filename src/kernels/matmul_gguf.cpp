// Entry points of the ggml block-type matmul (gguf_quants.h): argument checks, activation
// quantisation (scalar, ggml's q8_0 / q8_1 / q8_K), ISA dispatch (AVX-512 needs VNNI here, else AVX2) and the row split over the pool.
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "kernels/gguf_kernel_table.h"
#include "kernels/gguf_quants.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

namespace detail {
bool gguf_avx512_usable() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return isa_supported(Isa::Avx512) && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}
}  // namespace detail

namespace {

const detail::GgufTable& table() {
  switch (current_isa()) {
    case Isa::Avx512: {
      static const bool vnni = detail::gguf_avx512_usable();
      return vnni ? detail::gguf_table_avx512() : detail::gguf_table_avx2();
    }
    case Isa::Avx2:
      return detail::gguf_table_avx2();
    default:
      return detail::gguf_table_portable();
  }
}

// Per-thread scratch (gguf_scratch_bytes(K)), 64-byte aligned; grows once, then is reused.
uint8_t* scratch(int64_t K) {
  thread_local std::vector<uint8_t> buf;
  const size_t need = size_t(detail::gguf_scratch_bytes(K)) + 64;
  if (buf.size() < need) buf.resize(need);
  uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - p % 64) % 64);
}

constexpr int64_t kRowGrain = 2 * detail::kGgufBand;

}  // namespace

void matmul_gguf(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  check_gguf_weight(W, "matmul");
  DSV3_CHECK(M >= 0, "matmul: negative row count ", M);
  const int64_t N = W.rows(), K = W.cols();
  if (M == 0 || N == 0) return;
  if (M * N * K < (int64_t(1) << 16)) pool = nullptr;  // too small for a hand-off
  thread_local Q8Acts xa_buf;  // reused across calls by this (calling) thread
  const detail::GgufTable& t = table();
  quantize_acts_q8(x, M, K, &xa_buf, W.dtype);  // ggml's vec_dot_type for W.dtype
  xa_buf.M16 = 0;
  if (t.packed_min_m > 0 && M >= t.packed_min_m) pack_acts16(&xa_buf);
  const Q8Acts& xa = xa_buf;  // named reference: pool threads must see this thread's buffer
  const uint8_t* w = W.as<uint8_t>();
  const size_t rb = dtype_row_bytes(W.dtype, K);
  const DType wt = W.dtype;
  parallel_for(
      pool, N, [&](int64_t n0, int64_t n1) { t.rows(xa, w, wt, rb, N, K, y, n0, n1, scratch(K)); },
      kRowGrain);
}

void gate_up_silu_gguf(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                       ThreadPool* pool) {
  check_gguf_weight(Wg, "gate_up_silu (gate)");
  check_gguf_weight(Wu, "gate_up_silu (up)");
  DSV3_CHECK(Wg.dtype == Wu.dtype && Wg.rows() == Wu.rows() && Wg.cols() == Wu.cols(),
             "gate_up_silu: gate ", dtype_name(Wg.dtype), shape_string(Wg), " and up ",
             dtype_name(Wu.dtype), shape_string(Wu), " differ");
  thread_local std::vector<float> u;
  u.resize(size_t(Wu.rows()));
  matmul_gguf(x, 1, Wg, h, pool);
  matmul_gguf(x, 1, Wu, u.data(), pool);
  silu_mul(h, u.data(), Wg.rows(), h);
}

}  // namespace dsv3::kernels
