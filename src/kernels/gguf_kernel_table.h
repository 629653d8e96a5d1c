// Internal: per-ISA entry points of the ggml block-type matmul (matmul_gguf_<isa>.cpp),
// dispatched by matmul_gguf.cpp. Single-threaded; the caller splits weight rows over the pool.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/gguf_quants.h"

namespace dsv3::kernels::detail {

struct GgufTable {
  // y[m * N + n] for m < M (rows of xa) and n0 <= n < n1, W of block type wt with rows of
  // `row_bytes` bytes and K values, exactly as described in gguf_quants.h. `scratch` holds
  // gguf_scratch_bytes(K) bytes, 64-byte aligned.
  void (*rows)(const Q8Acts& xa, const uint8_t* W, DType wt, size_t row_bytes, int64_t N,
               int64_t K, float* y, int64_t n0, int64_t n1, uint8_t* scratch);
  // Smallest M for which `rows` wants xa's transposed 16-row groups (pack_acts16) and uses
  // its packed path (0: never). Same results either way.
  int64_t packed_min_m = 0;
};

// Weight rows decoded together (their codes reused across the rows of x).
constexpr int64_t kGgufBand = 4;
// Scratch of one thread: kGgufBand rows of codes (K bytes) and per-16 multipliers, plus dots.
inline int64_t gguf_scratch_bytes(int64_t K) {
  return kGgufBand * (K + 2 * (K / 16) * 4) + (K / 16) * 4 + 256;
}

const GgufTable& gguf_table_portable();
const GgufTable& gguf_table_avx2();
const GgufTable& gguf_table_avx512();
// Whether the AVX-512 table can run here (it needs AVX512-VNNI on top of the AVX-512 path).
bool gguf_avx512_usable();

}  // namespace dsv3::kernels::detail
