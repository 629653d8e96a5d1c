// libFuzzer target for Checkpoint::open's JSON side (build and run:
// FUZZ_TARGET=checkpoint_index fuzz/run_safetensors_fuzz.sh). A scratch folder holds two valid
// shards (a.safetensors: tensors "a", "b"; b.safetensors: "c"); each input's first byte picks the
// file it replaces (even: model.safetensors.index.json, odd: config.json with a fixed index) and
// the rest is that file's text. Properties: only dsv3::Error escapes, its message names a path in
// the folder, and an accepted checkpoint holds exactly a, b, c with their values.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"

namespace {

void put(const std::string& p, const char* d, size_t n) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(d, std::streamsize(n));
}

const std::string& folder() {
  static const std::string dir = [] {
    const char* t = std::getenv("DSV3_FUZZ_TMP");
    std::string d = std::string(t ? t : "/dev/shm") + "/dsv3_ck_fuzz_" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    float a = 1, b = 2, c = 3;
    dsv3::write_safetensors(d + "/a.safetensors", {{"a", dsv3::DType::F32, {1}, &a, 4},
                                                   {"b", dsv3::DType::F32, {1}, &b, 4}});
    dsv3::write_safetensors(d + "/b.safetensors", {{"c", dsv3::DType::F32, {1}, &c, 4}});
    return d;
  }();
  return dir;
}

const char kIndex[] =
    R"({"metadata":{"total_size":12},"weight_map":{"a":"a.safetensors","b":"a.safetensors","c":"b.safetensors"}})";
const char kConfig[] = R"({"model_type":"deepseek_v3"})";

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string& d = folder();
  const char* text = reinterpret_cast<const char*>(data + 1);
  if (data[0] % 2 == 0) {
    put(d + "/config.json", kConfig, sizeof kConfig - 1);
    put(d + "/model.safetensors.index.json", text, size - 1);
  } else {
    put(d + "/config.json", text, size - 1);
    put(d + "/model.safetensors.index.json", kIndex, sizeof kIndex - 1);
  }
  std::unique_ptr<dsv3::Checkpoint> ck;
  try {
    ck = dsv3::Checkpoint::open(d);
  } catch (const dsv3::Error& e) {
    if (std::strstr(e.what(), d.c_str()) == nullptr)
      die("message does not name the folder", e.what());
    return 0;
  }
  if (ck->tensors().size() != 3) die("accepted a checkpoint without exactly a, b, c", d);
  const char* names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; ++i) {
    const dsv3::StoredTensor* t = ck->find(names[i]);
    if (!t || t->view().as<float>()[0] != float(i + 1)) die("wrong tensor", names[i]);
  }
  return 0;
}
