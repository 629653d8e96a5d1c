// Safetensors files: parsed header, tensors used in place from the mmap (no copy).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}}
// then the data section; offsets are relative to its start. Every violation (header length or
// offsets past the end, begin > end, size != numel * dtype size, overlapping ranges, unknown
// dtype, malformed JSON, duplicate names) is a dsv3::Error naming the file and the tensor.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"

namespace dsv3 {

struct StoredTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mmap of `file`
  size_t nbytes = 0;
  std::string file;               // path of the file that holds it (for messages)

  int64_t numel() const;
  // View for kernels (ndim <= 4); block_scale left null (the model layer attaches FP8 scales).
  TensorView view() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws dsv3::Error naming the path (and tensor) on any problem.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::map<std::string, StoredTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::map<std::string, StoredTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes a safetensors file (tensors in the given order, 8-byte aligned data, sorted JSON keys
// as the Python library does). Used by `dsv3 quantize` and tests.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t nbytes;
};
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace dsv3
