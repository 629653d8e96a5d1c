// NumPy .npy files (format version 1.0/2.0), little-endian fp32/int32/int64 only.
// Used for `dsv3 logits -o`, `--dump`, and for reference data written by scripts/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dsv3 {

struct NpyArray {
  std::string descr;            // "<f4", "<i4", "<i8"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;   // raw little-endian data, C order

  int64_t numel() const;
  std::vector<float> as_f32() const;    // converts <f4/<f8/<i4/<i8
  std::vector<int64_t> as_i64() const;  // converts <i4/<i8 (and exact-valued floats)
};

// Throws dsv3::Error naming the path on a malformed or unsupported file.
NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);

}  // namespace dsv3
