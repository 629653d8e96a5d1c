// Memory-bandwidth and FMA-peak probes for `dsv3 bench` (see bench_probe.h).
#include "runtime/bench_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "core/error.h"
#include "runtime/kv_cache.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 warns about the deliberately undefined registers inside _mm512_reduce_add_ps.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace dsv3::bench {
namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t v[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), a0);
  return v[0] + v[1] + v[2] + v[3];
}

// The chains are unrolled into registers (an indexed array loop kept them in memory: each FMA
// waited on a store-forwarded load, a third of the pipe rate), 16 of them so that two FMA pipes
// with 4-cycle latency stay busy; the empty asm keeps the compiler from folding iterations.
constexpr int kChains = 16;

__attribute__((target("avx512f"))) float fma_avx512(int64_t iters) {
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-6f);
  __m512 c[kChains];
#pragma GCC unroll 16
  for (int k = 0; k < kChains; ++k) c[k] = _mm512_set1_ps(float(k));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) c[k] = _mm512_fmadd_ps(c[k], a, b);
    __asm__ volatile("" : "+v"(c[0]));
  }
  __m512 s = c[0];
#pragma GCC unroll 16
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, c[k]);
  return _mm512_reduce_add_ps(s);
}

// vdpbf16ps: 16 lanes x 2 products x 2 FLOP per instruction.
__attribute__((target("avx512f,avx512bf16"))) float dpbf16_avx512(int64_t iters) {
  const __m512bh a = __m512bh(_mm512_set1_epi32(0x3f803f80)), b = __m512bh(_mm512_set1_epi32(0x33803380));
  __m512 c[kChains];
#pragma GCC unroll 16
  for (int k = 0; k < kChains; ++k) c[k] = _mm512_set1_ps(float(k));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) c[k] = _mm512_dpbf16_ps(c[k], a, b);
    __asm__ volatile("" : "+v"(c[0]));
  }
  __m512 s = c[0];
#pragma GCC unroll 16
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, c[k]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-6f);
  __m256 c[kChains];
#pragma GCC unroll 16
  for (int k = 0; k < kChains; ++k) c[k] = _mm256_set1_ps(float(k));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) c[k] = _mm256_fmadd_ps(c[k], a, b);
    __asm__ volatile("" : "+x"(c[0]));
  }
  __m256 s = c[0];
#pragma GCC unroll 16
  for (int k = 1; k < kChains; ++k) s = _mm256_add_ps(s, c[k]);
  alignas(32) float v[8];
  _mm256_store_ps(v, s);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

uint64_t read_scalar(const uint8_t* p, size_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    uint64_t v[4];
    std::memcpy(v, p + i, 32);
    a0 += v[0]; a1 += v[1]; a2 += v[2]; a3 += v[3];
  }
  return a0 + a1 + a2 + a3;
}

float fma_scalar(int64_t iters) {
  float c[kChains];
  for (int k = 0; k < kChains; ++k) c[k] = float(k);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k) c[k] = c[k] * 0.9999999f + 1e-6f;
  float s = 0;
  for (float v : c) s += v;
  return s;
}

bool has_avx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

volatile uint64_t g_sink;  // keeps the reads and FMAs from being optimised away
volatile float g_fsink;

}  // namespace

BandwidthResult measure_read_bandwidth(ThreadPool* pool, size_t bytes, int passes) {
  const int T = pool ? pool->size() : 1;
  const size_t avail = available_memory_bytes();
  DSV3_CHECK(avail == 0 || bytes <= avail / 2, "bandwidth probe: ", bytes >> 20,
             " MiB buffer exceeds half of the available memory (", avail >> 20, " MiB)");
  DSV3_CHECK(passes >= 1, "bandwidth probe: passes must be >= 1");
  const size_t slice = (bytes / size_t(T) + 127) / 128 * 128;
  const size_t total = slice * size_t(T);
  struct Free { void operator()(uint8_t* p) const { std::free(p); } };
  std::unique_ptr<uint8_t, Free> buf(static_cast<uint8_t*>(std::aligned_alloc(4096, total)));
  DSV3_CHECK(buf != nullptr, "bandwidth probe: cannot allocate ", total >> 20, " MiB");
  uint8_t* base = buf.get();
  // First touch by the reading thread (page placement), with non-zero data.
  parallel_for(pool, T, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) std::memset(base + size_t(t) * slice, int(t + 1), slice);
  });
  const bool avx2 = has_avx2();
  std::vector<double> gbs;
  for (int p = 0; p < passes; ++p) {
    std::vector<uint64_t> sums(static_cast<size_t>(T), 0);
    const auto t0 = Clock::now();
    parallel_for(pool, T, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const uint8_t* s = base + size_t(t) * slice;
#if defined(__x86_64__)
        sums[size_t(t)] = avx2 ? read_avx2(s, slice) : read_scalar(s, slice);
#else
        sums[size_t(t)] = read_scalar(s, slice);
#endif
      }
    });
    const auto t1 = Clock::now();
    uint64_t acc = 0;
    for (uint64_t v : sums) acc += v;
    g_sink = acc;
    gbs.push_back(double(total) / secs(t0, t1) / 1e9);
  }
  BandwidthResult r;
  r.bytes = total;
  r.passes = passes;
  r.best_gbs = *std::max_element(gbs.begin(), gbs.end());
  std::sort(gbs.begin(), gbs.end());
  r.median_gbs = gbs[gbs.size() / 2];
  return r;
}

namespace {

// Calibrates fn on the calling thread, then runs each of 3 repeats for ~seconds/3 on all
// threads at once; best repeat. flop_per_iter: FLOP of one fn iteration on one thread.
double time_peak(ThreadPool* pool, float (*fn)(int64_t), double flop_per_iter, double seconds) {
  const int T = pool ? pool->size() : 1;
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    g_fsink = fn(iters);
    const double dt = secs(t0, Clock::now());
    if (dt > 0.01 || iters > (int64_t(1) << 34)) {
      iters = std::max<int64_t>(1, int64_t(double(iters) * (seconds / 3) / std::max(dt, 1e-9)));
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    parallel_for(pool, T, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) g_fsink = fn(iters);
    });
    const double dt = secs(t0, Clock::now());
    best = std::max(best, double(T) * double(iters) * flop_per_iter / dt / 1e9);
  }
  return best;
}

}  // namespace

FlopsResult measure_peak_flops(ThreadPool* pool, double seconds) {
  FlopsResult r;
  int lanes = 1;
  float (*fn)(int64_t) = fma_scalar;
  r.isa = "scalar";
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    fn = fma_avx512;
    lanes = 16;
    r.isa = "avx512f";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    fn = fma_avx2;
    lanes = 8;
    r.isa = "avx2+fma";
  }
#endif
  r.gflops = time_peak(pool, fn, double(kChains) * lanes * 2.0, seconds);
  return r;
}

FlopsResult measure_peak_bf16dot(ThreadPool* pool, double seconds) {
  FlopsResult r;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512bf16")) {
    r.isa = "avx512bf16";
    r.gflops = time_peak(pool, dpbf16_avx512, double(kChains) * 16 * 4.0, seconds);
  }
#endif
  return r;
}

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      if (c != std::string::npos) {
        size_t s = c + 1;
        while (s < line.size() && line[s] == ' ') ++s;
        return line.substr(s);
      }
    }
  }
  return "unknown CPU";
}

}  // namespace dsv3::bench
