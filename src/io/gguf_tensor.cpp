// GGUF tensor info -> TensorView (type mapping and dimension reversal), see gguf_tensor.h.
#include "io/gguf_tensor.h"

#include "core/error.h"

namespace dsv3 {

namespace {
struct Map {
  uint32_t ggml;
  DType dt;
};
// ggml type ids (ggml.h enum ggml_type).
constexpr Map kMap[] = {
    {0, DType::F32},   {1, DType::F16},   {2, DType::Q4_0},  {3, DType::Q4_1},
    {8, DType::Q8_0},  {12, DType::Q4_K}, {13, DType::Q5_K}, {14, DType::Q6_K},
    {24, DType::I8},   {25, DType::I16},  {26, DType::I32},  {27, DType::I64},
    {28, DType::F64},  {30, DType::BF16},
};
}  // namespace

bool ggml_type_to_dtype(uint32_t ggml_type, DType* out) {
  for (const Map& m : kMap)
    if (m.ggml == ggml_type) {
      *out = m.dt;
      return true;
    }
  return false;
}

uint32_t dtype_to_ggml_type(DType t) {
  for (const Map& m : kMap)
    if (m.dt == t) return m.ggml;
  fail("dtype ", dtype_name(t), " has no GGUF tensor type");
}

TensorView gguf_tensor_view(const GgufTensorInfo& t) {
  DType dt;
  if (!ggml_type_to_dtype(t.type, &dt)) {
    const GgmlTypeInfo ti = ggml_type_info(t.type);
    fail("GGUF tensor '", t.name, "' has ggml type ", ti.name ? ti.name : "?", " (", t.type,
         "), which dsv3 does not support (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K)");
  }
  DSV3_CHECK(t.dims.size() <= 4, "GGUF tensor '", t.name, "' has ", t.dims.size(),
             " dims (at most 4 supported)");
  TensorView v;
  v.dtype = dt;
  v.data = t.data;
  v.ndim = int(t.dims.size());
  for (int i = 0; i < v.ndim; ++i) v.shape[size_t(i)] = t.dims[t.dims.size() - 1 - size_t(i)];
  if (v.ndim > 0 && dtype_is_block(dt))
    DSV3_CHECK(v.shape[size_t(v.ndim - 1)] % dtype_block_elems(dt) == 0, "GGUF tensor '", t.name,
               "' row length ", v.shape[size_t(v.ndim - 1)], " is not a multiple of the ",
               dtype_name(dt), " block size ", dtype_block_elems(dt));
  DSV3_CHECK(v.nbytes() == t.n_bytes, "GGUF tensor '", t.name, "' holds ", t.n_bytes,
             " bytes, its ", dtype_name(dt), " shape ", shape_string(v), " needs ", v.nbytes());
  return v;
}

}  // namespace dsv3
