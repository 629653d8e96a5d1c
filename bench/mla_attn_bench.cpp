// Absorbed MLA decode attention (kernels/mla_attn.h) at DeepSeek-V2-Lite/V3 widths (16 heads,
// r 512, dr 64): one query token against 4 layers' latent caches of T rows each, the whole
// chunked partial + merge the model runs per layer, on 1 or 2 threads. Four separate caches
// (75 MB at 16k in bf16) exceed the L3 as a real decode step does, so rows come from DRAM. Reports
// GFLOP/s (2 x H x (W + r) per row) and cache GB/s; f32 / bf16 / f16 rows (bf16: vdpbf16ps
// where the CPU has AVX-512 BF16; f16: the fp32-FMA kernel on 2-byte rows).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/mla_attn.h"

using namespace dsv3;

namespace {

constexpr int64_t kH = 16, kR = 512, kDr = 64, kW = kR + kDr, kLayers = 4;

// Rows start `offset` bytes past a 64-byte boundary (0: every row aligned, W x 2 = 1152 bytes).
struct Rows {
  std::vector<uint8_t> buf;
  size_t esz, offset;
  uint8_t* base() const {
    const uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
    return reinterpret_cast<uint8_t*>((p + 63) / 64 * 64 + offset);
  }
  static const void* row_fn(const void* self, int64_t t) {
    const Rows* r = static_cast<const Rows*>(self);
    return r->base() + size_t(t * kW) * r->esz;
  }
};

void BM_MlaAttnDecode(benchmark::State& state) {
  const DType dt = state.range(0) == 0   ? DType::F32
                   : state.range(0) == 1 ? DType::BF16
                                         : DType::F16;
  const int64_t T = state.range(1);
  const size_t offset = size_t(state.range(2));
  const int threads = int(state.range(3));
  static ThreadPool* pools[3] = {};
  if (!pools[threads]) pools[threads] = new ThreadPool(threads, true);
  ThreadPool* pool = threads > 1 ? pools[threads] : nullptr;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<Rows> layers(kLayers);
  for (Rows& r : layers) {
    r.esz = dtype_size(dt);
    r.offset = offset;
    r.buf.resize(size_t(T * kW) * r.esz + 128);
    uint8_t* base = r.base();
    for (int64_t i = 0; i < T * kW; ++i) {
      const float v = nd(rng);
      if (dt == DType::F32)
        reinterpret_cast<float*>(base)[i] = v;
      else if (dt == DType::BF16)
        reinterpret_cast<uint16_t*>(base)[i] = f32_to_bf16(v);
      else
        reinterpret_cast<uint16_t*>(base)[i] = f32_to_f16(v);
    }
  }
  std::vector<float> q(size_t(kH * kW));
  for (float& v : q) v = nd(rng);
  const kernels::MlaAttnShape s{kH, kR, kDr, 1.f / std::sqrt(float(kW))};
  const kernels::MlaChunks ch = kernels::mla_attn_chunks(T);
  std::vector<float> m(size_t(ch.n * kH)), l(size_t(ch.n * kH)), acc(size_t(ch.n * kH * kR)),
      out(size_t(kH * kR));
  for (auto _ : state) {
    for (const Rows& r : layers) {
      const kernels::LatentSource src{&Rows::row_fn, &r, T, dt, kW, T};
      // Chunks over the threads as model/mla.cpp splits them (one parallel_for per layer).
      parallel_for(pool, ch.n, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k)
          kernels::mla_attn_partial(s, q.data(), src, ch.begin(k), ch.end(k), m.data() + k * kH,
                                    l.data() + k * kH, acc.data() + k * kH * kR);
      });
      kernels::mla_attn_combine(s, ch.n, m.data(), l.data(), acc.data(), 0, kH, out.data());
    }
    benchmark::DoNotOptimize(out.data());
  }
  const double per_iter_flop = 2.0 * double(kLayers * T * kH * (kW + kR));
  const double per_iter_bytes = double(kLayers * T * kW) * double(dtype_size(dt));
  state.counters["GFLOP/s"] = benchmark::Counter(per_iter_flop * 1e-9 * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(per_iter_bytes * 1e-9 * double(state.iterations()),
                                              benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(dt)));
}

}  // namespace

// Args: rows dtype (0 f32, 1 bf16, 2 f16), context length T, bytes past 64-byte alignment,
// threads (chunks split over a pinned pool as model/mla.cpp does).
BENCHMARK(BM_MlaAttnDecode)
    ->ArgsProduct({{0, 1, 2}, {256, 4096, 16384}, {0, 16}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
