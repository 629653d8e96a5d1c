// libFuzzer target: GGUF reader and the GGUF vocab loader on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/gguf.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto g = dsv3::GgufFile::parse(data, size, "fuzz.gguf");
    for (const auto& kv : g->metadata()) (void)g->find(kv.key);
    auto tok = dsv3::Tokenizer::from_gguf(*g);
    auto ids = tok->encode("Hello world 123 你好 <s>", true);
    (void)tok->decode(ids, false);
  } catch (const dsv3::Error&) {
  }
  return 0;
}
