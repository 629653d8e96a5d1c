// GGUF tensor infos as TensorViews: ggml type id -> DType (F32, F16, BF16, the integer types and
// the block types Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) and ggml's reversed dimension order
// (ggml dims[0] is the innermost, so a ggml [K, N] matrix is the PyTorch-layout view [N, K]).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "io/gguf.h"

namespace dsv3 {

// DType of ggml type id `ggml_type`; false if dsv3 has no kernels for it (Q5_0, IQ*, ...).
bool ggml_type_to_dtype(uint32_t ggml_type, DType* out);
// ggml type id of a DType that GGUF can hold; dsv3::Error for FP8, BOOL, U8.
uint32_t dtype_to_ggml_type(DType t);

// View of a GGUF tensor's data (pointing into the file mapping): shape = dims reversed, dtype
// from its ggml type. dsv3::Error naming the tensor for an unsupported type, more than 4 dims,
// or a byte size that does not match (the reader already checks the block multiple).
TensorView gguf_tensor_view(const GgufTensorInfo& t);

}  // namespace dsv3
