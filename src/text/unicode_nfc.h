// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical
// composition), for tokenizers whose normalizer is NFC (Qwen2). Data from
// unicode_nfc_tables.cpp (Unicode version in nfc_unicode_version()).
#pragma once
#include <string>
#include <string_view>

namespace dsv3 {

// NFC of valid UTF-8 `s`. Text whose code points are all below U+0300 is returned unchanged.
std::string nfc_normalize(std::string_view s);
const char* nfc_unicode_version();

}  // namespace dsv3
