// libFuzzer target for SafetensorsFile::open (build and run: fuzz/run_safetensors_fuzz.sh).
// Each input is written to a file in /dev/shm (open() works on paths, through mmap) and opened.
// Properties checked beyond "no crash, no sanitizer report":
//   - only dsv3::Error escapes open();
//   - every tensor of an accepted file lies inside the file's data section (owns()) and its
//     bytes are readable; nbytes == numel * dtype size;
//   - write_safetensors of an accepted file's tensors gives a file that opens again with the same
//     tensors and metadata, and writing that again gives identical bytes.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"

namespace {

std::string scratch(const char* tag) {
  const char* dir = std::getenv("DSV3_FUZZ_TMP");
  return std::string(dir ? dir : "/dev/shm") + "/dsv3_st_fuzz_" + std::to_string(::getpid()) + "_" +
         tag;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::vector<dsv3::TensorToWrite> to_write(const dsv3::SafetensorsFile& f) {
  std::vector<dsv3::TensorToWrite> w;
  for (const auto& [n, t] : f.tensors()) w.push_back({n, t.dtype, t.shape, t.data, t.nbytes});
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string in = scratch("in"), out1 = scratch("out1"), out2 = scratch("out2");
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  std::unique_ptr<dsv3::SafetensorsFile> f;
  try {
    f = dsv3::SafetensorsFile::open(in);
  } catch (const dsv3::Error& e) {
    if (std::strstr(e.what(), in.c_str()) == nullptr)
      die("message does not name the file", e.what());
    return 0;
  }
  unsigned sum = 0;
  for (const auto& [name, t] : f->tensors()) {
    if (!f->owns(t)) die("tensor outside the data section", name);
    if (size_t(t.numel()) * dsv3::dtype_size(t.dtype) != t.nbytes) die("nbytes mismatch", name);
    for (size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
  }
  // Round trip through the writer.
  dsv3::write_safetensors(out1, to_write(*f), f->metadata());
  auto g = dsv3::SafetensorsFile::open(out1);
  if (g->tensors().size() != f->tensors().size() || g->metadata() != f->metadata())
    die("round trip changed the tensor set or metadata", in);
  if (g->copied_bytes() != 0) die("our own file needed alignment copies", in);
  for (const auto& [name, t] : f->tensors()) {
    const dsv3::StoredTensor& u = g->tensors().at(name);
    if (u.dtype != t.dtype || u.shape != t.shape || u.nbytes != t.nbytes ||
        (t.nbytes && std::memcmp(u.data, t.data, t.nbytes) != 0))
      die("round trip changed a tensor", name);
  }
  dsv3::write_safetensors(out2, to_write(*g), g->metadata());
  if (slurp(out1) != slurp(out2)) die("writer is not idempotent", in);
  return int(sum & 0);
}
