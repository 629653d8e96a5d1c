// Machine roofline probes for `dsv3 bench`: sustained memory read bandwidth (a sequential read
// of a buffer much larger than the last-level cache, split over the pool's pinned threads) and
// peak fp32 FMA throughput and bf16 dot-product throughput (independent chains in registers,
// every thread). Both are measured
// with the same ThreadPool (same threads, same pinning) that runs the model.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/thread_pool.h"

namespace dsv3::bench {

struct BandwidthResult {
  double best_gbs = 0;    // best pass (GB/s = 1e9 bytes/s): what the memory can deliver
  double median_gbs = 0;  // median pass
  size_t bytes = 0;       // buffer size read per pass
  int passes = 0;
};

// Reads a `bytes` buffer (rounded up to 64 B per thread; first touched by the thread that reads
// it, so pages are local to it) `passes` times with pool->size() threads, each thread a
// contiguous slice, 16-byte vector loads into four accumulators. The buffer is freed on return.
// Throws dsv3::Error if bytes exceeds half of the available memory.
BandwidthResult measure_read_bandwidth(ThreadPool* pool, size_t bytes = size_t(1) << 30,
                                       int passes = 7);

struct FlopsResult {
  double gflops = 0;  // fp32 FLOP/s over all threads, 1 FMA = 2 FLOP (best of the repeats)
  std::string isa;    // "avx512f", "avx2+fma" or "scalar": which loop was timed
};

// Times a loop of 16 independent vector FMA chains (in registers) on every thread of the pool
// at once for about `seconds` in total.
FlopsResult measure_peak_flops(ThreadPool* pool, double seconds = 0.3);
// The same with vdpbf16ps chains (AVX-512 BF16; 1 instruction = 32 multiply-adds = 64 FLOP):
// the peak of the --act-precision bf16 matmuls. gflops = 0 and isa = "" without AVX-512 BF16.
FlopsResult measure_peak_bf16dot(ThreadPool* pool, double seconds = 0.3);

// "AMD EPYC ..." from /proc/cpuinfo ("unknown CPU" if absent).
std::string cpu_model_name();

}  // namespace dsv3::bench
