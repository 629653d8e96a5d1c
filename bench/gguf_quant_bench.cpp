// Matvec (decode, M = 1) with ggml block-quantised weights (Q8_0 ... Q6_K, kernels::matmul ->
// matmul_gguf) vs the same shape in bf16, for a [1408, 2048] weight (a V2-Lite expert gate/up).
// Copies of the weight are cycled so the set (>= 96 MiB) does not fit the L3 cache: these are
// DRAM numbers. Reports bytes of weights streamed per second and matvecs per second (the fair
// comparison across types: a Q4_K matvec streams ~3.6x fewer bytes than bf16). Also one
// prefill-sized product (M = 64). ISA: the dispatcher's choice (DSV3_ISA to force one).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/ops.h"

using namespace dsv3;

namespace {

constexpr int64_t kN = 1408, kK = 2048;
const DType kTypes[] = {DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                        DType::Q4_K, DType::Q5_K, DType::Q6_K};

ThreadPool& gq_pool(int threads) {
  static std::unique_ptr<ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<ThreadPool>(threads, true);
  return *pools[threads];
}

// Random bytes; every f16 scale field set to a small finite half (block types), or random
// bf16 values in [-1, 1].
struct GqSet {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<TensorView> views;
  size_t bytes = 0;
  explicit GqSet(DType dt) {
    bytes = dtype_row_bytes(dt, kK) * size_t(kN);
    const size_t copies = std::max<size_t>(2, (size_t(96) << 20) / bytes + 1);
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const uint16_t half = f32_to_f16(0.01f);
    for (size_t c = 0; c < copies; ++c) {
      bufs.emplace_back(bytes);
      uint8_t* p = bufs.back().data();
      if (dt == DType::BF16) {
        for (size_t i = 0; i < bytes / 2; ++i) {
          const uint16_t h = f32_to_bf16(u(rng));
          std::memcpy(p + 2 * i, &h, 2);
        }
      } else {
        for (size_t i = 0; i < bytes; ++i) p[i] = uint8_t(byte(rng));
        const size_t bb = size_t(dtype_block_bytes(dt));
        std::vector<size_t> offs = {0};
        if (dt == DType::Q4_1 || dt == DType::Q4_K || dt == DType::Q5_K) offs = {0, 2};
        if (dt == DType::Q6_K) offs = {208};
        for (size_t b = 0; b < bytes / bb; ++b)
          for (size_t o : offs) std::memcpy(p + b * bb + o, &half, 2);
      }
      views.push_back(make_view(dt, p, {kN, kK}));
    }
  }
};

GqSet& gq_set(DType dt) {
  static std::unique_ptr<GqSet> sets[256];
  auto& s = sets[int(dt)];
  if (!s) s = std::make_unique<GqSet>(dt);
  return *s;
}

void BM_GgufMatvec(benchmark::State& state) {
  const DType dt = kTypes[state.range(0)];
  const int threads = int(state.range(1));
  const int64_t M = state.range(2);
  GqSet& ws = gq_set(dt);
  ThreadPool& pool = gq_pool(threads);
  std::mt19937 rng(9);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(M * kK)), y(static_cast<size_t>(M * kN));
  for (auto& v : x) v = nd(rng);
  size_t i = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), M, ws.views[i], y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % ws.views.size();
  }
  state.SetLabel(std::string(dtype_name(dt)));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(ws.bytes));
  state.counters["matvec/s"] =
      benchmark::Counter(double(M), benchmark::Counter::kIsIterationInvariantRate);
}

void gq_args(benchmark::internal::Benchmark* b) {
  for (int64_t M : {1, 64})
    for (int t : {1, 2})
      for (int64_t k = 0; k < int64_t(sizeof(kTypes) / sizeof(kTypes[0])); ++k) b->Args({k, t, M});
}
BENCHMARK(BM_GgufMatvec)->Apply(gq_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
