// libFuzzer target: tokenizer_config.json on arbitrary bytes, next to the DeepSeek-V3-style
// reference tokenizer.json (path from DSV3_FUZZ_TOKENIZER, set by run_fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string tok_json = dsv3::read_text_file(std::getenv("DSV3_FUZZ_TOKENIZER"));
  try {
    auto tok = dsv3::Tokenizer::from_json(
        tok_json, std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    auto ids = tok->encode("<｜User｜>Hi", true);
    (void)tok->decode(ids, true);
    (void)tok->chat_template();
  } catch (const dsv3::Error&) {
  }
  return 0;
}
