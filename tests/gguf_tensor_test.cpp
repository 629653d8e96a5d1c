// Block-aware dtype sizes (ggml Q8_0 ... Q6_K) and GGUF tensor info -> TensorView mapping.
#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "io/gguf_tensor.h"

using namespace dsv3;

TEST(GgufTensor, BlockSizesMatchGgml) {
  // Element types keep their per-element size.
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::F8_E4M3), 1u);
  EXPECT_EQ(dtype_block_elems(DType::F16), 1);
  // Block types: ggml_type_info's layout for the same ggml type id.
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    EXPECT_TRUE(dtype_is_block(t));
    GgmlTypeInfo gi = ggml_type_info(dtype_to_ggml_type(t));
    EXPECT_EQ(dtype_block_elems(t), int64_t(gi.block_elems));
    EXPECT_EQ(dtype_block_bytes(t), int64_t(gi.block_bytes));
    EXPECT_THROW(dtype_size(t), Error);  // no per-element size
    DType back;
    EXPECT_FALSE(parse_dtype(dtype_name(t), &back));  // not a safetensors dtype
  }
  EXPECT_EQ(dtype_row_bytes(DType::Q4_K, 512), 2u * 144u);
  EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 64), 2u * 34u);
  EXPECT_EQ(dtype_row_bytes(DType::BF16, 7), 14u);
  EXPECT_THROW(dtype_row_bytes(DType::Q4_K, 100), Error);
  EXPECT_THROW(dtype_row_bytes(DType::Q4_0, 48), Error);
}

TEST(GgufTensor, ViewNbytes) {
  uint8_t buf[1];
  TensorView v = make_view(DType::Q6_K, buf, {3, 512});
  EXPECT_EQ(v.nbytes(), 3u * 2u * 210u);
  EXPECT_EQ(v.row_bytes(), 2u * 210u);
  EXPECT_EQ(make_view(DType::Q4_1, buf, {0, 64}).nbytes(), 0u);
  EXPECT_THROW(make_view(DType::Q4_1, buf, {2, 40}).nbytes(), Error);
  EXPECT_EQ(make_view(DType::F16, buf, {3, 5}).nbytes(), 30u);
}

TEST(GgufTensor, InfoToView) {
  uint8_t buf[1];
  GgufTensorInfo t;
  t.name = "blk.0.ffn_down.weight";
  t.dims = {256, 3};  // ggml: K first
  t.type = 12;        // q4_K
  t.n_elements = 768;
  t.n_bytes = 3 * 144;
  t.data = buf;
  TensorView v = gguf_tensor_view(t);
  EXPECT_EQ(v.dtype, DType::Q4_K);
  ASSERT_EQ(v.ndim, 2);
  EXPECT_EQ(v.shape[0], 3);
  EXPECT_EQ(v.shape[1], 256);
  EXPECT_EQ(v.data, buf);
  EXPECT_EQ(v.nbytes(), t.n_bytes);

  GgufTensorInfo e = t;  // bf16 / f16 / f32 map to the existing dtypes
  for (auto [id, dt, sz] : {std::tuple{0u, DType::F32, 4u}, std::tuple{1u, DType::F16, 2u},
                            std::tuple{30u, DType::BF16, 2u}}) {
    e.type = id;
    e.n_bytes = 768 * sz;
    EXPECT_EQ(gguf_tensor_view(e).dtype, dt);
  }
  GgufTensorInfo bad = t;
  bad.type = 6;  // q5_0: not supported -> clear error naming the tensor
  try {
    gguf_tensor_view(bad);
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("blk.0.ffn_down.weight"), std::string::npos);
    EXPECT_NE(std::string(err.what()).find("q5_0"), std::string::npos);
  }
  bad = t;
  bad.n_bytes = 100;  // inconsistent size
  EXPECT_THROW(gguf_tensor_view(bad), Error);
  bad = t;
  bad.dims = {100, 3};  // not a block multiple
  EXPECT_THROW(gguf_tensor_view(bad), Error);
}
