// ggml block dequantisation vs gguf-py: tests/data/gguf_quants/<type>.{blocks,f32}.bin hold
// blocks (gguf-py's quantize of random data, and random bytes with finite f16 scales) and
// gguf.quants.dequantize's output for them (scripts/make_gguf_quant_refs.py). The values must
// be bit-identical: both are fp32 products in the same order.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/gguf_quants.h"
#include "test_util.h"

using namespace dsv3;
using namespace dsv3::kernels;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(GgufQuants, DequantizeMatchesGgufPyExactly) {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const std::string name(dtype_name(t));
    SCOPED_TRACE(name);
    const auto blocks = read_bytes(dsv3::test::data_path("gguf_quants/" + name + ".blocks.bin"));
    const auto fbytes = read_bytes(dsv3::test::data_path("gguf_quants/" + name + ".f32.bin"));
    const int64_t be = dtype_block_elems(t), bb = dtype_block_bytes(t);
    ASSERT_GT(blocks.size(), 0u);
    ASSERT_EQ(blocks.size() % size_t(bb), 0u);
    const int64_t n = int64_t(blocks.size()) / bb * be;
    ASSERT_EQ(fbytes.size(), size_t(n) * 4);
    std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n), -1.0f);
    std::memcpy(want.data(), fbytes.data(), fbytes.size());
    dequantize_row_ref(t, blocks.data(), n, got.data());
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t a, b;
      std::memcpy(&a, &want[size_t(i)], 4);
      std::memcpy(&b, &got[size_t(i)], 4);
      if (a != b && bad++ < 5)
        ADD_FAILURE() << "value " << i << " (block " << i / be << "): got " << got[size_t(i)]
                      << ", gguf-py " << want[size_t(i)];
    }
    EXPECT_EQ(bad, 0);
    // Every value is distinct data, not a constant: the file covers many codes.
    int nonzero = 0;
    for (float v : want) nonzero += v != 0.0f;
    EXPECT_GT(nonzero, n / 2);
  }
}

TEST(GgufQuants, DequantizeRejectsPartialBlocks) {
  std::vector<uint8_t> b(1024);
  std::vector<float> out(512);
  EXPECT_THROW(dequantize_row_ref(DType::Q4_K, b.data(), 100, out.data()), Error);
  EXPECT_THROW(dequantize_row_ref(DType::Q8_0, b.data(), 31, out.data()), Error);
  EXPECT_THROW(dequantize_row_ref(DType::BF16, b.data(), 32, out.data()), Error);
}
