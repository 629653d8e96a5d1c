// bf16-activation matmuls (matmul_bf16act.h): the precision switch, argument checks, x rounded
// or packed once per call, weight rows split over the pool, and the scalar reference twin.
#include "kernels/matmul_bf16act.h"

#include <atomic>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "kernels/bf16act_impl.h"
#include "kernels/isa.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

namespace {

std::atomic<int> g_prec{int(ActPrecision::kFp32)};

// The AVX-512 kernels need AVX-512 BF16 (vdpbf16ps) and VBMI (the e4m3 -> bf16 byte tables):
// Zen 4/5, Sapphire Rapids and later. Cooper Lake (BF16 without VBMI) runs the emulation.
bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vbmi");
#else
  return false;
#endif
}

const detail::Bf16ActTable& table() {
  static const bool bf16 = cpu_has_avx512_bf16();
  return bf16 && current_isa() == Isa::Avx512 ? detail::bf16act_table_avx512()
                                              : detail::bf16act_table_portable();
}

void check_weight(const TensorView& W, const char* what) {
  DSV3_CHECK(W.dtype == DType::BF16 || W.dtype == DType::F8_E4M3, what, ": weight is ",
             dtype_name(W.dtype), "; bf16 activations apply to BF16 and F8_E4M3 weights only");
  DSV3_CHECK(W.ndim == 2, what, ": weight must be 2-D, got ", shape_string(W));
  DSV3_CHECK(W.dtype != DType::F8_E4M3 || W.block_scale != nullptr, what, ": F8_E4M3 weight ",
             shape_string(W), " has no block scales (weight_scale_inv)");
  DSV3_CHECK(W.data != nullptr || W.numel() == 0, what, ": weight has no data");
}

constexpr int64_t kRowGrain = 48;  // a multiple of the 12-row prefill tile and the decode 8/4/1

template <class T>
T* thread_buf(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Decode-order rows of y for x rounded in xr (caller's [M][2P]).
void vec_rows(const detail::Bf16ActTable& t, const uint16_t* xr, int64_t M, const TensorView& W,
              float* y, int64_t ldy, int64_t n0, int64_t n1) {
  if (W.dtype == DType::BF16)
    t.vec_bf16(xr, M, W.as<uint16_t>(), W.cols(), y, ldy, n0, n1);
  else
    t.vec_fp8(xr, M, W.as<uint8_t>(), W.block_scale, W.rows(), W.cols(), y, ldy, n0, n1);
}

}  // namespace

namespace detail {

const uint16_t* e4m3_bf16_table() {
  static const std::vector<uint16_t> t = [] {
    std::vector<uint16_t> v(256);
    for (int c = 0; c < 256; ++c) v[size_t(c)] = f32_to_bf16(e4m3_to_f32(uint8_t(c)));
    v[0x7f] = f32_to_bf16(480.0f);  // NaN codes: +-480, as the other FP8 kernels decode them
    v[0xff] = f32_to_bf16(-480.0f);
    return v;
  }();
  return t.data();
}

}  // namespace detail

ActPrecision act_precision() {
  return ActPrecision(g_prec.load(std::memory_order_acquire));
}

void set_act_precision(ActPrecision p) {
  g_prec.store(int(p), std::memory_order_release);
}

std::string_view act_precision_name(ActPrecision p) {
  return p == ActPrecision::kBf16 ? "bf16" : "fp32";
}

bool parse_act_precision(std::string_view s, ActPrecision* out) {
  for (ActPrecision p : {ActPrecision::kFp32, ActPrecision::kBf16})
    if (s == act_precision_name(p)) {
      *out = p;
      return true;
    }
  return false;
}

bool bf16act_applies(DType wt) {
  return wt == DType::BF16 || (wt == DType::F8_E4M3 && fp8_gemm_mode() == Fp8GemmMode::kExact);
}

bool bf16act_native() {
  return &table() == &detail::bf16act_table_avx512();
}

uint16_t bf16act_round(float f) {
  return detail::ba_round(f);
}

void matmul_bf16act(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool) {
  check_weight(W, "matmul (bf16 activations)");
  DSV3_CHECK(M >= 0, "matmul: negative row count ", M);
  const int64_t N = W.rows(), K = W.cols(), P = (K + 1) / 2;
  if (M == 0 || N == 0) return;
  if (M * N * K < (int64_t(1) << 16)) pool = nullptr;  // a hand-off would cost more
  const detail::Bf16ActTable& t = table();
  if (M < kBf16ActPackedMinM) {
    thread_local std::vector<uint16_t> xr_buf;
    uint16_t* xr = thread_buf(xr_buf, M * 2 * P);
    t.round_rows(x, M, K, xr);
    parallel_for(
        pool, N, [&](int64_t n0, int64_t n1) { vec_rows(t, xr, M, W, y, N, n0, n1); }, kRowGrain);
    return;
  }
  constexpr int64_t B = 32;
  const int64_t nblocks = (M + B - 1) / B;
  thread_local std::vector<uint16_t> xp_buf;  // grows to the largest prefill chunk, then reused
  uint16_t* xp = thread_buf(xp_buf, nblocks * B * 2 * P);
  parallel_for(pool, nblocks, [&](int64_t b0, int64_t b1) { t.pack(x, M, K, b0, b1, xp); });
  if (W.dtype == DType::BF16) {
    parallel_for(
        pool, N,
        [&](int64_t n0, int64_t n1) { t.packed_bf16(xp, M, W.as<uint16_t>(), N, K, y, n0, n1); },
        kRowGrain);
    return;
  }
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        thread_local std::vector<uint16_t> band;
        uint16_t* s = thread_buf(band, detail::bf16act_fp8_band(K) * 2 * P);
        t.packed_fp8(xp, M, W.as<uint8_t>(), W.block_scale, N, K, y, n0, n1, s);
      },
      kRowGrain);
}

