// libFuzzer target: encode arbitrary bytes with the DeepSeek-V3-style reference tokenizer and
// check the round trip HF guarantees for it: decode(encode(x)) == x with invalid UTF-8 repaired
// (U+FFFD per maximal subpart); also the streaming decoder must give the same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "text/tokenizer.h"
#include "text/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tok = dsv3::Tokenizer::from_file(std::getenv("DSV3_FUZZ_TOKENIZER"));
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = tok->encode(text, false);
  std::string want = dsv3::utf8::repair(text);
  if (tok->decode(ids, false) != want) {
    std::fprintf(stderr, "round trip failed\n");
    std::abort();
  }
  dsv3::StreamDecoder sd(*tok);
  std::string s;
  for (int32_t id : ids) s += sd.push(id);
  s += sd.flush();
  if (s != want) {
    std::fprintf(stderr, "stream decode differs\n");
    std::abort();
  }
  return 0;
}
