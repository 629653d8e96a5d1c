// KV cache size per token (paper Table 1): MLA caches one latent c_KV plus one decoupled RoPE
// key per layer; GQA/MHA cache K and V for every KV head.
#pragma once
#include <cstdint>

#include "analyze/arch_spec.h"
#include "analyze/formats.h"

namespace dsv3::analyze {

// Cached elements per token over all main layers:
//   MLA: (kv_lora_rank + qk_rope_head_dim) · L          (V3: 576 · 61)
//   GQA/MHA: 2 · num_key_value_heads · head_dim · L     (Qwen2.5-72B: 2 · 8 · 128 · 80)
// Throws MissingFields naming absent config keys.
int64_t kv_elements_per_token(const ArchSpec& s);

// Bytes per token in `fmt`, rounded up to whole bytes (exact for 8/16-bit formats).
int64_t kv_bytes_per_token(const ArchSpec& s, const NumberFormat& fmt);

// Bytes for `ctx` tokens of one sequence: ceil(elements · ctx · bits / 8).
int64_t kv_bytes_for_context(const ArchSpec& s, const NumberFormat& fmt, int64_t ctx);

}  // namespace dsv3::analyze
