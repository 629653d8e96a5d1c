// Non-owning tensor view: dtype, shape and a pointer into memory owned elsewhere
// (an mmap'd checkpoint or a buffer). Row-major; shape[0] is the outermost dimension.
// Linear weights follow PyTorch's layout [out_features, in_features]: y = x W^T.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace dsv3 {

struct TensorView {
  DType dtype = DType::F32;
  int ndim = 0;
  std::array<int64_t, 4> shape{0, 0, 0, 0};
  const void* data = nullptr;
  // FP8 weights only: fp32 dequantisation multipliers, one per 128x128 block,
  // shape [ceil(rows/128), ceil(cols/128)] (DeepSeek's `weight_scale_inv`). nullptr otherwise.
  const float* block_scale = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return ndim ? n : 0;
  }
  // Bytes of the data. Block types (Q4_K, ...): the last dimension must be a multiple of the
  // block size (dsv3::Error otherwise); every row is a whole number of blocks.
  size_t nbytes() const;
  // Bytes of one row (the last dimension) in this dtype; block-aware like nbytes().
  size_t row_bytes() const { return dtype_row_bytes(dtype, ndim ? shape[ndim - 1] : 0); }
  int64_t rows() const { return ndim >= 1 ? shape[0] : 0; }
  int64_t cols() const { return ndim >= 2 ? shape[1] : 1; }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
};

inline TensorView make_view(DType dt, const void* data, std::initializer_list<int64_t> shape) {
  TensorView v;
  v.dtype = dt;
  v.data = data;
  for (int64_t s : shape) v.shape[v.ndim++] = s;
  return v;
}

// "[2048, 512]" for messages.
std::string shape_string(const TensorView& t);

}  // namespace dsv3
