// libFuzzer target: tokenizer.json loader on arbitrary bytes; a loaded tokenizer must encode and
// decode a fixed text without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tok = dsv3::Tokenizer::from_json(
        std::string_view(reinterpret_cast<const char*>(data), size), "", "fuzz.json");
    auto ids = tok->encode("Hello, world! 12345 日本語 <｜User｜> \xff", true);
    (void)tok->decode(ids, true);
  } catch (const dsv3::Error&) {
  }
  return 0;
}
