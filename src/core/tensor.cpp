// TensorView helpers.
#include "core/tensor.h"

namespace dsv3 {

size_t TensorView::nbytes() const {
  if (!dtype_is_block(dtype)) return size_t(numel()) * dtype_size(dtype);
  if (ndim == 0) return 0;
  const int64_t inner = shape[ndim - 1];
  const size_t row = dtype_row_bytes(dtype, inner);  // checks the block multiple
  return inner == 0 ? 0 : size_t(numel() / inner) * row;
}

std::string shape_string(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) {
    if (i) s += ", ";
    s += std::to_string(t.shape[i]);
  }
  return s + "]";
}

}  // namespace dsv3
