// Kernel benchmarks against the roofline: a memory-read-bandwidth probe, a peak-FMA probe,
// decode matvec (M = 1) at DeepSeek-V2-Lite shapes reporting bytes/s of weights streamed,
// and prefill matmul (M = 64..512) reporting FLOP/s. Weight sets larger than the L3 cache are
// cycled so matvec numbers are DRAM numbers, not cache numbers. Each benchmark runs on the ISA
// chosen by the dispatcher (DSV3_ISA=avx2|portable to force another) with 1 or 2 pool threads.
#include <benchmark/benchmark.h>
#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

using namespace dsv3;

namespace {

ThreadPool& pool_for(int threads) {
  static std::unique_ptr<ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<ThreadPool>(threads, true);
  return *pools[threads];
}

// Copies of one random [N, K] weight matrix, enough of them to exceed `min_bytes` in total.
struct WeightSet {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<TensorView> views;
  WeightSet(DType dt, int64_t N, int64_t K, size_t min_bytes) {
    const size_t bytes = size_t(N * K) * dtype_size(dt);
    const size_t copies = std::max<size_t>(1, (min_bytes + bytes - 1) / bytes);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (size_t c = 0; c < copies; ++c) {
      bufs.emplace_back(bytes);
      uint8_t* p = bufs.back().data();
      for (int64_t i = 0; i < N * K; ++i) {
        const float v = u(rng);
        if (dt == DType::F32) {
          std::memcpy(p + 4 * i, &v, 4);
        } else {
          const uint16_t h = dt == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
          std::memcpy(p + 2 * i, &h, 2);
        }
      }
      views.push_back(make_view(dt, p, {N, K}));
    }
  }
};

std::vector<float> random_vec(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = u(rng);
  return v;
}

// Sums n floats with four AVX-512 accumulators: a pure streaming read.
__attribute__((target("avx512f"))) float sum_avx512(const float* a, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

float sum_plain(const float* a, int64_t n) {
  float s[8] = {};
  for (int64_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

// Memory read bandwidth probe: sum of a 1 GiB array, split in 64 chunks over the pool.
void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = int(state.range(0));
  const int64_t n = int64_t(1) << 28;
  static std::vector<float> a;
  if (a.empty()) a.assign(size_t(n), 1.0f);
  const bool avx512 = __builtin_cpu_supports("avx512f");
  ThreadPool& pool = pool_for(threads);
  std::vector<float> part(64, 0.f);
  const int64_t chunk = n / 64;
  for (auto _ : state) {
    pool.parallel_for(64, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c)
        part[size_t(c)] = avx512 ? sum_avx512(a.data() + c * chunk, chunk)
                                 : sum_plain(a.data() + c * chunk, chunk);
    });
    benchmark::DoNotOptimize(part.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * 4);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Peak fp32 FMA throughput probe: 12 independent accumulator chains, no memory traffic.
__attribute__((target("avx512f,fma"))) float fma_burn(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  for (int64_t t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

void BM_PeakFlops(benchmark::State& state) {
  const int threads = int(state.range(0));
  if (!__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("needs AVX-512");
    return;
  }
  ThreadPool& pool = pool_for(threads);
  const int64_t iters = 1 << 22;
  std::vector<float> out(static_cast<size_t>(threads));
  for (auto _ : state) {
    pool.parallel_for(threads, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) out[size_t(t)] = fma_burn(iters);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(double(threads) * iters * 12 * 16 * 2,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PeakFlops)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Decode matvec y = W x, args: dtype (0 f32, 1 bf16), N, K, threads. Bytes = weight bytes.
void BM_Matvec(benchmark::State& state) {
  const DType dt = state.range(0) == 0 ? DType::F32 : DType::BF16;
  const int64_t N = state.range(1), K = state.range(2);
  const int threads = int(state.range(3));
  WeightSet ws(dt, N, K, size_t(256) << 20);
  const auto x = random_vec(K, 2);
  std::vector<float> y(static_cast<size_t>(N));
  ThreadPool& pool = pool_for(threads);
  size_t c = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), 1, ws.views[c], y.data(), &pool);
    c = (c + 1) % ws.views.size();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(ws.views[0].nbytes()));
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " " +
                 std::string(dtype_name(dt)));
}
// V2-Lite: attention/dense 2048x2048, expert 1408x2048 (gate/up) and 2048x1408 (down),
// lm_head 102400x2048.
void matvec_args(benchmark::internal::Benchmark* b) {
  for (int dt : {1, 0})
    for (auto nk :
         std::vector<std::pair<int, int>>{{2048, 2048}, {1408, 2048}, {2048, 1408}, {102400, 2048}})
      for (int t : {1, 2}) b->Args({dt, nk.first, nk.second, t});
}
BENCHMARK(BM_Matvec)->Apply(matvec_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Fused expert gate+up (two 1408x2048 bf16 weights, one pass) for one token.
void BM_GateUp(benchmark::State& state) {
  const int64_t N = 1408, K = 2048;
  const int threads = int(state.range(0));
  WeightSet g(DType::BF16, N, K, size_t(128) << 20), u(DType::BF16, N, K, size_t(128) << 20);
  const auto x = random_vec(K, 2);
  std::vector<float> h(static_cast<size_t>(N));
  ThreadPool& pool = pool_for(threads);
  size_t c = 0;
  for (auto _ : state) {
    kernels::gate_up_silu(x.data(), g.views[c], u.views[c], h.data(), &pool);
    c = (c + 1) % g.views.size();
    benchmark::DoNotOptimize(h.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * N * K * 2);
}
BENCHMARK(BM_GateUp)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Prefill matmul Y[M, N] = X W^T, args: dtype, M, N, K, threads. Reports FLOP/s = 2MNK/s.
void BM_Matmul(benchmark::State& state) {
  const DType dt = state.range(0) == 0 ? DType::F32 : DType::BF16;
  const int64_t M = state.range(1), N = state.range(2), K = state.range(3);
  const int threads = int(state.range(4));
  WeightSet ws(dt, N, K, 0);
  const auto x = random_vec(M * K, 3);
  std::vector<float> y(static_cast<size_t>(M * N));
  ThreadPool& pool = pool_for(threads);
  for (auto _ : state) {
    kernels::matmul(x.data(), M, ws.views[0], y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(2 * M * N * K), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(kernels::isa_name(kernels::current_isa())) + " " +
                 std::string(dtype_name(dt)));
}
void matmul_args(benchmark::internal::Benchmark* b) {
  for (int dt : {1, 0})
    for (int m : {64, 128, 256, 512})
      for (int t : {1, 2}) b->Args({dt, m, 2048, 2048, t});
  // Routed-expert shape (V2-Lite gate/up) at the few tokens an expert sees in a prefill.
  for (int m : {12, 24}) b->Args({1, m, 1408, 2048, 1});
}
BENCHMARK(BM_Matmul)->Apply(matmul_args)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
