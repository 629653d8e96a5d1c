// KvCache storage, fp32/bf16 conversion and memory admission check.
#include "runtime/kv_cache.h"

#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"

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

size_t KvCache::bytes_per_token(const ModelConfig& c, int64_t n_layers, DType dtype) {
  return size_t(n_layers) * size_t(c.latent_cache_width()) * dtype_size(dtype);
}

KvCache::KvCache(const ModelConfig& c, int64_t n_layers, int64_t ctx, DType dtype)
    : n_layers_(n_layers), ctx_(ctx), width_(c.latent_cache_width()), dtype_(dtype) {
  DSV3_CHECK(dtype == DType::F32 || dtype == DType::BF16, "KV cache dtype must be f32 or bf16");
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

void KvCache::write(int64_t layer, int64_t pos, const float* row) {
  DSV3_CHECK(layer >= 0 && layer < n_layers_ && pos >= 0 && pos < ctx_,
             "KV cache write outside the context (position ", pos, ", --ctx ", ctx_, ")");
  const size_t idx = (size_t(layer) * size_t(ctx_) + size_t(pos)) * size_t(width_);
  if (dtype_ == DType::F32) {
    std::memcpy(data_.data() + idx * 4, row, size_t(width_) * 4);
  } else {
    auto* d = reinterpret_cast<uint16_t*>(data_.data()) + idx;
    for (int64_t i = 0; i < width_; ++i) d[i] = f32_to_bf16(row[i]);
  }
}

const void* KvCache::row_ptr(int64_t layer, int64_t pos) const {
  const size_t idx = (size_t(layer) * size_t(ctx_) + size_t(pos)) * size_t(width_);
  return data_.data() + idx * dtype_size(dtype_);
}

const float* KvCache::rows_f32(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  const size_t idx = size_t(layer) * size_t(ctx_) * size_t(width_);
  if (dtype_ == DType::F32) return reinterpret_cast<const float*>(data_.data()) + idx;
  scratch.resize(size_t(n) * size_t(width_));
  const auto* s = reinterpret_cast<const uint16_t*>(data_.data()) + idx;
  for (size_t i = 0; i < scratch.size(); ++i) scratch[i] = bf16_to_f32(s[i]);
  return scratch.data();
}

}  // namespace dsv3
