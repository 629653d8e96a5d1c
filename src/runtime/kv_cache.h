// Latent KV cache of MLA: per layer and token only c_kv (kv_lora_rank values, after
// kv_a_layernorm) and k_pe (qk_rope_head_dim values, after RoPE) — 576 values for V3 — never
// the decompressed per-head keys and values. Stored as f32 (exact), bf16 or f16 (half the
// memory each; f16 is llama.cpp's default cache type). A bf16/f16 cache rounds each value to
// nearest even once, at write; every reader sees exactly those rounded values.
// Layout per layer: [ctx, width] with width = kv_lora_rank + qk_rope_head_dim (c_kv first).
// Paged form (server): a KvCache can instead be a view of pages from a shared KvPool, listed in
// a page table owned by the caller (see KvPool below); readers only see row_ptr/page_tokens.
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned_vector.h"
#include "core/dtype.h"
#include "model/config.h"

namespace dsv3 {

// A pool of fixed-size pages of latent cache shared by many sequences (the server's paged KV
// pool). A page holds page_tokens() consecutive positions for each of n_layers() layers,
// laid out [layer][page_tokens][width] so rows of one layer are contiguous within a page.
// Not thread-safe: one owner (the scheduler's worker) allocates and releases.
class KvPool {
 public:
  // dtype: F32, BF16 or F16. Throws dsv3::Error if the pool would not fit in the machine's
  // available memory.
  KvPool(const ModelConfig& c, int64_t n_layers, int64_t n_pages, int64_t page_tokens, DType dtype);
  int64_t n_pages() const { return n_pages_; }
  int64_t page_tokens() const { return page_tokens_; }
  int64_t n_layers() const { return n_layers_; }
  int64_t width() const { return width_; }
  DType dtype() const { return dtype_; }
  int64_t free_pages() const { return int64_t(free_.size()); }
  int64_t used_pages() const { return n_pages_ - free_pages(); }
  // Pages needed to hold `tokens` positions.
  int64_t pages_for(int64_t tokens) const { return (tokens + page_tokens_ - 1) / page_tokens_; }
  int32_t alloc();              // a free page, or -1 when the pool is exhausted
  void release(int32_t page);   // returns a page (double release -> dsv3::Error)
  uint8_t* page_layer(int32_t page, int64_t layer) {
    return data_.data() + (size_t(page) * size_t(n_layers_) + size_t(layer)) * layer_bytes_;
  }
  const uint8_t* page_layer(int32_t page, int64_t layer) const {
    return data_.data() + (size_t(page) * size_t(n_layers_) + size_t(layer)) * layer_bytes_;
  }
  size_t bytes() const { return data_.size(); }

 private:
  int64_t n_layers_, n_pages_, page_tokens_, width_;
  DType dtype_;
  size_t layer_bytes_;
  AlignedVector<uint8_t> data_;  // 64-byte aligned: every row starts a cache line
  std::vector<int32_t> free_;   // stack of free pages
  std::vector<bool> in_use_;
};

class KvCache {
 public:
  // n_layers includes MTP layers when they are used. dtype: F32, BF16 or F16 (else
  // dsv3::Error). Throws dsv3::Error if the cache would not fit in the machine's available memory.
  KvCache(const ModelConfig& c, int64_t n_layers, int64_t ctx, DType dtype);
  // Paged view: layers [layer0, layer0 + n_layers) of `pool`, position p on page
  // (*pages)[p / page_tokens]. The caller owns `pages` and grows it (KvPool::alloc) before the
  // forward writes there; writing beyond the listed pages throws. Several views may share one
  // page table with different layer ranges (the MTP layer next to the model's layers).
  KvCache(KvPool& pool, const std::vector<int32_t>* pages, int64_t layer0, int64_t n_layers,
          int64_t ctx);
  bool paged() const { return pool_ != nullptr; }
  // Positions the cache can hold now: ctx() unpaged, listed pages x page_tokens() paged.
  int64_t capacity() const;

  int64_t ctx() const { return ctx_; }
  int64_t width() const { return width_; }
  int64_t n_layers() const { return n_layers_; }
  DType dtype() const { return dtype_; }
  size_t bytes() const { return data_.size(); }

  // Tokens currently held (positions [0, length)). Set by the generator; rollback = set lower.
  int64_t length() const { return length_; }
  void set_length(int64_t n);

  // Stores width() values for (layer, pos), rounded to dtype() (f32_to_bf16 / f32_to_f16:
  // round to nearest even) unless it is F32.
  void write(int64_t layer, int64_t pos, const float* row);
  // Reads rows [0, n) of a layer as fp32 [n, width]; returns a pointer to fp32 rows, either
  // directly into the cache (f32, contiguous) or into `scratch` (bf16/f16 converted exactly,
  // or a paged cache gathered).
  const float* rows_f32(int64_t layer, int64_t n, std::vector<float>& scratch) const;

  // Raw access for kernels that read the cache in its stored dtype (no fp32 copy): a pointer
  // to the width() values of (layer, pos), stored as dtype(). Rows are contiguous (stride
  // width()) within each aligned run of page_tokens() positions of a layer; readers must
  // not assume contiguity across a page boundary (a paged pool may place pages anywhere).
  const void* row_ptr(int64_t layer, int64_t pos) const;
  int64_t page_tokens() const { return pool_ ? pool_->page_tokens() : ctx_; }

  // Bytes per token for all layers, for a cache dtype (F32: 4 per value, BF16/F16: 2).
  static size_t bytes_per_token(const ModelConfig& c, int64_t n_layers, DType dtype);

 private:
  int64_t n_layers_, ctx_, width_;
  DType dtype_;
  int64_t length_ = 0;
  AlignedVector<uint8_t> data_;  // 64-byte aligned: every row starts a cache line
  KvPool* pool_ = nullptr;  // paged view (data_ unused)
  const std::vector<int32_t>* pages_ = nullptr;
  int64_t layer0_ = 0;
  uint8_t* row_at(int64_t layer, int64_t pos) const;
};

// The --kv-type spelling of a cache dtype: "f32", "bf16" or "f16" (anything else: "?").
const char* kv_type_name(DType t);

// Bytes of memory the OS reports as available (MemAvailable), or 0 if unknown.
size_t available_memory_bytes();

}  // namespace dsv3
