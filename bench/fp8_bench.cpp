// FP8 (e4m3 + 128x128 block scales, used as stored) vs BF16 weights: decode matvec GB/s at
// DeepSeek-V2-Lite widths, one V2-Lite decoder layer's decode-time linear work (tokens/s
// derived for 27 layers, linears only: no attention scores, router or lm_head), and prefill
// matmul FLOP/s. Weight sets (DSV3_BENCH_SET_MB) are cycled past the L3 so the numbers are DRAM
// numbers.
// Bytes reported = weight bytes read (1 per FP8 weight + its scales; 2 per BF16 weight).
// Runs on the dispatcher's ISA (DSV3_ISA to force one); DSV3_FP8_GEMM=emulate for the
// emulated DeepSeek FP8 GEMM.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/fp8.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/matmul_bf16act.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"

using namespace dsv3;

namespace {

ThreadPool& fp8_pool(int threads) {
  static std::unique_ptr<ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<ThreadPool>(threads, true);
  return *pools[threads];
}

// One [N, K] weight in BF16 or FP8 (codes + block scales), random values ~U(-0.02, 0.02) from a
// fast xorshift (the sets are large; the values do not affect the timing).
struct W {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  TensorView view;
  W(DType dt, int64_t N, int64_t K, unsigned seed) {
    uint64_t s = 0x9e3779b97f4a7c15ull * (seed + 1);
    auto next = [&s] {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return s;
    };
    bytes.resize(size_t(N * K) * dtype_size(dt));
    if (dt == DType::BF16) {
      for (int64_t i = 0; i < N * K; ++i) {
        const float v = (float(next() >> 40) / float(1 << 24) - 0.5f) * 0.04f;
        const uint16_t h = f32_to_bf16(v);
        std::memcpy(&bytes[size_t(2 * i)], &h, 2);
      }
    } else {
      for (auto& b : bytes) {
        b = uint8_t(next() >> 56);
        if ((b & 0x7f) == 0x7f) b ^= 1;  // no NaN codes
      }
      scales.assign(size_t(kernels::fp8_blocks(N) * kernels::fp8_blocks(K)), 0.02f / 448.f);
    }
    view = make_view(dt, bytes.data(), {N, K});
    if (dt == DType::F8_E4M3) view.block_scale = scales.data();
  }
  size_t nbytes() const { return bytes.size() + scales.size() * 4; }
};

// Bytes each benchmark cycles through: DSV3_BENCH_SET_MB (default 256; set it above 2x the L3
// size, e.g. 768 on a 300 MiB-L3 server, for DRAM numbers).
size_t set_bytes() {
  const char* e = std::getenv("DSV3_BENCH_SET_MB");
  return size_t(e && *e ? std::atoll(e) : 256) << 20;
}

DType dtype_arg(int64_t a) {
  return a == 8 ? DType::F8_E4M3 : DType::BF16;
}

std::vector<float> rvec(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = d(rng);
  return v;
}

// Decode matvec, args: dtype (16 bf16, 8 fp8), N, K, threads.
void BM_Fp8VsBf16Matvec(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int64_t N = state.range(1), K = state.range(2);
  const int threads = int(state.range(3));
  const size_t one = size_t(N * K) * dtype_size(dt);
  const size_t copies = std::max<size_t>(1, set_bytes() / one);
  std::vector<std::unique_ptr<W>> ws;
  for (size_t c = 0; c < copies; ++c) ws.push_back(std::make_unique<W>(dt, N, K, unsigned(c + 1)));
  const auto x = rvec(K, 2);
  std::vector<float> y(static_cast<size_t>(N));
  ThreadPool& pool = fp8_pool(threads);
  size_t c = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), 1, ws[c]->view, y.data(), &pool);
    c = (c + 1) % ws.size();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(ws[0]->nbytes()));
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " " +
                 std::string(dtype_name(dt)));
}
void matvec_args(benchmark::internal::Benchmark* b) {
  for (auto nk : std::vector<std::pair<int, int>>{
           {2048, 2048}, {1408, 2048}, {2048, 1408}, {3072, 2048}, {576, 2048}})
    for (int dt : {16, 8})
      for (int t : {1, 2}) b->Args({dt, nk.first, nk.second, t});
}
BENCHMARK(BM_Fp8VsBf16Matvec)->Apply(matvec_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

// FP8 decode with fp32 vs bf16 activations (--act-precision), args: act (0 fp32, 1 bf16), M
// (rows of x, 1..7 take the decode order), N, K, threads. Bytes = weight bytes read once.
void BM_Fp8DecodeAct(benchmark::State& state) {
  const auto act = state.range(0) ? kernels::ActPrecision::kBf16 : kernels::ActPrecision::kFp32;
  const int64_t M = state.range(1), N = state.range(2), K = state.range(3);
  const int threads = int(state.range(4));
  const size_t one = size_t(N * K);
  const size_t copies = std::max<size_t>(1, set_bytes() / one);
  std::vector<std::unique_ptr<W>> ws;
  for (size_t c = 0; c < copies; ++c)
    ws.push_back(std::make_unique<W>(DType::F8_E4M3, N, K, unsigned(c + 1)));
  const auto x = rvec(M * K, 2);
  std::vector<float> y(static_cast<size_t>(M * N));
  ThreadPool& pool = fp8_pool(threads);
  const kernels::ActPrecision saved = kernels::act_precision();
  kernels::set_act_precision(act);
  size_t c = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), M, ws[c]->view, y.data(), &pool);
    c = (c + 1) % ws.size();
    benchmark::DoNotOptimize(y.data());
  }
  kernels::set_act_precision(saved);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(ws[0]->nbytes()));
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " act " +
                 std::string(kernels::act_precision_name(act)));
}
void decode_act_args(benchmark::internal::Benchmark* b) {
  for (auto nk : std::vector<std::pair<int, int>>{{2048, 2048}, {1408, 2048}, {2048, 1408}})
    for (int t : {1, 2})
      for (int act : {0, 1}) b->Args({act, 1, nk.first, nk.second, t});
  for (int m : {2, 4, 7})
    for (int act : {0, 1}) b->Args({act, m, 2048, 2048, 1});
}
BENCHMARK(BM_Fp8DecodeAct)->Apply(decode_act_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

// One V2-Lite decoder layer's linears for one token: q_proj 3072x2048, kv_a 576x2048,
// kv_b 4096x512, o_proj 2048x2048, 6 routed experts (1408x2048 gate, up; 2048x1408 down) and
// the shared expert (2816x2048 gate, up; 2048x2816 down). Copies of the layer (set_bytes() in
// all) are cycled. Counter tok/s = 1 / (27 * layer time): the linear-only decode rate of V2-Lite.
void BM_V2LiteLayerDecode(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int threads = int(state.range(1));
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {3072, 2048}, {576, 2048},  {4096, 512},  {2048, 2048}, {1408, 2048},
      {1408, 2048}, {2048, 1408}, {1408, 2048}, {1408, 2048}, {2048, 1408},
      {1408, 2048}, {1408, 2048}, {2048, 1408}, {1408, 2048}, {1408, 2048},
      {2048, 1408}, {1408, 2048}, {1408, 2048}, {2048, 1408}, {1408, 2048},
      {1408, 2048}, {2048, 1408}, {2816, 2048}, {2816, 2048}, {2048, 2816}};
  size_t bytes = 0;
  for (auto& sh : shapes) bytes += size_t(sh.first * sh.second) * dtype_size(dt);
  const size_t n_copies = std::max<size_t>(2, set_bytes() / bytes);
  std::vector<std::vector<std::unique_ptr<W>>> layers(n_copies);
  bytes = 0;
  unsigned seed = 1;
  for (auto& l : layers)
    for (auto& sh : shapes) {
      l.push_back(std::make_unique<W>(dt, sh.first, sh.second, seed++));
      if (&l == &layers[0]) bytes += l.back()->nbytes();
    }
  const auto x = rvec(4096, 3);
  std::vector<float> y(4096);
  ThreadPool& pool = fp8_pool(threads);
  size_t c = 0;
  for (auto _ : state) {
    for (auto& w : layers[c]) kernels::matmul(x.data(), 1, w->view, y.data(), &pool);
    c = (c + 1) % layers.size();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  state.counters["tok/s"] =
      benchmark::Counter(1.0 / 27, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " " +
                 std::string(dtype_name(dt)));
}
BENCHMARK(BM_V2LiteLayerDecode)
    ->Args({16, 1})
    ->Args({8, 1})
    ->Args({16, 2})
    ->Args({8, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Prefill Y[M, 2048] = X W^T with a 2048x2048 weight, args: dtype, M, threads. FLOP/s = 2MNK/s.
void BM_Fp8VsBf16Matmul(benchmark::State& state) {
  const DType dt = dtype_arg(state.range(0));
  const int64_t M = state.range(1), N = 2048, K = 2048;
  W w(dt, N, K, 1);
  const auto x = rvec(M * K, 4);
  std::vector<float> y(static_cast<size_t>(M * N));
  ThreadPool& pool = fp8_pool(int(state.range(2)));
  for (auto _ : state) {
    kernels::matmul(x.data(), M, w.view, y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(2 * M * N * K), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " " +
                 std::string(dtype_name(dt)));
}
BENCHMARK(BM_Fp8VsBf16Matmul)
    ->Args({16, 64, 2})
    ->Args({8, 64, 2})
    ->Args({16, 256, 2})
    ->Args({8, 256, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