void gate_up_silu_bf16act(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                          ThreadPool* pool) {
  check_weight(Wg, "gate_up_silu (gate, bf16 activations)");
  check_weight(Wu, "gate_up_silu (up, bf16 activations)");
  DSV3_CHECK(Wg.dtype == Wu.dtype && Wg.rows() == Wu.rows() && Wg.cols() == Wu.cols(),
             "gate_up_silu: gate ", dtype_name(Wg.dtype), shape_string(Wg), " and up ",
             dtype_name(Wu.dtype), shape_string(Wu), " differ");
  const int64_t N = Wg.rows(), K = Wg.cols();
  if (N == 0) return;
  if (2 * N * K < (int64_t(1) << 16)) pool = nullptr;
  const detail::Bf16ActTable& t = table();
  thread_local std::vector<uint16_t> xr_buf;
  uint16_t* xr = thread_buf(xr_buf, 2 * ((K + 1) / 2));
  t.round_rows(x, 1, K, xr);
  thread_local std::vector<float> ubuf;
  float* u = thread_buf(ubuf, N);
  parallel_for(
      pool, N,
      [&](int64_t n0, int64_t n1) {
        vec_rows(t, xr, 1, Wg, h, N, n0, n1);
        vec_rows(t, xr, 1, Wu, u, N, n0, n1);
        silu_mul(h + n0, u + n0, n1 - n0, h + n0);
      },
      kRowGrain);
}

void matmul_bf16act_ref(const float* x, int64_t M, const TensorView& W, float* y) {
  using namespace detail;
  check_weight(W, "matmul_bf16act_ref");
  const int64_t N = W.rows(), K = W.cols(), P = (K + 1) / 2, KB = (K + 127) / 128;
  const bool fp8 = W.dtype == DType::F8_E4M3;
  const uint16_t* lut = e4m3_bf16_table();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      auto xv = [&](int64_t k) { return k < K ? ba_widen(ba_round(x[m * K + k])) : 0.0f; };
      auto wv = [&](int64_t k) {
        if (k >= K) return 0.0f;
        return ba_widen(fp8 ? lut[W.as<uint8_t>()[n * K + k]] : W.as<uint16_t>()[n * K + k]);
      };
      auto scale = [&](int64_t kb) { return W.block_scale[(n / 128) * KB + kb]; };
      // Per chain c (1 in prefill order, 16 lanes in decode order): blk over the pairs of one
      // 128-block (or all of K for BF16), folded into acc with the block scale (FP8).
      const int lanes = M >= kBf16ActPackedMinM ? 1 : 16;
      float acc[16] = {}, blk[16] = {};
      for (int64_t p = 0; p < P; ++p) {
        const int c = int(p % lanes);
        blk[c] = ba_pair(blk[c], xv(2 * p), wv(2 * p), xv(2 * p + 1), wv(2 * p + 1));
        if (fp8 && ((p + 1) % 64 == 0 || p + 1 == P))
          for (int l = 0; l < lanes; ++l) {
            acc[l] = std::fma(blk[l], scale(p / 64), acc[l]);
            blk[l] = 0.0f;
          }
      }
      const float* r = fp8 ? acc : blk;
      y[m * N + n] = lanes == 1 ? r[0] : ba_hsum16(r);
    }
}

}  // namespace dsv3::kernels
