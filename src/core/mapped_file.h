// Read-only memory-mapped file. Weights are used in place from the mapping (no copy);
// the mapping lives as long as the MappedFile object.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dsv3 {

class MappedFile {
 public:
  MappedFile() = default;
  // Maps the whole file; throws Error naming the path if it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole (small) file into a string; throws Error naming the path on failure.
std::string read_text_file(const std::string& path);

}  // namespace dsv3
