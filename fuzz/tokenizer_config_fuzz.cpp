// libFuzzer target: tokenizer_config.json on arbitrary bytes, next to a small tokenizer.json with
// DeepSeek-V3's structure (a few BPE tokens, its BOS/EOS/User added tokens, BOS template), so
// that each run is fast.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string tok_json = R"({
    "model": {"type": "BPE", "vocab": {"<｜begin▁of▁sentence｜>": 0, "<｜end▁of▁sentence｜>": 1,
              "H": 2, "i": 3, "Hi": 4}, "merges": ["H i"]},
    "added_tokens": [
      {"id": 0, "content": "<｜begin▁of▁sentence｜>", "special": true, "normalized": true},
      {"id": 1, "content": "<｜end▁of▁sentence｜>", "special": true, "normalized": true},
      {"id": 5, "content": "<｜User｜>", "special": true, "normalized": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<｜begin▁of▁sentence｜>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<｜begin▁of▁sentence｜>": {"id": "<｜begin▁of▁sentence｜>", "ids": [0],
                                                  "tokens": ["<｜begin▁of▁sentence｜>"]}}},
    "decoder": {"type": "ByteLevel"}})";
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
