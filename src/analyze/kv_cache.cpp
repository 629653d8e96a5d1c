// KV cache sizes from the attention geometry (../shared/docs/paper-tables.md §1).
#include "analyze/kv_cache.h"

#include <cmath>

#include "analyze/checked.h"

namespace dsv3::analyze {

int64_t kv_elements_per_token(const ArchSpec& s) {
  Need need("KV cache");
  const int64_t L = need(s.num_layers);
  int64_t per_layer;
  if (s.attention == AttentionKind::kMLA) {
    per_layer = cadd({need(s.kv_lora_rank), need(s.qk_rope_head_dim)});
  } else {
    const int64_t kv = need(s.num_kv_heads), hd = need(s.head_dim);
    need.done();
    per_layer = cmul({2, kv, hd});
  }
  need.done();
  return cmul({per_layer, L});
}

static int64_t bytes_ceil(int64_t elements, double bits) {
  // Exact for integral bit widths up to ~2^50 elements: long double keeps 64 mantissa bits.
  long double b = static_cast<long double>(elements) * static_cast<long double>(bits) / 8.0L;
  DSV3_CHECK(b < 9.2e18L, "size overflow: KV cache bytes too large");
  return static_cast<int64_t>(std::ceil(b));
}

int64_t kv_bytes_per_token(const ArchSpec& s, const NumberFormat& fmt) {
  return bytes_ceil(kv_elements_per_token(s), fmt.bits);
}

int64_t kv_bytes_for_context(const ArchSpec& s, const NumberFormat& fmt, int64_t ctx) {
  DSV3_CHECK(ctx >= 0, "context length must be >= 0, got ", ctx);
  return bytes_ceil(cmul({kv_elements_per_token(s), ctx}), fmt.bits);
}

}  // namespace dsv3::analyze
