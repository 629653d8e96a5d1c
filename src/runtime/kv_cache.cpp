// KvCache storage (contiguous or a paged view of a KvPool), fp32 <-> bf16/f16 conversion and
// memory admission check.
#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"
#include "runtime/kv_convert.h"

namespace dsv3 {

size_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  size_t kb;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

namespace {

bool cache_dtype_ok(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F16; }

}  // namespace

const char* kv_type_name(DType t) {
  return t == DType::F32 ? "f32" : t == DType::BF16 ? "bf16" : t == DType::F16 ? "f16" : "?";
}

size_t KvCache::bytes_per_token(const ModelConfig& c, int64_t n_layers, DType dtype) {
  return size_t(n_layers) * size_t(c.latent_cache_width()) * dtype_size(dtype);
}

KvCache::KvCache(const ModelConfig& c, int64_t n_layers, int64_t ctx, DType dtype)
    : n_layers_(n_layers), ctx_(ctx), width_(c.latent_cache_width()), dtype_(dtype) {
  DSV3_CHECK(cache_dtype_ok(dtype), "KV cache dtype must be f32, bf16 or f16, got ", dtype_name(dtype));
  DSV3_CHECK(ctx > 0, "--ctx must be > 0, got ", ctx);
  const size_t per_token = bytes_per_token(c, n_layers, dtype);
  DSV3_CHECK(size_t(ctx) <= (size_t(1) << 40) / per_token, "--ctx ", ctx, " is absurdly large");
  const size_t total = per_token * size_t(ctx);
  const size_t avail = available_memory_bytes();
  if (avail > 0 && total > avail)
    fail("KV cache for --ctx ", ctx, " needs ", total, " bytes (", per_token,
         " bytes/token) but only ", avail, " bytes of memory are available; use a smaller --ctx");
  data_.assign(total, 0);
}

void KvCache::set_length(int64_t n) {
  DSV3_CHECK(n >= 0 && n <= ctx_, "KV cache length ", n, " outside [0, ", ctx_, "]");
  length_ = n;
}

KvPool::KvPool(const ModelConfig& c, int64_t n_layers, int64_t n_pages, int64_t page_tokens,
               DType dtype)
    : n_layers_(n_layers), n_pages_(n_pages), page_tokens_(page_tokens),
      width_(c.latent_cache_width()), dtype_(dtype) {
  DSV3_CHECK(cache_dtype_ok(dtype), "KV cache dtype must be f32, bf16 or f16, got ", dtype_name(dtype));
  DSV3_CHECK(n_layers > 0, "KV pool needs at least one layer");
  DSV3_CHECK(page_tokens > 0 && page_tokens <= 65536, "KV page size must be in [1, 65536], got ",
             page_tokens);
  DSV3_CHECK(n_pages > 0 && n_pages < (int64_t(1) << 31), "KV pool page count must be in [1, 2^31), got ",
             n_pages);
  layer_bytes_ = size_t(page_tokens) * size_t(width_) * dtype_size(dtype);
  const size_t per_page = layer_bytes_ * size_t(n_layers);
  DSV3_CHECK(size_t(n_pages) <= (size_t(1) << 40) / per_page, "KV pool of ", n_pages,
             " pages is absurdly large");
  const size_t total = per_page * size_t(n_pages);
  const size_t avail = available_memory_bytes();
  if (avail > 0 && total > avail)
    fail("KV pool of ", n_pages, " pages x ", page_tokens, " tokens needs ", total, " bytes but only ",
         avail, " bytes of memory are available; use fewer KV tokens");
  data_.assign(total, 0);
  in_use_.assign(size_t(n_pages), false);
  for (int64_t p = n_pages - 1; p >= 0; --p) free_.push_back(int32_t(p));  // page 0 first
}

int32_t KvPool::alloc() {
  if (free_.empty()) return -1;
  const int32_t p = free_.back();
  free_.pop_back();
  in_use_[size_t(p)] = true;
  return p;
}

void KvPool::release(int32_t page) {
  DSV3_CHECK(page >= 0 && page < n_pages_ && in_use_[size_t(page)], "KV pool: page ", page,
             " released but not in use");
  in_use_[size_t(page)] = false;
  free_.push_back(page);
}

KvCache::KvCache(KvPool& pool, const std::vector<int32_t>* pages, int64_t layer0, int64_t n_layers,
                 int64_t ctx)
    : n_layers_(n_layers), ctx_(ctx), width_(pool.width()), dtype_(pool.dtype()), pool_(&pool),
      pages_(pages), layer0_(layer0) {
  DSV3_CHECK(pages != nullptr, "paged KV cache needs a page table");
  DSV3_CHECK(ctx > 0, "--ctx must be > 0, got ", ctx);
  DSV3_CHECK(layer0 >= 0 && n_layers > 0 && layer0 + n_layers <= pool.n_layers(), "KV cache layers [",
             layer0, ", ", layer0 + n_layers, ") outside the pool's ", pool.n_layers());
}

int64_t KvCache::capacity() const {
  return pool_ ? std::min(ctx_, int64_t(pages_->size()) * pool_->page_tokens()) : ctx_;
}

uint8_t* KvCache::row_at(int64_t layer, int64_t pos) const {
  if (!pool_) {
    const size_t idx = (size_t(layer) * size_t(ctx_) + size_t(pos)) * size_t(width_);
    return const_cast<uint8_t*>(data_.data()) + idx * dtype_size(dtype_);
  }
  const int64_t P = pool_->page_tokens();
  const int32_t page = (*pages_)[size_t(pos / P)];
  return pool_->page_layer(page, layer0_ + layer) + size_t(pos % P) * size_t(width_) * dtype_size(dtype_);
}

void KvCache::write(int64_t layer, int64_t pos, const float* row) {
  DSV3_CHECK(layer >= 0 && layer < n_layers_ && pos >= 0 && pos < ctx_,
             "KV cache write outside the context (position ", pos, ", --ctx ", ctx_, ")");
  DSV3_CHECK(pos < capacity(), "KV cache write at position ", pos, " beyond the ", capacity(),
             " positions of its reserved pages");
  uint8_t* dst = row_at(layer, pos);
  if (dtype_ == DType::F32) {
    std::memcpy(dst, row, size_t(width_) * 4);
  } else if (dtype_ == DType::BF16) {
    auto* d = reinterpret_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < width_; ++i) d[i] = f32_to_bf16(row[i]);
  } else {  // F16: round to nearest even (inf above 65504, NaN kept), as llama.cpp's f16 cache
    auto* d = reinterpret_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < width_; ++i) d[i] = f32_to_f16(row[i]);
  }
}

const void* KvCache::row_ptr(int64_t layer, int64_t pos) const {
  return row_at(layer, pos);
}

const float* KvCache::rows_f32(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  if (!pool_) {
    const size_t idx = size_t(layer) * size_t(ctx_) * size_t(width_);
    if (dtype_ == DType::F32) return reinterpret_cast<const float*>(data_.data()) + idx;
    scratch.resize(size_t(n) * size_t(width_));
    kv_values_to_f32(dtype_, data_.data() + idx * dtype_size(dtype_), scratch.size(), scratch.data());
    return scratch.data();
  }
  // Paged: gather page by page into scratch.
  DSV3_CHECK(n <= capacity(), "KV cache read of ", n, " rows beyond its ", capacity(), " reserved");
  scratch.resize(size_t(n) * size_t(width_));
  const int64_t P = pool_->page_tokens();
  for (int64_t p0 = 0; p0 < n; p0 += P) {
    const int64_t m = std::min(P, n - p0);
    const uint8_t* src = row_at(layer, p0);
    float* dst = scratch.data() + size_t(p0) * size_t(width_);
    kv_values_to_f32(dtype_, src, size_t(m) * size_t(width_), dst);
  }
  return scratch.data();
}

}  // namespace dsv3
