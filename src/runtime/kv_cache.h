// Latent KV cache of MLA: per layer and token only c_kv (kv_lora_rank values, after
// kv_a_layernorm) and k_pe (qk_rope_head_dim values, after RoPE) — 576 values for V3 — never
// the decompressed per-head keys and values. Stored as f32 (exact) or bf16 (half the memory).
// Layout per layer: [ctx, width] with width = kv_lora_rank + qk_rope_head_dim (c_kv first).
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "model/config.h"

namespace dsv3 {

class KvCache {
 public:
  // n_layers includes MTP layers when they are used. Throws dsv3::Error if the cache would not
  // fit in the machine's available memory.
  KvCache(const ModelConfig& c, int64_t n_layers, int64_t ctx, DType dtype);

  int64_t ctx() const { return ctx_; }
  int64_t width() const { return width_; }
  int64_t n_layers() const { return n_layers_; }
  DType dtype() const { return dtype_; }
  size_t bytes() const { return data_.size(); }

  // Tokens currently held (positions [0, length)). Set by the generator; rollback = set lower.
  int64_t length() const { return length_; }
  void set_length(int64_t n);

  // Stores width() values for (layer, pos).
  void write(int64_t layer, int64_t pos, const float* row);
  // Reads rows [0, n) of a layer as fp32 into out[n, width]; returns a pointer to fp32 rows,
  // either directly into the cache (f32) or into `scratch` (bf16, converted).
  const float* rows_f32(int64_t layer, int64_t n, std::vector<float>& scratch) const;

  // Raw access for kernels that read the cache in its stored dtype (no fp32 copy): a pointer
  // to the width() values of (layer, pos), stored as dtype(). Rows are contiguous (stride
  // width()) within each aligned run of page_tokens() positions of a layer; readers must
  // not assume contiguity across a page boundary (a paged pool may place pages anywhere).
  const void* row_ptr(int64_t layer, int64_t pos) const;
  int64_t page_tokens() const { return ctx_; }

  // Bytes per token for all layers, for a cache dtype.
  static size_t bytes_per_token(const ModelConfig& c, int64_t n_layers, DType dtype);

 private:
  int64_t n_layers_, ctx_, width_;
  DType dtype_;
  int64_t length_ = 0;
  std::vector<uint8_t> data_;
};

// Bytes of memory the OS reports as available (MemAvailable), or 0 if unknown.
size_t available_memory_bytes();

}  // namespace dsv3
