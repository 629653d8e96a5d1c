// UTF-8 helpers for the tokenizer: strict decoding (no overlongs, surrogates or values past
// U+10FFFF), lossy repair with one U+FFFD per maximal invalid subpart (the Unicode/W3C practice
// used by Rust's String::from_utf8_lossy and Python's errors="replace"), and encoding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsv3::utf8 {

constexpr uint32_t kReplacement = 0xFFFD;

// Result of inspecting the sequence starting at some byte.
struct Step {
  enum Kind { kValid, kInvalid, kIncomplete } kind;
  uint32_t cp;  // the code point when kValid
  size_t len;   // bytes consumed: the sequence (kValid), the maximal invalid subpart (kInvalid,
               // >= 1), or the bytes present of a truncated but so-far valid sequence (kIncomplete)
};
// Inspects s[i..]; i < s.size().
Step step(std::string_view s, size_t i);

// Length of the sequence starting with lead byte b if it is a valid lead (1..4), else 0.
inline size_t lead_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b < 0xC2) return 0;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  if (b < 0xF5) return 4;
  return 0;
}

bool is_valid(std::string_view s);
// Replaces every maximal invalid subpart (including a truncated sequence at the end) by U+FFFD.
std::string repair(std::string_view s);
void append(std::string& out, uint32_t cp);
// Decodes valid UTF-8 at s[i..] (caller guarantees validity); advances i.
uint32_t next(std::string_view s, size_t& i);

}  // namespace dsv3::utf8
