// libFuzzer target: GGUF reader and the GGUF vocab loader on arbitrary bytes; and split GGUFs:
// an input holding several "GGUF" magics is cut there into shards, each parsed and then merged
// (GgufFile::merge_shards: split keys, duplicate tensors, tensor counts).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "text/tokenizer.h"

namespace {

void fuzz_split(const uint8_t* data, size_t size) {
  std::vector<size_t> cuts = {0};
  for (size_t i = 4; i + 4 <= size && cuts.size() < 4; ++i)
    if (std::memcmp(data + i, "GGUF", 4) == 0) cuts.push_back(i);
  if (cuts.size() < 2) return;
  cuts.push_back(size);
  try {
    std::vector<std::unique_ptr<dsv3::GgufFile>> shards;
    for (size_t k = 0; k + 1 < cuts.size(); ++k)
      shards.push_back(dsv3::GgufFile::parse(data + cuts[k], cuts[k + 1] - cuts[k], "shard.gguf"));
    auto g = dsv3::GgufFile::merge_shards(std::move(shards));
    for (const auto& t : g->tensors()) (void)g->find_tensor(t.name);
  } catch (const dsv3::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto g = dsv3::GgufFile::parse(data, size, "fuzz.gguf");
    for (const auto& kv : g->metadata()) (void)g->find(kv.key);
    auto tok = dsv3::Tokenizer::from_gguf(*g);
    auto ids = tok->encode("Hello world 123 你好 <s>", true);
    (void)tok->decode(ids, false);
  } catch (const dsv3::Error&) {
  }
  fuzz_split(data, size);
  return 0;
}
