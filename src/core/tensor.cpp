// TensorView helpers.
#include "core/tensor.h"

namespace dsv3 {

std::string shape_string(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) {
    if (i) s += ", ";
    s += std::to_string(t.shape[i]);
  }
  return s + "]";
}

}  // namespace dsv3
