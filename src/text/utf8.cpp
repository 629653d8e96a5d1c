// UTF-8 decoding per Unicode Table 3-7 (well-formed byte sequences) and lossy repair.
#include "text/utf8.h"

namespace dsv3::utf8 {

Step step(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size();
  uint8_t b0 = p[i];
  if (b0 < 0x80) return {Step::kValid, b0, 1};
  size_t len = lead_length(b0);
  if (len == 0) return {Step::kInvalid, 0, 1};
  // Allowed range of the second byte depends on the lead (excludes overlongs/surrogates).
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0)
    lo = 0xA0;
  else if (b0 == 0xED)
    hi = 0x9F;
  else if (b0 == 0xF0)
    lo = 0x90;
  else if (b0 == 0xF4)
    hi = 0x8F;
  uint32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= n) return {Step::kIncomplete, 0, k};
    uint8_t b = p[i + k];
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) return {Step::kInvalid, 0, k};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {Step::kValid, cp, len};
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    Step st = step(s, i);
    if (st.kind != Step::kValid) return false;
    i += st.len;
  }
  return true;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    Step st = step(s, i);
    if (st.kind == Step::kValid)
      out.append(s.data() + i, st.len);
    else
      append(out, kReplacement);
    i += st.len;
  }
  return out;
}

uint32_t next(std::string_view s, size_t& i) {
  Step st = step(s, i);
  i += st.len;
  return st.kind == Step::kValid ? st.cp : kReplacement;
}

}  // namespace dsv3::utf8
