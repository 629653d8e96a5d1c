// Safetensors files: parsed header, tensors used in place from the mmap (no copy).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str},
//    "<name>": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...}
// then the data section; offsets are relative to its start. Every violation (header length or
// offsets past the end, begin > end, size != numel * dtype size, overlapping ranges, unknown
// dtype, malformed JSON, duplicate names) is a dsv3::Error naming the file and the tensor.
// As in the reference library (safetensors 0.8.0) the tensors must cover the data section
// exactly: holes between tensors and bytes after the last one are errors too; the header is
// limited to 100,000,000 bytes.
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
  std::string file;  // path of the file that holds it (for messages)

  // Product of the dims (1 for a 0-d scalar, 0 if any dim is 0).
  int64_t numel() const;
  // View for kernels (ndim <= 4, else dsv3::Error naming file and tensor; a 0-d scalar becomes
  // shape [1]); block_scale left null (the model layer attaches FP8 scales).
  TensorView view() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws dsv3::Error naming the path (and tensor) on any problem.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::map<std::string, StoredTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Bytes mapped for this file (its size on disk).
  size_t mapped_bytes() const { return file_.size(); }
  // Sum of the tensors' nbytes.
  size_t tensor_bytes() const;
  // Bytes copied to the heap: every tensor's data is used in place from the mmap, except a tensor
  // whose address would not be a multiple of its element size (possible only in files not written
  // by the safetensors library, e.g. an unpadded header); such a tensor is copied into an aligned
  // buffer so kernels never read misaligned floats. 0 for files written by Python or by us.
  size_t copied_bytes() const { return copied_bytes_; }
  // True if [t.data, t.data + t.nbytes) lies inside this file's data section or one of its
  // aligned copies (an invariant of open(); used by tests and the fuzzer).
  bool owns(const StoredTensor& t) const;

 private:
  MappedFile file_;
  std::map<std::string, StoredTensor> tensors_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::unique_ptr<uint64_t[]>> copies_;  // aligned copies of misaligned tensors
  std::vector<size_t> copy_sizes_;                   // bytes of each copy
  size_t data_start_ = 0;                            // offset of the data section in the file
  size_t copied_bytes_ = 0;
};

// Writes a safetensors file byte-identical to what safetensors 0.8.0 (Python) writes for the same
// tensors and at most one metadata key: "__metadata__" first (omitted if empty; keys sorted,
// where Python's order is random), then the tensors in the library's storage order (dtype
// rank descending: I64 F64 F32 I32 BF16 F16 I16 F8_E4M3 F8_E5M2 I8 U8 BOOL, then by name), which
// keeps every tensor aligned to its element size; the header is padded with spaces to a multiple
// of 8 bytes. The caller's order is ignored. Written to PATH.tmp and renamed, so PATH is never
// left half-written. Throws dsv3::Error naming the path and tensor on a duplicate name,
// nbytes != numel * dtype size, a name that is not UTF-8, or an I/O error.
// Used by `dsv3 quantize` and tests.
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
