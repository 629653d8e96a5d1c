// GPT-2 byte-level alphabet: a bijection between the 256 byte values and 256 printable code
// points (bytes_to_unicode in GPT-2 / HF ByteLevel). Printable Latin-1 bytes (!..~, ¡..¬, ®..ÿ)
// map to themselves; the other 68 bytes map to U+0100.. in byte order.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace dsv3::byte_level {

// The code point that byte b maps to.
uint32_t byte_to_cp(uint8_t b);
// UTF-8 of byte_to_cp(b) (1 or 2 bytes).
std::string_view byte_to_utf8(uint8_t b);
// The byte that code point cp stands for, or -1 if cp is not in the alphabet.
int cp_to_byte(uint32_t cp);
// Maps every byte of `raw` to its character (appends to out).
void encode(std::string_view raw, std::string& out);
// Inverse of encode for a string made only of alphabet characters; returns false (and leaves
// out unspecified) if `s` holds any other character or invalid UTF-8.
bool decode(std::string_view s, std::string& out);

}  // namespace dsv3::byte_level
